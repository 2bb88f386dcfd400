"""LUT tensor core family: gate-level activity calibration, pinned, re-measured and applied."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from hwsim.families.lut.config import CORES, LutConfig
from hwsim.families.lut.activity import (
    MODE_FOR_BITS,
    PARTS,
    _pinned,
    lut_calibration,
    measure,
    stimulus,
    weight_codes_llm,
)
from hwsim.errors import ConfigError


@pytest.mark.slow
@pytest.mark.rtl
def test_pinned_lut_calibration_matches_a_fresh_gate_level_run():
    """One gate-level build of the LUT tile; W1 and W4 are two simulations on it."""
    fresh = measure("lut", w_bits=(1, 4))
    pinned = _pinned()["cores"]["lut"]
    for b in ("1", "4"):
        for part in PARTS:
            # same seed, netlist and tools give the same toggles; 2 % leaves room for tool updates
            assert fresh[b][part]["factor"] == pytest.approx(pinned[b][part]["factor"], rel=0.02), (b, part)
        assert fresh[b]["pj_per_mac"]["activity"] == pytest.approx(pinned[b]["pj_per_mac"]["activity"], rel=0.02)


def test_pinned_file_covers_both_cores_and_every_precision():
    pin = _pinned()
    for core in CORES:
        for b in range(1, 5):
            entry = pin["cores"][core][str(b)]
            for part in PARTS:
                assert entry[part]["factor"] > 0
                assert entry[part]["source"].startswith("activity: gate-level run")
                assert f"W{b} " in entry[part]["source"] and f"{core}_tile" in entry[part]["source"]
            # the activity energy per MAC is the table's times the factors, split by part
            assert entry["pj_per_mac"]["activity"] > entry["pj_per_mac"]["table"] > 0


def test_calibration_scales_the_core_energy_by_its_factors():
    """A record priced with the pinned factors against the same point priced from the
    table alone (``Pricing(calibrated=False)``): each tile part scales by its factor."""
    from hwsim.evaluate import Point, Pricing, Workload, evaluate
    from hwsim.workloads.ops import GemmOp

    wl = Workload.from_gemms("g", [GemmOp(16, 256, 256)])
    for core in CORES:
        cfg = LutConfig(tile_m=2, tile_n=16, tile_k=4, w_bits=2, weight_mode="signed", core=core)
        cal = lut_calibration(cfg)
        assert set(cal) == set(PARTS)
        plain = evaluate(Point("lut", cfg.to_dict(), wl, pricing=Pricing(calibrated=False)))
        calib = evaluate(Point("lut", cfg.to_dict(), wl))
        assert not plain.cost_provenance["calibration"] and calib.cost_provenance["calibration"]
        assert plain.point_key != calib.point_key
        for part in PARTS:
            ratio = calib.energy_pj_by_part[part] / plain.energy_pj_by_part[part]
            assert ratio == pytest.approx(cal[part].value, rel=0.05), (core, part)  # leakage is not scaled
        # SRAM and DRAM are outside the tile: untouched
        for part, v in plain.energy_pj_by_part.items():
            if part.startswith("sram") or part == "dram":
                assert calib.energy_pj_by_part[part] == pytest.approx(v)


def test_non_int8_designs_are_priced_from_the_table_alone():
    assert lut_calibration(LutConfig(act_format="fp16")) == {}
    assert lut_calibration(LutConfig(act_format="int16")) == {}
    with pytest.raises(ConfigError, match="core"):
        lut_calibration(LutConfig(), core="dsp")


def test_sweep_records_of_the_lut_family_name_the_calibration_run():
    from hwsim.evaluate import Point, Workload, evaluate
    from hwsim.workloads.ops import GemmOp

    cfg = LutConfig(tile_m=2, tile_n=8, tile_k=4, w_bits=1, weight_mode="symmetric")
    rec = evaluate(Point("lut", cfg.to_dict(), Workload("gemm", (GemmOp(8, 64, 32),)))).to_dict()
    cal = rec["cost_provenance"]["calibration"]
    assert set(cal) == set(PARTS)
    assert cal["pe_array"]["value"] == pytest.approx(lut_calibration(cfg)["pe_array"].value)


@pytest.mark.parametrize("w_bits", [1, 2, 3, 4])
def test_activity_stimulus_is_the_studys_quantisation(w_bits):
    from hwsim.families.lut.golden import weight_values

    cfg = LutConfig(tile_m=2, tile_n=8, tile_k=4, w_bits=w_bits, weight_mode=MODE_FOR_BITS[w_bits])
    (a, q), = stimulus(cfg, (4, 64, 16), 1, seed=3)
    assert a.shape == (4, 64) and q.shape == (64, 16)
    assert a.min() >= -127 and a.max() <= 127 and np.abs(a).max() == 127  # per-token absmax
    w = weight_values(cfg, q)
    allowed = {1: {-1, 1}, 2: {-1, 0, 1}, 3: set(range(-3, 4)), 4: set(range(-7, 8))}[w_bits]
    assert set(np.unique(w)) <= allowed and len(np.unique(w)) > 1
    with pytest.raises(ConfigError, match="weight_mode"):
        weight_codes_llm(replace(cfg, weight_mode="unsigned"), np.zeros((4, 4)))
