"""PIM bank family: config, golden order, layout, command timing, closed form vs event-driven,
per-command energy, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hwsim.errors import ConfigError
from hwsim.families.pim.config import PimConfig
from hwsim.families.pim.cost import command_energy, energy_pj_per_command
from hwsim.families.pim.family import FAMILY, stimulus
from hwsim.families.pim.golden import golden_gemv
from hwsim.families.pim.layout import WeightLayout, kv_cache_layout
from hwsim.families.pim.model import closed_form, estimate, gemv_figures, program, simulate
from hwsim.memory.pim import PimChannel, PimCommandError, PimTiming
from hwsim.memory.config import load_preset
from hwsim.workloads.ops import GemmOp

#: FAMILIES.md B (NewtonSim, HBM2_8Gb_x128 IDD): ACT 828 pJ, RD 804 pJ -> G_ACT 3,312, COMP 3,216 pJ.
NEWTONSIM_ACT_PJ, NEWTONSIM_RD_PJ = 828.0, 804.0
NEWTONSIM_GACT_PJ, NEWTONSIM_COMP_PJ = 3312.0, 3216.0
#: FAMILIES.md B: COMP = 16 FP16 MAC x 32 banks per 2 ns = 256 GMAC/s per channel; 6.3 pJ/MAC.
NEWTONSIM_GMAC_PER_S_PER_CHANNEL = 256.0
NEWTONSIM_PJ_PER_MAC = 6.3
#: FAMILIES.md B / REFERENCE.md: Samsung FIMDRAM (HBM-PIM) 1.2 TFLOPS per stack.
FIMDRAM_TFLOPS_PER_STACK = 1.2
#: The NewtonSim channel: 32 banks (2 ranks of 4 x 4) per channel, 32 channels.
NEWTONSIM = dict(channels=32, ranks=2)

#: Closed form vs event-driven: measured exact on every case below; the pinned tolerance.
CLOSED_FORM_TOLERANCE_CYCLES = 0


# ------------------------------------------------------------------------------ config
@pytest.mark.parametrize("kw,key", [
    (dict(mac_lanes=12), "mac_lanes"), (dict(mac_lanes=0), "mac_lanes"),
    (dict(standard="ddr4"), "standard"), (dict(operand_format="bf16"), "operand_format"),
    (dict(global_buffer_bytes=24), "global_buffer_bytes"), (dict(page_bytes=80), "page_bytes"),
    (dict(acc_bits=8), "acc_bits"), (dict(dual_row_buffer=1), "dual_row_buffer"),
    (dict(channels=0), "channels"), (dict(t_comp_cycles=0), "t_comp_cycles"),
])
def test_config_errors_name_the_field(kw, key):
    with pytest.raises(ConfigError) as e:
        PimConfig(**kw)
    assert e.value.key == key


def test_config_defaults_come_from_the_memory_preset():
    cfg, dram = PimConfig(), load_preset("hbm2")
    assert (cfg.channels_eff, cfg.page_bytes_eff) == (dram.channels, dram.page_bytes)
    assert cfg.banks_per_channel == dram.banks
    assert cfg.t_comp_eff == max(dram.burst_cycle, dram.tCCD_S)
    assert cfg.t_gwrite_eff == (dram.tCCD_S + dram.tCCD_L) * 32 == 96
    assert cfg.freq_mhz == 1000.0 / dram.tCK
    with pytest.raises(ConfigError, match="unknown key"):
        PimConfig.from_dict({"lanes": 16})


# ------------------------------------------------------------------------------ golden
def _reference_fp16(cfg, a, b):
    """Scalar restatement of the documented order with numpy.float16 arithmetic."""
    a, b = a.view(np.float16), b.view(np.float16)
    m, k = a.shape
    n = b.shape[1]
    lanes, chunk = cfg.mac_lanes, cfg.chunk_elems
    out = np.zeros((m, n), np.float16)
    for i in range(m):
        for j in range(n):
            parts = []
            for c0 in range(0, k, chunk):
                acc = np.float16(0)
                for s in range(c0, min(c0 + chunk, k), lanes):
                    p = [a[i, q] * b[q, j] if q < min(c0 + chunk, k) else np.float16(0) for q in range(s, s + lanes)]
                    while len(p) > 1:
                        p = [np.float16(p[t] + p[t + 1]) for t in range(0, len(p), 2)]
                    acc = np.float16(acc + p[0])
                parts.append(acc)
            y = parts[0]
            for p in parts[1:]:
                y = np.float16(y + p)
            out[i, j] = y
    return out.view(np.uint16)


@pytest.mark.parametrize("kw,shape", [(dict(mac_lanes=4, page_bytes=64), (2, 37, 3)),
                                      (dict(mac_lanes=16, global_buffer_bytes=64), (1, 70, 2)),
                                      (dict(), (1, 1100, 2))])
def test_fp16_golden_follows_the_stated_order(kw, shape):
    cfg = PimConfig(**kw)
    job = stimulus(cfg, shape, np.random.default_rng(3))
    with np.errstate(over="ignore"):
        ref = _reference_fp16(cfg, job["a"], job["b"])
    assert np.array_equal(golden_gemv(cfg, job["a"], job["b"]), ref)


def test_fp16_order_matters():
    """The chunked, tree-ordered sum differs from a plain sequential FP16 sum for some
    operands (else the order stated would be untested)."""
    cfg = PimConfig(mac_lanes=4, page_bytes=64)
    rng = np.random.default_rng(5)
    differ = 0
    for _ in range(20):
        job = stimulus(cfg, (1, 64, 1), rng)
        a, b = job["a"].view(np.float16), job["b"].view(np.float16)
        seq = np.float16(0)
        for q in range(64):
            seq = np.float16(seq + np.float16(a[0, q] * b[q, 0]))
        differ += int(golden_gemv(cfg, job["a"], job["b"])[0, 0] != np.array(seq).view(np.uint16))
    assert differ > 0


def test_int8_golden_wraps_at_acc_bits():
    cfg = PimConfig(operand_format="int8", acc_bits=16, mac_lanes=8)
    a = np.full((1, 40), -128)
    b = np.full((40, 2), -128)
    exact = 40 * 128 * 128
    assert int(golden_gemv(cfg, a, b)[0, 0]) == (exact + 2**15) % 2**16 - 2**15
    job = stimulus(PimConfig(operand_format="int8"), (3, 50, 4), np.random.default_rng(1))
    assert np.array_equal(golden_gemv(PimConfig(operand_format="int8"), job["a"], job["b"]), job["a"] @ job["b"])
    with pytest.raises(ConfigError):
        golden_gemv(cfg, np.full((1, 2), 200), np.ones((2, 1), int))


# ------------------------------------------------------------------------------ layout
def test_layout_places_every_element_once_and_banks_share_rows():
    cfg = PimConfig(channels=2, bankgroups=2, banks_per_group=2, page_bytes=64, mac_lanes=4)
    lay = WeightLayout(cfg, k=70, n=17)
    seen = set()
    for n in range(17):
        for k in range(70):
            p = lay.place(k, n)
            key = tuple(p.values())
            assert key not in seen
            seen.add(key)
            assert p["row"] < lay.rows_per_bank and p["column_byte"] < cfg.page_bytes_eff
    # the outputs of one tile and chunk share one row in every bank of their channel
    rows = {(lay.place(33, n)["channel"], lay.place(33, n)["row"]) for n in range(2 * 4)}
    assert len(rows) == 2
    assert lay.tiles(0) == 3 and lay.tiles(1) == 2 and lay.chunks == 3


def test_kv_cache_sits_on_one_channel():
    cfg = PimConfig()
    kv = kv_cache_layout(cfg, seq_len=100, embed=4096, channel=5)
    for name in ("k", "v"):
        lay = kv[name]
        chans = {lay.place(0, n)["channel"] for n in range(lay.n)}
        assert chans == {5}
    # K: one token per bank, a key row holds page/2 elements (NeuPIMs: 512 FP16 per 1 KiB row)
    assert kv["k"].chunks == 4096 // cfg.chunk_elems
    assert kv["k"].tiles(0) == -(-100 // cfg.banks_per_channel)
    with pytest.raises(ConfigError):
        WeightLayout(cfg, 1 << 20, 1 << 16).check_capacity()


# ------------------------------------------------------------------------------ timing engine
def _timing(**kw):
    d = dict(t_comp=2, t_gwrite=96, t_readres=2, adder_tree_fill=6, dual_row_buffer=True)
    d.update(kw)
    return PimTiming.from_dram(load_preset("hbm2"), **d)


def test_engine_applies_the_pim_rules():
    dram = load_preset("hbm2")
    ch = PimChannel(_timing(t_gwrite=1), ranks=1, bankgroups=2)
    assert ch.issue("GWRITE") == 0
    g0 = ch.issue("G_ACT", 0, 0)
    g1 = ch.issue("G_ACT", 0, 1)
    assert g1 - g0 == dram.tFAW                       # G_ACTs of one rank spaced by tFAW
    c0 = ch.issue("COMP")
    assert c0 == g1 + dram.tRCDRD
    assert ch.issue("COMP") == c0 + 2
    assert ch.issue("READRES") == c0 + 2 * 6          # adder tree fill: 6 COMP slots
    pre = ch.issue("PRE")
    assert pre == g1 + dram.tRAS
    assert ch.issue("G_ACT", 0, 0) == pre + dram.tRP
    with pytest.raises(PimCommandError):
        ch.issue("COMP")                              # bank group 1 still closed
    with pytest.raises(PimCommandError):
        PimChannel(_timing(), 1, 1).issue("READRES")


def test_dual_row_buffer_drops_the_comp_to_precharge_gap():
    for dual, gap in ((True, 0), (False, load_preset("hbm2").tRTP)):
        ch = PimChannel(_timing(dual_row_buffer=dual, t_gwrite=1, adder_tree_fill=0), 1, 1)
        ch.run([("GWRITE", None, None), ("G_ACT", 0, 0)] + [("COMP", None, None)] * 40)
        last = ch._last_comp
        assert ch.issue("PRE") == last + max(1, gap)


CASES = [(1, 1, 1), (3, 9, 5), (1, 4096, 4096), (2, 3000, 700), (1, 2049, 129), (4, 100, 2000), (7, 5000, 300)]
CONFIGS = [dict(), dict(dual_row_buffer=False), NEWTONSIM, dict(operand_format="int8"),
           dict(global_buffer_bytes=256, mac_lanes=8), dict(adder_tree_fill_comps=40), dict(t_gwrite_cycles=4000),
           dict(standard="hbm3"), dict(layout="k-split"), dict(NEWTONSIM, layout="k-split", dual_row_buffer=False)]


@pytest.mark.parametrize("kw", CONFIGS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "default")
def test_closed_form_agrees_with_event_driven(kw):
    cfg = PimConfig(**kw)
    for m, k, n in CASES:
        ev, cf = simulate(cfg, m, k, n), closed_form(cfg, m, k, n)
        assert abs(ev.cycles - cf.cycles) <= CLOSED_FORM_TOLERANCE_CYCLES, (m, k, n)
        assert ev.counts == cf.counts


def test_event_driven_counts_match_the_program():
    cfg = PimConfig(channels=2, page_bytes=64, mac_lanes=4)
    lay = WeightLayout(cfg, 37, 40)
    prog = list(program(cfg, lay, 2, 0))
    s = simulate(cfg, 2, 37, 40)
    assert sum(1 for c in prog if c[0] == "COMP") * 2 == s.counts["COMP"]  # both channels: 20 outputs each
    assert s.counts["COMP"] * cfg.macs_per_comp >= 2 * 37 * 40


def test_estimate_perf_and_limits():
    cfg = PimConfig()
    p = estimate(cfg, GemmOp(1, 4096, 4096))
    assert p.macs == 4096 * 4096 and 0 < p.utilization <= 1
    assert p.actions["dram_cmd:COMP"] * cfg.macs_per_comp == p.macs      # no padding at this shape
    assert p.cycles == p.compute_cycles
    with pytest.raises(ConfigError):
        estimate(cfg, GemmOp(1, 8, 8), mode="other")
    # two GEMVs take longer than one, and less than twice (the second's activations overlap nothing)
    one, two = estimate(cfg, GemmOp(1, 4096, 4096)).cycles, estimate(cfg, GemmOp(2, 4096, 4096)).cycles
    assert one < two <= 2 * one + cfg.t_gwrite_eff


# ------------------------------------------------------------------------------ energy and anchors
def test_command_energy_matches_newtonsim():
    e = energy_pj_per_command(PimConfig(**NEWTONSIM))
    dram = load_preset("hbm2")
    assert dram.act_energy_pj == pytest.approx(NEWTONSIM_ACT_PJ)
    assert dram.read_energy_pj == pytest.approx(NEWTONSIM_RD_PJ)
    assert e["G_ACT"] == pytest.approx(NEWTONSIM_GACT_PJ) and e["COMP"] == pytest.approx(NEWTONSIM_COMP_PJ)
    cfg = PimConfig(**NEWTONSIM)
    assert e["COMP"] / cfg.macs_per_comp == pytest.approx(NEWTONSIM_PJ_PER_MAC, rel=0.01)
    assert "IDD4R" in command_energy(cfg)["COMP"].source


def test_peak_matches_newtonsim_per_channel():
    cfg = PimConfig(**NEWTONSIM)
    per_channel = cfg.peak_macs_per_cycle / cfg.channels_eff * cfg.freq_mhz / 1e3
    assert per_channel == pytest.approx(NEWTONSIM_GMAC_PER_S_PER_CHANNEL)


def test_gemv_figures_beside_the_anchors():
    """1x4096x4096 FP16: below the COMP-bound peak (activations cost time), within a
    factor of two of the FIMDRAM stack figure, and above the COMP-only energy per MAC."""
    cfg = PimConfig()
    f = gemv_figures(cfg, 4096, 4096, energy_pj_per_command(cfg))
    assert 0.3 < f["utilization"] < 1
    assert FIMDRAM_TFLOPS_PER_STACK / 2 < f["tflops"] < 2 * FIMDRAM_TFLOPS_PER_STACK
    comp_only = energy_pj_per_command(cfg)["COMP"] / cfg.macs_per_comp
    assert comp_only < f["pj_per_mac"] < 1.2 * comp_only
    n = gemv_figures(PimConfig(**NEWTONSIM), 4096, 4096, energy_pj_per_command(PimConfig(**NEWTONSIM)))
    assert n["gmac_per_s_per_channel"] < NEWTONSIM_GMAC_PER_S_PER_CHANNEL
    assert NEWTONSIM_PJ_PER_MAC < n["pj_per_mac"] < 1.3 * NEWTONSIM_PJ_PER_MAC


def test_evaluate_prices_the_commands():
    from hwsim.evaluate import Point, Workload, evaluate

    rec = evaluate(Point("pim", {}, Workload.from_gemms("g", [GemmOp(1, 4096, 4096)])))
    cfg = PimConfig()
    f = gemv_figures(cfg, 4096, 4096, energy_pj_per_command(cfg))
    by_cmd = {k.split(":", 1)[1]: v for k, v in rec.energy_pj_by_part.items() if k.startswith("dram:")}
    assert sum(by_cmd.values()) == pytest.approx(f["pj_per_mac"] * 4096 * 4096)
    e = energy_pj_per_command(cfg)  # each command class priced on its own
    for cmd, pj in by_cmd.items():
        assert pj == pytest.approx(e[cmd] * rec.actions[f"dram_cmd:{cmd}"])
    assert {"BUS", "COMP", "G_ACT", "GWRITE", "READRES"} <= set(by_cmd)
    # the bus carries the input vector (4096 FP16 per channel) and every READRES transaction
    assert rec.actions["dram_cmd:BUS"] == 8 * 4096 * 2 // 64 + rec.actions["dram_cmd:READRES"]


def test_cli_run(capsys):
    from hwsim.cli import main

    assert main(["run", "pim", "--gemm", "1x512x300", "--fidelity", "event", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["cycles"] == closed_form(PimConfig(), 1, 512, 300).cycles
    assert d["commands"]["COMP"] == d["actions"]["dram_cmd:COMP"]
    assert main(["run", "pim", "--gemm", "1x512x300", "--mac-lanes", "8", "--no-dual-row-buffer"]) == 0
    assert "8 fp16 lanes" in capsys.readouterr().out
    assert main(["run", "pim", "--gemm", "1x64x64", "--mac-lanes", "12"]) != 0
    assert "--mac-lanes" in capsys.readouterr().err


def test_family_registered():
    from hwsim.families import registry

    assert registry()["pim"] is FAMILY


# ------------------------------------------------------------------------------ RTL
INT8_RTL = dict(FAMILY.examples[1])


def test_rtl_export(tmp_path, capsys):
    from hwsim.cli import main

    assert main(["rtl", "export", "pim", "--operand-format", "int8", "--bankgroups", "2",
                 "--banks-per-group", "1", "--page-bytes", "64", "--mac-lanes", "8", "--out", str(tmp_path)]) == 0
    [path] = [p for p in tmp_path.glob("pim_int8_b*l8w*_*.v") if not p.stem.endswith(("_tb", "_fpga"))]
    text = path.read_text()
    assert f"module {path.stem}(" in text and "acc_b1" in text
    assert json.loads(path.with_suffix(".json").read_text())["config"]["mac_lanes"] == 8


@pytest.mark.rtl
@pytest.mark.slow
def test_rtl_refuses_readres_inside_the_pipeline(tmp_path):
    """With one-cycle COMPs the schedule reads the accumulators one cycle after the last
    COMP, before its sum has left the two-stage pipeline: the bench must catch it (the
    default t_comp = 2 meets the pipeline, see the contract tests)."""
    from hwsim.families.pim.rtl import run_jobs

    cfg = PimConfig(**dict(INT8_RTL, t_comp_cycles=1, adder_tree_fill_comps=0))
    job = stimulus(cfg, (1, 64, 2), np.random.default_rng(2))
    with pytest.raises((AssertionError, SystemExit)):   # the cocotb runner exits on a failed test
        run_jobs(cfg, [job], work_dir=tmp_path)
    assert "in the pipeline" in (tmp_path / "sim.log").read_text()


def test_code_version_covers_the_memory_preset():
    from hwsim.evaluate import dependency_files
    from pathlib import Path

    import hwsim

    root = Path(hwsim.__file__).parent
    deps = {str(p.resolve().relative_to(root)) for p in dependency_files(["hwsim.families.pim.family"])}
    assert {"data/dram/HBM2_8Gb_x128.ini", "memory/pim.py", "families/pim/cost.py"} <= deps


def test_closed_form_agrees_on_random_designs():
    """Seeded random designs and shapes (every timing knob, 1-4 ranks, 1-32 lanes):
    the closed form equals the event-driven model to the pinned tolerance."""
    rng = np.random.default_rng(20261203)
    done = 0
    while done < 60:
        kw = dict(channels=int(rng.choice([1, 2, 4])), ranks=int(rng.integers(1, 5)),
                  bankgroups=int(rng.integers(1, 5)), banks_per_group=int(rng.integers(1, 5)),
                  mac_lanes=int(rng.choice([1, 2, 4, 8, 16, 32])), operand_format=str(rng.choice(["fp16", "int8"])),
                  dual_row_buffer=bool(rng.integers(2)), t_comp_cycles=int(rng.integers(1, 5)),
                  t_gwrite_cycles=int(rng.integers(1, 300)), adder_tree_fill_comps=int(rng.integers(0, 12)),
                  t_readres_cycles=int(rng.integers(1, 5)), layout=str(rng.choice(["neupims", "k-split"])))
        cfg = PimConfig(**kw)
        m, k, n = int(rng.integers(1, 4)), int(rng.integers(1, 2500)), int(rng.integers(1, 200))
        ev, cf = simulate(cfg, m, k, n), closed_form(cfg, m, k, n)
        assert abs(ev.cycles - cf.cycles) <= CLOSED_FORM_TOLERANCE_CYCLES, (kw, (m, k, n))
        assert ev.counts == cf.counts
        done += 1


def test_one_row_against_newtonsim_estimate():
    """NewtonSim's GEMV latency estimate (channel_state.cc, FAMILIES.md B) for one row with
    the buffer loaded: tFAW (n_gact/2 - 1) + tRCDRD + 2 max(comps, 6) + 2 (readres - 1).
    Ours differs by exactly the GWRITE command slot, the second rank's G_ACT slot and the
    READRES transfer time (NewtonSim counts to the READRES issue)."""
    cfg = PimConfig(**NEWTONSIM, page_bytes=1024, t_gwrite_cycles=1)
    dram = cfg.dram
    comps = cfg.chunk_elems // cfg.mac_lanes
    n_gact = cfg.ranks_eff * cfg.bankgroups_eff
    newton = dram.tFAW * (n_gact // 2 - 1) + dram.act_to_read + 2 * max(comps, 6) + 2 * (cfg.readres_per_row - 1)
    ours = closed_form(cfg, 1, cfg.chunk_elems, cfg.banks_per_channel * cfg.channels_eff).cycles
    assert ours - newton == 1 + (cfg.ranks_eff - 1) + cfg.t_readres_eff


@pytest.mark.slow
def test_rtl_synth_pim_asic(capsys):
    """`hwsim rtl synth pim` maps the bank unit onto the project's cells (cached by hash);
    doubling the MAC lanes grows the cell area."""
    import json

    from hwsim.cli import main

    base = ["rtl", "synth", "pim", "--operand-format", "int8", "--bankgroups", "2",
            "--banks-per-group", "1", "--page-bytes", "64", "--acc-bits", "20", "--json"]
    areas = {}
    for lanes in (4, 8):
        assert main(base + ["--mac-lanes", str(lanes)]) == 0
        d = json.loads(capsys.readouterr().out)
        assert d["target"] == "asic" and d["cell_count"] > 0
        areas[lanes] = d["area_um2"]
    assert areas[8] > 1.2 * areas[4]  # lanes grow; buffers and accumulators stay
    assert main(base + ["--target", "ice40", "--liberty", "x.lib"]) == 2
    assert "--liberty: applies to --target asic only" in capsys.readouterr().err


# ------------------------------------------------------------------------------ energy tables
#: AttAcc config.py (FAMILIES.md B): bank-PIM access energy 4.40 pJ per byte = (ACT/PRE 0.11 +
#: cell RD 0.44) pJ/bit x 8; data bus TSV 0.5 + interposer 0.3 pJ/bit.
ATTACC_BANK_PIM_PJ_PER_BYTE = 4.40
ATTACC_BUS_PJ_PER_BIT = 0.5 + 0.3


def test_energy_models_price_every_class_with_provenance():
    d = load_preset("hbm2")
    for em in ("newton", "idd", "attacc"):
        e = command_energy(PimConfig(energy_model=em))
        assert set(e) == {"GWRITE", "G_ACT", "COMP", "READRES", "PRE", "BUS"}
        assert all(f.unit == "pJ" and f.source for f in e.values())
        assert e["PRE"].value == 0 and e["BUS"].value == pytest.approx(ATTACC_BUS_PJ_PER_BIT * 512)
    newton = energy_pj_per_command(PimConfig())
    idd = energy_pj_per_command(PimConfig(energy_model="idd"))
    cfg = PimConfig()
    # idd: one ACT per bank opened, one RD per 64 B the COMP reads from all banks, WR per GWRITE transfer
    assert idd["G_ACT"] == pytest.approx(cfg.banks_per_group_eff * d.act_energy_pj)
    assert idd["COMP"] == pytest.approx(16 * 16 * 2 / 64 * d.read_energy_pj)
    assert idd["GWRITE"] == pytest.approx(cfg.chunk_bytes / 64 * d.write_energy_pj)
    assert newton["COMP"] == pytest.approx(4 * d.read_energy_pj)
    assert "IDD4W" in command_energy(PimConfig(energy_model="idd"))["GWRITE"].source
    assert "AttAcc" in command_energy(PimConfig(energy_model="attacc"))["COMP"].source


def test_attacc_table_gives_its_bank_pim_figure_on_full_rows():
    """A weight row read in full: its G_ACT share plus the COMPs' cell reads is AttAcc's
    bank-PIM 4.40 pJ/B; the ALU adds 0.32 pJ per MAC."""
    from hwsim.families.pim.cost import ATTACC_ALU_PJ_PER_MAC, ATTACC_SRAM_PJ_PER_BYTE

    cfg = PimConfig(energy_model="attacc")
    e = energy_pj_per_command(cfg)
    comps_per_row = cfg.page_bytes_eff // (cfg.mac_lanes * cfg.elem_bytes)
    row_bytes = cfg.page_bytes_eff * cfg.banks_per_channel              # every bank's row
    comp_bytes = cfg.banks_per_channel * cfg.mac_lanes * cfg.elem_bytes
    cells = (cfg.bankgroups_eff * e["G_ACT"] + comps_per_row * (
        e["COMP"] - ATTACC_ALU_PJ_PER_MAC * cfg.macs_per_comp - ATTACC_SRAM_PJ_PER_BYTE * comp_bytes))
    assert cells / row_bytes == pytest.approx(ATTACC_BANK_PIM_PJ_PER_BYTE)
    f = gemv_figures(cfg, 4096, 4096, e)
    assert 2 * ATTACC_BANK_PIM_PJ_PER_BYTE + ATTACC_ALU_PJ_PER_MAC < f["pj_per_mac"] < 1.2 * (
        2 * ATTACC_BANK_PIM_PJ_PER_BYTE + ATTACC_ALU_PJ_PER_MAC)


def test_energy_model_changes_energy_not_cycles():
    from hwsim.evaluate import Point, Workload, evaluate

    wl = Workload.from_gemms("g", [GemmOp(1, 2048, 1024)])
    recs = {em: evaluate(Point("pim", {"energy_model": em}, wl)) for em in ("newton", "idd", "attacc")}
    assert len({r.cycles for r in recs.values()}) == 1
    for em, r in recs.items():
        e = energy_pj_per_command(PimConfig(energy_model=em))
        for c in ("COMP", "G_ACT", "GWRITE", "READRES"):
            assert r.energy_pj_by_part[f"dram:{c}"] == pytest.approx(e[c] * r.actions[f"dram_cmd:{c}"])
    comp = {em: r.energy_pj_by_part["dram:COMP"] for em, r in recs.items()}
    # IDD4R per 64 B read is the most pessimistic for the array (it includes the path to the pins)
    assert max(comp, key=comp.get) == "idd" and len(set(comp.values())) == 3
    assert recs["newton"].energy_pj_by_part["dram:BUS"] == pytest.approx(recs["attacc"].energy_pj_by_part["dram:BUS"])


# ------------------------------------------------------------------------------ k-split layout
KSPLIT = dict(channels=2, bankgroups=2, banks_per_group=2, page_bytes=64, mac_lanes=4, layout="k-split")


def test_ksplit_places_every_element_once_and_slices_k_over_channels():
    cfg = PimConfig(**KSPLIT)
    lay = WeightLayout(cfg, k=70, n=11)
    # Kc = ceil(35 / 4) * 4 = 36: channel 0 holds k 0..35, channel 1 k 36..69
    assert lay.k_slice(0) == (0, 36) and lay.k_slice(1) == (36, 70)
    assert lay.segments() == [(0, 32), (32, 36), (36, 68), (68, 70)]
    seen = set()
    for n in range(11):
        for k in range(70):
            p = lay.place(k, n)
            assert p["channel"] == (0 if k < 36 else 1)
            key = tuple(p.values())
            assert key not in seen
            seen.add(key)
    # both channels hold all 11 outputs: 3 tiles of 4 banks; 8 banks of outputs share one row per chunk
    assert lay.tiles(0) == lay.tiles(1) == 3
    assert len({lay.place(40, n)["row"] for n in range(4)}) == 1
    assert lay.tile_outputs(1, 2) == [8, 9, 10, None]


def test_ksplit_golden_sums_the_channel_slices_in_k_order():
    cfg = PimConfig(**dict(KSPLIT, channels=2, mac_lanes=4))
    job = stimulus(cfg, (2, 37, 3), np.random.default_rng(9))
    a, b = job["a"].view(np.float16), job["b"].view(np.float16)
    segs = [(0, 20), (20, 37)]           # Kc = ceil(18.5 / 4) * 4 = 20; each slice one chunk (32)
    assert WeightLayout(cfg, 37, 3).segments() == segs
    ref = np.zeros((2, 3), np.float16)
    for i in range(2):
        for j in range(3):
            parts = []
            for k0, k1 in segs:
                acc = np.float16(0)
                for s0 in range(k0, k1, 4):
                    p = [a[i, q] * b[q, j] if q < k1 else np.float16(0) for q in range(s0, s0 + 4)]
                    p = [np.float16(p[0] + p[1]), np.float16(p[2] + p[3])]
                    acc = np.float16(acc + np.float16(p[0] + p[1]))
                parts.append(acc)
            ref[i, j] = np.float16(parts[0] + parts[1])
    assert np.array_equal(golden_gemv(cfg, job["a"], job["b"]), ref.view(np.uint16))
    # int8 is exact whatever the layout
    c8 = PimConfig(**dict(KSPLIT, operand_format="int8"))
    j8 = stimulus(c8, (2, 70, 5), np.random.default_rng(1))
    assert np.array_equal(golden_gemv(c8, j8["a"], j8["b"]), j8["a"] @ j8["b"])


def test_layouts_differ_where_they_should():
    """Few outputs, long K: k-split keeps every bank of every channel busy (neupims puts 2
    outputs on each of 8 channels and streams all of K through each): fewer rows opened per
    channel, so fewer cycles. Many outputs, a K slice shorter than a row: k-split opens
    part-filled rows (512 of 1024 elements), twice as many, so more cycles, and returns
    every output's partial from every channel."""
    nu, ks = PimConfig(), PimConfig(layout="k-split")
    small_n = {c.layout: (closed_form(c, 1, 4096, 16), WeightLayout(c, 4096, 16)) for c in (nu, ks)}
    (s_nu, l_nu), (s_ks, l_ks) = small_n["neupims"], small_n["k-split"]
    assert l_nu.rows_per_bank == 4 and l_ks.rows_per_bank == 1     # 4 chunks x 1 tile vs 1 x 1
    assert s_ks.cycles * 4 < s_nu.cycles
    assert s_nu.counts["COMP"] == 8 * s_ks.counts["COMP"]           # neupims: 14 of 16 banks idle per COMP
    big = {c.layout: closed_form(c, 1, 4096, 4096) for c in (nu, ks)}
    assert big["k-split"].counts["G_ACT"] == 2 * big["neupims"].counts["G_ACT"]
    # partial sums returned: outputs x segments, 4096 x 8 channel slices vs 4096 x 4 chunks
    assert big["k-split"].counts["READRES"] == 2 * big["neupims"].counts["READRES"]
    assert big["k-split"].cycles > big["neupims"].cycles
    # and the input vector: each channel loads only its slice
    from hwsim.families.pim.model import bus_transfers
    assert bus_transfers(ks, WeightLayout(ks, 4096, 16), 1) - s_ks.counts["READRES"] == 4096 * 2 // 64
    assert bus_transfers(nu, WeightLayout(nu, 4096, 16), 1) - s_nu.counts["READRES"] == 8 * 4096 * 2 // 64


