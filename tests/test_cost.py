"""Technology tables, energy from action counts, table areas and cost records."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from hwsim.cost.energy import SramSpec, action_energy, energy_from_actions
from hwsim.cost.report import CostInputs, cost_record
from hwsim.families.systolic.cost import systolic_inputs
from hwsim.cost.tech import Figure, _raw_tables, load_tech
from hwsim.errors import ConfigError


@pytest.fixture(scope="module")
def t45():
    return load_tech(45)


def test_horowitz_anchors(t45):
    assert t45.mac_energy(8, 8, 32).value == pytest.approx(0.3)
    assert t45.mult_energy(8, 8).value == pytest.approx(0.2)
    assert t45.add_energy(32).value == pytest.approx(0.1)
    assert t45.mac_area(8, 8, 32).value == pytest.approx(282 + 137)
    # multiplier linear in each operand: a 4x8 multiply costs half an 8x8 one
    assert t45.mult_energy(4, 8).value == pytest.approx(0.1)
    assert "Horowitz" in t45.mac_energy(8, 8, 32).source


@pytest.mark.parametrize("node, e, a", [(32, 0.6593, 0.46), (28, 0.5132, 0.3767), (16, 0.1735, 0.19), (7, 0.0943, 0.059)])
def test_node_scaling(node, e, a):
    t = load_tech(node)
    assert t.mac_energy(8, 8, 32).value == pytest.approx(0.3 * e)
    assert t.mac_area(8, 8, 32).value == pytest.approx(419 * a)
    assert "Stillmaker-Baas" in t.mac_energy(8, 8, 32).source
    # off-chip energy is a device property
    assert t.dram_energy_per_bit("hbm2").value == load_tech(45).dram_energy_per_bit("hbm2").value


def test_unknown_node_raises():
    with pytest.raises(ConfigError, match="node_nm: must be one of"):
        load_tech(40)
    with pytest.raises(ConfigError, match="node_nm: must be an integer"):
        load_tech("45")


def test_sram_table_reproduces_accelergy_cacti_points(t45):
    """The shipped CACTI table against the CACTI runs logged by the Accelergy exercises
    (tech45.yaml sram_points): the same CACTI settings, so grid points agree exactly;
    off-grid points are interpolated. (Their leakage column is a derived per-cycle
    figure, not CACTI's bank leakage, so it is not compared.)"""
    rows = _raw_tables()["sram_points"]["rows"]
    exact = 0
    for w, depth, rd, wr, area, _leak in rows:
        size = int(w * depth // 8)
        if size < 256:  # below the table
            with pytest.raises(ConfigError, match="size_bytes: must be from 256"):
                t45.sram(size, int(w))
            continue
        c = t45.sram(size, int(w))
        on_grid = (size & (size - 1)) == 0 and int(w) in (32, 64, 256)
        tol = 1e-4 if on_grid else 0.7
        exact += on_grid
        for got, want in ((c.read.value, rd), (c.write.value, wr), (c.area.value, area)):
            assert got == pytest.approx(want, rel=tol)
    assert exact == 6


def test_sram_monotone_in_size_and_width(t45):
    sizes = [1 << k for k in range(10, 25)]
    reads = [t45.sram(s, 64).read.value for s in sizes]
    areas = [t45.sram(s, 64).area.value for s in sizes]
    assert np.all(np.diff(reads) > 0) and np.all(np.diff(areas) > 0)
    assert t45.sram(65536, 128).read.value > t45.sram(65536, 32).read.value
    with pytest.raises(ConfigError, match="size_bytes: must be from 256 to 16777216"):
        t45.sram(1 << 30, 64)
    with pytest.raises(ConfigError, match="width_bits: .*no CACTI organisation"):
        t45.sram(256, 256)


def test_every_table_entry_names_a_source():
    t = _raw_tables()
    for name, e in t["ops"].items():
        assert e["source"] in t["sources"], name
    for name, e in t["dram_pj_per_bit"].items():
        assert e["source"] in t["sources"], name
    for name, e in {**t["registers"], **t["leakage"]}.items():
        assert e["source"] in t["sources"], name


HAND = {"mac": 1000, "sram_read:ifmap": 100, "sram_write:ofmap": 10, "dram_read_bytes": 64,
        "dram_write_bytes": 16, "reg_write_bits": 5000, "add_bits": 320, "shift": 4, "lut_lookup": 8,
        "mult:16x16": 2}


def test_energy_hand_counts(t45):
    sram = {"ifmap": SramSpec(8192, 32), "ofmap": SramSpec(4096, 32)}
    e = energy_from_actions(HAND, t45, a_bits=8, b_bits=8, acc_bits=32, sram=sram, dram="lpddr4",
                            shift_bits=16, lut_entry_bits=16, cycles=2000, freq_mhz=500, n_pes=16,
                            pe_reg_bits=48, control_bits=64)
    dyn = e.dynamic_pj_by_part
    pe = 1000 * 0.3 + 5000 * 0.009 + 320 * 0.1 / 32 + 4 * 0.417 * 16 / 32 + 8 * 16 * 0.009 + 2 * 0.2 * 4
    assert dyn["pe_array"] == pytest.approx(pe)
    assert dyn["dram"] == pytest.approx((64 + 16) * 8 * 8.0)
    assert dyn["sram:ifmap"] == pytest.approx(100 * t45.sram(8192, 32).read.value)
    assert dyn["sram:ofmap"] == pytest.approx(10 * t45.sram(4096, 32).write.value)
    assert dyn["control"] == pytest.approx(2000 * 64 * 0.009)
    # leakage: 4 us of 16 PEs and two SRAMs
    assert e.runtime_s == pytest.approx(4e-6)
    pe_leak_mw = 16 * (0.08 / 16 + 0.0023 + 48 * 7e-5)
    assert e.leakage_pj_by_part["pe_array"] == pytest.approx(pe_leak_mw * 1e-3 * 4e-6 * 1e12)
    assert e.total_pj == pytest.approx(sum(e.by_part.values()))
    d = e.to_dict()
    assert all(line["source"] for line in d["lines"])


def test_energy_is_linear_in_counts(t45):
    kw = dict(a_bits=8, b_bits=8, acc_bits=32, cycles=0, freq_mhz=1000)
    one = energy_from_actions({"mac": 10, "dram_read_bytes": 3}, t45, **kw).total_pj
    two = energy_from_actions({"mac": 20, "dram_read_bytes": 6}, t45, **kw).total_pj
    assert two == pytest.approx(2 * one)


@pytest.mark.parametrize("actions, kw, msg", [
    ({"flop": 1}, {}, "unknown action 'flop'"),
    ({"sram_read:psum": 1}, {}, "SRAM buffer 'psum', which is not configured"),
    ({"mac": 1}, {"a_bits": None}, "a_bits: is required"),
    ({"shift": 1}, {}, "shift_bits: is required"),
    ({"mac": -1}, {}, r"actions\[mac\]: must be a non-negative count"),
    ({"mac": 1}, {"dram": "sdram"}, None),
    ({"dram_read_bytes": 1}, {"dram": "sdram"}, "dram: must be one of"),
])
def test_energy_errors(t45, actions, kw, msg):
    args = dict(a_bits=8, b_bits=8, acc_bits=32, cycles=10, freq_mhz=100)
    args.update(kw)
    if msg is None:
        energy_from_actions(actions, t45, **args)  # the memory kind matters only for DRAM actions
        return
    with pytest.raises(ConfigError, match=msg):
        energy_from_actions(actions, t45, **args)


def test_calibration_scales_only_its_component(t45):
    kw = dict(a_bits=8, b_bits=8, acc_bits=32, cycles=0, freq_mhz=1000)
    acts = {"mac": 100, "dram_read_bytes": 10}
    base = energy_from_actions(acts, t45, **kw)
    cal = energy_from_actions(acts, t45, calibration={"pe_array": Figure(2.5, "x", "test")}, **kw)
    assert cal.dynamic_pj_by_part["pe_array"] == pytest.approx(2.5 * base.dynamic_pj_by_part["pe_array"])
    assert cal.dynamic_pj_by_part["dram"] == base.dynamic_pj_by_part["dram"]
    with pytest.raises(ConfigError, match="calibration"):
        energy_from_actions(acts, t45, calibration={"pe_array": Figure(2.5, "pJ", "x")}, **kw)


def test_model_actions_are_all_priced(t45):
    from hwsim.families.systolic.config import SystolicConfig
    from hwsim.families.systolic.model import estimate
    from hwsim.workloads.ops import GemmOp

    for df in ("os", "ws", "is"):
        cfg = SystolicConfig(rows=8, cols=8, dataflow=df)
        p = estimate(cfg, GemmOp(64, 96, 80))
        rec = cost_record("systolic", cfg.to_dict(), p, t45, systolic_inputs(cfg))
        assert rec["energy_pj"] > 0 and rec["area_um2"] > 0
        assert set(rec["energy_pj_by_part"]) >= {"pe_array", "sram:ifmap", "sram:filter", "sram:ofmap", "dram"}
        assert rec["energy_pj"] == pytest.approx(sum(rec["energy_pj_by_part"].values()))
        assert rec["area_um2"] == pytest.approx(sum(rec["area_um2_by_part"].values()))


def test_cost_record_metrics_by_hand(t45):
    inputs = CostInputs(freq_mhz=500.0, n_pes=4, a_bits=8, b_bits=8, acc_bits=32, pe_reg_bits=48, control_bits=0,
                        sram={"ifmap": SramSpec(2048, 32)})
    perf = {"cycles": 1000, "macs": 2000, "actions": {"mac": 2000}}
    rec = cost_record("test", {"n": 2}, perf, t45, inputs)
    runtime = 1000 / 500e6
    assert rec["runtime_s"] == pytest.approx(runtime)
    assert rec["tops"] == pytest.approx(2 * 2000 / runtime / 1e12)
    assert rec["peak_tops"] == pytest.approx(2 * 4 * 500e6 / 1e12)
    assert rec["tops_per_w"] == pytest.approx(2 * 2000 / (rec["energy_pj"] * 1e-12) / 1e12)
    assert rec["tops_per_mm2"] == pytest.approx(rec["tops"] / (rec["area_um2"] * 1e-6))
    pe_area = 4 * (419 + 48 * 5.98)
    assert rec["area_um2_by_part"]["pe_array"] == pytest.approx(pe_area)
    assert rec["area_um2_by_part"]["sram:ifmap"] == pytest.approx(t45.sram(2048, 32).area.value)
    assert rec["provenance"]["tech"]["node_nm"] == 45
    assert math.isfinite(rec["energy_pj"])
    yaml.safe_dump(rec["provenance"])  # plain data only


def test_smaller_node_is_more_efficient():
    from hwsim.families.systolic.config import SystolicConfig
    from hwsim.families.systolic.model import estimate
    from hwsim.workloads.ops import GemmOp

    cfg = SystolicConfig(rows=8, cols=8)
    p = estimate(cfg, GemmOp(64, 64, 64))
    r45 = cost_record("systolic", cfg.to_dict(), p, load_tech(45), systolic_inputs(cfg))
    r7 = cost_record("systolic", cfg.to_dict(), p, load_tech(7), systolic_inputs(cfg))
    assert r7["tops_per_mm2"] > r45["tops_per_mm2"] * 5
    assert r7["tops_per_w"] > r45["tops_per_w"]
    assert r7["energy_pj_by_part"]["dram"] == pytest.approx(r45["energy_pj_by_part"]["dram"])


def test_action_energy_doc_example(t45):
    comp, e = action_energy("sram_write:ofmap", t45, sram={"ofmap": SramSpec(1024, 32)})
    assert comp == "sram:ofmap" and e.unit == "pJ" and "CACTI" in e.source


def test_unconfigured_buffer_is_ignored_only_when_untouched():
    from hwsim.cost.energy import energy_from_actions
    from hwsim.cost.tech import load_tech
    from hwsim.errors import ConfigError as _CE

    tech = load_tech(45)
    kw = dict(cycles=10, freq_mhz=1000.0, a_bits=8, b_bits=8, acc_bits=32, sram={})
    e = energy_from_actions({"mac": 4, "sram_read:acc": 0}, tech, **kw)
    assert e.total_pj > 0
    with pytest.raises(_CE, match="'sram_read:acc' names SRAM buffer 'acc', which is not configured"):
        energy_from_actions({"mac": 4, "sram_read:acc": 1}, tech, **kw)
