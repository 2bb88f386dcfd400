"""The RTL fidelity of sweeps: workload tiles, sampling, records, failures, resume."""

from __future__ import annotations

import dataclasses

from pathlib import Path

import numpy as np
import pytest

from hwsim.errors import ConfigError
from hwsim.evaluate import FAMILIES, Point, Workload, evaluate
from hwsim.fidelity import RtlSample, tiles_of
from hwsim.sweep import Store, load_spec, run_sweep
from hwsim.sweep.spec import WorkloadSpec
from hwsim.workloads.error import float32_gemm
from hwsim.workloads.ops import GemmOp

#: A small model workload: real linear layers (MiniLM where installed), synthetic attention.
_WL = WorkloadSpec(name="enc", model="minilm-l6", phase="prefill", batch=1, seq_len=8, quant="w8a8")
_GEMMS = Workload.from_gemms("g", [GemmOp(3, 40, 5, name="proj"), GemmOp(1, 24, 7, name="attn_score")])


def _examples():
    """Designs of every family with RTL (a system without RTL of its own has no tiles)."""
    return [pytest.param(n, i, id=f"{n}-{i}") for n, f in FAMILIES.items() if "verilator" in f.implementations
            for i in range(len(f.examples))]


@pytest.mark.parametrize("name,idx", _examples())
def test_tiles_are_jobs_of_the_design_over_the_full_k(name, idx):
    """Every family turns workload tiles into jobs its golden function takes, over the
    op's whole K, and states how the outputs become real values again: the golden
    outputs mapped back come close to the float product of the tile's operands (with an
    accumulator wide enough for K; a narrow one wraps, which the RTL check then reports
    as a low SQNR)."""
    fam = FAMILIES[name]
    design = dict(fam.examples[idx])
    if "acc_bits" in fam.fields() and design.get("operand_format", "int") == "int":
        design["acc_bits"] = 48  # wide enough for K (binary16 designs keep their format)
    # the widest weights the design takes, so that the bound below tests the mapping
    # back to real values rather than 2-bit rounding (per-column ternary weights alone
    # are over 100 % off on some real layers)
    w_field = next((f for f in dataclasses.fields(fam.config) if f.name == "w_bits"), None)
    widest = None
    if w_field is not None:
        widest = (w_field.metadata.get("range") or (None, None))[1] or max(w_field.metadata.get("choices") or (0,))
    if widest:
        try:
            fam.make_config({**design, "w_bits": widest})
            design["w_bits"] = widest
        except ConfigError:
            pass
    cfg = fam.make_config(design)
    wl = _WL.build()
    for i, op, tile in tiles_of(fam, cfg, wl, RtlSample(tiles=1, seed=3)):
        m, k, n = tile.shape
        assert k == op.k and 1 <= m <= op.m and 1 <= n <= op.n
        out = fam.golden(cfg, tile.job)
        assert out.shape == (m, n)
        assert tile.operands is not None and tile.to_float is not None and tile.quantisation
        ref = float32_gemm(tile.operands.x, tile.operands.w)
        err = np.linalg.norm(tile.to_float(out) - ref) / np.linalg.norm(ref)
        assert err < 1.0, f"{op.name}: relative error {err:.3f} of the golden tile"


def test_same_seed_same_tiles_other_seed_other_tiles():
    fam = FAMILIES["systolic"]
    cfg = fam.make_config(fam.examples[0])
    wl = _WL.build()

    def draw(seed):
        return [(t.operands.rows, t.operands.cols, t.operands.source, t.job["a"].tobytes(), t.job["b"].tobytes())
                for _, _, t in tiles_of(fam, cfg, wl, RtlSample(tiles=2, seed=seed))]

    a, b, c = draw(5), draw(5), draw(6)
    assert a == b
    assert a != c
    assert len(a) == 2 * len(wl.ops)


