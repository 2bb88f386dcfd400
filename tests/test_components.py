"""Cost components, the CACTI SRAM table, banking, fills/drains and cross-family consistency."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from importlib import resources

import pytest

from hwsim.cost.cacti_table import config_text, parse_output
from hwsim.cost.components import (AdderTree, Component, ComponentDesign, DramInterface, LutUnit, PeArray,
                                   Registers, Route, Sequencer, SramBuffer, price)
from hwsim.cost.sram import load_sram_table, sram_macro
from hwsim.cost.tech import Figure, load_tech
from hwsim.errors import ConfigError

T45 = load_tech(45)

#: Pinned points of the shipped table: CACTI 7 runs (python -m hwsim.cost.cacti_table).
#: 65536 x 256 is also the Accelergy/CACTI figure logged by the Timeloop exercises
#: (tech45.yaml sram_points: 51.7987 / 66.2387 pJ, 198942 um^2), an independent check.
PINNED = {
    # (size_bytes, width_bits): (read_pj, write_pj, area_um2, cycle_ns)
    (65536, 256): (51.7987, 66.2387, 198942, 1.89315),
    (65536, 32): (17.8039, 13.4688, 238696, 1.53597),
    (1024, 32): (1.32373, 2.06548, 3431.89, 0.627464),
    (1024, 256): (9.12582, 10.6849, 10560.5, 0.714275),
}


def _rows():
    text = resources.files("hwsim").joinpath("data", "tech", "sram_cacti45.csv").read_text()
    return text, list(csv.DictReader(io.StringIO("\n".join(ln for ln in text.splitlines() if not ln.startswith("#")))))


def test_shipped_table_matches_pinned_points_and_states_its_source():
    text, rows = _rows()
    assert "CACTI 7" in text.splitlines()[0] + text.splitlines()[1]
    assert "itrs-lstp" in text and "python -m hwsim.cost.cacti_table" in text
    got = {(int(r["size_bytes"]), int(r["width_bits"])): r for r in rows}
    for key, (rd, wr, area, cyc) in PINNED.items():
        r = got[key]
        assert float(r["read_pj"]) == pytest.approx(rd, rel=1e-5)
        assert float(r["write_pj"]) == pytest.approx(wr, rel=1e-5)
        assert float(r["area_um2"]) == pytest.approx(area, rel=1e-5)
        assert float(r["cycle_ns"]) == pytest.approx(cyc, rel=1e-5)


def test_table_covers_1kib_16mib_and_32_1024_bits():
    t = load_sram_table()
    assert t.sizes_bytes[0] <= 1024 and t.sizes_bytes[-1] == 16 << 20
    assert t.widths_bits[0] <= 32 and t.widths_bits[-1] == 1024
    _, rows = _rows()
    have = {(int(r["size_bytes"]), int(r["width_bits"])) for r in rows}
    missing = [(s, w) for s in t.sizes_bytes if s >= 1024 for w in (32, 64, 128, 256, 512, 1024)
               if (s, w) not in have]
    # CACTI finds no organisation only for banks of 16 rows or fewer
    assert all(s * 8 // w <= 16 for s, w in missing), missing


def test_interpolation_exact_on_grid_between_neighbours_off_it():
    a, b = sram_macro(32768, 64), sram_macro(65536, 64)
    mid = sram_macro(49152, 64)
    assert a.read.value < mid.read.value < b.read.value
    assert a.area.value < mid.area.value < b.area.value
    assert sram_macro(65536, 256).read.value == pytest.approx(PINNED[(65536, 256)][0])
    w = sram_macro(65536, 96)
    assert sram_macro(65536, 64).read.value < w.read.value < sram_macro(65536, 128).read.value


@pytest.mark.parametrize("size, width, msg", [
    (128, 32, "size_bytes: must be from 256 to 16777216"),
    (32 << 20, 64, "size_bytes: must be from 256"),
    (65536, 4, "width_bits: must be from 8 to 1024"),
    (1024, 1024, "no CACTI organisation"),
])
def test_out_of_range_raises(size, width, msg):
    with pytest.raises(ConfigError, match=msg):
        sram_macro(size, width)


def test_banks_follow_the_clock():
    one = sram_macro(65536, 256)
    assert one.banks == 1 and one.bank_cycle_ns > 1.0  # one 64 KiB bank is slower than 1 GHz
    at1g = sram_macro(65536, 256, freq_mhz=1000.0)
    assert at1g.banks == 2 and at1g.bank_cycle_ns <= 2 * 1.0
    assert "2 interleaved bank(s)" in at1g.read.source
    slow = sram_macro(65536, 256, freq_mhz=500.0)
    assert slow.banks == 1 and slow.read.value == one.read.value
    # two banks of half the size: per-access energy of one half, area of both
    half = sram_macro(32768, 256)
    assert at1g.read.value == pytest.approx(half.read.value)
    assert at1g.area.value == pytest.approx(2 * half.area.value)
    assert sram_macro(65536, 256, banks=4).banks == 4


def test_wide_port_is_side_by_side_macros():
    w = sram_macro(65536, 2048)
    s = sram_macro(32768, 1024)
    assert w.read.value == pytest.approx(2 * s.read.value)
    assert w.area.value == pytest.approx(2 * s.area.value)
    assert "2 side-by-side" in w.read.source
    # a width or capacity that does not divide: each slice rounded up, and said so
    odd = sram_macro(131072, 2592)
    assert odd.read.value == pytest.approx(3 * sram_macro(43691, 864).read.value)
    assert "3 side-by-side 864-bit macros of 43691 B (slices rounded up" in odd.read.source


def test_node_scaling_of_sram():
    t7 = load_tech(7)
    assert t7.sram(65536, 256).read.value == pytest.approx(0.0943 * T45.sram(65536, 256).read.value)
    assert t7.sram(65536, 256).area.value == pytest.approx(0.059 * T45.sram(65536, 256).area.value)


def test_cacti_script_config_and_parser():
    cfg = config_text(65536, 256)
    assert "-size (bytes) 65536" in cfg and "-output/input bus width 256" in cfg
    assert "-block size (bytes) 32" in cfg and '"itrs-lstp"' in cfg
    out = """
    Access time (ns): 1.56867
    Cycle time (ns):  1.89315
    Total dynamic read energy per access (nJ): 0.0517987
    Total dynamic write energy per access (nJ): 0.0662387
    Total leakage power of a bank (mW): 0.0149471
    Total gate leakage power of a bank (mW): 0.001
    Cache height x width (mm): 0.395039 x 0.503602
    """
    r = parse_output(out)
    assert r["read_pj"] == pytest.approx(51.7987) and r["cycle_ns"] == pytest.approx(1.89315)
    assert r["area_um2"] == pytest.approx(0.395039 * 0.503602 * 1e6)
    assert parse_output("ERROR: no valid data array organization found") is None


# -- components and pricing --------------------------------------------------------------
def _design():
    comps = (PeArray("pe_array", n_pes=16, a_bits=8, b_bits=8, acc_bits=32, reg_bits=48),
             SramBuffer("buf", part="sram:buf", size_bytes=8192, width_bits=64),
             Registers("regs", part="pe_array", bits=100),
             AdderTree("tree", part="pe_array", inputs=4, bits=16),
             LutUnit("lut", part="pe_array", entry_bits=16, entries=8, units=2, shift_bits=32),
             Sequencer("control", bits=10),
             DramInterface("dram", kind="lpddr4"))
    return comps


def test_price_by_hand():
    comps = _design()
    counts = {"pe_array": {"mac": 100, "reg_write_bits": 10, "add_bits": 64, "mult:16x16": 2},
              "buf": {"read": 5, "write": 3}, "regs": {"write_bits": 7}, "tree": {"reduce": 4},
              "lut": {"lookup": 6, "shift": 2}, "dram": {"read_bytes": 10, "write_bytes": 2}}
    e, a = price(comps, counts, T45, cycles=1000, freq_mhz=500.0)
    sram = T45.sram(8192, 64)
    pe = (100 * 0.3 + 10 * 0.009 + 64 * 0.1 / 32 + 2 * 0.2 * 4 + 7 * 0.009 + 4 * 3 * 0.1 * 16 / 32
          + 6 * 16 * 0.009 + 2 * 0.417)
    dyn = e.dynamic_pj_by_part
    assert dyn["pe_array"] == pytest.approx(pe)
    assert dyn["sram:buf"] == pytest.approx(5 * sram.read.value + 3 * sram.write.value)
    assert dyn["dram"] == pytest.approx(12 * 8 * 8.0)
    assert dyn["control"] == pytest.approx(1000 * 10 * 0.009)
    assert e.runtime_s == pytest.approx(2e-6)
    assert e.leakage_pj_by_part["sram:buf"] == pytest.approx(sram.leakage.value * 1e-3 * 2e-6 * 1e12)
    pe_area = 16 * (419 + 48 * 5.98) + 100 * 5.98 + 3 * 137 * 16 / 32 + 2 * 8 * 16 * 5.98
    assert a.by_part["pe_array"] == pytest.approx(pe_area)
    assert a.by_part["sram:buf"] == pytest.approx(sram.area.value)
    assert set(a.by_part) == {"pe_array", "sram:buf"}  # control and DRAM have no area here
    # a synthesised area replaces the table area of its part
    _, a2 = price(comps, {}, T45, cycles=0, freq_mhz=500.0, area_override={"pe_array": Figure(5.0, "um2", "x")})
    assert a2.by_part["pe_array"] == 5.0


@pytest.mark.parametrize("counts, msg", [
    ({"nope": {"read": 1}}, "names component 'nope'"),
    ({"buf": {"erase": 1}}, r"unknown action 'erase' of SramBuffer \(known: read, write\)"),
    ({"buf": {"read": -1}}, "must be a non-negative count"),
    ({"dram": {"read_bytes": 1}}, None),
])
def test_price_errors(counts, msg):
    if msg is None:
        price(_design(), counts, T45, cycles=1, freq_mhz=1.0)
        return
    with pytest.raises(ConfigError, match=msg):
        price(_design(), counts, T45, cycles=1, freq_mhz=1.0)


def test_design_routes_and_their_errors():
    comps = _design()
    d = ComponentDesign(comps, {"words": (Route("buf", "read", 0.25),), "absent": ()})
    assert d.counts({"words": 8, "absent": 0}) == {"buf": {"read": 2.0}}
    with pytest.raises(ConfigError, match="'absent' has no component in this design but counts 3"):
        d.counts({"absent": 3})
    with pytest.raises(ConfigError, match="unknown action 'flop'"):
        d.counts({"flop": 1})
    with pytest.raises(ConfigError, match="names component 'ghost', which is not declared"):
        ComponentDesign(comps, {"x": (Route("ghost", "read"),)})
    with pytest.raises(ConfigError, match="names must be unique"):
        ComponentDesign(comps + (Registers("regs", bits=1),))
    with pytest.raises(ConfigError, match="ports: must be <= 1"):
        SramBuffer("b", size_bytes=1024, width_bits=32, ports=2)


def test_a_new_component_needs_no_shared_code_change():
    @dataclass(frozen=True)
    class Crossbar(Component):
        ports: int = 4
        ACTIONS = ("transfer",)

        def action_energy(self, action, tech):
            if action == "transfer":
                return tech.add_energy(32).times(self.ports, "one mux level per port")
            raise self._unknown(action)

        def area(self, tech):
            return Figure(100.0 * self.ports, "um2", "assumed")

    e, a = price((Crossbar("xbar", ports=2),), {"xbar": {"transfer": 10}}, T45, cycles=0, freq_mhz=1.0)
    assert e.dynamic_pj_by_part["xbar"] == pytest.approx(10 * 0.1 * 2)
    assert a.by_part["xbar"] == 200.0


# -- the families -------------------------------------------------------------------------
def _systolic(**kw):
    from hwsim.families.systolic.config import SystolicConfig

    return SystolicConfig(**kw)


def test_systolic_words_and_fills_are_charged_at_the_port_width():
    from hwsim.families.systolic.cost import port_widths, systolic_inputs
    from hwsim.families.systolic.model import estimate
    from hwsim.workloads.ops import GemmOp

    cfg = _systolic(rows=32, cols=32, dataflow="ws")
    assert port_widths(cfg) == {"ifmap": 256, "filter": 256, "ofmap": 1024, "acc": 1024}
    p = estimate(cfg, GemmOp(512, 4096, 4096))
    design = systolic_inputs(cfg).design
    c = design.counts(p.actions)
    a = p.actions
    assert c["ifmap"]["read"] == pytest.approx(a["sram_read:ifmap"] * 8 / 256)
    assert c["ifmap"]["write"] == pytest.approx(a["fill_bytes:ifmap"] * 8 / 256)
    # the ofmap is read to drain C and, in a mapped GEMM, for each K-split partial-sum add
    assert a["sram_read:ofmap"] > 0
    assert c["ofmap"]["read"] == pytest.approx(a["drain_bytes:ofmap"] * 8 / 1024 + a["sram_read:ofmap"] * 32 / 1024)
    assert c["ofmap"]["write"] == pytest.approx(a["sram_write:ofmap"] * 32 / 1024 + a["fill_bytes:ofmap"] * 8 / 1024)
    assert a["fill_bytes:ifmap"] + a["fill_bytes:filter"] + a["fill_bytes:ofmap"] == a["dram_read_bytes"]
    assert a["drain_bytes:ofmap"] == a["dram_write_bytes"]
    # the 64 KiB ifmap at 256 bits and 1 GHz: two banks
    assert design.component("ifmap").macro(T45).banks == 2
    # is swaps the streamed and the preloaded operand
    assert port_widths(_systolic(rows=16, cols=8, dataflow="is"))["ifmap"] == 8 * 8


def test_lut_fills_and_drains_are_charged():
    from hwsim.families.lut.compare import cost_design
    from hwsim.families.lut.config import LutConfig
    from hwsim.families.lut.model import estimate, priced_actions
    from hwsim.workloads.ops import GemmOp

    cfg = LutConfig(tile_m=2, tile_n=64, tile_k=4)
    p = estimate(cfg, GemmOp(16, 256, 256))
    d = cost_design(cfg)
    c = d.counts(priced_actions(cfg, p))
    w = d.component("weight").width_bits
    assert c["weight"]["write"] == pytest.approx(p.dram_bytes["W"] * 8 / w)
    assert c["out"]["read"] == pytest.approx(p.dram_bytes["C"] * 8 / d.component("out").width_bits)


def test_same_sram_mac_and_dram_are_priced_identically_in_every_family():
    """A 64 KiB buffer read 64 bits at a time at 1 GHz, the INT8 MAC and LPDDR4 cost the
    same in the systolic and the LUT family."""
    from hwsim.families.lut.compare import cost_design
    from hwsim.families.lut.config import LutConfig
    from hwsim.families.systolic.cost import systolic_design

    sd = systolic_design(_systolic(rows=8, cols=8, dataflow="ws", a_bits=8, b_bits=8, acc_bits=32), "lpddr4")
    ld = cost_design(LutConfig(core="mac", tile_m=2, tile_n=8, tile_k=4, act_format="int8", acc_bits=32,
                               act_sram_kb=64, freq_mhz=1000.0), "lpddr4")
    s_buf, l_buf = sd.component("ifmap"), ld.component("act")
    assert (s_buf.size_bytes, s_buf.width_bits, s_buf.freq_mhz) == (l_buf.size_bytes, l_buf.width_bits, l_buf.freq_mhz)
    for action in ("read", "write"):
        assert s_buf.action_energy(action, T45) == l_buf.action_energy(action, T45)
    assert s_buf.area(T45) == l_buf.area(T45) and s_buf.leakage(T45) == l_buf.leakage(T45)
    assert sd.component("pe_array").action_energy("mac", T45) == ld.component("pe_array").action_energy("mac", T45)
    assert (sd.component("dram").action_energy("read_bytes", T45)
            == ld.component("dram").action_energy("read_bytes", T45))
    # and the same counts give the same energy through price()
    one = {"read": 1000, "write": 10}
    es, _ = price((s_buf,), {"ifmap": one}, T45, cycles=0, freq_mhz=1000.0)
    el, _ = price((l_buf,), {"act": one}, T45, cycles=0, freq_mhz=1000.0)
    assert es.dynamic_pj == el.dynamic_pj


def test_check_config_names_the_design_field():
    from hwsim.evaluate import check_config

    with pytest.raises(ConfigError, match="ifmap_sram_kb: the ifmap buffer of 33554432 bytes cannot be priced"):
        check_config(_systolic(rows=8, cols=8, ifmap_sram_kb=32768))


# -- CLI ----------------------------------------------------------------------------------
def test_cli_cost_sram_and_show(capsys):
    from hwsim.cli import main

    assert main(["cost", "sram", "--size-kb", "64", "--width-bits", "256", "--freq-mhz", "1000", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["banks"] == 2 and d["read_pj"] == pytest.approx(sram_macro(32768, 256).read.value)
    assert "CACTI" in d["source"]["energy"]
    assert main(["cost", "show", "systolic", "--design", "rows=32", "--design", "cols=32", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    names = {c["name"]: c for c in d["components"]}
    assert names["ifmap"]["width_bits"] == 256 and names["ifmap"]["banks"] == 2
    assert d["routes"]["fill_bytes:ifmap"][0]["component"] == "ifmap"


def test_cli_cost_errors(capsys):
    from hwsim.cli import main

    assert main(["cost", "sram", "--size-kb", "65536", "--width-bits", "64"]) == 2
    assert "--size-kb: must be from 256" in capsys.readouterr().err


def _per_count(inputs, action):
    """pJ per count of a model action under a family's cost inputs, whichever way the
    family is priced (components or the keyword widths)."""
    from hwsim.cost.energy import action_energy
    from hwsim.cost.report import energy_coefficients

    co = energy_coefficients(T45, inputs)
    if co is not None:
        return sum(co[0][action].values())
    return action_energy(action, T45, a_bits=inputs.a_bits, b_bits=inputs.b_bits, acc_bits=inputs.acc_bits,
                         sram=inputs.sram, dram=inputs.dram)[1].value


def test_every_family_prices_dram_bytes_as_the_dram_interface_does():
    """Each registered family's cost inputs charge a DRAM byte exactly as
    :class:`DramInterface` of the same kind does (LPDDR4 by default, HBM2 for the
    processing-in-memory families)."""
    from hwsim.evaluate import FAMILIES

    for name, fam in FAMILIES.items():
        cfg = fam.make_config({})
        inputs = fam.cost.inputs(cfg)
        want = DramInterface("dram", kind=inputs.dram)
        for action, comp_action in (("dram_read_bytes", "read_bytes"), ("dram_write_bytes", "write_bytes")):
            assert _per_count(inputs, action) == pytest.approx(want.action_energy(comp_action, T45).value,
                                                               rel=1e-12), (name, action)


def test_the_same_sram_macro_in_systolic_lut_and_sram_gemv():
    """A 64 KiB SRAM read 256 bits at a time at 1 GHz: the systolic ifmap buffer, the
    LUT family's activation buffer at the same geometry and the SRAM LUT-GEMV family's
    compute array (2048 x 256 bitcells) are one macro with one price."""
    from hwsim.families.sram_gemv.config import SramGemvConfig
    from hwsim.families.sram_gemv.cost import cost_design as gemv_design
    from hwsim.families.systolic.cost import systolic_design

    s = systolic_design(_systolic(rows=32, cols=32, a_bits=8, b_bits=8, acc_bits=32), "lpddr4").component("ifmap")
    g = gemv_design(SramGemvConfig(rows=2048, cols=256, freq_mhz=1000.0)).component("carray").inner
    assert (s.size_bytes, s.width_bits, s.freq_mhz) == (g.size_bytes, g.width_bits, g.freq_mhz) == (65536, 256, 1000.0)
    for action in ("read", "write"):
        assert s.action_energy(action, T45) == g.action_energy(action, T45)
    assert s.area(T45) == g.area(T45) and s.leakage(T45) == g.leakage(T45)
    assert s.macro(T45).banks == g.macro(T45).banks >= 2  # one 64 KiB bank cannot cycle at 1 GHz
