"""Sweep specs, evaluation, search strategies and executors."""

from __future__ import annotations

import dataclasses
import warnings

import pytest

from hwsim.cli import main
from hwsim.errors import ConfigError
from hwsim.evaluate import FAMILIES, Point, Workload, evaluate, evaluate_many
from hwsim.sweep import Store, load_spec, run_sweep
from hwsim.workloads.ops import GemmOp

GOOD = """
version = 1
name = "small"
family = "systolic"
mode = "scalesim"
[fixed]
a_bits = 8
[space]
rows = {pow2 = [4, 16]}
cols = [4, 8]
dataflow = ["os", "ws"]
[[workloads]]
name = "mix"
gemms = ["64x256x128", {m = 1, k = 1024, n = 512, count = 4}]
[objectives]
tops = "max"
peak_macs_per_cycle = "min"
"""


def write(tmp_path, text, name="spec.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_good_spec_normalises(tmp_path):
    spec = load_spec(write(tmp_path, GOOD))
    assert spec.space == {"rows": (4, 8, 16), "cols": (4, 8), "dataflow": ("os", "ws")}
    assert spec.grid_size == 12
    designs = list(spec.grid_designs())
    assert [spec.design_at(i) for i in range(12)] == designs
    assert designs[0] == {"a_bits": 8, "rows": 4, "cols": 4, "dataflow": "os"}


@pytest.mark.parametrize("space, values", [
    ("{range = [2, 10, 4]}", (2, 6, 10)),
    ("{pow2 = [8, 64]}", (8, 16, 32, 64)),
    ("[3, 5]", (3, 5)),
])
def test_space_forms(tmp_path, space, values):
    spec = load_spec(write(tmp_path, GOOD.replace("rows = {pow2 = [4, 16]}", f"rows = {space}")))
    assert spec.space["rows"] == values


def test_log_space(tmp_path):
    spec = load_spec(write(tmp_path, GOOD.replace("[fixed]", "[fixed]\n").replace(
        "dataflow = [\"os\", \"ws\"]", "dataflow = [\"os\", \"ws\"]\ndram_bw_bytes_per_cycle = {log = [4, 64, 3]}")))
    assert spec.space["dram_bw_bytes_per_cycle"] == pytest.approx((4.0, 16.0, 64.0))


@pytest.mark.parametrize("edit, key, reason", [
    (("name = \"small\"", "name = \"small\"\ncolour = 3"), "colour", "unknown key"),
    (("name = \"small\"", "name = \"small\"\nname = \"again\""), "name", "duplicate key"),
    (("version = 1", "version = 2"), "version", "must be 1, not 2"),
    (("rows = {pow2 = [4, 16]}", "rows = [0, 4]"), "space.rows", "must be a positive integer, not 0"),
    (("rows = {pow2 = [4, 16]}", "rows = {pow2 = [4, 12]}"), "space.rows.pow2", "powers of two"),
    (("rows = {pow2 = [4, 16]}", "rows = {range = [4, 1, 1]}"), "space.rows.range", "hi must be >= lo"),
    (("rows = {pow2 = [4, 16]}", "rows = 8"), "space.rows", "put constants under [fixed]"),
    (("rows = {pow2 = [4, 16]}", "rows = [4, 4]"), "space.rows", "lists a value twice"),
    (("rows = {pow2 = [4, 16]}", "rowz = [4]"), "space.rowz", "unknown key"),
    (("dataflow = [\"os\", \"ws\"]", "dataflow = [\"os\", \"xs\"]"), "space.dataflow", "'xs'"),
    (("a_bits = 8", "a_bits = \"8\""), "fixed.a_bits", "must be an integer"),
    (("family = \"systolic\"", "family = \"tpu\""), "family", "must be one of"),
    (("mode = \"scalesim\"", "mode = \"fast\""), "mode", "must be one of 'hardware', 'scalesim'"),
    (("\"64x256x128\"", "\"64x0x128\""), "workloads[0].gemms[0]", "K must be a positive integer"),
    (("count = 4", "count = -1"), "workloads[0].gemms[1].count", "must be >= 1"),
    (("tops = \"max\"", "tops = \"up\""), "objectives.tops", "must be 'min' or 'max'"),
    (("tops = \"max\"", "speed = \"max\""), "objectives.speed", "unknown metric"),
    (("[objectives]", "[search]\nstrategy = \"random\"\n[objectives]"), "search.budget", "is required"),
    (("[objectives]", "[search]\nbudget = 5\n[objectives]"), "search.budget", "random and nsga2"),
])
def test_malformed_specs_name_file_key_reason(tmp_path, edit, key, reason):
    old, new = edit
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as e:
        load_spec(path)
    assert e.value.source == str(path)
    assert e.value.key == key
    assert reason in e.value.reason


def test_model_workload_keys(tmp_path):
    text = GOOD.replace('[[workloads]]\nname = "mix"', '[[workloads]]\nmodel = "llama-2-7b"\nphase = "decode"\n'
                        'seq_len = 4\n[[workloads]]\nname = "mix"')
    with pytest.raises(ConfigError) as e:
        load_spec(write(tmp_path, text))
    assert e.value.key == "workloads[0].context" and e.value.reason == "is required"


def test_malformed_spec_cli_one_line_exit_2(tmp_path, capsys):
    path = write(tmp_path, GOOD.replace("rows = {pow2 = [4, 16]}", "rows = [0]"))
    assert main(["sweep", str(path), "--store", str(tmp_path / "x.db")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err == f"hwsim sweep: error: {path}: space.rows: must be a positive integer, not 0\n"
    assert not (tmp_path / "x.db").exists()


def test_invalid_combination_is_named(tmp_path):
    text = GOOD.replace("a_bits = 8", "acc_bits = 16").replace("cols = [4, 8]", "cols = [4, 8]\na_bits = [4, 8, 16]")
    spec = load_spec(write(tmp_path, text))
    with pytest.raises(ConfigError, match=r"fixed\.acc_bits: must be >= a_bits \+ b_bits = 24, not 16 \(in the design rows=4, cols=4, a_bits=16"):
        run_sweep(spec, tmp_path / "s.db", jobs=1)


@pytest.mark.parametrize("mode", ["scalesim", "hardware"])
def test_vectorised_equals_scalar(rng, mode):
    ops = [GemmOp(int(rng.integers(1, 300)), int(rng.integers(1, 300)), int(rng.integers(1, 300)),
                  count=int(rng.integers(1, 4))) for _ in range(4)]
    wl = Workload.from_gemms("rand", ops, tokens=3)
    pts = [Point("systolic", {"rows": int(r), "cols": int(c), "dataflow": d, "ofmap_sram_kb": int(o),
                              "dram_bw_bytes_per_cycle": float(bw)}, wl, mode=mode)
           for r, c, d, o, bw in zip(rng.integers(1, 40, 12), rng.integers(1, 40, 12),
                                     rng.choice(["os", "ws", "is"], 12), rng.choice([1, 64], 12),
                                     rng.choice([1.0, 64.0], 12))]
    assert evaluate_many(pts) == [evaluate(p) for p in pts]


def test_record_fields_and_key(tmp_path):
    wl = Workload.from_gemms("g", [GemmOp(64, 64, 64, count=2)], tokens=8)
    p = Point("systolic", {"rows": 8, "cols": 8, "dataflow": "os"}, wl, mode="scalesim")
    r = evaluate(p)
    assert r.point_key == p.key and r.macs == 2 * 64**3 and r.ops == 2 * r.macs
    assert r.cycles == 2 * (8 * 8 * (64 + 8 + 8 - 2) - 1)  # SCALE-Sim os formula, two repeats
    assert r.utilization == pytest.approx(r.macs / (r.cycles * 64))
    assert r.latency_s == pytest.approx(r.cycles / 1e9)
    assert r.tokens_per_s == pytest.approx(8 / r.latency_s)
    if r.energy_pj is not None:  # cost model wired
        assert r.tops_per_w == pytest.approx(r.ops / r.energy_pj)
        assert r.tops_per_mm2 == pytest.approx(r.tops / (r.area_um2 / 1e6))
        assert sum(r.energy_pj_by_part.values()) == pytest.approx(r.energy_pj)
        assert sum(r.area_um2_by_part.values()) == pytest.approx(r.area_um2)
    # Any change of design, workload or mode changes the key.
    keys = {p.key, Point("systolic", {"rows": 8, "cols": 8, "dataflow": "ws"}, wl, mode="scalesim").key,
            Point("systolic", {"rows": 8, "cols": 8, "dataflow": "os"}, wl, mode="hardware").key,
            Point("systolic", {"rows": 8, "cols": 8, "dataflow": "os"},
                  Workload.from_gemms("g", [GemmOp(64, 64, 65, count=2)], tokens=8), mode="scalesim").key}
    assert len(keys) == 4
    assert "systolic" in FAMILIES


def _records(db):
    with Store.open_reader(db) as st:
        _, _, recs = st.snapshot()
    for r in recs:
        del r["run_id"], r["committed_at"]
    return sorted(recs, key=lambda r: r["point_key"])


def test_local_and_dask_give_identical_records(tmp_path):
    spec = load_spec(write(tmp_path, GOOD))
    run_sweep(spec, tmp_path / "inproc.db", jobs=1)
    run_sweep(spec, tmp_path / "local.db", jobs=2, chunk_size=3)
    from distributed import LocalCluster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # noise from the cluster's own deps
        with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                          dashboard_address=None) as cluster:
            res = run_sweep(spec, tmp_path / "dask.db", executor="dask",
                            scheduler=cluster.scheduler_address, chunk_size=4)
    assert res.evaluated == 12
    a, b, c = (_records(tmp_path / f"{n}.db") for n in ("inproc", "local", "dask"))
    assert len(a) == 12 and a == b == c


def test_dask_needs_scheduler(tmp_path):
    spec = load_spec(write(tmp_path, GOOD))
    with pytest.raises(ConfigError, match="--scheduler: is required"):
        run_sweep(spec, tmp_path / "s.db", executor="dask")


def test_random_search_is_seeded_and_resumes(tmp_path):
    text = GOOD.replace("[objectives]", "[search]\nstrategy = \"random\"\nbudget = 5\nseed = 3\n[objectives]")
    spec = load_spec(write(tmp_path, text))
    r1 = run_sweep(spec, tmp_path / "a.db", jobs=1)
    r2 = run_sweep(spec, tmp_path / "b.db", jobs=1)
    assert r1.planned == r2.planned == 5
    assert _records(tmp_path / "a.db") == _records(tmp_path / "b.db")
    again = run_sweep(spec, tmp_path / "a.db", jobs=1)
    assert (again.evaluated, again.reused) == (0, 5)


def test_nsga2_search_is_seeded_and_resumes(tmp_path):
    text = GOOD.replace("rows = {pow2 = [4, 16]}", "rows = {range = [2, 40, 2]}").replace(
        "[objectives]", "[search]\nstrategy = \"nsga2\"\nbudget = 24\npopulation = 8\nseed = 1\n"
        "[constraints]\nutilization = {min = 0.05}\n[objectives]")
    spec = load_spec(write(tmp_path, text))
    r1 = run_sweep(spec, tmp_path / "a.db", jobs=1)
    assert 0 < r1.planned <= 24 and r1.evaluated == r1.planned
    r2 = run_sweep(spec, tmp_path / "b.db", jobs=1)
    assert r2.evaluated == r1.evaluated
    assert _records(tmp_path / "a.db") == _records(tmp_path / "b.db")
    again = run_sweep(spec, tmp_path / "a.db", jobs=1)
    assert again.evaluated == 0 and again.planned == r1.planned


def test_nsga2_needs_objectives(tmp_path):
    text = GOOD.split("[objectives]")[0] + "[search]\nstrategy = \"nsga2\"\nbudget = 4\n"
    with pytest.raises(ConfigError, match="objectives: the nsga2 strategy needs at least one objective"):
        load_spec(write(tmp_path, text))


def test_llama_workloads_and_quickstart_spec(tmp_path):
    spec = load_spec("sweeps/quickstart.toml")
    wls = spec.build_workloads()
    assert [w.phase for w in wls] == ["prefill", "decode"]
    assert wls[0].tokens == 512 and wls[1].tokens == 1
    # Llama-2-7B: ~6.7e9 weight MACs per token in the linear layers (d=4096, 32 layers).
    assert 6.4e9 < wls[1].macs < 7.2e9
    small = dataclasses.replace(spec, space={"rows": (16,), "cols": (16,), "dataflow": ("os", "ws")})
    res = run_sweep(small, tmp_path / "q.db", jobs=1)
    recs = {(r["design"]["dataflow"], r["phase"]): r for r in _records(tmp_path / "q.db")}
    assert res.planned == 4
    # Known effects: decode GEMVs (M = 1) keep one PE row of a 16x16 array busy whatever
    # the dataflow, and every int8 weight byte serves only 2 operations; prefill GEMMs
    # fill the array.
    for df in ("os", "ws"):
        assert recs[(df, "decode")]["utilization"] <= 1 / 16 + 1e-9
        assert recs[(df, "decode")]["ops_per_dram_byte"] < 2.01
        assert recs[(df, "prefill")]["utilization"] > 0.9


def test_records_carry_the_recipes_numerical_error():
    from hwsim.evaluate import Point, evaluate
    from hwsim.sweep.spec import WorkloadSpec
    from hwsim.workloads.error import recipe_error

    recs = {}
    for q in ("w8a8", "w4a8-g128"):
        wl = WorkloadSpec(name=f"l7/{q}", model="llama-2-7b", phase="decode", batch=1, context=128,
                          quant=q).build()
        recs[q] = evaluate(Point("systolic", {"rows": 8, "cols": 8}, wl))
    r8, r4 = recs["w8a8"], recs["w4a8-g128"]
    assert r8.quant == "w8a8" and r8.sqnr_db == recipe_error("w8a8")["sqnr_db"]
    assert r8.sqnr_db > r4.sqnr_db > 0 and "hardware path vs float32" in r8.error_source
    assert r8.energy_pj is not None  # error sits beside cost in the same record
    plain = evaluate(Point("systolic", {"rows": 8, "cols": 8},
                           WorkloadSpec(name="l7", model="llama-2-7b", phase="decode", batch=1,
                                        context=128).build()))
    assert plain.sqnr_db is None and plain.quant is None
