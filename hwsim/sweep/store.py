"""Durable result store: one SQLite file (WAL mode) per sweep.

* Each record is one row keyed by its point key (a content hash); rows are inserted in
  transactions, so a point is either fully stored or absent, and a point can never be
  stored twice (primary key). After ``kill -9`` the committed rows survive and a rerun
  evaluates only the missing points.
* One writer at a time: the writer holds an exclusive ``flock`` on ``<store>.lock``
  (released by the kernel if the process dies, so a killed sweep never leaves a stale
  lock). A second writer is refused with a message naming the holder.
* Readers take a snapshot in one read transaction (WAL lets them read while the sweep
  writes) and never lock the writer out.
* A columnar sweep's records are stored a block at a time (:mod:`hwsim.sweep.chunks`):
  one ``chunks`` row holds a block's records as Arrow columns and their point keys (in
  row order; ``dead`` lists rows whose point was already stored when the chunk came).
  Chunks are appended, never indexed point by point: an index of random hashes costs
  every commit a rewrite of pages all over it (~10 us per point at 10**6 points). A
  writer drops the points the store holds before it appends (the sweep passes the keys
  it found stored when it started; other callers get the store's keys, read once and
  kept up to date), so a point is never stored twice.
* Cost provenance, identical across many records, is stored once in a ``blobs`` table
  and referenced by hash from each record (expanded again when records are read); its
  large parts (the technology table's sources, each energy line, a calibration) are
  blobs of their own, so what designs share is stored once whatever the sweep's size.
* The store records its layout version, the record schema version, the spec it holds
  and one row per run (start, end, pid, host, executor, code version, counts).

Examples
--------
>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "s.db")
>>> with Store.open_writer(path) as st:
...     st.count()
0
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import hashlib
import json
import logging
import os
import socket
import sqlite3
from pathlib import Path
from urllib.parse import quote

from hwsim.errors import ConfigError, HwsimError, shorten
from hwsim.evaluate import SCHEMA_VERSION

log = logging.getLogger(__name__)

#: Version of the store layout (tables and columns); bump on incompatible change.
STORE_VERSION = 2
#: Layouts this code reads (version 1 lacks the chunk tables; a writer adds them).
READABLE_VERSIONS = (1, 2)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL,
    pid INTEGER NOT NULL, host TEXT NOT NULL, executor TEXT NOT NULL,
    spec_name TEXT, spec_hash TEXT, strategy TEXT, code_version TEXT,
    planned INTEGER, evaluated INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS records (
    point_key TEXT PRIMARY KEY,
    design_id TEXT NOT NULL,
    workload TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    code_version TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    committed_at TEXT NOT NULL,
    data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS records_design ON records (design_id);
CREATE TABLE IF NOT EXISTS blobs (hash TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS layers (
    point_key TEXT NOT NULL,
    idx INTEGER NOT NULL,
    name TEXT, m INTEGER, k INTEGER, n INTEGER, count INTEGER,
    cycles INTEGER, compute_cycles INTEGER, stall_cycles INTEGER, macs INTEGER,
    utilization REAL, dram_bytes INTEGER, energy_pj REAL,
    energy_pj_by_part TEXT, mapping TEXT,
    PRIMARY KEY (point_key, idx));
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL,
    committed_at TEXT NOT NULL,
    n INTEGER NOT NULL,
    dead TEXT,
    keys BLOB NOT NULL,
    records BLOB NOT NULL,
    layers BLOB NOT NULL);
"""

#: Columns of the ``layers`` table (a record's per-op results, one row per op), after
#: ``point_key`` and ``idx``; the two dict fields are JSON text.
LAYER_COLUMNS = ("name", "m", "k", "n", "count", "cycles", "compute_cycles", "stall_cycles", "macs",
                 "utilization", "dram_bytes", "energy_pj", "energy_pj_by_part", "mapping")
_LAYER_JSON = ("energy_pj_by_part", "mapping")


_TABLES = ("meta", "runs", "records", "blobs")  # "layers" is created by writers (older stores lack it)


def _check_version_value(path, v) -> None:
    try:
        ok = v is not None and int(v) in READABLE_VERSIONS
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise HwsimError(f"{path}: store layout version {shorten(v)} is not supported "
                         f"(this hwsim writes version {STORE_VERSION}); it was left unchanged")