def test_point_and_spec_validate_the_sample(tmp_path):
    wl = _GEMMS
    p = Point("systolic", FAMILIES["systolic"].examples[0], wl, "rtl")
    assert p.rtl_sample == RtlSample()
    q = Point("systolic", FAMILIES["systolic"].examples[0], wl, "rtl", rtl_sample=RtlSample(2, 1))
    m = Point("systolic", FAMILIES["systolic"].examples[0], wl, "model", rtl_sample=RtlSample(2, 1))
    assert len({p.key, q.key, m.key}) == 3 and m.rtl_sample is None
    with pytest.raises(ConfigError, match=r"rtl_sample.tiles: must be >= 1, not 0"):
        RtlSample(tiles=0)
    base = ('version = 1\nname = "t"\nfamily = "systolic"\n{extra}\n[fixed]\nrows = 2\ncols = 2\n'
            '[[workloads]]\nname = "g"\ngemms = ["2x8x2"]\n')
    for extra, msg in (('fidelity = "model"\nrtl_sample = {tiles = 2}', "rtl_sample: applies to fidelity 'rtl' only"),
                       ('fidelity = "rtl"\nrtl_sample = {tiles = 2, seeds = 1}', "rtl_sample.seeds: unknown key"),
                       ('fidelity = "rtl"\nrtl_sample = {tiles = 0}', "rtl_sample.tiles: must be >= 1"),
                       ('fidelity = "rtl"\nrtl_sample = {tiles = 1000}', "rtl_sample.tiles: must be <= 64"),
                       ('fidelity = "gates"', "fidelity: must be one of 'model', 'rtl'")):
        path = tmp_path / "s.toml"
        path.write_text(base.format(extra=extra))
        with pytest.raises(ConfigError, match=msg):
            load_spec(path)
    path.write_text(base.format(extra='fidelity = "rtl"\nrtl_sample = {tiles = 3, seed = 9}'))
    assert load_spec(path).rtl_sample == RtlSample(3, 9)


_SPEC = """version = 1
name = "rtl-small"
family = "systolic"
fidelity = "rtl"
rtl_sample = {{tiles = 1, seed = 2}}
[fixed]
dataflow = "os"
a_bits = 5
b_bits = 3
acc_bits = 20
signed = true
[space]
rows = [{rows}]
cols = [5]
[[workloads]]
name = "g"
gemms = ["3x40x5", {{m = 1, k = 24, n = 7, name = "attn_score"}}]
"""


@pytest.mark.rtl
@pytest.mark.slow
def test_rtl_sweep_records_agreement_and_a_failure_does_not_stop_it(tmp_path, monkeypatch):
    """One design's RTL cannot build (the Verilog Verilator gets is broken; synthesis for
    the sweep's area still sees the real one): its point is stored as a failure with the
    build log; the other design's point is checked and agrees."""
    import hwsim.sim.verilator as ver

    good = ver.build

    def broken_for_two_rows(verilog, top, name, *a, **k):
        if top == "systolic_os_2x5":
            verilog = verilog.replace("endmodule", "endmodule oops", 1)
        return good(verilog, top, name, *a, **k)

    monkeypatch.setattr(ver, "build", broken_for_two_rows)
    spec_path = tmp_path / "s.toml"
    spec_path.write_text(_SPEC.format(rows="2, 3"))
    res = run_sweep(load_spec(spec_path), tmp_path / "s.db", jobs=1)
    assert res.evaluated == 2
    with Store.open_reader(tmp_path / "s.db") as st:
        recs = {r["design"]["rows"]: r for r in st.get(st.keys()).values()}
    bad, ok = recs[2]["rtl_check"], recs[3]["rtl_check"]
    assert bad["status"] == "failed" and "verilator" in bad["error"]
    assert bad["log"] and bad["log"].endswith("build.log")
    assert Path(bad["log"]).is_file()
    assert ok["status"] == "ok" and ok["agree"] and ok["tiles_checked"] == 2
    assert ok["outputs_equal"] == 2 and ok["cycles_equal"] == 2 and ok["cycles_max_abs_error"] == 0
    assert [t["shape"] for t in ok["tiles"]] == [[3, 40, 5], [1, 24, 5]]
    assert ok["sample"] == {"tiles": 1, "seed": 2}
    assert recs[3]["cycles"] > 0  # the record's figures still come from the closed-form model

    from hwsim.report.html import write_report

    out = write_report(tmp_path / "s.db", tmp_path / "report")
    page = (out / "index.html").read_text()
    assert "Fidelity: model vs RTL per design" in page
    assert page.count("class='warn'") >= 2  # the banner on top and the failing design's line
    assert "rows=2 on g: the RTL check failed" in page and "rows=3 on g: the RTL check" not in page
    md = (out / "summary.md").read_text()
    assert "| rows=3 | g | cycles/energy/area: model" in md and "| 2/2 | 2/2 (max err 0) |" in md


