"""The columnar sweep path: its records equal the per-point path's, field by field; grids
and random samples stream by index; tasks commit once; executors keep a bounded window."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import hwsim.evaluate as ev
from hwsim.evaluate import FAMILIES, Point, Pricing, Workload, evaluate, evaluate_designs, point_keys
from hwsim.sweep import Store, load_spec, run_sweep
from hwsim.sweep.columnar import Task, designs_at, evaluate_task, grid_designs
from hwsim.sweep.executors import _windowed
from hwsim.sweep.spec import WorkloadSpec
from hwsim.sweep.store import encode
from hwsim.workloads.ops import GemmOp


def _close(a, b, path="record"):
    """Equal, except floats within 1e-12 relative (energies summed in another order)."""
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, float) and isinstance(b, float), (path, a, b)
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0), (path, a, b)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (path, sorted(set(a) ^ set(b)))
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), (path, a, b)
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{path}[{i}]")
    else:
        assert type(a) is type(b) and a == b, (path, a, b)


def _decoded(rows) -> dict:
    """Encoded store rows (or a task's result: its rows and chunks) back to record dicts,
    as :meth:`Store.get` reads them."""
    from hwsim.sweep.chunks import decode_layers, decode_records
    from hwsim.sweep.store import LAYER_COLUMNS, _expand

    out = {}
    if hasattr(rows, "chunks"):
        for keys, recs, layers, blobs in rows.chunks:
            bl = {h: json.loads(t) for h, t in blobs}
            for key, d, ls in zip(keys, decode_records(recs), decode_layers(layers)):
                assert d["point_key"] == key
                out[key] = {**_expand(d, bl), "layers": ls}
        rows = rows.rows
    for key, design_id, workload, schema, code, text, blobs, layer_rows in rows:
        d = _expand(json.loads(text), {h: json.loads(t) for h, t in blobs})
        layers = []
        for i, lr in enumerate(layer_rows):
            assert lr[:2] == (key, i)
            ly = dict(zip(LAYER_COLUMNS, lr[2:]))
            ly["energy_pj_by_part"] = json.loads(ly["energy_pj_by_part"])
            ly["mapping"] = json.loads(ly["mapping"])
            layers.append(ly)
        d["layers"] = layers
        assert (design_id, workload, schema, code) == (d["design_id"], d["workload"], d["schema_version"],
                                                       d["code_version"])
        out[key] = d
    return out


def _workloads():
    decode = WorkloadSpec(name="llama-decode", model="llama-2-7b", phase="decode", batch=1, context=256).build()
    gemms = Workload.from_gemms("mix", [GemmOp(64, 256, 128, name="a"), GemmOp(1, 1024, 512, count=4, name="b")],
                                tokens=4)
    return decode, gemms


CASES = [
    # a family with a mapper, searched and fixed, three dataflows
    ("systolic", [dict(rows=r, cols=c, dataflow=df, mapping=mp, ifmap_sram_kb=kb)
                  for r, c in ((8, 8), (16, 4), (32, 64)) for df in ("os", "ws", "is")
                  for mp in ("search", "fixed") for kb in (32, 256)], None),
    ("systolic", [dict(rows=16, cols=16, dataflow="ws")], "scalesim"),
    # priced from components, vectorised without a mapper
    ("sram-gemv", [dict(FAMILIES["sram-gemv"].examples[0]), dict(FAMILIES["sram-gemv"].examples[1])], None),
    # vectorised, priced by the legacy tables (point by point)
    ("mixpe", [dict(e) for e in FAMILIES["mixpe"].examples], None),
    # no vectorised estimator: the per-point path inside a task
    ("lut", [dict(e) for e in FAMILIES["lut"].examples], None),
]


@pytest.mark.parametrize("cost", [True, False], ids=["cost", "no-cost"])
@pytest.mark.parametrize("family, designs, mode", CASES, ids=[f"{c[0]}-{c[2] or 'default'}" for c in CASES])
def test_columnar_records_equal_per_point_records(family, designs, mode, cost, monkeypatch):
    if not cost:
        monkeypatch.setattr(ev, "_cost_fn", lambda: None)
    fam = FAMILIES[family]
    wls = [w for w in _workloads() if not fam.op_kinds or all(isinstance(op, fam.op_kinds) for op in w.ops)]
    pricing = Pricing(node_nm=28) if family == "systolic" and mode is None else Pricing()
    task = Task(family=family, designs=tuple(designs), workloads=tuple(wls), mode=mode, pricing=pricing)
    res = evaluate_task(task)
    assert res.code_version == ev.code_version(family)
    got = _decoded(res)
    points = [Point(family, d, w, mode=mode, pricing=pricing) for d in designs for w in wls]
    want = _decoded([encode(evaluate(p).row()) for p in points])
    assert set(got) == set(want) == {p.key for p in points}
    for k in want:
        _close(got[k], want[k], k)
    if cost:
        assert all(r["energy_pj"] is not None for r in got.values())
    else:
        assert all(r["energy_pj"] is None and r["cost_provenance"]["status"].startswith("not available")
                   for r in got.values())
    # the blocks themselves give the same Record objects
    blocks, others = evaluate_designs(family, designs, wls, mode=mode, pricing=pricing)
    recs = [r for b in blocks for r in b.to_records()] + others
    by_key = {p.key: evaluate(p) for p in points}
    assert len(recs) == len(by_key)
    for r in recs:
        _close(r.to_dict(), by_key[r.point_key].to_dict(), r.point_key)
    if fam.estimate_arrays is None:
        assert not blocks
    else:
        assert not others and len(blocks) == len(wls)


def _canonical(res) -> dict:
    return {k: json.dumps(d, sort_keys=True) for k, d in _decoded(res).items()}


def test_records_do_not_depend_on_the_chunking(monkeypatch):
    designs = [dict(rows=r, cols=c, dataflow=df) for r in (4, 8, 16) for c in (8, 32) for df in ("os", "ws")]
    wls = _workloads()
    whole = _canonical(evaluate_task(Task("systolic", tuple(designs), wls)))
    parts = {}
    for i in range(0, len(designs), 5):
        parts.update(_canonical(evaluate_task(Task("systolic", tuple(designs[i:i + 5]), wls))))
    assert len(whole) == len(designs) * len(wls)
    assert whole == parts
    monkeypatch.setattr(ev, "ESTIMATE_PROBLEMS", 7)  # the model called on a few designs at a time
    assert _canonical(evaluate_task(Task("systolic", tuple(designs), wls))) == whole


def test_point_keys_are_the_points_keys():
    fam = FAMILIES["systolic"]
    wls = _workloads()
    designs = [dict(rows=8, cols=4, dataflow="is"), dict(rows=64, cols=64, mapping="fixed")]
    keys = point_keys("systolic", [fam.make_config(d) for d in designs], wls, pricing=Pricing(dram="ddr4"))
    assert keys == [[Point("systolic", d, w, pricing=Pricing(dram="ddr4")).key for w in wls] for d in designs]
    rtl = point_keys("systolic", [fam.make_config(designs[0])], wls[1:], fidelity="rtl")
    assert rtl == [[Point("systolic", designs[0], wls[1], fidelity="rtl").key]]


SPEC = """
version = 1
name = "stream"
family = "systolic"
[fixed]
a_bits = 8
[space]
rows = {pow2 = [4, 64]}
cols = [4, 8, 16]
dataflow = ["os", "ws", "is"]
[[workloads]]
name = "g"
gemms = ["64x256x128"]
"""


def test_grid_and_random_designs_stream_by_index(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(SPEC)
    spec = load_spec(p)
    assert list(grid_designs(spec, block=7)) == list(spec.grid_designs())
    assert list(grid_designs(spec, 10, 20)) == list(spec.grid_designs())[10:20]
    p.write_text(SPEC + '[search]\nstrategy = "random"\nbudget = 9\nseed = 5\n')
    spec = load_spec(p)
    assert list(designs_at(spec, spec.random_indices())) == spec.random_designs()


def test_task_rows_commit_once_and_read_back(tmp_path):
    designs = tuple(dict(rows=r, cols=8) for r in (4, 8, 16))
    res = evaluate_task(Task("systolic", designs, _workloads()))
    assert not res.rows and len(res.chunks) == 2  # one chunk per workload
    want = _decoded(res)
    keys = list(want)
    # the same points as per-point rows (the store's other path)
    rows = [encode(evaluate(Point("systolic", d, w)).row()) for d in designs for w in _workloads()]
    assert {r[0] for r in rows} == set(keys)
    with Store.open_writer(tmp_path / "s.db") as st:
        run = st.start_run(executor="test", spec_name="s", spec_hash="h", strategy="grid",
                           code_version="c", planned=None)
        # any row alone carries every blob it refers to (nested provenance parts included)
        assert st.put_rows(rows[3:4], run) == 1
        assert _decoded(rows[3:4])[rows[3][0]]["cost_provenance"] == st.get([rows[3][0]])[rows[3][0]][
            "cost_provenance"]
        # a chunk stores its points but the one stored by the other path
        assert st.put_rows([], run, res.chunks) == len(keys) - 1 == 5
        assert st.put_rows(rows, run, res.chunks) == 0
        assert st.count() == len(keys) and st.keys() == set(keys)
        got = st.get(keys)
        layers = st.layers()
        snap = {d["point_key"]: d for d in st.snapshot()[2]}
    assert set(got) == set(want) == set(snap)
    for k in want:
        _close(got[k], want[k], k)
        _close({f: v for f, v in snap[k].items() if f not in ("run_id", "committed_at")}, want[k], k)
    assert len(layers) == sum(len(d["layers"]) for d in want.values())
    for lr in layers:
        ly = want[lr["point_key"]]["layers"][lr["idx"]]
        _close({**ly, "energy_pj_by_part": json.dumps(ly["energy_pj_by_part"], sort_keys=True),
                "mapping": json.dumps(ly["mapping"], sort_keys=True)},
               {f: v for f, v in lr.items() if f not in ("point_key", "idx")})


def test_store_reads_a_version_1_store(tmp_path):
    import sqlite3

    designs = tuple(dict(rows=r, cols=8) for r in (4, 8))
    rows = [encode(evaluate(Point("systolic", d, w)).row()) for d in designs for w in _workloads()]
    db = tmp_path / "s.db"
    with Store.open_writer(db) as st:
        run = st.start_run(executor="test", spec_name="s", spec_hash="h", strategy="grid",
                           code_version="c", planned=None)
        st.put_rows(rows, run)
    con = sqlite3.connect(db)
    con.execute("DROP TABLE chunks")
    con.execute("UPDATE meta SET value='1' WHERE key='store_version'")
    con.commit()
    con.close()
    with Store.open_reader(db) as st:
        assert st.count() == len(rows) and len(st.snapshot()[2]) == len(rows)
    res = evaluate_task(Task("systolic", designs + (dict(rows=16, cols=8),), _workloads()))
    with Store.open_writer(db) as st:  # a writer adds the chunk tables
        assert st.meta()["store_version"] == "2"
        run = st.start_run(executor="test", spec_name="s", spec_hash="h", strategy="grid",
                           code_version="c", planned=None)
        assert st.put_rows([], run, res.chunks) == 2
        assert st.count() == len(rows) + 2


class _Future:
    def __init__(self, value):
        self.value = value
        self.cancelled = False

    def result(self):
        return self.value

    def cancel(self):
        self.cancelled = True


def test_executor_window_bounds_the_tasks_taken():
    taken = []

    def tasks():
        for i in range(100):
            taken.append(i)
            yield i

    seen = []
    for t, res in _windowed(lambda t: _Future(t * 2), lambda fs: fs[:1], tasks(), window=3):
        assert res == 2 * t
        seen.append(t)
        assert len(taken) - len(seen) <= 3  # never more than the window in flight
    assert sorted(seen) == list(range(100))


def test_sweep_streams_and_resumes(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(SPEC)
    spec = load_spec(p)
    db = tmp_path / "s.db"
    r1 = run_sweep(spec, db, jobs=1, chunk_size=4)
    assert (r1.planned, r1.evaluated, r1.reused) == (45, 45, 0)
    with Store.open_reader(db) as st:
        keys = st.keys()
        assert len(st.layers()) == 45
    want = {p.key for p in spec.points(spec.grid_designs(), spec.build_workloads())}
    assert keys == want
    # delete some records: a rerun evaluates exactly those
    import sqlite3

    with sqlite3.connect(db) as c:
        gone = c.execute("SELECT SUM(n) FROM chunks WHERE chunk_id IN (2, 5)").fetchone()[0]
        c.execute("DELETE FROM chunks WHERE chunk_id IN (2, 5)")
    assert 0 < gone < 45
    r2 = run_sweep(spec, db, jobs=1, chunk_size=4)
    assert (r2.planned, r2.evaluated, r2.reused) == (45, gone, 45 - gone)
    with Store.open_reader(db) as st:
        assert st.keys() == want and len(st.layers()) == 45


def test_int64_overflow_guard_falls_back_to_the_scalar_path(monkeypatch):
    monkeypatch.setattr(ev, "_INT64_SAFE", 1)  # every design "could overflow"
    designs = [dict(rows=8, cols=8)]
    wls = _workloads()
    blocks, others = evaluate_designs("systolic", designs, wls)
    assert not blocks and len(others) == 2
    assert {r.point_key for r in others} == {Point("systolic", designs[0], w).key for w in wls}
    assert np.all([r.energy_pj is not None for r in others])


def test_invalid_design_found_by_a_worker_is_the_same_one_line_error(tmp_path, monkeypatch):
    import hwsim.sweep.run as run_mod
    from hwsim.errors import ConfigError

    p = tmp_path / "s.toml"
    p.write_text(SPEC.replace('cols = [4, 8, 16]', 'cols = [4, 8, 16]\nfilter_sram_kb = [64, 32768]'))
    spec = load_spec(p)
    with pytest.raises(ConfigError) as ahead:
        run_sweep(spec, tmp_path / "a.db", jobs=1)
    assert not (tmp_path / "a.db").exists()  # checked before the store was touched
    # a grid too large to check ahead: the workers check their chunks, and the error
    # (which cannot be pickled as it is) crosses back to the sweep unchanged
    res = evaluate_task(Task("systolic", tuple(spec.grid_designs()), tuple(spec.build_workloads()), spec=spec))
    assert res.rows == [] and res.error is not None
    monkeypatch.setattr(run_mod, "CHECK_AHEAD", 0)
    with pytest.raises(ConfigError) as late:
        run_sweep(spec, tmp_path / "b.db", jobs=1)
    assert str(late.value) == str(ahead.value)
    assert "space.filter_sram_kb" in str(late.value) and str(p) in str(late.value)
