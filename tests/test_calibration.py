"""The pinned activity calibration: re-measured and diffed, and applied with its source."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from hwsim.families.systolic.config import SystolicConfig
from hwsim.families.systolic.calibration import PARTS, STALL_PARTS, measure_stall, measure_systolic, systolic_calibration


def _pinned():
    return json.loads(resources.files("hwsim.families.systolic").joinpath("data", "calibration.json").read_text())


@pytest.mark.slow
@pytest.mark.rtl
def test_pinned_os_calibration_matches_a_fresh_gate_level_run():
    fresh = measure_systolic("os")
    pinned = _pinned()["dataflows"]["os"]
    for part in PARTS:
        # same seed, netlist and tools give the same toggles; 2 % leaves room for tool updates
        assert fresh[part]["factor"] == pytest.approx(pinned[part]["factor"], rel=0.02), part


def test_calibration_is_applied_and_named_as_the_source():
    from hwsim.cost.report import cost_record
    from hwsim.families.systolic.cost import systolic_inputs
    from hwsim.cost.tech import load_tech
    from hwsim.families.systolic.model import estimate
    from hwsim.workloads.ops import GemmOp

    for df in ("os", "ws", "is"):
        cfg = SystolicConfig(rows=4, cols=4, dataflow=df)
        cal = systolic_calibration(cfg)
        assert set(cal) == set(PARTS + STALL_PARTS) and all(f.value > 0 for f in cal.values())
        assert "activity: gate-level run" in cal["pe_array"].source
        perf = estimate(cfg, GemmOp(32, 32, 32))
        plain = cost_record("systolic", cfg.to_dict(), perf, load_tech(45), systolic_inputs(cfg))
        calib = cost_record("systolic", cfg.to_dict(), perf, load_tech(45), systolic_inputs(cfg), calibration=cal)
        ratio = calib["energy_pj_by_part"]["pe_array"] / plain["energy_pj_by_part"]["pe_array"]
        assert ratio == pytest.approx(cal["pe_array"].value, rel=0.05)  # leakage is not scaled
        assert calib["provenance"]["calibration"]["pe_array"]["source"] == cal["pe_array"].source
    # is borrows the ws run and says so
    assert "applied to is" in systolic_calibration(SystolicConfig(dataflow="is"))["pe_array"].source


@pytest.mark.slow
@pytest.mark.rtl
def test_pinned_stall_calibration_matches_a_fresh_gate_level_run():
    """The energy of a stalled cycle (same GEMMs with and without operand gaps, 2x2 OS)
    re-measured and diffed against the pin."""
    fresh = measure_stall("os")
    pinned = _pinned()["dataflows"]["os"]
    for key in STALL_PARTS:
        assert fresh[key]["factor"] == pytest.approx(pinned[key]["factor"], rel=0.02), key
        assert fresh[key]["stall_cycles"] > 0


def test_stall_factors_apply_to_stalled_cycles_only():
    from hwsim.cost.tech import load_tech
    from hwsim.cost.components import price
    from hwsim.families.systolic.cost import systolic_design

    cfg = SystolicConfig(rows=4, cols=4, dataflow="ws")
    cal = systolic_calibration(cfg)
    d = systolic_design(cfg)
    t = load_tech(45)
    e, _ = price(d.components, {"control": {"stall_cycle": 10}}, t, cycles=10, freq_mhz=1000.0, calibration=cal)
    want = 10 * d.component("control").action_energy("stall_cycle", t).value * cal["control/stall_cycle"].value
    assert e.dynamic_pj_by_part["control"] == pytest.approx(want)
    assert "stalled cycles" in cal["control/stall_cycle"].source
