"""LUT tile with output rescale: RTL (Amaranth simulation and Verilator) against the golden
group-scaled GEMM and the closed-form cycle count.

One Verilator build serves every test here: weight precision, weight mode and group size
are run-time inputs (or feeder choices), and each test runs its GEMMs as one batch.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwsim.families.lut import model
from hwsim.families.lut.config import LutConfig
from hwsim.families.lut.golden import golden_lut_gemm_scaled, rescale
from hwsim.errors import ConfigError
from hwsim.families.lut.rescale import RescaleConfig, rescale_config, sum_bits, tile_rescale
from hwsim.families.lut.rescale_rtl import (
    ScaledJob,
    feed,
    group_bounds,
    run_jobs_amaranth,
    scaled_cycles,
)

TILE = {"tile_m": 2, "tile_n": 8, "tile_k": 4}
MODES = {1: "symmetric", 2: "signed", 4: "unsigned"}
# The RTL design: a 16-bit saturating output and 12 fractional bits, so that ordinary
# scales (|s| < 1) mostly stay in range and extreme ones (|s| ~ 8) saturate.
RESCALE = {"frac_bits": 12, "scale_bits": 16, "out_bits": 16}
GEMMS = [(4, 16, 16), (3, 12, 9), (2, 8, 8), (5, 20, 17), (1, 4, 1)]


def _golden(job: ScaledJob) -> np.ndarray:
    r = job.rcfg
    return golden_lut_gemm_scaled(job.cfg, job.a, job.q, job.scales, r.group_size, frac_bits=r.frac_bits,
                                  scale_bits=r.scale_bits, out_bits=r.out_bits)


def _ties(job: ScaledJob) -> int:
    """Outputs whose exact scaled sum lies halfway between two results (rounding ties)."""
    r = job.rcfg
    y = golden_lut_gemm_scaled(job.cfg, job.a, job.q, job.scales, r.group_size, frac_bits=0,
                               scale_bits=r.scale_bits, out_bits=63)
    f = r.frac_bits
    return int(np.sum(y % (1 << f) == (1 << (f - 1)))) if f else 0


def _cycles(job: ScaledJob) -> int:
    (m, k), n = job.a.shape, job.q.shape[1]
    return scaled_cycles(job.cfg, m, k, n, job.rcfg.group_size)


def _jobs(seed: int, rescale: dict, gemms=GEMMS, extreme: bool = True) -> list[ScaledJob]:
    """W1/W2/W4 x group sizes 4 and 8 x ``gemms``; every other GEMM gets extreme scales
    (the format's limits, which saturate, and +-1/2, which make rounding ties)."""
    rng = np.random.default_rng(seed)
    jobs = []
    sb = rescale.get("scale_bits", 16)
    smin, smax = -(1 << (sb - 1)), (1 << (sb - 1)) - 1
    half = 1 << (rescale.get("frac_bits", 15) - 1)
    for w_bits, mode in MODES.items():
        cfg = LutConfig(w_bits=w_bits, weight_mode=mode, **TILE)
        for group_size in (4, 8):
            rcfg = rescale_config(cfg, group_size, **rescale)
            for i, (m, k, n) in enumerate(gemms):
                a = rng.integers(-128, 128, (m, k))
                q = rng.integers(0, 1 << w_bits, (k, n))
                shape = (len(group_bounds(k, group_size)), n)
                if extreme and i % 2:
                    s = rng.choice([smin, smin + 1, smax, smax - 1, 0, 1, -1, half, -half], shape)
                else:
                    one = 1 << rescale.get("frac_bits", 15)
                    s = rng.integers(max(-one, smin), min(one, smax) + 1, shape)
                jobs.append(ScaledJob(cfg, rcfg, a, q, s))
    return jobs


def _stalls(jobs: list[ScaledJob], seed: int) -> list[ScaledJob]:
    rng = np.random.default_rng(seed)
    return [ScaledJob(j.cfg, j.rcfg, j.a, j.q, j.scales,
                      {key: "".join(rng.choice(["0", "1"], 300, p=[0.4, 0.6]))
                       for key in ("act_en", "wgt_en", "scale_en", "out_en")})
            for j in jobs]


# --- closed form ---------------------------------------------------------------------
def test_scaled_cycles_by_cycle_level_reasoning():
    """Groups that are whole tile_k steps cost exactly the plain LUT GEMM plus the rescale
    register; a group shorter than tile_k still costs a whole (zero-padded) step."""
    cfg = LutConfig(w_bits=2, **TILE)
    for m, k, n in [(4, 16, 16), (3, 12, 9), (1, 4, 1), (7, 64, 33)]:
        for group_size in (4, 8, 16):
            if k % group_size == 0:
                assert scaled_cycles(cfg, m, k, n, group_size) == model.lut_cycles(cfg, m, k, n) + 1
    # K = 12 in groups of 8 on an 8-wide step: groups of 8 and 4, two steps per tile.
    wide = LutConfig(w_bits=3, tile_m=2, tile_n=8, tile_k=8)
    assert scaled_cycles(wide, 2, 12, 8, 8) == 2 * 3 + 3
    # groups of 4 on an 8-wide step: each group is one padded step (3 steps, not 2)
    assert scaled_cycles(wide, 2, 12, 8, 4) == 3 * 3 + 3
    # two M tiles x two N tiles, K = 8 in two groups of 4 (tile_k = 4), w_bits = 1
    assert scaled_cycles(LutConfig(w_bits=1, **TILE), 4, 8, 16, 4) == 4 * 2 * 1 + 3


def test_feed_beats_match_cycle_count():
    """One scale beat per tile block, w_bits weight beats per activation beat."""
    cfg = LutConfig(w_bits=4, weight_mode="unsigned", **TILE)
    rcfg = rescale_config(cfg, 8)
    rng = np.random.default_rng(3)
    a, q = rng.integers(-128, 128, (3, 20)), rng.integers(0, 16, (20, 9))
    beats = feed(cfg, rcfg, a, q, rng.integers(-100, 100, (3, 9)))
    assert len(beats["wgt"]) == 4 * len(beats["act"])
    assert len(beats["act"]) * 4 + 3 == scaled_cycles(cfg, 3, 20, 9, 8)
    assert len(beats["scale"]) == 2 * 2 * 3 and beats["n_out"] == 4
    last_group = [int(x, 16) >> (8 * 16) for x in beats["scale"]]
    assert last_group == [0, 0, 1] * 4


def test_config_errors():
    cfg = LutConfig(**TILE)
    with pytest.raises(ConfigError, match="group_size: must be a positive multiple of k_group = 4, not 6"):
        rescale_config(cfg, 6)
    with pytest.raises(ConfigError, match="scale_bits: must be <= 32, not 40"):
        RescaleConfig(scale_bits=40)
    with pytest.raises(ConfigError, match="out_bits: must be >= 2, not 1"):
        RescaleConfig(out_bits=1)
    rcfg = rescale_config(cfg, 4)
    with pytest.raises(ConfigError, match=r"scales: shape must be \(2, 3\), not \(1, 3\)"):
        feed(cfg, rcfg, np.zeros((1, 8), int), np.zeros((8, 3), int), np.zeros((1, 3), int))
    with pytest.raises(ConfigError, match=r"scales: values \[0, 32768\] do not fit 16 bits"):
        feed(cfg, rcfg, np.zeros((1, 4), int), np.zeros((4, 3), int), np.array([[0, 1, 1 << 15]]))
    small = rescale_config(cfg, 4, max_groups=2)
    with pytest.raises(ConfigError, match="max_groups: K = 12 makes 3 groups of 4, more than max_groups = 2"):
        feed(cfg, small, np.zeros((1, 12), int), np.zeros((12, 3), int), np.zeros((3, 3), int))
    assert sum_bits(cfg, small) == 32 + 16 + 1


# --- Amaranth simulation (no build) ----------------------------------------------------
def test_rescale_stage_full_range_partials():
    """The stage alone, with partials over the whole acc_bits range and extreme scales, so
    the products and the group sum use every bit of the wide register."""
    from amaranth.sim import Simulator

    cfg = LutConfig(tile_m=2, tile_n=3, tile_k=4, acc_bits=32)
    rcfg = rescale_config(cfg, 4, max_groups=8)
    ab, sb = cfg.acc_bits, rcfg.scale_bits
    rng = np.random.default_rng(21)
    blocks = []  # (partials[G, 2, 3], scales[G, 3])
    for groups in (1, 3, 8, 2):
        p = rng.integers(-(1 << (ab - 1)), 1 << (ab - 1), (groups, 2, 3))
        p[0, 0, 0] = -(1 << (ab - 1))
        s = rng.choice([-(1 << (sb - 1)), (1 << (sb - 1)) - 1, 1 << 14, -3, 0], (groups, 3))
        blocks.append((p, s))
    dut = tile_rescale(cfg, rcfg)
    outs = []

    def pack(values, width):
        return sum((int(v) & ((1 << width) - 1)) << (i * width) for i, v in enumerate(values))

    async def bench(ctx):
        ctx.set(dut.out.ready, 1)
        for p, s in blocks:
            for g in range(len(s)):
                ctx.set(dut.part.payload, pack(p[g].reshape(-1), ab))
                ctx.set(dut.scale.payload.as_value(), pack(s[g], sb) | (int(g == len(s) - 1) << (3 * sb)))
                ctx.set(dut.part.valid, 1)
                ctx.set(dut.scale.valid, 1)
                assert ctx.get(dut.part.ready) and ctx.get(dut.scale.ready)
                await ctx.tick()
                if ctx.get(dut.out.valid):
                    outs.append(ctx.get(dut.out.payload))
        ctx.set(dut.part.valid, 0)
        ctx.set(dut.scale.valid, 0)
        await ctx.tick()
        if ctx.get(dut.out.valid):
            outs.append(ctx.get(dut.out.payload))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert len(outs) == len(blocks)
    saturated = 0
    for (p, s), word in zip(blocks, outs):
        want = rescale(p, s, rcfg.frac_bits, ab).reshape(-1)
        got = [(word >> (i * ab)) & ((1 << ab) - 1) for i in range(6)]
        got = [v - (1 << ab) if v >> (ab - 1) else v for v in got]
        assert got == want.tolist()
        saturated += int(np.sum(np.abs(want) >= (1 << (ab - 1)) - 1))
    assert 0 < saturated < 6 * len(blocks)


def test_amaranth_sim_equals_golden_and_cycles():
    """Default rescale parameters (frac 15, scale 16, out = acc_bits), W1/W2/W4, groups of
    4 and 8, with extreme scales and padded M/N/K."""
    jobs = _jobs(11, {}, gemms=[(3, 12, 9), (2, 8, 8)])
    for j, r in zip(jobs, run_jobs_amaranth(jobs)):
        assert np.array_equal(r["c"], _golden(j))
        assert r["cycles"] == _cycles(j)
    assert sum(map(_ties, jobs)) > 0


def test_amaranth_sim_back_pressure_equals_golden():
    jobs = _stalls(_jobs(12, RESCALE, gemms=[(3, 12, 9)]), seed=5)
    for j, r in zip(jobs, run_jobs_amaranth(jobs)):
        assert np.array_equal(r["c"], _golden(j))
        assert r["cycles"] > _cycles(j)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), frac_bits=st.integers(0, 16), scale_bits=st.integers(2, 20),
       out_bits=st.integers(4, 40), w_bits=st.integers(1, 4), groups=st.integers(1, 3))