@pytest.mark.rtl
@pytest.mark.slow
def test_killed_rtl_sweep_resumes_without_rerunning_finished_points(tmp_path, monkeypatch):
    import hwsim.fidelity as fid

    real = fid.rtl_check
    calls = []

    def interrupted_on_second(point, cfg):
        calls.append(cfg.rows)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the sweep is stopped while the second point runs
        return real(point, cfg)

    monkeypatch.setattr(fid, "rtl_check", interrupted_on_second)
    spec_path = tmp_path / "s.toml"
    spec_path.write_text(_SPEC.format(rows="3, 4"))
    spec = load_spec(spec_path)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, tmp_path / "s.db", jobs=1)
    with Store.open_reader(tmp_path / "s.db") as st:
        assert st.count() == 1
    monkeypatch.setattr(fid, "rtl_check", lambda point, cfg: calls.append(cfg.rows) or real(point, cfg))
    res = run_sweep(spec, tmp_path / "s.db", jobs=1)
    assert (res.reused, res.evaluated) == (1, 1)
    assert calls == [3, 4, 4]  # the finished point was not run again
    with Store.open_reader(tmp_path / "s.db") as st:
        assert all(r["rtl_check"]["agree"] for r in st.get(st.keys()).values())


_TINY = """module tiny_reg(input clk, input [3:0] d, output reg [3:0] q);
  always @(posedge clk) q <= d;
endmodule
"""


def _build_tiny(cache: str) -> bool:
    import os

    os.environ["HWSIM_CACHE"] = cache
    from hwsim.sim import verilator

    verilator.build(_TINY, "tiny_reg", "tiny_reg")
    return bool(verilator.activity()[-1]["cached"])


@pytest.mark.rtl
@pytest.mark.slow
def test_two_workers_build_one_configuration_once(tmp_path):
    """Two worker processes asking for the same RTL configuration at once: the build lock
    makes one build it and the other reuse it."""
    import concurrent.futures as cf
    import multiprocessing

    cache = str(tmp_path / "cache")
    with cf.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as ex:
        cached = sorted(ex.map(_build_tiny, [cache, cache]))
    assert cached == [False, True]
    assert len(list((tmp_path / "cache" / "verilator").glob("tiny_reg-*/.hwsim_built"))) == 1


def test_run_record_options_name_the_command_line():
    import argparse

    from hwsim.cli.common import add_fidelity_options, fidelity_kwargs, run_record

    p = argparse.ArgumentParser()
    add_fidelity_options(p)
    kw = fidelity_kwargs(p.parse_args(["--rtl-check", "--rtl-tiles", "0"]))
    assert kw["fidelity"] == "rtl"
    fam = FAMILIES["systolic"]
    with pytest.raises(ConfigError, match=r"--rtl-tiles: must be >= 1, not 0"):
        run_record("systolic", fam.make_config(fam.examples[0]), GemmOp(2, 8, 2), **kw)
    with pytest.raises(ConfigError, match=r"--rtl-seed: applies with --rtl-check only"):
        fidelity_kwargs(p.parse_args(["--rtl-seed", "3"]))
    rec = run_record("systolic", fam.make_config(fam.examples[0]), GemmOp(2, 8, 2),
                     **fidelity_kwargs(p.parse_args([])))
    assert rec.fidelity == "model" and rec.rtl_check == {}


_TIMING = ("build_s", "sim_s", "wall_s", "builds")


def _untimed(db):
    with Store.open_reader(db) as st:
        recs = st.get(st.keys())
    for r in recs.values():
        for k in _TIMING:
            r["rtl_check"].pop(k)
    return recs


@pytest.mark.rtl
@pytest.mark.slow
def test_rtl_points_distribute_over_dask_with_the_same_records(tmp_path):
    import warnings

    from distributed import LocalCluster

    spec_path = tmp_path / "s.toml"
    spec_path.write_text(_SPEC.format(rows="3, 4"))
    spec = load_spec(spec_path)
    run_sweep(spec, tmp_path / "local.db", jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cl:
            res = run_sweep(spec, tmp_path / "dask.db", executor="dask", scheduler=cl.scheduler_address)
    assert res.evaluated == 2
    a, b = _untimed(tmp_path / "local.db"), _untimed(tmp_path / "dask.db")
    assert a.keys() == b.keys() and all(a[k]["rtl_check"] == b[k]["rtl_check"] for k in a)
    assert all(r["rtl_check"]["agree"] for r in b.values())


SWEEPS = Path(__file__).parents[1] / "sweeps"


@pytest.mark.parametrize("path", sorted(SWEEPS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_study_loads(path):
    spec = load_spec(path)
    assert spec.grid_size >= 1 and spec.workloads


def test_every_family_with_rtl_ships_an_rtl_study():
    covered = set()
    for path in SWEEPS.glob("*.toml"):
        spec = load_spec(path)
        if spec.fidelity == "rtl":
            covered.add(spec.family)
    with_rtl = {name for name, fam in FAMILIES.items() if "verilator" in fam.implementations}
    assert with_rtl and with_rtl <= covered, sorted(with_rtl - covered)
