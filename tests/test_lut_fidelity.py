"""LUT tensor core family: RTL (Verilator via cocotb) against golden and the models.

Four Verilator builds in all (LUT and MAC tiles x two tile shapes); weight precision and
weight mode are run-time inputs of the tiles, so every precision reuses the same build,
and each test runs a batch of GEMMs in one simulator run.
"""

from __future__ import annotations

import numpy as np
import pytest

from hwsim.families.lut import model
from hwsim.families.lut.config import LutConfig
from hwsim.families.lut.cyclesim import simulate_lut, simulate_mac
from hwsim.families.lut.golden import golden_lut_gemm, golden_mac_gemm

pytestmark = [pytest.mark.rtl, pytest.mark.slow]

# (tile_m, tile_n, tile_k, extra config): the second shape has two tables per row and a
# narrowed (quantised) table, so table quantisation is checked in RTL too.
SHAPES = {
    "m2n8k4": {"tile_m": 2, "tile_n": 8, "tile_k": 4},
    "m2n16k8": {"tile_m": 2, "tile_n": 16, "tile_k": 8, "table_bits": 10},
}
MODES = {1: "symmetric", 2: "signed", 4: "unsigned"}
GEMMS = [(4, 16, 16), (3, 10, 9), (2, 32, 8), (5, 20, 33), (1, 4, 1)]


def _stimulus(seed: int, w_bits: int):
    rng = np.random.default_rng(seed)
    return [(rng.integers(-128, 128, (m, k)), rng.integers(0, 1 << w_bits, (k, n))) for m, k, n in GEMMS]


@pytest.mark.parametrize("kind", ["lut", "mac"])
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("w_bits", [1, 2, 4])
def test_rtl_equals_golden_and_model(tmp_path, kind, shape, w_bits):
    from hwsim.families.lut.rtl import run_jobs

    cfg = LutConfig(w_bits=w_bits, weight_mode=MODES[w_bits], **SHAPES[shape])
    gemms = _stimulus(1000 + w_bits, w_bits)
    results = run_jobs(cfg, kind, gemms, work_dir=tmp_path)
    golden = golden_lut_gemm if kind == "lut" else golden_mac_gemm
    cycles = model.lut_cycles if kind == "lut" else model.mac_cycles
    for (a, q), r in zip(gemms, results):
        assert np.array_equal(r["c"], golden(cfg, a, q))
        assert r["cycles"] == cycles(cfg, a.shape[0], a.shape[1], q.shape[1])


@pytest.mark.parametrize("kind", ["lut", "mac"])
def test_rtl_cycles_equal_cycle_level_model_under_stalls(tmp_path, kind):
    """Random gaps on both input streams and back-pressure on the output: the RTL and the
    cycle-level model see the same per-cycle enables and must agree cycle for cycle."""
    from hwsim.families.lut.rtl import run_jobs

    cfg = LutConfig(w_bits=2, weight_mode="signed", **SHAPES["m2n8k4"])
    rng = np.random.default_rng(7)
    gemms = []
    for a, q in _stimulus(77, 2)[:3]:
        pats = {key: "".join(rng.choice(["0", "1"], 400, p=[0.35, 0.65]))
                for key in ("act_en", "wgt_en", "out_en")}
        gemms.append((a, q, pats))
    results = run_jobs(cfg, kind, gemms, work_dir=tmp_path)
    sim = simulate_lut if kind == "lut" else simulate_mac
    for (a, q, pats), r in zip(gemms, results):
        c, perf = sim(cfg, a, q, **pats)
        assert np.array_equal(r["c"], c)
        assert r["cycles"] == perf.cycles and perf.stall_cycles > 0
