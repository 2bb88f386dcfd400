"""A mapped GEMM runs on the systolic RTL as a sequence of tile GEMMs (Verilator)."""

from __future__ import annotations

import numpy as np
import pytest

from hwsim.families.systolic.config import SystolicConfig
from hwsim.families.systolic.golden import golden_gemm, wrap
from hwsim.families.systolic.mapping import tile_gemms
from hwsim.families.systolic.model import estimate
from hwsim.workloads.ops import GemmOp

pytestmark = pytest.mark.slow

# the designs of the family's contract examples (their Verilator builds are shared), with
# 1 KiB buffers and a narrow DRAM so that the mapper must split M, K and N
CASES = [
    (dict(rows=3, cols=5, dataflow="os", a_bits=5, b_bits=3, acc_bits=20, signed=True), (40, 160, 48), 1.0),
    (dict(rows=2, cols=2, dataflow="ws", a_bits=8, b_bits=8, acc_bits=18, signed=False, acc_depth=3),
     (24, 96, 40), 0.5),
]


@pytest.mark.parametrize("design, shape, bw", CASES, ids=["os-3x5", "ws-2x2"])
def test_mapped_gemm_on_the_rtl(design, shape, bw):
    from hwsim.families.systolic.rtl import run_gemms

    cfg = SystolicConfig(**design, ifmap_sram_kb=1, filter_sram_kb=1, ofmap_sram_kb=1, dram_bw_bytes_per_cycle=bw)
    m, k, n = shape
    perf = estimate(cfg, GemmOp(m, k, n))
    mp = perf.mapping
    tiles = list(tile_gemms(m, k, n, mp))
    # a real mapping: several tiles along every dimension
    assert mp["order"] != "fixed"
    assert len({t[0] for t in tiles}) > 1 and len({t[1] for t in tiles}) > 1 and len({t[2] for t in tiles}) > 1

    rng = np.random.default_rng(13)

    def draw(bits, size):
        lo, hi = (-(1 << (bits - 1)), 1 << (bits - 1)) if cfg.signed else (0, 1 << bits)
        return rng.integers(lo, hi, size, dtype=np.int64)

    a, b = draw(cfg.a_bits, (m, k)), draw(cfg.b_bits, (k, n))
    if not cfg.signed:  # large operands, so that the K-split sums wrap around
        a[:, :] = rng.integers(200, 256, (m, k))
        b[:, :] = rng.integers(200, 256, (k, n))
    jobs = [(a[m0:m0 + tm, k0:k0 + tk], b[k0:k0 + tk, n0:n0 + tn]) for m0, k0, n0, tm, tk, tn in tiles]
    runs = run_gemms(cfg, jobs)  # every tile GEMM in one simulation

    # the output buffer: partial sums of the K tiles added in place, wrapping as the
    # accumulators do
    c = np.zeros((m, n), dtype=np.int64)
    for (m0, k0, n0, tm, tk, tn), (part, _) in zip(tiles, runs):
        c[m0:m0 + tm, n0:n0 + tn] = wrap(c[m0:m0 + tm, n0:n0 + tn] + part, cfg.acc_bits, cfg.signed)
    want = golden_gemm(cfg, a, b)
    if not cfg.signed:
        assert (a @ b >= (1 << cfg.acc_bits)).any()  # the wrap-around was exercised
    np.testing.assert_array_equal(c, want)
    assert sum(cycles for _, cycles in runs) == perf.compute_cycles
    assert perf.cycles == max(perf.compute_cycles, -(-perf.total_dram_bytes // cfg.dram_bw_bytes_per_cycle))