def test_amaranth_sim_property(seed, frac_bits, scale_bits, out_bits, w_bits, groups):
    """Any rescale shape, on a 1x2 tile: the RTL equals the golden oracle bit for bit."""
    rng = np.random.default_rng(seed)
    cfg = LutConfig(w_bits=w_bits, weight_mode=MODES.get(w_bits, "signed"), tile_m=1, tile_n=2, tile_k=4)
    rcfg = rescale_config(cfg, 4, frac_bits=frac_bits, scale_bits=scale_bits, out_bits=out_bits)
    k = 4 * groups - int(rng.integers(0, 3))
    a, q = rng.integers(-128, 128, (2, k)), rng.integers(0, 1 << w_bits, (k, 3))
    s = rng.integers(-(1 << (scale_bits - 1)), 1 << (scale_bits - 1), (groups, 3))
    job = ScaledJob(cfg, rcfg, a, q, s)
    (r,) = run_jobs_amaranth([job])
    assert np.array_equal(r["c"], _golden(job))
    assert r["cycles"] == _cycles(job)


# --- Verilator -------------------------------------------------------------------------
@pytest.mark.rtl
@pytest.mark.slow
def test_rtl_equals_golden_and_scaled_cycles(tmp_path):
    from hwsim.families.lut.rescale_rtl import run_jobs

    jobs = _jobs(2024, RESCALE)
    results = run_jobs(jobs, work_dir=tmp_path)
    hi = (1 << (RESCALE["out_bits"] - 1)) - 1
    saturated = unsaturated = 0
    for j, r in zip(jobs, results):
        g = _golden(j)
        assert np.array_equal(r["c"], g)
        assert r["cycles"] == _cycles(j)
        saturated += int(np.sum(np.abs(g) >= hi))
        unsaturated += int(np.sum(np.abs(g) < hi))
    assert saturated > 0 and unsaturated > 0  # both regimes were exercised
    assert sum(map(_ties, jobs)) > 0


