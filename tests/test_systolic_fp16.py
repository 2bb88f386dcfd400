"""Binary16 PEs in the systolic array generator (``operand_format="fp16"``).

Golden states the order of the binary16 additions per dataflow; the cycle-level model,
the Amaranth simulation and the Verilated RTL must reproduce it bit for bit, with the
integer array's cycles. One Verilator build per dataflow (2 x 3 PEs) serves every shape.
"""

from __future__ import annotations

import numpy as np
import pytest

from hwsim.blocks.fp16 import fp16_add, fp16_mul
from hwsim.errors import ConfigError
from hwsim.families.systolic.config import SystolicConfig
from hwsim.families.systolic.cyclesim import simulate
from hwsim.families.systolic.family import fp16_operands
from hwsim.families.systolic.golden import golden_gemm
from hwsim.families.systolic.timing import hardware_cycles

SHAPES = [(1, 1, 1), (3, 5, 4), (4, 2, 7), (5, 9, 3)]


def fp16_cfg(df, rows=2, cols=3, **kw):
    return SystolicConfig(rows=rows, cols=cols, dataflow=df, a_bits=16, b_bits=16, acc_bits=16,
                          operand_format="fp16", acc_depth=3, **kw)


def _jobs(cfg, seed):
    rng = np.random.default_rng(seed)
    return [(fp16_operands(rng, (m, k)), fp16_operands(rng, (k, n))) for m, k, n in SHAPES]


def _values(bits):
    return np.asarray(bits).astype(np.uint16).view(np.float16).astype(np.float64)


def test_config_errors():
    with pytest.raises(ConfigError, match="a_bits: must be 16"):
        SystolicConfig(operand_format="fp16")
    with pytest.raises(ConfigError, match="operand_format"):
        SystolicConfig(operand_format="bf16")
    assert not SystolicConfig().is_fp16


def test_golden_order_os_by_hand():
    """``os``: one binary16 sum per output, products added for k ascending from +0."""
    cfg = fp16_cfg("os")
    rng = np.random.default_rng(0)
    a, b = fp16_operands(rng, (3, 6)), fp16_operands(rng, (6, 2))
    c = golden_gemm(cfg, a, b)
    for i in range(3):
        for j in range(2):
            acc = np.int64(0)
            for k in range(6):
                acc = fp16_add(acc, fp16_mul(a[i, k], b[k, j]))
            assert int(c[i, j]) == int(acc)


def test_golden_ws_folds_differ_from_os():
    """``ws`` sums each fold of ``rows`` products first: the order shows in the rounding;
    with one row per fold the order is ``os``'s again."""
    rng = np.random.default_rng(1)
    a, b = fp16_operands(rng, (16, 40)), fp16_operands(rng, (40, 16))
    os_, ws = golden_gemm(fp16_cfg("os"), a, b), golden_gemm(fp16_cfg("ws", rows=3), a, b)
    assert not np.array_equal(os_, ws)
    # both stay close to the float64 product (K=40 binary16 roundings)
    ref = _values(a) @ _values(b)
    scale = np.abs(_values(a)) @ np.abs(_values(b))
    for c in (os_, ws):
        assert np.all(np.abs(_values(c) - ref) <= 2 * 41 * 2.0**-11 * scale + 2.0**-24 * 41)
    assert np.array_equal(golden_gemm(fp16_cfg("ws", rows=1), a, b), os_)


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_model_equals_golden(df):
    cfg = fp16_cfg(df)
    for a, b in _jobs(cfg, 3):
        c, cycles = simulate(cfg, a, b)
        assert np.array_equal(c, golden_gemm(cfg, a, b))
        assert cycles == hardware_cycles(cfg, a.shape[0], a.shape[1], b.shape[1])


@pytest.mark.rtl
@pytest.mark.parametrize("df", ["os", "ws"])
def test_amaranth_equals_golden(df):
    from hwsim.families.systolic.rtl import run_gemms_amaranth

    cfg = fp16_cfg(df)
    jobs = _jobs(cfg, 4)[:2]
    for (a, b), (c, cycles) in zip(jobs, run_gemms_amaranth(cfg, jobs)):
        assert np.array_equal(c, golden_gemm(cfg, a, b))
        assert cycles == hardware_cycles(cfg, a.shape[0], a.shape[1], b.shape[1])


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("df", ["os", "ws"])
def test_verilator_equals_golden(df):
    from hwsim.families.systolic.rtl import run_gemms_detailed

    cfg = fp16_cfg(df)
    jobs = _jobs(cfg, 5)
    for bp in (None, {"in_gap": 0.25, "out_gap": 0.25}):
        for (a, b), r in zip(jobs, run_gemms_detailed(cfg, jobs, bp)):
            assert np.array_equal(r.c, golden_gemm(cfg, a, b))
            assert r.cycles - r.stall_cycles == hardware_cycles(cfg, a.shape[0], a.shape[1], b.shape[1])