# ------------------------------------------------------------------------------ bench's bank model
def _bank_model_cycles(cfg, m, k, n):
    from hwsim.families.pim.bench import TimedBanks
    from hwsim.families.pim.model import programs
    from hwsim.families.pim.rtl import bench_timing, channel_program

    lay = WeightLayout(cfg, k, n)
    a = np.zeros((m, k), np.int64)
    end = 0
    for _key, chans in programs(lay).items():
        prog, _ = channel_program(cfg, a, lay, chans[0])
        banks = TimedBanks(bench_timing(cfg), [{}] * cfg.banks_per_channel)
        end = max(end, banks.schedule(prog)[-1] + cfg.t_readres_eff)
    return end


def test_bench_bank_model_times_programs_as_the_event_driven_model():
    """The cocotb bench's bank model (per-bank tRCD/tRP/tRAS/tRC, rank tRRD and tFAW window,
    tCCD between COMPs) issues every program at the cycles the event-driven model does."""
    rng = np.random.default_rng(4)
    for _ in range(25):
        kw = dict(channels=int(rng.choice([1, 2])), ranks=int(rng.integers(1, 3)), bankgroups=int(rng.integers(1, 5)),
                  banks_per_group=int(rng.integers(1, 3)), page_bytes=64, mac_lanes=int(rng.choice([2, 4, 8])),
                  dual_row_buffer=bool(rng.integers(2)), t_comp_cycles=int(rng.integers(2, 5)),
                  adder_tree_fill_comps=int(rng.integers(0, 8)), t_readres_cycles=int(rng.integers(1, 4)),
                  standard=str(rng.choice(["hbm2", "hbm3"])), layout=str(rng.choice(["neupims", "k-split"])))
        cfg = PimConfig(**kw)
        m, k, n = int(rng.integers(1, 3)), int(rng.integers(1, 120)), int(rng.integers(1, 20))
        assert _bank_model_cycles(cfg, m, k, n) == simulate(cfg, m, k, n).cycles, (kw, (m, k, n))
    # two READRES per row (16 banks x 64-bit accumulators = 128 B): the transfer ends the channel
    cfg = PimConfig(operand_format="int8", acc_bits=64, channels=1, ranks=2, bankgroups=4, banks_per_group=2,
                    page_bytes=64, mac_lanes=8)
    assert cfg.readres_per_row == 2
    for shape in ((1, 70, 40), (2, 9, 3)):
        assert _bank_model_cycles(cfg, *shape) == simulate(cfg, *shape).cycles


