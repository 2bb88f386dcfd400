"""The MixPE iso-area study (:mod:`hwsim.families.mixpe.iso_area`): sizes of equal
synthesised area, normalisation, the formats' bit-exact products and the report hook."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hwsim.families.mixpe import iso_area as ia


@pytest.fixture(scope="module")
def areas():
    return ia.pe_areas()  # Yosys on one PE per format (cached on disk)


def test_iso_sizes_fit_the_budget_and_are_maximal(areas):
    budget = ia.array_area(*ia.REFERENCE)
    sizes = ia.iso_sizes()
    assert sizes["FP16"] == (32, 28)
    for fmt, (r, c) in sizes.items():
        assert ia.array_area(fmt, r, c) <= budget < ia.array_area(fmt, r, c + 1)
    # the dequantisers make the dequantise-then-MAC array larger than the FP16 MAC array
    assert areas["Dequant-W4A16"][0] == areas["FP16"][0] and areas["Dequant-W4A16"][1] > 0
    assert sizes["Dequant-W4A16"][1] < 28


def test_normalised_and_geomean():
    res = {m: {"FP16": {"time_s": 2.0, "energy": {"static": 1.0, "dram": 3.0}},
               "INT8": {"time_s": t, "energy": {"static": 0.5, "dram": 1.5}}} for m, t in (("a", 1.0), ("b", 0.25))}
    n = ia.normalised(res)
    assert n["a"]["FP16"]["time"] == 1.0 and n["a"]["INT8"]["energy"] == 0.5
    assert n["a"]["INT8"]["parts"] == {"static": 0.125, "dram": 0.375}
    assert math.isclose(n["geomean"]["INT8"]["time"], math.sqrt(0.5 * 0.125))


def test_format_outputs_track_the_float_product():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 200))
    w = rng.standard_normal((200, 6)) * 0.05
    ref = x @ w
    err = {f: float(np.linalg.norm(ia.format_outputs(f, x, w) - ref) / np.linalg.norm(ref)) for f in ia.FORMATS}
    assert err["FP16"] < 1e-2  # 200 binary16 roundings of the sum
    assert err["INT8"] < 3e-2
    for f in ("MixPE-W4A8", "MixPE-W4A16", "Dequant-W4A16"):
        assert 1e-3 < err[f] < 0.2  # 4-bit weights: a real but bounded error


def test_hook_ignores_other_stores():
    assert ia.iso_area_items(pd.DataFrame({"workload": ["llama-2-7b/decode"]}), None) == []


def test_paper_tables_are_the_cited_ones():
    assert ia.PAPER_TIME["opt-6.7b"]["MixPE-W4A8"] == 0.10 and ia.PAPER_ENERGY["opt-6.7b"]["MixPE-W4A16"] == 0.22
    assert math.isclose(ia._paper_geo(ia.PAPER_TIME, "MixPE-W4A8"), (0.15 * 0.12 * 0.10 * 0.10) ** 0.25)
