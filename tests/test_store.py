"""The durable store: atomic commits, one writer, snapshots, resume after SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hwsim.errors import ConfigError, HwsimError
from hwsim.sweep import Store, load_spec, run_sweep
from hwsim.sweep.executors import evaluate_chunk

SPEC = """
version = 1
name = "store-test"
family = "systolic"
mode = "scalesim"
[space]
rows = {range = [2, %d, 1]}
cols = [4, 8, 16, 32]
dataflow = ["os", "ws", "is"]
[[workloads]]
name = "mix"
gemms = ["64x256x128", {m = 1, k = 1024, n = 512, count = 4}]
[[workloads]]
name = "square"
gemms = ["128x128x128"]
"""


def _spec(tmp_path: Path, rows_hi: int = 5, name: str = "s.toml"):
    p = tmp_path / name
    p.write_text(SPEC % rows_hi)
    return load_spec(p)


def _planned_keys(spec) -> set:
    return {p.key for p in spec.points(spec.grid_designs(), spec.build_workloads())}


def test_second_writer_is_refused(tmp_path):
    db = tmp_path / "s.db"
    with Store.open_writer(db):
        with pytest.raises(HwsimError, match="second writer is refused") as e:
            Store.open_writer(db)
        assert f"pid {os.getpid()}" in str(e.value)
    with Store.open_writer(db):  # released on close
        pass


def test_store_bound_to_one_spec(tmp_path):
    spec = _spec(tmp_path)
    run_sweep(spec, tmp_path / "s.db", jobs=1)
    other = _spec(tmp_path, rows_hi=6, name="other.toml")
    with pytest.raises(ConfigError, match="different spec"):
        run_sweep(other, tmp_path / "s.db", jobs=1)


def test_rows_committed_once_and_readers_see_snapshots(tmp_path):
    spec = _spec(tmp_path)
    pts = spec.points(list(spec.grid_designs())[:6], spec.build_workloads())
    rows = evaluate_chunk(pts)
    db = tmp_path / "s.db"
    with Store.open_writer(db) as st:
        run = st.start_run(executor="test", spec_name="x", spec_hash="h", strategy="grid",
                           code_version="c", planned=len(rows))
        assert st.put_rows(rows[:5], run) == 5
        reader = Store.open_reader(db)
        reader._conn.execute("BEGIN")  # a long read transaction: its snapshot is fixed
        n0 = reader._conn.execute("SELECT COUNT(*) FROM records").fetchone()[0]
        assert st.put_rows(rows, run) == len(rows) - 5  # the first five are not stored twice
        assert reader._conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == n0 == 5
        reader._conn.execute("COMMIT")
        assert reader.count() == len(rows)
        _, runs, recs = reader.snapshot()
        reader.close()
    assert runs[0]["evaluated"] == len(rows)
    assert sorted(r["point_key"] for r in recs) == sorted(r[0] for r in rows)
    # Provenance stored once per distinct value, expanded on read.
    assert all(r["cost_provenance"].get("status") for r in recs)


def test_reader_errors(tmp_path):
    with pytest.raises(ConfigError, match="no such store"):
        Store.open_reader(tmp_path / "missing.db")
    bad = tmp_path / "bad.db"
    bad.write_text("not a database")
    with pytest.raises(HwsimError, match="not a usable hwsim store"):
        Store.open_reader(bad)
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE meta (key TEXT, value TEXT)")
    with pytest.raises(HwsimError, match="layout version None"):
        Store.open_reader(tmp_path / "other.db")


def test_resume_after_sigkill_evaluates_every_point_exactly_once(tmp_path):
    spec = _spec(tmp_path, rows_hi=80)  # 79 x 4 x 3 designs x 2 workloads = 1896 points
    planned = _planned_keys(spec)
    db = tmp_path / "kill.db"
    cmd = [sys.executable, "-m", "hwsim", "sweep", str(spec.source), "--store", str(db),
           "--jobs", "1", "--chunk-size", "4", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        n = 0
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists():
                try:
                    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
                        n = c.execute("SELECT COALESCE(SUM(n), 0) FROM chunks").fetchone()[0]
                except sqlite3.OperationalError:
                    n = 0
                if n >= 40:
                    break
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    with Store.open_reader(db) as st:
        before = st.keys()
        runs = st.runs()
    assert 40 <= len(before) < len(planned)
    assert before <= planned
    assert runs[-1]["status"] == "running"  # killed: never finished

    res = run_sweep(spec, db, jobs=1)
    assert res.planned == len(planned)
    assert res.reused == len(before)
    assert res.evaluated == len(planned) - len(before)
    with Store.open_reader(db) as st:
        keys = [r[0] for r in st._conn.execute("SELECT point_key FROM records")]
        keys += [ks[i] for _, _, _, ks, live, _, _ in st._chunks(data=False) for i in live]
        runs = st.runs()
    assert len(keys) == len(set(keys)) == len(planned)
    assert set(keys) == planned
    assert runs[-1]["status"] == "done" and runs[-1]["evaluated"] == len(planned) - len(before)