def test_bench_bank_model_enforces_each_timing():
    """Stretch one DRAM parameter the bank model sees and its schedule moves as the rule says."""
    from hwsim.families.pim.bench import TimedBanks
    from hwsim.families.pim.rtl import bench_timing

    cfg = PimConfig(channels=1, bankgroups=2, banks_per_group=1, page_bytes=64, mac_lanes=4,
                    dual_row_buffer=False, t_gwrite_cycles=8)
    prog = [["GWRITE", ["0"] * 8], ["G_ACT", 0, 0, 0], ["G_ACT", 0, 1, 0], ["COMP", 0], ["COMP", 1],
            ["READRES", 1], ["PRE"], ["G_ACT", 0, 0, 1]]
    base = TimedBanks(bench_timing(cfg), [{}] * 2).schedule(prog)
    t = bench_timing(cfg)
    assert base[2] - base[1] == t["tFAW"] and base[3] == base[2] + t["tRCD"] and base[4] == base[3] + t["t_comp"]
    assert base[6] == max(base[2] + t["tRAS"], base[4] + t["tRTP"], base[5] + 1)
    assert base[7] == max(base[6] + t["tRP"], base[1] + t["tRC"], base[2] + t["tFAW"])
    for key, cmd in (("tFAW", 2), ("tRCD", 3), ("t_comp", 4), ("tRAS", 6), ("tRTP", 6), ("tRP", 7), ("tRC", 7)):
        slow = dict(t, **{key: t[key] + 50})
        moved = TimedBanks(slow, [{}] * 2).schedule(prog)
        assert moved[cmd] > base[cmd], key


