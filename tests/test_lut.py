"""LUT tensor core family: config, golden, closed-form and cycle-level models."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwsim.families.lut import model
from hwsim.families.lut.config import LutConfig
from hwsim.families.lut.cyclesim import simulate_lut, simulate_mac
from hwsim.families.lut.golden import (
    build_tables,
    golden_lut_gemm,
    golden_lut_gemm_scaled,
    golden_mac_gemm,
    lookup,
    pattern_signs,
    rescale,
    weight_codes,
    weight_values,
)
from hwsim.errors import ConfigError
from hwsim.workloads.ops import GemmOp


# --- config ---------------------------------------------------------------------------
@pytest.mark.parametrize("kw, key, msg", [
    ({"core": "dsp"}, "core", "must be one of 'lut', 'mac', not 'dsp'"),
    ({"w_bits": 0}, "w_bits", "must be >= 1, not 0"),
    ({"w_bits": 5}, "w_bits", "must be <= 4, not 5"),
    ({"weight_mode": "twos"}, "weight_mode", "must be one of 'symmetric', 'signed', 'unsigned', not 'twos'"),
    ({"act_format": "int4"}, "act_format", "must be one of 'int8', 'int16', 'fp16', not 'int4'"),
    ({"tile_k": 6}, "tile_k", "must be a multiple of k_group = 4, not 6"),
    ({"tile_m": 0}, "tile_m", "must be >= 1, not 0"),
    ({"table_bits": 12}, "table_bits", "must be <= 11, not 12"),
    ({"acc_bits": 10}, "acc_bits", "must be >= a_bits + w_bits + 1 = 11, not 10"),
    ({"symmetric_table": 1}, "symmetric_table", "must be true or false, not 1"),
    ({"freq_mhz": 0}, "freq_mhz", "must be a positive number, not 0"),
    ({"lookup_units": 129}, "lookup_units", "must be <= 128, not 129"),
])
def test_config_errors(kw, key, msg):
    with pytest.raises(ConfigError) as e:
        LutConfig(**kw)
    assert e.value.key == key and e.value.reason == msg


def test_config_derived_and_dict_roundtrip():
    cfg = LutConfig(tile_m=2, tile_n=64, tile_k=8, k_group=4, table_bits=8)
    assert (cfg.table_entries, cfg.tables_per_row, cfg.table_bits_exact, cfg.table_shift) == (8, 2, 11, 3)
    assert LutConfig(symmetric_table=False).table_entries == 16
    assert LutConfig.from_dict(cfg.to_dict()) == cfg and LutConfig.from_dict(cfg.to_dict()).key() == cfg.key()
    with pytest.raises(ConfigError, match="x.toml: tile_x: unknown key"):
        LutConfig.from_dict({"tile_x": 1}, source="x.toml")


# --- golden ---------------------------------------------------------------------------
def test_symmetric_table_is_half_of_full_table(rng):
    a = rng.integers(-128, 128, (5, 4))
    full = a @ pattern_signs(4).T
    assert np.array_equal(full[:, ::-1], -full)  # T[~p] == -T[p]
    sym = LutConfig(symmetric_table=True)
    pats = np.arange(16)[None, :].repeat(5, 0)
    assert np.array_equal(lookup(sym, build_tables(sym, a)[:, None, :], pats), full)


@pytest.mark.parametrize("mode", ["symmetric", "signed", "unsigned"])
@pytest.mark.parametrize("w_bits", [1, 2, 3, 4])
@pytest.mark.parametrize("symmetric_table", [True, False])
def test_golden_equals_integer_gemm(rng, mode, w_bits, symmetric_table):
    cfg = LutConfig(w_bits=w_bits, weight_mode=mode, symmetric_table=symmetric_table, tile_k=8)
    a = rng.integers(-128, 128, (7, 45))
    q = rng.integers(0, 1 << w_bits, (45, 13))
    ref = a @ weight_values(cfg, q)
    assert np.array_equal(golden_lut_gemm(cfg, a, q), ref)
    assert np.array_equal(golden_mac_gemm(cfg, a, q), ref)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.sampled_from(["symmetric", "signed", "unsigned"]), st.integers(1, 5),
       st.integers(1, 6), st.integers(1, 20), st.integers(1, 6), st.integers(0, 2**31))
def test_golden_property_int16(w_bits, mode, k_group, m, k, n, seed):
    rng = np.random.default_rng(seed)
    cfg = LutConfig(w_bits=w_bits, weight_mode=mode, k_group=k_group, tile_k=k_group, act_format="int16",
                    acc_bits=40)
    a = rng.integers(-(1 << 15), 1 << 15, (m, k))
    q = rng.integers(0, 1 << w_bits, (k, n))
    assert np.array_equal(golden_lut_gemm(cfg, a, q), a @ weight_values(cfg, q))


def test_weight_codes_roundtrip_and_errors():
    for mode in ("symmetric", "signed", "unsigned"):
        cfg = LutConfig(w_bits=3, weight_mode=mode)
        q = np.arange(8)
        assert np.array_equal(weight_codes(cfg, weight_values(cfg, q)), q)
    with pytest.raises(ConfigError, match="symmetric weights must be odd"):
        weight_codes(LutConfig(w_bits=2, weight_mode="symmetric"), [0])
    with pytest.raises(ConfigError, match=r"outside the 2-bit signed range \[-2, 1\]"):
        weight_codes(LutConfig(w_bits=2, weight_mode="signed"), [2])
    with pytest.raises(ConfigError, match="W: codes"):
        golden_lut_gemm(LutConfig(w_bits=1), np.zeros((1, 4), int), np.full((4, 1), 2))
    with pytest.raises(ConfigError, match="act_format: the golden model supports integer"):
        golden_lut_gemm(LutConfig(act_format="fp16"), np.zeros((1, 4), int), np.zeros((4, 1), int))


def test_table_quantisation_is_modelled(rng):
    """A narrow table drops low bits of each entry (floor), then negates the stored entry:
    the result differs from the exact GEMM, by at most the dropped LSBs."""
    cfg = LutConfig(w_bits=2, weight_mode="symmetric", table_bits=8)
    assert cfg.table_shift == 3
    a = rng.integers(-128, 128, (6, 64))
    q = rng.integers(0, 4, (64, 10))
    got = golden_lut_gemm(cfg, a, q)
    exact = a @ weight_values(cfg, q)
    # hand model: per group and plane, lookup = sign * (T[p_or_~p] >> 3), summed with << b, << 3
    t = a.reshape(6, 16, 4) @ pattern_signs(4).T  # (M, G, 16)
    hand = np.zeros_like(exact)
    for b in range(2):
        pl = (q >> b) & 1
        pats = (pl.reshape(16, 4, 10) * (1 << np.arange(4))[None, :, None]).sum(1)  # (G, N)
        for g in range(16):
            for n in range(10):
                p = pats[g, n]
                v = np.where(p >= 8, -(t[:, g, 15 - p] >> 3), t[:, g, p] >> 3)
                hand[:, n] += v << b
    assert np.array_equal(got, hand << 3)
    assert not np.array_equal(got, exact)
    assert np.abs(got - exact).max() <= 16 * 3 * 8  # groups x (sum of plane weights) x 2**shift


def test_accumulator_wraps_like_hardware():
    cfg = LutConfig(w_bits=1, weight_mode="symmetric", acc_bits=12, tile_k=4)
    a = np.full((1, 16), -128)
    q = np.zeros((16, 1), dtype=np.int64)  # w = -1 everywhere -> 2048 wraps to -2048
    assert golden_lut_gemm(cfg, a, q).tolist() == [[-2048]]
    assert golden_mac_gemm(cfg, a, q).tolist() == [[-2048]]


def test_rescale_rounding_and_saturation():
    assert rescale(np.array([[[5, -5, 7]]]), np.array([[1, 1, 1]]), 1, 8).tolist() == [[3, -2, 4]]
    assert rescale(np.array([[[1000]]]), np.array([[1 << 4]]), 2, 8).tolist() == [[127]]


def test_with_workload_quantizers(rng):
    """Group-wise INT4 and ternary (BitNet b1.58) weights from the workload quantisers:
    exact integer GEMM per group, then the fixed-point rescale close to the float result."""
    from hwsim.workloads.quant import (
        exact_int_matmul,
        quantize_symmetric,
        quantize_ternary,
    )

    x = rng.normal(size=(4, 128))
    w = rng.normal(size=(128, 24))
    xa = quantize_symmetric(x, 8, k_axis=1)
    for wq, bits in ((quantize_symmetric(w, 4, k_axis=0, group_size=32), 4), (quantize_ternary(w), 2)):
        cfg = LutConfig(w_bits=bits, weight_mode="signed", tile_k=4)
        codes = weight_codes(cfg, wq.q)
        assert np.array_equal(golden_lut_gemm(cfg, xa.q, codes), exact_int_matmul(xa.q, wq.q))
        frac = 20
        scales = np.repeat(np.rint(wq.scale * (1 << frac)).astype(np.int64), 1, axis=0)
        scales = np.broadcast_to(scales, (wq.n_groups, 24)).copy()
        got = golden_lut_gemm_scaled(cfg, xa.q, codes, scales, wq.group_size, frac_bits=frac, scale_bits=32)
        ref = xa.q @ (wq.q * wq.expand(wq.scale))
        assert np.abs(got - ref).max() <= 0.5 + 128 * 127 * 7 * 128 * 2.0 ** -frac


# --- models ---------------------------------------------------------------------------
def test_closed_form_counts():
    # the fixed order: the whole GEMM as one command (the mapper's tilings are tested in
    # tests/test_mapping.py)
    cfg = LutConfig(w_bits=2, tile_m=2, tile_n=64, tile_k=4, mapping="fixed")
    p = model.estimate(cfg, GemmOp(m=8, k=4096, n=256))
    steps = 4 * 4 * 1024
    assert p.cycles == steps * 2 + 2
    assert p.actions["table_builds"] == steps * 2
    assert p.actions["table_build_adds"] == steps * 2 * 8 * 3
    assert p.actions["lut_lookups"] == steps * 2 * 128
    assert p.actions["sram_read:weight"] == steps * 2 and model.sram_widths(cfg)["weight"] == 64 * 4
    assert p.macs == 8 * 4096 * 256 and p.utilization == pytest.approx(1 - 2 / p.cycles)
    mac = model.estimate_mac(cfg, GemmOp(m=8, k=4096, n=256))
    assert mac.compute_cycles == steps + 1 and mac.actions["mac"] == p.macs
    # W (256 KiB at 2 bits) does not fit the 64 KiB buffer: re-read per M tile; the MAC
    # core is then DRAM-bound at 64 B/cycle, the bit-serial LUT core is not
    assert mac.dram_bytes == {"A": 8 * 4096, "W": 4 * 4096 * 256 * 2 // 8, "C": 8 * 256 * 4}
    assert mac.cycles == sum(mac.dram_bytes.values()) // 64 and mac.stall_cycles == mac.cycles - steps - 1
    assert p.stall_cycles == 0 and model.estimate(replace(cfg, core="mac"), (8, 4096, 256)) == mac
    # fewer lookup units time-multiplex, padding is counted as work but not as MACs
    half = model.estimate(LutConfig(w_bits=2, tile_m=2, tile_n=64, tile_k=4, lookup_units=64, mapping="fixed"),
                          (3, 10, 65))
    assert half.cycles == (2 * 2 * 3) * 2 * 2 + 2 and half.macs == 3 * 10 * 65


@pytest.mark.parametrize("w_bits", [1, 2, 4])
@pytest.mark.parametrize("mode", ["symmetric", "signed", "unsigned"])
def test_cyclesim_equals_golden_and_closed_form(rng, w_bits, mode):
    cfg = LutConfig(w_bits=w_bits, weight_mode=mode, tile_m=2, tile_n=8, tile_k=8, table_bits=9)
    a = rng.integers(-128, 128, (5, 19))
    q = rng.integers(0, 1 << w_bits, (19, 11))
    c, p = simulate_lut(cfg, a, q)
    assert np.array_equal(c, golden_lut_gemm(cfg, a, q))
    assert p.cycles == model.estimate(cfg, (5, 19, 11)).cycles and p.stall_cycles == 0
    c, p = simulate_mac(cfg, a, q)
    assert np.array_equal(c, golden_mac_gemm(cfg, a, q))
    assert p.cycles == model.estimate_mac(cfg, (5, 19, 11)).cycles


def test_cyclesim_with_stalls(rng):
    cfg = LutConfig(w_bits=2, tile_m=2, tile_n=8, tile_k=4)
    a = rng.integers(-128, 128, (4, 16))
    q = rng.integers(0, 4, (16, 16))
    pat = "".join(rng.choice(["0", "1"], 300, p=[0.4, 0.6]))
    c, p = simulate_lut(cfg, a, q, act_en=pat, wgt_en=pat[::-1], out_en=pat[7:])
    assert np.array_equal(c, golden_lut_gemm(cfg, a, q))
    assert p.stall_cycles > 0 and p.cycles == p.compute_cycles + p.stall_cycles
    c, p = simulate_mac(cfg, a, q, act_en=pat, wgt_en=pat[::-1], out_en="0" * 40)
    assert np.array_equal(c, golden_mac_gemm(cfg, a, q)) and p.stall_cycles >= 39


# --- CLI ------------------------------------------------------------------------------
def test_cli_run_json(capsys):
    import json

    from hwsim.cli import main

    assert main(["run", "lut", "--gemm", "4x16x16", "--w-bits", "2", "--tile-n", "8", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    cfg = LutConfig(w_bits=2, tile_n=8)
    p = model.estimate(cfg, (4, 16, 16))
    assert d["cycles"] == p.cycles == 34 and d["macs"] == 1024
    assert d["actions"] == model.priced_actions(cfg, p)  # the record's actions, as a sweep stores them
    assert d["utilization"] == pytest.approx(p.utilization) and d["core"] == "lut"
    assert main(["run", "lut", "--gemm", "5x19x11", "--core", "mac", "--fidelity", "cycle", "--tile-n", "8",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["cycles"] == model.estimate_mac(LutConfig(tile_n=8), (5, 19, 11)).cycles


def test_cli_run_reports_cost_from_synthesis_and_activity(capsys):
    import json

    from hwsim.families.lut.compare import tile_area
    from hwsim.cli import main
    from hwsim.families.lut.activity import lut_calibration

    assert main(["run", "lut", "--gemm", "4x16x16", "--w-bits", "1", "--weight-mode", "symmetric",
                 "--tile-n", "8", "--synth", "asic", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    cfg = LutConfig(w_bits=1, weight_mode="symmetric", tile_n=8)
    area = tile_area(cfg, "lut")
    assert d["cost"]["area_um2_by_part"]["pe_array"] == pytest.approx(area.value)
    assert d["synthesis"]["asic"]["area_um2"] == pytest.approx(area.value)
    assert d["area_um2"] > area.value  # plus the SRAM buffers
    cal = d["cost"]["provenance"]["calibration"]
    assert cal["pe_array"]["value"] == pytest.approx(lut_calibration(cfg)["pe_array"].value)
    assert d["energy_pj"] > 0 and d["tops_per_w"] > 0 and d["tops_per_mm2"] > 0
    # bit-serial: the peak is one K step per weight bit plane
    assert d["cost"]["peak_tops"] == pytest.approx(2 * cfg.macs_per_cycle * cfg.freq_mhz * 1e6 / 1e12)


@pytest.mark.parametrize("argv, msg", [
    (["--tile-k", "6"], "hwsim run: error: --tile-k: must be a multiple of k_group = 4, not 6"),
    (["--core", "dsp"], "hwsim run: error: --core: must be one of 'lut', 'mac', not 'dsp'"),
    (["--weight-mode", "x"], "hwsim run: error: --weight-mode: must be one of 'symmetric', 'signed', 'unsigned', not 'x'"),
    (["--fidelity", "rtl"], "hwsim run: error: --fidelity: must be one of 'model', 'cycle', not 'rtl'"),
    (["--act-format", "fp16", "--table-bits", "8"],
     "hwsim run: error: --table-bits: applies to integer activations only (fp16 table entries are binary16)"),
    (["--node-nm", "3"], None),
    (["--dram-bw", "0"], None),
])
def test_cli_errors(capsys, argv, msg):
    from hwsim.cli import main

    assert main(["run", "lut", "--gemm", "8x64x64", *argv]) == 2
    err = capsys.readouterr().err.strip()
    if msg is None:  # the message names the option; its wording comes from the validator
        assert err.startswith(f"hwsim run: error: {argv[0]}: ") and "\n" not in err
    else:
        assert err == msg


def test_cli_export(tmp_path, capsys):
    import json

    from hwsim.cli import main

    names = {}
    for core in ("lut", "mac"):
        assert main(["rtl", "export", "lut", "--tile-n", "4", "--core", core, "-o", str(tmp_path), "--json"]) == 0
        names[core] = json.loads(capsys.readouterr().out)["name"]
        assert f"module {names[core]}(" in (tmp_path / f"{names[core]}.v").read_text()
        meta = json.loads((tmp_path / f"{names[core]}.json").read_text())
        assert meta["config"]["tile_n"] == 4 and meta["config"]["core"] == core and "w_bits" not in meta["config"]
    assert names["lut"].startswith("lut_tile_m2n4k4_") and names["mac"].startswith("mac_tile_m2n4k4_")


# --- sweep and comparison ----------------------------------------------------------------
def test_sweep_spec_evaluates():
    from pathlib import Path

    from hwsim.evaluate import evaluate
    from hwsim.sweep.spec import load_spec

    spec = load_spec(Path(__file__).parents[1] / "sweeps" / "lut_vs_mac.toml")
    assert spec.grid_size == 12 and len(spec.workloads) == 4
    all_designs = list(spec.grid_designs())
    # W1 x FP16 and W2 x FP16, where the paper measured its headline, are in the grid (their
    # records are checked in tests/test_lut_fp16.py, which synthesises the FP16 tiles)
    assert {(d["core"], d["w_bits"]) for d in all_designs if d["act_format"] == "fp16"} >= \
        {(c, b) for c in ("lut", "mac") for b in (1, 2)}
    designs = [d for d in all_designs if d["act_format"] == "int8"]
    wl = spec.build_workloads()[1]  # llama-2-7b decode
    recs = {(d["core"], d["w_bits"]): evaluate(pt) for d in designs for pt in spec.points([d], [wl])}
    fixed = 2 * sum(op.count for op in wl.ops)  # table + output latency per GEMM
    for b in (1, 2, 4):
        assert recs[("lut", b)].compute_cycles - fixed == b * (recs[("lut", 1)].compute_cycles - fixed)
        assert recs[("lut", b)].energy_pj > 0 and recs[("mac", b)].energy_pj > 0
        # the array area is the synthesised tile, not the MAC table's stand-in
        assert recs[("lut", b)].area_um2_by_part["pe_array"] != recs[("mac", b)].area_um2_by_part["pe_array"]
    assert recs[("mac", 1)].compute_cycles == recs[("mac", 4)].compute_cycles


@pytest.mark.slow
def test_comparison_advantage_shrinks_with_weight_bits():
    """Synthesises both tiles (4 small Yosys runs, cached) and prices both cores."""
    from hwsim.families.lut.compare import compare, markdown
    from hwsim.workloads.ops import GemmOp

    wl = {"gemv": [GemmOp(m=1, k=4096, n=4096, count=4)], "gemm": [GemmOp(m=64, k=4096, n=4096)]}
    rows = compare(workloads=wl)
    ratio = {(r["workload"], r["w_bits"]): r for r in rows if r["core"] == "lut/mac"}
    for w in wl:
        r1, r2, r4 = (ratio[(w, b)] for b in (1, 2, 4))
        assert r1["area_ratio"] > 1  # the LUT tile is smaller than the MAC tile of the same shape
        assert r1["tops_per_mm2_ratio"] > r2["tops_per_mm2_ratio"] > r4["tops_per_mm2_ratio"]
        assert r1["core_tops_per_w_ratio"] > r2["core_tops_per_w_ratio"] > r4["core_tops_per_w_ratio"]
        assert r1["core_tops_per_w_ratio"] > 1 and r1["speedup"] == pytest.approx(1, abs=1e-3)
    text = markdown(rows)
    assert "arXiv:2408.06003" in text and "| gemv | int8 | 1 | lut |" in text


@pytest.mark.slow
def test_cli_synth(capsys):
    """Both tiles synthesise (the same runs :func:`tile_area` uses, so cached after one)."""
    import json

    from hwsim.cli import main

    for core in ("lut", "mac"):
        assert main(["rtl", "synth", "lut", "--tile-n", "8", "--core", core, "--json"]) == 0
        d = json.loads(capsys.readouterr().out)
        assert d["top"] == f"{core}_tile" and d["area_um2"] > 1000 and d["cell_count"] > 100


@pytest.mark.slow
def test_cli_synth_fpga(capsys):
    """A small LUT tile through Yosys synth_ice40 and nextpnr-ice40 (behind the serial wrapper)."""
    import json

    from hwsim.cli import main

    assert main(["rtl", "synth", "lut", "--core", "lut", "--tile-m", "1", "--tile-n", "2", "--target", "ice40",
                 "--json"]) == 0
    t = d = json.loads(capsys.readouterr().out)
    assert d["target"] == "ice40" and t["luts"] > 100 and t["ffs"] > t["provenance"]["wrapper"]["port_bits_out"]
    assert t["fmax_mhz"] > 10
    assert main(["rtl", "synth", "lut", "--target", "ice40", "--liberty", "x.lib"]) == 2
    assert "--liberty: applies to --target asic only" in capsys.readouterr().err


def test_report_study_puts_our_ratios_beside_the_paper():
    from pathlib import Path

    from hwsim.evaluate import evaluate
    from hwsim.report.data import flatten
    from hwsim.report.html import Item
    from hwsim.families.lut.study import lut_vs_mac_items
    from hwsim.sweep.spec import load_spec

    spec = load_spec(Path(__file__).parents[1] / "sweeps" / "lut_vs_mac.toml")
    wl = spec.build_workloads()[1]
    int8 = [d for d in spec.grid_designs() if d["act_format"] == "int8"]  # FP16: tests/test_lut_fp16.py
    recs = [evaluate(pt).to_dict() for d in int8 for pt in spec.points([d], [wl])]
    items = {it.id: it for it in lut_vs_mac_items(flatten(recs), Item)}
    assert set(items) == {"lut-vs-mac", "lut-activity", "lut-paper", "lut-gap"}
    table = items["lut-vs-mac"].table
    head = table[0]
    dens = {row[1]: float(row[head.index("tile TOPS/mm^2 LUT/MAC")]) for row in table[1:]}
    assert dens[1] > dens[2] > dens[4]  # the advantage shrinks as weight bits grow
    eff = {row[1]: float(row[head.index("core TOPS/W LUT/MAC")]) for row in table[1:]}
    assert eff[1] > eff[2] > eff[4]  # so does the (activity-calibrated) energy efficiency
    act = items["lut-activity"].table
    assert [row[0] for row in act[1:]] == [1, 2, 3, 4]
    gate_ratio = [float(row[3]) for row in act[1:]]
    assert gate_ratio == sorted(gate_ratio)  # LUT/MAC energy per MAC grows with the bits
    assert any(">10x" in row[1] for row in items["lut-paper"].table[1:])
