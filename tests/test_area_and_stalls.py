"""Synthesised area in every sweep (PE x n + periphery growth fit, against flat synthesis)
and stalled cycles priced as the clock-gating choice says."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hwsim.cost.components import PeArray, Sequencer, clock_bit_energy, price
from hwsim.cost.tech import load_tech
from hwsim.eda.synth import GROWTH_TERMS, fit_growth
from hwsim.errors import ConfigError
from hwsim.families.systolic.config import SystolicConfig

T45 = load_tech(45)


# -- growth fit ---------------------------------------------------------------------------
def test_growth_fit_recovers_a_quadratic_and_says_when_it_extrapolates():
    sizes = [(2, 2), (2, 4), (4, 2), (4, 4), (4, 8), (8, 4), (8, 8)]
    coef = (500.0, 40.0, 30.0, 7.0, 5.0, 11.0)

    def area(r, c):
        return coef[0] + coef[1] * r + coef[2] * c + coef[3] * r * r + coef[4] * c * c + coef[5] * r * c

    f = fit_growth(sizes, [area(r, c) for r, c in sizes])
    assert f.coef == pytest.approx(coef, rel=1e-9) and f.max_rel_residual < 1e-9
    assert f.area_um2(32, 32) == pytest.approx(area(32, 32))
    assert f.at(4, 4).extrapolated is False and f.at(32, 32).extrapolated is True
    assert "extrapolated" in f.at(32, 32).describe()
    # noisy data: the residual is reported, not hidden
    noisy = fit_growth(sizes, [area(r, c) * (1.03 if (r, c) == (4, 4) else 1.0) for r, c in sizes])
    assert 0.005 < noisy.max_rel_residual < 0.03
    # a synthesised size is priced as synthesised, other sizes from the fit
    assert noisy.area_um2(4, 4) == pytest.approx(1.03 * area(4, 4))
    assert noisy.area_um2(16, 16) != pytest.approx(area(16, 16), rel=1e-6)
    assert "a synthesised size" in noisy.at(4, 4).describe()


def test_height_fit_log_growth():
    from hwsim.eda.synth import fit_height

    hs = (2, 4, 8, 16)
    f = fit_height(hs, [90 + 700 * h + 60 * h * (h.bit_length() - 1) for h in hs])
    assert f.coef == pytest.approx((90, 700, 60), rel=1e-9) and f.covers(8) and not f.covers(32)
    assert f.area_um2(32) == pytest.approx(90 + 700 * 32 + 60 * 32 * 5)
    with pytest.raises(ConfigError, match="more than 3 distinct heights"):
        fit_height((2, 4, 8), (1.0, 2.0, 3.0))


def test_growth_fit_needs_more_sizes_than_terms():
    with pytest.raises(ConfigError, match="more than 6 distinct sizes"):
        fit_growth([(2, 2), (4, 4), (8, 8)], [1.0, 2.0, 3.0])
    assert len(GROWTH_TERMS) == 6


# -- stalled cycles and clock gating -------------------------------------------------------
def test_clock_bit_energy_is_the_dff_clock_pin():
    e = clock_bit_energy(T45)
    # DFF_X1 CK: 2.441622 + 4.497803 fJ internal + 0.949653 fF x 1.1 V^2
    assert e.value == pytest.approx((2.441622 + 4.497803 + 0.949653 * 1.21) * 1e-3)
    assert "DFF_X1 CK" in e.source


def test_stalled_cycles_replace_active_control_cycles_and_follow_the_gating():
    seq = Sequencer("control", bits=100)
    pe = PeArray("pe_array", n_pes=16, reg_bits=48)
    counts = {"control": {"stall_cycle": 30}, "pe_array": {"stall_cycle": 30}}
    e, _ = price((seq, pe), counts, T45, cycles=100, freq_mhz=1000.0)
    clk = clock_bit_energy(T45).value
    cyc = seq.action_energy("cycle", T45).value
    assert e.dynamic_pj_by_part["control"] == pytest.approx(70 * cyc + 30 * 100 * clk)
    assert e.dynamic_pj_by_part["pe_array"] == pytest.approx(30 * 16 * 48 * clk)
    g_seq, g_pe = Sequencer("control", bits=100, clock_gating="icg"), PeArray("pe_array", n_pes=16, reg_bits=48,
                                                                             clock_gating="icg")
    g, _ = price((g_seq, g_pe), counts, T45, cycles=100, freq_mhz=1000.0)
    assert g.dynamic_pj_by_part["control"] == pytest.approx(70 * cyc + 30 * 4 * clk)  # ceil(100 / 32) cells
    assert g.dynamic_pj_by_part["pe_array"] == pytest.approx(30 * 16 * clk)
    # a stall factor applies to the stall lines only
    from hwsim.cost.tech import Figure

    cal = {"control": Figure(2.0, "x", "a"), "control/stall_cycle": Figure(3.0, "x", "b")}
    c, _ = price((seq, pe), counts, T45, cycles=100, freq_mhz=1000.0, calibration=cal)
    assert c.dynamic_pj_by_part["control"] == pytest.approx(2 * 70 * cyc + 3 * 30 * 100 * clk)
    with pytest.raises(ConfigError, match="40 stalled cycles in a run of 30 cycles"):
        price((seq,), {"control": {"stall_cycle": 40}}, T45, cycles=30, freq_mhz=1000.0)
    with pytest.raises(ConfigError, match="clock_gating: must be one of"):
        Sequencer("control", clock_gating="gated")


def test_systolic_record_charges_stalls_and_gating_is_a_pricing_choice():
    from hwsim.evaluate import Point, Pricing, Workload, evaluate
    from hwsim.families.systolic.calibration import systolic_calibration
    from hwsim.families.systolic.cost import systolic_design
    from hwsim.workloads.ops import GemmOp

    wl = Workload.from_gemms("g", [GemmOp(256, 1024, 1024)])
    d = dict(rows=16, cols=16, dataflow="ws", dram_bw_bytes_per_cycle=4.0)
    none = evaluate(Point("systolic", d, wl, pricing=Pricing(synthesised_area=False)))
    icg = evaluate(Point("systolic", d, wl, pricing=Pricing(synthesised_area=False, clock_gating="icg")))
    assert none.stall_cycles > 0 and none.actions["stalled_cycles"] == none.stall_cycles
    assert icg.cycles == none.cycles and icg.energy_pj < none.energy_pj
    # the difference is exactly the stalled cycles' clock energy under the two choices
    cfg = SystolicConfig(**d)
    cal = systolic_calibration(cfg)
    diff = 0.0
    for part in ("control", "pe_array"):
        f = (cal.get(f"{part}/stall_cycle") or cal[part]).value
        e_none = systolic_design(cfg).component(part).action_energy("stall_cycle", T45).value
        e_icg = systolic_design(cfg, clock_gating="icg").component(part).action_energy("stall_cycle", T45).value
        diff += none.stall_cycles * f * (e_none - e_icg)
    assert none.energy_pj - icg.energy_pj == pytest.approx(diff, rel=1e-9)
    # per-layer energies still add up to the total
    assert sum(ly["energy_pj"] for ly in none.layers) == pytest.approx(none.energy_pj, rel=1e-9)
    with pytest.raises(ConfigError, match="clock_gating: family 'lut' prices no clock-gating choice"):
        evaluate(Point("lut", {}, wl, pricing=Pricing(clock_gating="icg")))


def test_table_area_mode_is_selectable_and_recorded():
    from hwsim.evaluate import Point, Pricing, Workload, evaluate
    from hwsim.workloads.ops import GemmOp

    wl = Workload.from_gemms("g", [GemmOp(64, 64, 64)])
    rec = evaluate(Point("systolic", dict(rows=4, cols=4), wl, pricing=Pricing(synthesised_area=False)))
    assert rec.cost_provenance["area_mode"].startswith("table:")
    assert "periphery" not in rec.area_um2_by_part


# -- synthesised area (Yosys) --------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("dataflow", ["os", "ws"])
def test_sweep_area_within_5_percent_of_flat_synthesis(dataflow):
    """What a sweep records (one synthesised PE x rows*cols + the periphery's growth fit)
    against the whole array synthesised flat, memories priced as SRAM in both."""
    from hwsim.evaluate import Point, Workload, evaluate
    from hwsim.families.systolic.cost import flat_logic_synth
    from hwsim.workloads.ops import GemmOp

    wl = Workload.from_gemms("g", [GemmOp(64, 64, 64)])
    for size in (2, 4, 8):
        d = dict(rows=size, cols=size, dataflow=dataflow)
        rec = evaluate(Point("systolic", d, wl))
        assert rec.cost_provenance["area_mode"].startswith("synthesised: ")
        logic = rec.area_um2_by_part["pe_array"] + rec.area_um2_by_part["periphery"]
        flat = flat_logic_synth(SystolicConfig(**d)).area_um2
        assert abs(logic / flat - 1) < 0.05, (size, logic, flat)


@pytest.mark.slow
def test_cli_run_table_area_and_default_synthesis():
    def run(*extra):
        r = subprocess.run([sys.executable, "-m", "hwsim", "run", "systolic", "--rows", "4", "--cols", "4",
                            "--gemm", "16x16x16", "--json", *extra], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    table, synth = run("--table-area"), run()
    assert "periphery" in synth["area_um2_by_part"] and "periphery" not in table["area_um2_by_part"]
    assert synth["energy_pj"] == pytest.approx(table["energy_pj"])


def test_pinned_area_fits_match_the_generator():
    """The shipped fits (hwsim/families/systolic/data/area_fits.json) were measured on
    today's generator, flows and cells; after a change, re-run
    ``python -m hwsim.families.systolic.cost`` (until then fresh caches synthesise)."""
    from hwsim.families.systolic.cost import PINNED_DATAFLOWS, _pinned_fits, generator_key

    pinned = _pinned_fits()
    assert pinned["generator_key"] == generator_key()
    assert [c["fields"]["dataflow"] for c in pinned["configs"]] == list(PINNED_DATAFLOWS)


@pytest.mark.slow
def test_pinned_area_fits_match_a_fresh_measurement():
    from hwsim.families.systolic.cost import _measure_fits, _pinned_fits

    for want in _pinned_fits()["configs"][:2]:
        got = _measure_fits(SystolicConfig(dataflow=want["fields"]["dataflow"]))
        for part in ("periphery", "column", "east"):
            assert got[part]["areas_um2"] == pytest.approx(want[part]["areas_um2"], rel=1e-9), part