@pytest.mark.rtl
@pytest.mark.slow
def test_rtl_cycles_come_from_the_bench_bank_model(monkeypatch):
    """Two ranks of two bank groups, HBM3 timing, one row buffer, both layouts: the Verilated
    unit driven by the bench's bank model equals golden and the event-driven cycles; stretch
    tRCD in the bench alone and the RTL's cycles move with it (values unchanged)."""
    import hwsim.families.pim.rtl as rtl

    rng = np.random.default_rng(12)
    base = dict(FAMILY.examples[0], ranks=2, bankgroups=2, standard="hbm3", dual_row_buffer=False)
    for layout in ("neupims", "k-split"):
        cfg = PimConfig(**dict(base, layout=layout))
        jobs = [stimulus(cfg, s, rng) for s in ((2, 70, 9), (1, 33, 3))]
        res = rtl.run_jobs(cfg, jobs)
        for job, r in zip(jobs, res):
            (m, k), n = job["a"].shape, job["b"].shape[1]
            assert np.array_equal(r["c"], golden_gemv(cfg, job["a"], job["b"]))
            assert r["cycles"] == simulate(cfg, m, k, n).cycles
    orig = rtl.bench_timing
    monkeypatch.setattr(rtl, "bench_timing", lambda c: dict(orig(c), tRCD=orig(c)["tRCD"] + 7))
    slow = rtl.run_jobs(cfg, jobs[:1])
    assert np.array_equal(slow[0]["c"], res[0]["c"]) and slow[0]["cycles"] > res[0]["cycles"]