def _loads(path, what: str, text):
    try:
        return json.loads(text)
    except (TypeError, ValueError, RecursionError) as e:
        raise HwsimError(f"{path}: corrupt store: the data of {what} is not JSON "
                         f"({shorten(str(e), 60)})") from None


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class Store:
    """A sweep's SQLite store. Open with :meth:`open_writer` or :meth:`open_reader`."""

    def __init__(self, path, conn: sqlite3.Connection, lock_fd: int | None):
        self.path = Path(path)
        self._conn = conn
        self._lock_fd = lock_fd
        self._known: set | None = None  # the stored keys, once a writer has read them

    # ------------------------------------------------------------------ opening
    @classmethod
    def check_existing(cls, path) -> None:
        """Refuse, without modifying it, an existing file that is not a usable store:
        not SQLite, a table missing, a layout version that is not this one's.

        A missing or empty file passes (it becomes a new store)."""
        path = Path(path)
        if path.is_dir():
            raise HwsimError(f"{path}: is a directory, not a store file")
        try:
            if not path.exists() or path.stat().st_size == 0:
                return
        except OSError as e:
            raise HwsimError(f"{path}: cannot read the store ({e.strerror})") from None
        conn = None
        try:
            conn = sqlite3.connect(f"file:{quote(str(path.absolute()))}?mode=ro", uri=True,
                                   isolation_level=None, timeout=30.0)
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables:
                if "meta" in tables:
                    v = conn.execute("SELECT value FROM meta WHERE key='store_version'").fetchone()
                    _check_version_value(path, v[0] if v else None)
                missing = [t for t in _TABLES if t not in tables]
                if missing:
                    raise HwsimError(f"{path}: not a usable hwsim store (no table "
                                     f"{', '.join(missing)}); it was left unchanged")
        except sqlite3.DatabaseError as e:
            raise HwsimError(f"{path}: not a usable hwsim store ({e}); it was left unchanged") from None
        finally:
            if conn is not None:
                conn.close()

    @classmethod
    def open_writer(cls, path) -> "Store":
        """Open (creating if needed) for writing; refuse if another writer holds it.

        Runs left ``running`` by a writer that died (``kill -9``) are marked
        ``interrupted``: holding the lock proves no writer is running them."""
        path = Path(path)
        cls.check_existing(path)
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = Path(f"{path}.lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise HwsimError(f"{path}: the store is being written by {holder}; "
                             "a second writer is refused (wait for it or use another --store)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {_now()}".encode(), 0)
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            st = cls(path, conn, fd)
            st._init_meta()
            st._mark_interrupted()
        except sqlite3.DatabaseError as e:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            raise HwsimError(f"{path}: not a usable hwsim store ({e})") from None
        except BaseException:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            raise
        return st

    @classmethod
    def open_reader(cls, path) -> "Store":
        """Open an existing store for reading (never blocks a running writer)."""
        path = Path(path)
        if path.is_dir():
            raise ConfigError("STORE", f"{path} is a directory, not a store file")
        if not path.is_file():
            raise ConfigError("STORE", f"no such store: {path}")
        if path.stat().st_size == 0:
            raise HwsimError(f"{path}: not a usable hwsim store (the file is empty)")
        cls.check_existing(path)
        try:
            conn = sqlite3.connect(f"file:{quote(str(path.absolute()))}?mode=ro", uri=True,
                                   isolation_level=None, timeout=30.0)
            v = conn.execute("SELECT value FROM meta WHERE key='store_version'").fetchone()
        except sqlite3.DatabaseError as e:
            raise HwsimError(f"{path}: not a usable hwsim store ({e})") from None
        st = cls(path, conn, None)
        st._check_version(v[0] if v else None)
        return st

    def _check_version(self, v) -> None:
        _check_version_value(self.path, v)

    def _mark_interrupted(self) -> None:
        with self.transaction():
            n = self._conn.execute("UPDATE runs SET status='interrupted', finished_at=COALESCE("
                                   "finished_at, ?) WHERE status='running'", (_now(),)).rowcount
        if n:
            log.info("%s: %d run(s) left running by a writer that died marked interrupted", self.path, n)

    def _init_meta(self) -> None:
        c = self._conn
        v = c.execute("SELECT value FROM meta WHERE key='store_version'").fetchone()
        if v is None:
            with self.transaction():
                c.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [
                    ("store_version", str(STORE_VERSION)),
                    ("record_schema_version", str(SCHEMA_VERSION)),
                    ("created_at", _now()),
                ])
        else:
            self._check_version(v[0])
            if int(v[0]) != STORE_VERSION:  # the chunk tables were just created
                with self.transaction():
                    c.execute("UPDATE meta SET value=? WHERE key='store_version'", (str(STORE_VERSION),))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ helpers
    def transaction(self):
        return _Txn(self._conn)

    @property
    def writable(self) -> bool:
        return self._lock_fd is not None

    def _need_writer(self):
        if not self.writable:
            raise HwsimError(f"{self.path}: opened read-only")

    # ------------------------------------------------------------------- meta
    def meta(self) -> dict:
        return dict(self._conn.execute("SELECT key, value FROM meta").fetchall())

    def bind_spec(self, name: str, spec_hash: str, text: str, source: str | None) -> None:
        """Record which spec this store holds; refuse a different one."""
        self._need_writer()
        m = self.meta()
        if "spec_hash" in m:
            if m["spec_hash"] != spec_hash:
                raise ConfigError(
                    "--store", f"{self.path} holds sweep {m.get('spec_name')!r} from a different "
                    f"spec (hash {m['spec_hash']}, this one {spec_hash}); use another --store path")
            return
        with self.transaction():
            self._conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [
                ("spec_name", name), ("spec_hash", spec_hash), ("spec_text", text),
                ("spec_source", source or ""),
            ])

    # ------------------------------------------------------------------- runs
    def start_run(self, *, executor: str, spec_name: str, spec_hash: str, strategy: str,
                  code_version: str, planned: int | None) -> int:
        self._need_writer()
        with self.transaction():
            cur = self._conn.execute(
                "INSERT INTO runs (started_at, status, pid, host, executor, spec_name, spec_hash,"
                " strategy, code_version, planned) VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)",
                (_now(), os.getpid(), socket.gethostname(), executor, spec_name, spec_hash,
                 strategy, code_version, planned))
            return int(cur.lastrowid)

    def finish_run(self, run_id: int, status: str = "done", planned: int | None = None) -> None:
        with self.transaction():
            self._conn.execute("UPDATE runs SET finished_at=?, status=?, planned=COALESCE(?, planned)"
                               " WHERE run_id=?", (_now(), status, planned, run_id))

    def runs(self) -> list[dict]:
        cur = self._conn.execute("SELECT * FROM runs ORDER BY run_id")
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row)) for row in cur.fetchall()]

    # ---------------------------------------------------------------- records
    def put_rows(self, rows, run_id: int, chunks=(), stored: set | None = None) -> int:
        """Insert encoded records in one transaction; return how many were new.

        ``rows`` are tuples made by :func:`encode`, ``chunks`` tuples made by
        :func:`hwsim.sweep.chunks.encode_chunk` (a block of records each). A point the
        store holds is not stored again: ``stored`` is the set of keys the store held
        when the caller (a sweep) started, whose other points it evaluates once each;
        without it the store's own keys are read (once, then kept up to date).
        """
        self._need_writer()
        now = _now()
        track = stored is None  # the store's own keys: kept up to date
        if track:
            if self._known is None:
                self._known = self.keys()
            stored = self._known
        blobs = {h: b for r in rows for h, b in r[6]}
        for ch in chunks:
            blobs.update(ch[3])
        c = self._conn
        new_keys: list = []
        with self.transaction():
            if blobs:
                c.executemany("INSERT OR IGNORE INTO blobs (hash, data) VALUES (?, ?)", list(blobs.items()))
            before = c.total_changes
            if stored:
                rows = [r for r in rows if r[0] not in stored]
            c.executemany(
                "INSERT OR IGNORE INTO records (point_key, design_id, workload, schema_version,"
                " code_version, run_id, committed_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(r[0], r[1], r[2], r[3], r[4], run_id, now, r[5]) for r in rows])
            n = c.total_changes - before
            layer_rows = [lr for r in rows for lr in r[7]]
            if layer_rows:
                cols = ", ".join(("point_key", "idx") + LAYER_COLUMNS)
                c.executemany(
                    f"INSERT OR IGNORE INTO layers ({cols}) VALUES ({', '.join('?' * (2 + len(LAYER_COLUMNS)))})",
                    layer_rows)
            if track:
                new_keys += [r[0] for r in rows]
            for keys, recs, layers, _ in chunks:
                dead = [i for i, k in enumerate(keys) if k in stored] if stored else []
                live = len(keys) - len(dead)
                if live:
                    c.execute("INSERT INTO chunks (run_id, committed_at, n, dead, keys, records, layers) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?)",
                              (run_id, now, live, json.dumps(dead) if dead else None,
                               "\n".join(keys).encode(), recs, layers))
                    n += live
                    if track:
                        new_keys += keys
            c.execute("UPDATE runs SET evaluated = evaluated + ? WHERE run_id=?", (n, run_id))
        if track:
            stored.update(new_keys)
        return n

    def _has_chunks(self) -> bool:
        try:
            return self._conn.execute("SELECT 1 FROM chunks LIMIT 1").fetchone() is not None
        except sqlite3.OperationalError:  # a version 1 store opened read-only
            return False

    def _chunks(self, data: bool = True):
        """Every chunk, in commit order: ``(chunk_id, run_id, committed_at, keys, live
        rows, records bytes, layers bytes)`` (the bytes ``None`` unless ``data``)."""
        cols = "records, layers" if data else "NULL, NULL"
        for cid, run_id, at, n, dead, keys, recs, layers in self._conn.execute(
                f"SELECT chunk_id, run_id, committed_at, n, dead, keys, {cols} FROM chunks ORDER BY chunk_id"):
            try:
                ks = bytes(keys).decode().split("\n")
                gone = set(json.loads(dead)) if dead else set()
            except (TypeError, ValueError, UnicodeDecodeError) as e:
                raise HwsimError(f"{self.path}: corrupt store: the keys of chunk {cid} cannot be read "
                                 f"({shorten(str(e), 60)})") from None
            live = sorted(set(range(len(ks))) - gone)
            if len(live) != n:
                raise HwsimError(f"{self.path}: corrupt store: chunk {cid} counts {n} points, "
                                 f"its keys {len(live)}")
            yield cid, run_id, at, ks, live, recs, layers

    def _chunk_layers(self, cid, keys: list, layers: bytes) -> list:
        from hwsim.sweep.chunks import decode_layers

        ls = decode_layers(layers, self.path, cid)
        if len(ls) != len(keys):
            raise HwsimError(f"{self.path}: corrupt store: chunk {cid} has {len(ls)} per-op blocks "
                             f"and {len(keys)} keys")
        return ls

    def _chunk_records(self, chunk, rows, blobs: dict, done: dict) -> list[dict]:
        """The record dicts (with ``layers``, ``run_id`` and ``committed_at``) of the
        rows ``rows`` of a chunk (a :meth:`_chunks` tuple)."""
        from hwsim.sweep.chunks import decode_records

        cid, run_id, committed_at, keys, _, recs, layers = chunk
        ds = decode_records(recs, self.path, cid)
        ls = self._chunk_layers(cid, keys, layers)
        if len(ds) != len(keys):
            raise HwsimError(f"{self.path}: corrupt store: chunk {cid} has {len(ds)} records and "
                             f"{len(keys)} keys")
        out = []
        for i in rows:
            d = ds[i]
            if d.get("point_key") != keys[i]:
                raise HwsimError(f"{self.path}: corrupt store: chunk {cid} row {i} is not the point "
                                 f"its keys name")
            _expand(d, blobs, self.path, keys[i], done)
            d["layers"] = ls[i]
            d["run_id"] = run_id
            d["committed_at"] = committed_at
            out.append(d)
        return out

    def _blobs(self) -> dict:
        return {h: _loads(self.path, f"blob {shorten(h, 30)}", d)
                for h, d in self._conn.execute("SELECT hash, data FROM blobs")}

    def count(self) -> int:
        n = int(self._conn.execute("SELECT COUNT(*) FROM records").fetchone()[0])
        if self._has_chunks():
            n += int(self._conn.execute("SELECT COALESCE(SUM(n), 0) FROM chunks").fetchone()[0])
        return n

    def keys(self) -> set:
        out = {r[0] for r in self._conn.execute("SELECT point_key FROM records")}
        if self._has_chunks():
            for _, _, _, ks, live, _, _ in self._chunks(data=False):
                out.update(ks[i] for i in live)
        return out

    def get(self, keys) -> dict:
        """``point_key -> record dict`` for the stored ones among ``keys``."""
        out = {}
        keys = list(keys)
        for i in range(0, len(keys), 500):
            part = keys[i:i + 500]
            q = f"SELECT point_key, data FROM records WHERE point_key IN ({','.join('?' * len(part))})"
            for k, data in self._conn.execute(q, part):
                out[k] = _loads(self.path, f"record {shorten(k, 30)}", data)
        blobs = None
        done: dict = {}
        if out:
            blobs = self._blobs()
            layers = self._layers(list(out))
            for k, d in out.items():
                _expand(d, blobs, self.path, k, done)
                d["layers"] = layers.get(k, [])
        if self._has_chunks():
            wanted = set(keys)
            blobs = self._blobs() if blobs is None else blobs
            for chunk in self._chunks():
                ks = chunk[3]
                rows = [i for i in chunk[4] if ks[i] in wanted]
                for d in self._chunk_records(chunk, rows, blobs, done) if rows else ():
                    d.pop("run_id")
                    d.pop("committed_at")
                    out[d["point_key"]] = d
        return out

    def _layers(self, keys=None) -> dict:
        """``point_key -> [layer dict, ...]`` (in op order) for ``keys`` (all when ``None``)."""
        cols = ("point_key", "idx") + LAYER_COLUMNS
        q = f"SELECT {', '.join(cols)} FROM layers"
        out: dict[str, list] = {}
        try:
            if keys is None:
                rows = list(self._conn.execute(q + " ORDER BY point_key, idx"))
            else:
                rows = []
                for i in range(0, len(keys), 500):
                    part = keys[i:i + 500]
                    rows += self._conn.execute(
                        q + f" WHERE point_key IN ({','.join('?' * len(part))}) ORDER BY point_key, idx", part)
        except sqlite3.OperationalError:  # a store written before per-op results
            return out
        for row in rows:
            d = dict(zip(cols, row))
            key = d.pop("point_key")
            d.pop("idx")
            for f in _LAYER_JSON:
                d[f] = _loads(self.path, f"layer of record {shorten(key, 30)}", d[f]) if d[f] else {}
            out.setdefault(key, []).append(d)
        return out

    def layers(self) -> list[dict]:
        """Every stored per-op row, as tidy dicts with ``point_key`` and ``idx``."""
        cols = ("point_key", "idx") + LAYER_COLUMNS
        try:
            out = [dict(zip(cols, r)) for r in self._conn.execute(
                f"SELECT {', '.join(cols)} FROM layers ORDER BY rowid")]
        except sqlite3.OperationalError:
            return []
        if self._has_chunks():
            for cid, _, _, keys, rows, _, layers in self._chunks():
                ls = self._chunk_layers(cid, keys, layers)
                for i in rows:
                    for j, lr in enumerate(ls[i]):
                        row = {"point_key": keys[i], "idx": j, **lr}
                        for f in _LAYER_JSON:
                            row[f] = json.dumps(row[f], sort_keys=True, allow_nan=False)
                        out.append(row)
        return out

    def snapshot(self) -> tuple[dict, list[dict], list[dict]]:
        """``(meta, runs, records)`` read in one transaction (a consistent snapshot)."""
        c = self._conn
        try:
            c.execute("BEGIN")
            try:
                meta = self.meta()
                runs = self.runs()
                blobs = self._blobs()
                layers = self._layers()
                done: dict = {}
                recs = []
                for key, run_id, committed_at, data in c.execute(
                        "SELECT point_key, run_id, committed_at, data FROM records ORDER BY rowid"):
                    d = _loads(self.path, f"record {shorten(key, 30)}", data)
                    if not isinstance(d, dict):
                        raise HwsimError(f"{self.path}: corrupt store: record {shorten(key, 30)} "
                                         "is not a JSON object")
                    d = _expand(d, blobs, self.path, key, done)
                    d["layers"] = layers.get(key, [])
                    d["run_id"] = run_id
                    d["committed_at"] = committed_at
                    recs.append(d)
                if self._has_chunks():
                    for chunk in self._chunks():
                        recs += self._chunk_records(chunk, chunk[4], blobs, done)
            finally:
                c.execute("COMMIT")
        except sqlite3.DatabaseError as e:
            raise HwsimError(f"{self.path}: not a usable hwsim store ({e})") from None
        return meta, runs, recs


class _Txn:
    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb):
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
        return False


