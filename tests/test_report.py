"""Pareto analysis, HTML/Markdown reports and export, from stored records only."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwsim.cli import main
from hwsim.errors import ConfigError
from hwsim.report import export, load, pareto_front, pareto_mask, write_report
from hwsim.sweep import load_spec, run_sweep

SPEC = """
version = 1
name = "report-test"
description = "A small sweep for the report tests."
family = "systolic"
mode = "scalesim"
[space]
rows = [4, 8, 16]
cols = [4, 8]
dataflow = ["os", "ws"]
[[workloads]]
name = "gemv"
gemms = [{m = 1, k = 512, n = 512, count = 8}]
tokens = 1
[[workloads]]
name = "gemm"
gemms = ["128x256x128"]
[objectives]
tops = "max"
area_um2 = "min"
"""


def _brute(x: np.ndarray) -> np.ndarray:
    n = len(x)
    keep = np.ones(n, bool)
    for i in range(n):
        for j in range(n):
            if np.all(x[j] <= x[i]) and np.any(x[j] < x[i]):
                keep[i] = False
    return keep


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=30))
def test_pareto_matches_brute_force(pts):
    df = pd.DataFrame(pts, columns=["a", "b", "c"])
    got = pareto_mask(df, {"a": "min", "b": "max", "c": "min"})
    x = df.to_numpy(float) * np.array([1, -1, 1])
    assert got.tolist() == _brute(x).tolist()


def test_pareto_constraints_and_missing():
    df = pd.DataFrame({"tops": [1.0, 2.0, 3.0, np.nan], "area_um2": [1.0, 2.0, 9.0, 0.5]})
    assert pareto_mask(df, {"tops": "max", "area_um2": "min"}).tolist() == [True, True, True, False]
    m = pareto_mask(df, {"tops": "max", "area_um2": "min"}, {"area_um2": {"max": 5.0}})
    assert m.tolist() == [True, True, False, False]
    assert list(pareto_front(df, {"tops": "max", "area_um2": "min"}).index) == [2, 1, 0]
    with pytest.raises(ConfigError, match="unknown metric 'speed'"):
        pareto_mask(df, {"speed": "max"})


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    d = tmp_path_factory.mktemp("rep")
    (d / "spec.toml").write_text(SPEC)
    run_sweep(load_spec(d / "spec.toml"), d / "s.db", jobs=1)
    return d / "s.db"


def test_report_is_self_contained(store, tmp_path):
    out = write_report(store, tmp_path / "rep", top=3)
    page = (out / "index.html").read_text()
    md = (out / "summary.md").read_text()
    # interactive figures: each a div with its JSON spec, drawn by the plotly.js copied beside the page
    divs = re.findall(r"<div class='plot' id='([^']+)'", page)
    assert len(divs) >= 4
    for d in divs:
        spec = re.search(rf"<script type='application/json' id='{d}-spec'>(.*?)</script>", page, re.S).group(1)
        fig = json.loads(spec.replace("<\\/", "</"))
        assert fig["data"] and all(t.get("x") is not None for t in fig["data"])
    assert "<script src='assets/plotly.min.js'></script>" in page
    assert (out / "assets" / "plotly.min.js").stat().st_size > 1_000_000
    assert not re.search(r"(src|href)=['\"]https?:", page)  # works offline
    for title in ("Which design wins, and why", "Pareto front: throughput vs", "Best designs for gemv",
                  "Roofline per design", "Utilisation across the swept grid", "Sensitivity to rows",
                  "Energy per token by part on gemv", "Energy by part on gemm", "Provenance"):
        assert title in page and title in md
    # the headline comes first, fidelity and provenance last
    assert page.index("Which design wins") < page.index("Pareto front:") < page.index("Sensitivity to")
    assert page.index("Sensitivity to") < page.index("id='provenance'")
    assert page.count("<summary>provenance</summary>") == page.count("<h2 ")
    assert "A small sweep for the report tests." in md
    links = re.findall(r"\]\((figures/[^)]+)\)", md)
    assert len(links) >= 4
    for link in links:
        assert (out / link).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The best-design tables list feasible Pareto-optimal designs only.
    data = load(store)
    gemv = data.records[data.records["workload"] == "gemv"]
    front = pareto_front(gemv, {"tops": "max", "area_um2": "min"})
    if gemv["area_um2"].notna().all():
        assert f"{front['design_id'].iloc[0][:10]}" in page


def test_headline_names_the_winner_and_says_why(store, tmp_path):
    out = write_report(store, tmp_path / "rep", top=3)
    md = (out / "summary.md").read_text()
    data = load(store)
    df = data.records
    for wl in ("gemv", "gemm"):
        sub = df[df["workload"] == wl]
        best = sub.loc[sub["tops"].idxmax()]
        name = f"rows={best['design.rows']} cols={best['design.cols']} dataflow={best['design.dataflow']}"
        assert f"On {wl}, {name} is fastest" in md
    # the GEMV (M = 1) is far below the ridge point: memory-bound; the 128x256x128 GEMM is not
    assert re.search(r"On gemv, [^.]* is fastest[^\n]*It is memory-bound", md)
    assert re.search(r"On gemm, [^.]* is fastest[^\n]*It is compute-bound", md)
    # units chosen per column: no exponent notation and no um^2 anywhere in the tables
    tables = [ln for ln in md.splitlines() if ln.startswith("|")]
    assert not [ln for ln in tables if re.search(r"\d[eE][+-]\d", ln)]
    assert any("(mm^2)" in ln for ln in tables) and not any("um^2" in ln for ln in tables)


def test_report_objectives_override_and_errors(store, tmp_path):
    out = write_report(store, tmp_path / "r2", objectives={"utilization": "max", "cycles": "min"},
                       constraints={"utilization": {"min": 0.01}})
    assert "Pareto front over the chosen objectives" in (out / "index.html").read_text()
    with pytest.raises(ConfigError, match="unknown metric 'speed'"):
        write_report(store, tmp_path / "r3", objectives={"speed": "max"})


def test_export_csv_and_parquet(store, tmp_path):
    n = export(store, tmp_path / "r.csv")
    m = export(store, tmp_path / "r.parquet")
    assert n == m == 24
    a = pd.read_csv(tmp_path / "r.csv")
    b = pd.read_parquet(tmp_path / "r.parquet")
    assert len(a) == len(b) == 24 and a["point_key"].is_unique
    assert {"design.rows", "cycles", "energy_pj", "schema_version", "code_version", "estimator"} <= set(a.columns)
    assert list(a["cycles"]) == list(b["cycles"])
    with pytest.raises(ConfigError, match="must end in .csv or .parquet"):
        export(store, tmp_path / "r.xlsx")


def test_export_is_tidy(store, tmp_path):
    """Rows of scalars; breakdowns, actions and layers as long tables keyed by point_key;
    provenance once per store."""
    from hwsim.report.data import EXPORT_TABLES, table_path

    export(store, tmp_path / "t.csv")
    rec = pd.read_csv(tmp_path / "t.csv")
    for c in rec.columns:  # no nested dict or list in a cell
        assert not rec[c].astype(str).str.startswith(("{", "[")).any(), c
    assert not {"energy_pj_by_part", "area_um2_by_part", "actions", "cost_provenance"} & set(rec.columns)
    t = {name: pd.read_csv(table_path(tmp_path / "t.csv", name)) for name in EXPORT_TABLES
         if table_path(tmp_path / "t.csv", name).stat().st_size > 1}
    data = load(store)
    keys = set(rec["point_key"])
    for name in ("layers", "breakdown", "actions"):
        assert set(t[name]["point_key"]) <= keys and len(set(t[name]["point_key"])) == len(keys), name
    # the long energy breakdown adds up to each record's energy, the actions to its counts
    e = t["breakdown"][t["breakdown"]["quantity"] == "energy_pj"].groupby("point_key")["value"].sum()
    got = rec.set_index("point_key")["energy_pj"]
    assert np.allclose(e[got.index].to_numpy(), got.to_numpy(), rtol=1e-9)
    r0 = data.records.iloc[0]
    acts = t["actions"][t["actions"]["point_key"] == r0["point_key"]].set_index("action")["count"].to_dict()
    assert acts == r0["actions"]
    # provenance: the store's meta data once, each distinct cost provenance once
    prov = t["provenance"]
    assert (prov[(prov["kind"] == "store") & (prov["field"] == "spec_name")]["value"] == "report-test").sum() == 1
    ids = set(rec["cost_provenance_id"].dropna())
    assert ids and ids == set(prov[prov["kind"] == "cost_provenance"]["id"])
    assert not prov.duplicated(["study", "kind", "id", "field"]).any()  # each provenance once


def test_cli_report_and_export(store, tmp_path, capsys):
    assert main(["report", str(store), "-o", str(tmp_path / "cli"), "--objective", "tops:max",
                 "--objective", "cycles:min", "--constraint", "utilization>=0.01"]) == 0
    assert (tmp_path / "cli" / "index.html").is_file()
    assert main(["export", str(store), "-o", str(tmp_path / "x.csv")]) == 0
    capsys.readouterr()
    assert main(["report", str(store), "-o", str(tmp_path / "bad"), "--objective", "tops"]) == 2
    assert capsys.readouterr().err == ("hwsim report: error: --objective: expected METRIC:min or "
                                       "METRIC:max, not 'tops'\n")
    assert main(["report", str(tmp_path / "none.db"), "-o", str(tmp_path / "bad")]) == 2


# ----------------------------------------------------------------- several stores
SPEC_GEMV_UNIT = """
version = 1
name = "report-test-sram"
family = "sram-gemv"
[space]
w_bits = [2, 4]
[[workloads]]
name = "gemv"
gemms = [{m = 1, k = 512, n = 512, count = 8}]
tokens = 1
[[workloads]]
name = "gemm"
gemms = ["128x256x128"]
[objectives]
tops = "max"
area_um2 = "min"
"""


@pytest.fixture(scope="module")
def second_store(tmp_path_factory):
    d = tmp_path_factory.mktemp("rep2")
    (d / "spec.toml").write_text(SPEC_GEMV_UNIT)
    run_sweep(load_spec(d / "spec.toml"), d / "s2.db", jobs=1)
    return d / "s2.db"


def test_two_stores_side_by_side_and_family_filter(store, second_store, tmp_path):
    out = write_report([store, second_store], tmp_path / "both")
    md = (out / "summary.md").read_text()
    assert md.startswith("# hwsim report: report: test, test-sram")
    for title in ("Studies compared: the same metrics, aligned", "Side by side: each family's balanced choice"):
        assert title in md
    # the aligned table: one column per study, a row per workload and metric
    rows = [ln for ln in md.split("## Studies compared")[1].splitlines() if ln.startswith("| gemv |")]
    assert rows and all(ln.count("|") == 5 for ln in rows)
    data = load(second_store)
    best = data.records[data.records["workload"] == "gemv"]["tops"].max()
    assert any(f"{best:.4g}"[:4] in ln for ln in rows)
    # a family filter keeps that family only
    only = write_report([store, second_store], tmp_path / "sram", family="sram-gemv")
    md2 = (only / "summary.md").read_text()
    assert "dataflow=" not in md2 and "w_bits=" in md2
    with pytest.raises(ConfigError, match="--family: 'pim' is not in"):
        write_report([store, second_store], tmp_path / "x", family="pim")
    assert main(["report", str(store), "-o", str(tmp_path / "y"), "--family", "nosuch"]) == 2
    assert main(["export", str(store), str(second_store), "-o", str(tmp_path / "e.csv"), "--family",
                 "systolic"]) == 0
    assert set(pd.read_csv(tmp_path / "e.csv")["family"]) == {"systolic"}


def test_every_figure_has_legible_labels(store, second_store, tmp_path, monkeypatch):
    """Render every matplotlib figure of two reports and check, from the rendered text
    extents, that no tick label, axis label or title overlaps another."""
    from hwsim.report import plots

    seen = []
    real = plots.to_png

    def keep(fig, *a, **k):
        png = real(fig, *a, **k)
        seen.append((fig, plots.overlapping_labels(fig)))
        return png

    monkeypatch.setattr(plots, "to_png", keep)
    write_report(store, tmp_path / "a")
    write_report([store, second_store], tmp_path / "b")
    assert len(seen) >= 15
    bad = [(f.get_suptitle() or f.axes[0].get_title(), o) for f, o in seen if o]
    assert bad == []


def test_overlap_check_finds_overlaps_and_thinning_fixes_them():
    from matplotlib.figure import Figure

    from hwsim.report import plots

    fig = Figure(figsize=(3, 2))
    ax = fig.subplots()
    ax.bar(range(30), range(30))
    ax.set_xticks(range(30), [f"label {i}" for i in range(30)])
    assert plots.overlapping_labels(fig)
    plots.to_png(fig)  # thins the labels before saving
    assert plots.overlapping_labels(fig) == []
    # a log axis over less than a decade labels plain 1-2-5 steps, no 2x10^-1
    fig = Figure(figsize=(4, 3))
    ax = fig.subplots()
    ax.plot([0.2, 0.6], [1, 2])
    plots.log_axis(ax, "x")
    plots.to_png(fig)
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
    assert labels and all(re.fullmatch(r"[0-9.]+", t) for t in labels)


def test_units_per_column():
    from hwsim.report.units import unit_for

    assert unit_for("area_um2", [7.084e5]).label == "area (mm^2)"
    assert unit_for("area_um2", [7.084e5]).fmt(7.084e5) == "0.7084"
    u = unit_for("energy_per_token_pj", [1.485e13, 2.0e13])
    assert (u.unit, u.fmt(1.485e13)) == ("J", "14.85")
    assert unit_for("energy_pj", [3e6, 9e6]).unit == "uJ"
    assert unit_for("tokens_per_s", [1e5]).fmt(123456.7) == "123,457"
    assert unit_for("cycles", [2e6]).unit == "M cycles"


def test_balanced_choice_and_boundness():
    from hwsim.report import analysis

    df = pd.DataFrame({"workload": ["a", "a", "b", "b", "b"], "design_id": ["x", "y", "x", "y", "z"],
                       "tops": [1.0, 2.0, 4.0, 1.0, 8.0], "area_um2": [1.0, 1.0, 1.0, 1.0, 0.5]})
    b = analysis.balanced(df, {"tops": "max", "area_um2": "min"})
    # z never ran workload a: not ranked (but it sets b's best values: 8 TOPS, 0.5 area)
    assert list(b["design_id"]) == ["x", "y"]
    assert b["factor"].round(6).tolist() == [round((2 * 1 * 2 * 2) ** 0.25, 6), round((1 * 1 * 8 * 2) ** 0.25, 6)]
    mem = {"cycles": 100, "stall_cycles": 0, "latency_s": 1.0, "peak_tops": 1.0, "dram_bw_bytes_per_s": 1e11,
           "dram_bytes": 9e10, "ops": 2e11, "ops_per_dram_byte": 2.2}
    assert analysis.boundness(mem)["memory_bound"]
    assert not analysis.boundness({**mem, "dram_bytes": 1e9, "ops_per_dram_byte": 200.0})["memory_bound"]
