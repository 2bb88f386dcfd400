"""Pareto analysis, HTML/Markdown reports and export, from stored records only."""

from __future__ import annotations

import base64
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
    imgs = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert len(imgs) >= 4
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in imgs)
    assert "src='http" not in page and "<script" not in page
    for title in ("Pareto front: throughput vs", "Best designs for gemv", "Roofline per design",
                  "Utilisation across the swept grid"):
        assert title in page and title in md
    assert page.count("<summary>provenance</summary>") == page.count("<h2 ")
    assert "A small sweep for the report tests." in md
    for link in re.findall(r"\]\((figures/[^)]+)\)", md):
        assert (out / link).is_file()
    # The best-design tables list feasible Pareto-optimal designs only.
    data = load(store)
    gemv = data.records[data.records["workload"] == "gemv"]
    front = pareto_front(gemv, {"tops": "max", "area_um2": "min"})
    if gemv["area_um2"].notna().all():
        assert f"{front['design_id'].iloc[0][:10]}" in page


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
