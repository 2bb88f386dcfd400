"""The dequantise-then-MAC W4A16 baseline of the MixPE family (``datapath="dequant_mac"``).

Golden is checked against a scalar loop written from its stated order; the cycle-level
model and the Verilated RTL (one 2 x 3 build, shared with the contract tests) must match
it bit for bit with the closed form's cycles, for unsigned codes with zero points and
signed codes, on shapes with partial groups and several row and column blocks.
"""

from __future__ import annotations

import numpy as np
import pytest

from hwsim.blocks.fp16 import fp16_add, fp16_mul
from hwsim.errors import ConfigError
from hwsim.families.mixpe.config import MixpeConfig
from hwsim.families.mixpe.family import FAMILY, stimulus
from hwsim.families.mixpe.golden import mixpe_gemm, reference_gemm
from hwsim.families.mixpe.model import estimate
from hwsim.workloads.ops import GemmOp

SHAPES = [(1, 1, 1), (3, 20, 4), (5, 33, 7)]


def dq_cfg(**kw):
    base = dict(act_format="fp16", datapath="dequant_mac", w_bits=4, zero_point=True, group_size=16, rows=2, cols=3)
    return MixpeConfig(**{**base, **kw})


def test_config_errors():
    with pytest.raises(ConfigError, match="datapath"):
        MixpeConfig(datapath="dequant_mac")  # INT8 activations
    with pytest.raises(ConfigError, match="datapath"):
        MixpeConfig(act_format="fp16", datapath="lut")


@pytest.mark.parametrize("zp", [True, False])
def test_golden_by_hand(zp):
    cfg = dq_cfg(zero_point=zp, w_bits=3)
    job = stimulus(cfg, (2, 32, 3), np.random.default_rng(0))
    c = mixpe_gemm(cfg, job["a"], job["wq"], job["scales"], job["zeros"])
    a = job["a"].view(np.uint16)
    z = job["zeros"] if zp else np.zeros((2, 3), np.int64)
    for i in range(2):
        for j in range(3):
            acc = np.int64(0)
            for k in range(32):
                g = k // 16
                diff = np.float16(int(job["wq"][k, j]) - int(z[g, j])).view(np.uint16)
                w = fp16_mul(np.float16(job["scales"][g, j]).view(np.uint16), diff)
                acc = fp16_add(acc, fp16_mul(a[i, k], w))
            assert np.float32(np.uint16(acc).view(np.float16)) == c[i, j]


def test_rounds_more_than_shift_add():
    """Per-element dequantisation and a binary16 sum over all of K: the baseline's error
    against the float64 product exceeds MixPE's (per-group binary16 sums, binary32 scaling)."""
    rng = np.random.default_rng(1)
    errs = {}
    for dp in ("dequant_mac", "shift_add"):
        cfg = dq_cfg(datapath=dp, group_size=64)
        rng = np.random.default_rng(1)
        job = stimulus(cfg, (8, 512, 16), rng)
        c = mixpe_gemm(cfg, job["a"], job["wq"], job["scales"], job["zeros"])
        ref = reference_gemm(cfg, job["a"], job["wq"], job["scales"], job["zeros"])
        errs[dp] = float(np.sqrt(np.mean((c - ref) ** 2)))
    assert errs["dequant_mac"] > errs["shift_add"] > 0


@pytest.mark.parametrize("zp", [True, False])
def test_model_equals_golden_and_closed_form(zp):
    cfg = dq_cfg(zero_point=zp)
    jobs = [stimulus(cfg, s, np.random.default_rng(2)) for s in SHAPES]
    for job, res in zip(jobs, FAMILY.implementations["model"](cfg, jobs)):
        assert np.array_equal(res.outputs, FAMILY.golden(cfg, job))
        m, k = job["a"].shape
        assert res.cycles == estimate(cfg, GemmOp(m, k, job["wq"].shape[1])).compute_cycles


@pytest.mark.rtl
@pytest.mark.slow
def test_verilator_signed_codes_under_backpressure():
    cfg = dq_cfg(zero_point=False, w_bits=2)
    jobs = [stimulus(cfg, s, np.random.default_rng(3)) for s in SHAPES]
    model = FAMILY.implementations["model"](cfg, jobs)
    res = FAMILY.implementations["verilator"](cfg, jobs, backpressure={"in_gap": 0.25, "out_gap": 0.25})
    for job, r, m in zip(jobs, res, model):
        assert np.array_equal(r.outputs, FAMILY.golden(cfg, job))
        assert r.cycles - r.stall_cycles == m.cycles