_BLOB_FIELDS = ("cost_provenance",)


def _is_ref(v) -> bool:
    return type(v) is dict and len(v) == 1 and "blob" in v


def _resolve(v, blobs: dict, path, key, done: dict):
    """``v`` with every ``{"blob": hash}`` inside it replaced by that blob (itself
    resolved); ``done`` keeps each resolved blob so records share it."""
    if _is_ref(v):
        h = v["blob"]
        if h in done:
            return done[h]
        try:
            raw = blobs[h]
        except (KeyError, TypeError):
            raise HwsimError(f"{path}: corrupt store: record {shorten(key, 30)} refers to "
                             f"blob {shorten(h, 30)}, which is missing") from None
        out = done[h] = _resolve(raw, blobs, path, key, done)
        return out
    if type(v) is dict:
        if not any(type(x) in (dict, list) for x in v.values()):
            return v
        return {k: _resolve(x, blobs, path, key, done) for k, x in v.items()}
    if type(v) is list:
        if not any(type(x) in (dict, list) for x in v):
            return v
        return [_resolve(x, blobs, path, key, done) for x in v]
    return v


def _expand(d: dict, blobs: dict, path=None, key=None, done: dict | None = None) -> dict:
    """Replace the blob references of ``d``'s blob fields by their (nested) blobs."""
    done = {} if done is None else done
    for f in _BLOB_FIELDS:
        v = d.get(f)
        if _is_ref(v):
            d[f] = _resolve(v, blobs, path, key, done)
    return d