@pytest.mark.rtl
@pytest.mark.slow
def test_rtl_back_pressure_equals_golden_and_amaranth(tmp_path):
    """Random gaps on the three input streams and back-pressure on the output: results
    still equal golden, and Verilator and Amaranth's simulator agree cycle for cycle."""
    from hwsim.families.lut.rescale_rtl import run_jobs

    jobs = _stalls(_jobs(77, RESCALE, gemms=[(4, 16, 16), (3, 12, 9)]), seed=9)
    results = run_jobs(jobs, work_dir=tmp_path)
    reference = run_jobs_amaranth(jobs)
    for j, r, ref in zip(jobs, results, reference):
        assert np.array_equal(r["c"], _golden(j))
        assert r["cycles"] == ref["cycles"] > _cycles(j)


def test_cli_exports_the_scaled_tile(tmp_path):
    from hwsim.cli import main

    assert main(["rtl", "export", "lut", "--tile-n", "4", "--core", "lut", "--with-rescale", "--group-size", "8",
                 "-o", str(tmp_path)]) == 0
    [path] = tmp_path.glob("scaled_lut_tile_m2n4k4_*_g8.v")
    assert f"module {path.stem}(" in path.read_text()
    assert main(["rtl", "export", "lut", "--with-rescale", "--group-size", "6", "-o", str(tmp_path / "bad")]) == 2
    assert not (tmp_path / "bad").exists()
