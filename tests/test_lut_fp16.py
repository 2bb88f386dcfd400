"""The LUT tensor core on FP16 activations: golden against float64, the cycle-level model,
the Verilated LUT and MAC (dequantise-then-multiply) tiles bit for bit, and the study's
ratios from records.

Two Verilator builds (the FP16 LUT and MAC tiles at M2 N4 K8, the family's FP16 contract
examples): weight precision and mode are run-time inputs, so every precision shares the
build, and each test runs all its GEMMs in one simulator run.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from hwsim.errors import ConfigError
from hwsim.families.lut import model
from hwsim.families.lut.config import LutConfig
from hwsim.families.lut.cyclesim import simulate_lut, simulate_mac
from hwsim.families.lut.golden_fp16 import (
    error_bound,
    golden_fp16_gemm,
    lut_fp16_gemm,
    mac_fp16_gemm,
    reference_gemm,
    values,
)

TILE = {"tile_m": 2, "tile_n": 4, "tile_k": 8}  # two tables of k_group 4 per row
PRECISIONS = [(1, "symmetric"), (2, "signed"), (4, "unsigned"), (4, "signed")]
GEMMS = [(3, 13, 5), (5, 37, 9), (1, 8, 1), (2, 20, 7)]


def _cfg(core="lut", w_bits=2, mode="signed", **kw):
    return LutConfig(core=core, act_format="fp16", w_bits=w_bits, weight_mode=mode, **{**TILE, **kw})


def _operands(rng, shape, w_bits, scale=1.0):
    m, k, n = shape
    a = (scale * rng.standard_normal((m, k))).astype(np.float16)
    return a, rng.integers(0, 1 << w_bits, (k, n))


# --- golden ---------------------------------------------------------------------------------
@pytest.mark.parametrize("core", ["lut", "mac"])
@pytest.mark.parametrize("w_bits,mode", PRECISIONS)
def test_golden_error_against_float64_is_within_the_rounding_bound(core, w_bits, mode):
    """Every binary16 rounding is accounted for by :func:`error_bound`; the error is not
    zero (the golden model does round), and stays a small fraction of the result."""
    rng = np.random.default_rng(w_bits)
    cfg = _cfg(core, w_bits, mode, tile_n=8, tile_k=4)
    a, q = _operands(rng, (16, 512, 24), w_bits)
    c = values(golden_fp16_gemm(cfg, a, q))
    ref = reference_gemm(cfg, a, q)
    err = np.abs(c - ref)
    assert np.all(err <= error_bound(cfg, a, q))
    assert err.max() > 0
    assert np.sqrt(np.mean(err**2)) < 1e-2 * np.sqrt(np.mean(ref**2))


def test_measured_error_at_llm_depth():
    """K = 4096 (a Llama-2-7B projection): the binary16 accumulators lose about half a
    percent (RMS); the LUT tile rounds its accumulator once per group of four products
    where the MAC tile rounds after every product, so its error is the smaller at W1."""
    from hwsim.families.lut.golden_fp16 import error_stats

    lut = error_stats(_cfg("lut", 1, "symmetric", tile_n=64, tile_k=4))
    mac = error_stats(_cfg("mac", 1, "symmetric", tile_n=64, tile_k=4))
    assert 0 < lut["rel_rms"] < mac["rel_rms"] < 2e-2
    assert lut["max_abs"] > 0 and mac["max_over_bound"] == 0  # 4096 roundings: the bound says nothing


def test_golden_is_exact_where_binary16_is():
    """Small integer-valued activations: every table entry, partial sum and product is an
    integer below 2**11, so the LUT and MAC results equal the exact GEMM."""
    rng = np.random.default_rng(3)
    for w_bits, mode in PRECISIONS:
        a = rng.integers(-4, 5, (4, 24)).astype(np.float16)
        q = rng.integers(0, 1 << w_bits, (24, 6))
        for core in ("lut", "mac"):
            cfg = _cfg(core, w_bits, mode)
            assert np.array_equal(values(golden_fp16_gemm(cfg, a, q)), reference_gemm(cfg, a, q))


def test_golden_follows_the_stated_order():
    """One output, one step, by hand: the table entry (-a0 + a1) + a2 ... rounds after each
    add, so 2048 + 1 + 1 is 2048 in binary16 (each +1 is a tie to even), not 2050."""
    cfg = LutConfig(act_format="fp16", w_bits=1, weight_mode="symmetric", tile_m=1, tile_n=1, tile_k=4)
    a = np.float16([[2048.0, 1.0, 1.0, 0.0]])
    q = np.array([[1], [1], [1], [1]])
    assert lut_fp16_gemm(cfg, a, q).view(np.float16)[0, 0] == np.float16(2048.0)
    assert reference_gemm(cfg, a, q)[0, 0] == 2050.0
    # the MAC chain rounds the same way: ((2048 + 1) + 1) + 0
    assert mac_fp16_gemm(replace(cfg, core="mac"), a, q).view(np.float16)[0, 0] == np.float16(2048.0)


def test_mac_scales_apply_per_group():
    rng = np.random.default_rng(5)
    cfg = _cfg("mac", 2, "signed")
    a, q = _operands(rng, (3, 20, 5), 2)
    s = rng.uniform(0.01, 0.1, (3, 5)).astype(np.float16)
    c = values(mac_fp16_gemm(cfg, a, q, s, 8))
    ref = reference_gemm(cfg, a, q, s, 8)
    assert np.all(np.abs(c - ref) <= error_bound(cfg, a, q, s, 8))
    assert not np.allclose(c, values(mac_fp16_gemm(cfg, a, q)))


@pytest.mark.parametrize("make, key, msg", [
    (lambda: LutConfig(act_format="fp16", table_bits=8), "table_bits", "applies to integer activations only"),
    (lambda: mac_fp16_gemm(_cfg("mac", 4, "symmetric"), np.zeros((1, 8), np.float16), np.zeros((8, 1), int)),
     "weight_mode", "do not fit the FP16 MAC tile's 4-bit two's complement dequantiser lane"),
    (lambda: golden_fp16_gemm(_cfg("lut"), np.zeros((1, 8), np.float16), np.zeros((8, 1), int),
                              np.ones((1, 1), np.float16), 8), "scales", "only the MAC baseline takes"),
    (lambda: lut_fp16_gemm(_cfg("lut"), np.full((1, 8), -1, np.int8), np.zeros((8, 1), int)),
     "A", "must be float16 values or binary16 bit patterns"),
    (lambda: lut_fp16_gemm(_cfg("lut", 1, "symmetric"), np.zeros((1, 8), np.float16), np.full((8, 1), 2)),
     "W", "do not fit 1 bits"),
])
def test_bad_input_is_a_one_line_error(make, key, msg):
    with pytest.raises(ConfigError) as e:
        make()
    assert e.value.key == key and msg in str(e.value) and "\n" not in str(e.value)


# --- cycle-level model ---------------------------------------------------------------------
@pytest.mark.parametrize("w_bits,mode", PRECISIONS)
def test_cycle_model_equals_golden_and_closed_form(w_bits, mode):
    rng = np.random.default_rng(11)
    for core, sim in (("lut", simulate_lut), ("mac", simulate_mac)):
        if core == "mac" and (w_bits, mode) == (4, "symmetric"):
            continue
        cfg = _cfg(core, w_bits, mode)
        for shape in GEMMS:
            a, q = _operands(rng, shape, w_bits)
            c, perf = sim(cfg, a, q)
            assert np.array_equal(c, golden_fp16_gemm(cfg, a, q))
            assert perf.cycles == model.estimate(cfg, shape).compute_cycles


def test_fp16_designs_are_contract_examples():
    from hwsim.families.lut.family import FAMILY

    fp16 = [d for d in FAMILY.examples if d.get("act_format") == "fp16"]
    assert sorted(d["core"] for d in fp16) == ["lut", "mac"]


# --- RTL -----------------------------------------------------------------------------------
@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("core", ["lut", "mac"])
def test_rtl_equals_golden_and_model_at_every_precision(tmp_path, core):
    """W1/W2/W4 (and the MAC tile's per-group scales) on odd shapes, one build and one
    simulator run per tile; back-pressure on one GEMM."""
    from hwsim.families.lut.rtl import run_jobs

    rng = np.random.default_rng(17)
    base = _cfg(core)
    gemms, precisions, refs = [], [], []
    for w_bits, mode in PRECISIONS:
        if core == "mac" and mode == "symmetric" and w_bits == 4:
            continue
        cfg = replace(base, w_bits=w_bits, weight_mode=mode)
        for shape in GEMMS:
            a, q = _operands(rng, shape, w_bits, scale=4.0)
            sc = {}
            if core == "mac" and shape[1] > 8:
                sc = {"scales": rng.uniform(0.05, 2.0, (-(-shape[1] // 8), shape[2])).astype(np.float16),
                      "group_size": 8}
            en = None
            if shape == GEMMS[1]:
                en = {"act_en": "".join(rng.choice(["0", "1"], 60)), "out_en": "".join(rng.choice(["0", "1"], 60))}
            gemms.append((a, q, en, sc))
            precisions.append((w_bits, mode))
            ref = golden_fp16_gemm(cfg, a, q, sc.get("scales"), sc.get("group_size"))
            sim = simulate_lut if core == "lut" else simulate_mac
            c, perf = sim(cfg, a, q, **(en or {}), **sc)
            assert np.array_equal(c, ref)
            refs.append((ref, perf.cycles))
    res = run_jobs(base, core, gemms, work_dir=tmp_path, precisions=precisions)
    for (ref, cycles), r in zip(refs, res):
        assert r["c"].dtype == np.uint16 and np.array_equal(r["c"], ref)
        assert r["cycles"] == cycles


@pytest.mark.rtl
@pytest.mark.slow
def test_integer_tiles_are_unchanged_by_the_fp16_path():
    """The FP16 tiles are separate classes: the integer tiles' Verilog is the pinned one
    (tests/test_verilog_pins.py), and the FP16 MAC tile uses MixPE's dequantiser."""
    from hwsim.families.lut.rtl import verilog_text

    int_v = verilog_text(LutConfig(tile_m=2, tile_n=4, tile_k=4), "lut")
    fp_v = verilog_text(_cfg("lut"), "lut")
    assert "fp16" not in int_v.lower() and "tadd" in fp_v and "pshift" in fp_v
    assert "module mac_tile_dequant" in verilog_text(_cfg("mac"), "mac")


# --- study ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_study_ratios_come_from_the_records_with_the_paper_beside():
    """W1 x FP16 and W2 x FP16 records of both cores (synthesised M2 N4 K4 tiles): the
    report's ratios are the records' ratios, and the paper's W1 x FP16 figures stand beside."""
    from hwsim.evaluate import Point, Workload, evaluate
    from hwsim.families.lut.compare import PAPER_W1_FP16
    from hwsim.families.lut.study import lut_vs_mac_items
    from hwsim.report.data import flatten
    from hwsim.report.html import Item
    from hwsim.workloads.ops import GemmOp

    wl = Workload.from_gemms("gemm", [GemmOp(m=64, k=4096, n=4096)])
    recs = {}
    for b, mode in ((1, "symmetric"), (2, "signed")):
        for core in ("lut", "mac"):
            cfg = LutConfig(core=core, act_format="fp16", w_bits=b, weight_mode=mode, tile_m=2, tile_n=4, tile_k=4)
            recs[(b, core)] = evaluate(Point("lut", cfg.to_dict(), wl))
    items = {it.id: it for it in lut_vs_mac_items(flatten([r.to_dict() for r in recs.values()]), Item)}
    table = items["lut-vs-mac"].table
    head = table[0]
    rows = {row[head.index("W bits")]: row for row in table[1:]}
    for b in (1, 2):
        lut, mac = recs[(b, "lut")], recs[(b, "mac")]
        dens = (lut.macs / lut.compute_cycles / lut.area_um2_by_part["pe_array"]) / \
            (mac.macs / mac.compute_cycles / mac.area_um2_by_part["pe_array"])
        assert float(rows[b][head.index("tile TOPS/mm^2 LUT/MAC")]) == pytest.approx(dens, rel=1e-2)
        assert lut.area_um2_by_part["pe_array"] < mac.area_um2_by_part["pe_array"]
    assert float(rows[1][head.index("paper TOPS/mm^2")]) == PAPER_W1_FP16["tops_per_mm2"]
    assert float(rows[1][head.index("paper TOPS/W")]) == PAPER_W1_FP16["tops_per_w"]
    assert rows[2][head.index("paper TOPS/W")] == "-"
    assert any("20.9x" in row[1] for row in items["lut-paper"].table[1:])


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("core", ["lut", "mac"])
def test_exported_fp16_tile_lints_clean_and_passes_its_testbench(tmp_path, core):
    """``hwsim rtl export`` of an FP16 tile: ``verilator --lint-only -Wall`` is clean and the
    bundle's self-checking testbench (expected blocks from golden) passes."""
    import subprocess

    from hwsim.eda.export import export
    from hwsim.families.lut.family import FAMILY
    from hwsim.sim.verilator import build_env, verilator_bin_dir

    b = export(FAMILY, _cfg(core), tmp_path)
    env = build_env()
    env["PATH"] = f"{verilator_bin_dir()}:{env['PATH']}"
    r = subprocess.run(["verilator", "--lint-only", "-Wall", "--top-module", b.name, b.files["verilog"].name],
                       cwd=b.folder, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "%Warning" not in r.stderr, r.stderr[-2000:]
    r = subprocess.run(["make", "-f", f"{b.name}.mk", "sim"], cwd=b.folder, env=env, capture_output=True,
                       text=True, timeout=900)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and f"PASS {b.name}" in out and "FAIL" not in out, out[-3000:]