def _blob_ref(v, out: list, memo: dict) -> dict:
    """``{"blob": hash}`` of ``v``, its JSON and that of every blob it refers to appended
    to ``out`` as ``(hash, text)`` (so that any subset of rows carries what it refers
    to); ``memo`` (by object identity, the objects kept alive; a string by value) writes a
    shared value once. A dict's long strings (sources) are blobs of their own."""
    mk = v if type(v) is str else id(v)
    hit = memo.get(mk)
    if hit is None:
        closure: list = []
        w = v
        if type(v) is dict and any(type(x) is str and len(x) > _LONG for x in v.values()):
            w = {k: _blob_ref(x, closure, memo) if type(x) is str and len(x) > _LONG else x
                 for k, x in v.items()}
        text = json.dumps(w, sort_keys=True, allow_nan=False)
        h = hashlib.sha256(text.encode()).hexdigest()[:24]
        closure.append((h, text))
        hit = memo[mk] = (h, closure, v)
    out.extend(hit[1])
    return {"blob": hit[0]}


#: Strings longer than this inside a stored blob's dicts are blobs of their own.
_LONG = 64


def _stored_blob(v: dict, out: list, memo: dict) -> dict:
    """A blob field (the cost provenance) as stored: one blob whose large parts are
    blobs of their own (a dict value whole, a list value element by element), so that
    what designs share (the technology table's sources, one SRAM macro's energy line, a
    calibration) is stored once, not in every design's provenance."""
    hit = memo.get(id(v))
    if hit is not None:
        out.extend(hit[3])
        return {"blob": hit[0]}
    parts: list = []
    top = {}
    for k, x in v.items():
        if type(x) is dict and x:
            top[k] = _blob_ref(x, parts, memo)
        elif type(x) is list and any(type(e) is dict for e in x):
            top[k] = [_blob_ref(e, parts, memo) if type(e) is dict else e for e in x]
        else:
            top[k] = x
    text = json.dumps(top, sort_keys=True, allow_nan=False)
    h = hashlib.sha256(text.encode()).hexdigest()[:24]
    parts.append((h, text))
    memo[id(v)] = (h, text, v, parts)
    out.extend(parts)
    return {"blob": h}


def encode(record_dict: dict) -> tuple:
    """A record (as a dict) encoded for :meth:`Store.put_rows`.

    Returns ``(point_key, design_id, workload, schema_version, code_version, json_text,
    blobs, layer_rows)`` where ``blobs`` lists the ``(hash, json_text)`` of the fields
    stored once and ``layer_rows`` the rows of the ``layers`` table (the record's per-op
    results, kept out of its JSON).
    """
    d = dict(record_dict)
    layer_rows = []
    for i, layer in enumerate(d.pop("layers", None) or []):
        row = [d["point_key"], i]
        for c in LAYER_COLUMNS:
            v = layer.get(c)
            row.append(json.dumps(v or {}, sort_keys=True, allow_nan=False) if c in _LAYER_JSON else v)
        layer_rows.append(tuple(row))
    blobs: list = []
    memo: dict = {}
    for f in _BLOB_FIELDS:
        v = d.get(f)
        if isinstance(v, dict) and len(v) > 1:
            d[f] = _stored_blob(v, blobs, memo)
    return (d["point_key"], d["design_id"], d["workload"], int(d["schema_version"]),
            d["code_version"], json.dumps(d, sort_keys=True, allow_nan=False), blobs, layer_rows)


