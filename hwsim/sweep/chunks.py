"""Columnar chunks of records: one Arrow table per block of records, as the store keeps them.

A columnar sweep task evaluates blocks of records that share a workload (a
:class:`hwsim.evaluate.Block`). The store keeps each block as one row of its ``chunks``
table: the records' fields as the columns of an Arrow IPC stream (compressed), the
per-op results (the record's ``layers``) as a second stream. Writing a block is then a
handful of column conversions and one insert, instead of one JSON text and one row per
op per record, and a stored point costs a few hundred bytes instead of ~8 KB.

How a field is stored follows its values in the block:

* scalars of one type (int, float, str, bool, with ``None``) are typed columns
  (integers that do not fit int64 are JSON text);
* dicts that records share (a design's config, its area by part: one object per design)
  are their JSON text once per distinct object, dictionary-encoded;
* dicts with the same keys in every record (action counts, energy by part) are struct
  columns, one child per key;
* anything else is JSON text per record.

:func:`decode_chunk` gives back the records' dicts equal to what
:func:`hwsim.sweep.store.encode` and the ``records`` table give (the tests compare them
field by field).
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from hwsim.errors import HwsimError, shorten

_NONE = type(None)
#: Schema metadata key of a field's storage kind (absent: a typed column as is).
_KIND = b"hwsim"
_IPC = pa.ipc.IpcWriteOptions(compression="zstd")
_PA_SCALAR = {int: pa.int64(), float: pa.float64(), str: pa.string(), bool: pa.bool_()}


def _json(v) -> str:
    return json.dumps(v, sort_keys=True, allow_nan=False)


def _finite(a: np.ndarray) -> None:
    """Refuse what JSON refuses (the per-record store path raises the same)."""
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise ValueError("Out of range float values are not JSON compliant")


def _json_field(name: str, arr):
    """``(arrow field, array)`` of a column of JSON texts."""
    return pa.field(name, arr.type, metadata={_KIND: b"json"}), arr


def _scalar_array(vals: list):
    """A typed Arrow array of ``vals`` (one scalar type and None), or None when they are
    not (mixed types, an int beyond int64)."""
    kinds = {type(v) for v in vals} - {_NONE}
    if len(kinds) > 1:
        return None
    if not kinds:
        return pa.nulls(len(vals))
    (t,) = kinds
    typ = _PA_SCALAR.get(t)
    if typ is None:
        return None
    try:
        arr = pa.array(vals, typ)
    except (OverflowError, pa.ArrowInvalid):
        return None
    if t is float:
        _finite(np.asarray(arr.fill_null(0.0)))
    if t is str and len(vals) > 8:
        d = arr.dictionary_encode()
        if len(d.dictionary) * 2 <= len(vals):
            return d
    return arr


def _shared(name: str, vals: list, text):
    """A dictionary-encoded JSON column of objects shared by records: ``text(v)`` once
    per distinct object (by identity)."""
    texts, idx, seen = [], [], {}
    for v in vals:
        i = seen.get(id(v))
        if i is None:
            i = seen[id(v)] = len(texts)
            texts.append(text(v))
        idx.append(i)
    return _json_field(name, pa.DictionaryArray.from_arrays(pa.array(idx, pa.int32()), pa.array(texts, pa.string())))


def _column(name: str, vals: list):
    """``(arrow field, array)`` of one record field over the block's records."""
    arr = _scalar_array(vals)
    if arr is not None:
        return pa.field(name, arr.type), arr
    if all(type(v) is dict for v in vals):
        ids = {id(v) for v in vals}
        if len(ids) * 2 <= len(vals):  # shared objects: each one's text once
            return _shared(name, vals, _json)
        keys = tuple(vals[0])
        if keys and all(tuple(v) == keys for v in vals):
            children = []
            for k in keys:
                a = _scalar_array([v[k] for v in vals])
                if a is None or isinstance(a.type, pa.DictionaryType) or a.type == pa.null():
                    break
                children.append(a)
            else:
                arr = pa.StructArray.from_arrays(children, names=list(keys))
                return pa.field(name, arr.type), arr
    return _json_field(name, pa.array([_json(v) for v in vals], pa.string()))


def _typed(name: str, col):
    """``(arrow field, array)`` of a block column (see :class:`hwsim.evaluate.Block`)."""
    from hwsim.evaluate import DictColumn, Masked

    if isinstance(col, np.ndarray) and col.dtype.kind in "iuf":
        _finite(col)
        arr = pa.array(col)
        return pa.field(name, arr.type), arr
    if isinstance(col, Masked) and col.values.dtype.kind in "iuf":
        _finite(col.values[~col.mask])
        arr = pa.array(col.values, mask=col.mask)
        return pa.field(name, arr.type), arr
    if isinstance(col, DictColumn) and col.names and all(
            isinstance(c, np.ndarray) and c.dtype.kind in "iuf" for c in col.columns):
        for c in col.columns:
            _finite(c)
        arr = pa.StructArray.from_arrays([pa.array(c) for c in col.columns], names=list(col.names))
        return pa.field(name, arr.type), arr
    return _column(name, col.tolist() if hasattr(col, "tolist") else list(col))


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=_IPC) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


def _table(data: bytes) -> pa.Table:
    with pa.ipc.open_stream(pa.py_buffer(data)) as r:
        return r.read_all()


def _layers_table(lb) -> pa.Table:
    flat = lambda a: np.ascontiguousarray(np.asarray(a)).reshape(-1)  # noqa: E731
    rows = lb.cycles.size
    cols = {
        "cycles": pa.array(flat(lb.cycles), pa.int64()),
        "compute_cycles": pa.array(flat(lb.compute_cycles), pa.int64()),
        "stall_cycles": pa.array(flat(lb.stall_cycles), pa.int64()),
        "macs": pa.array(flat(lb.macs), pa.int64()),
        "utilization": pa.array(flat(lb.utilization).astype(float), pa.float64()),
        "dram_bytes": pa.array(flat(lb.dram_bytes), pa.int64()),
        "energy_pj": (pa.array(flat(lb.energy_pj).astype(float), pa.float64()) if lb.energy_pj is not None
                      else pa.nulls(rows, pa.float64())),
    }
    for c in ("utilization", "energy_pj"):
        _finite(np.asarray(cols[c].fill_null(0.0)))
    if lb.energy_parts:
        names = sorted(lb.energy_parts)
        kids = []
        for p in names:
            v = flat(lb.energy_parts[p]).astype(float)
            present = flat(lb.energy_present[p]).astype(bool)
            _finite(v[present])
            kids.append(pa.array(v, pa.float64(), mask=~present))
        cols["energy_pj_by_part"] = pa.StructArray.from_arrays(kids, names=names)
    if lb.mapping:
        names = sorted(lb.mapping)
        kids = []
        for f in names:
            v = flat(lb.mapping[f])
            kids.append(pa.array(v.tolist() if v.dtype.kind == "O" else v))
        cols["mapping"] = pa.StructArray.from_arrays(kids, names=names)
    ops = [[op.name, int(op.m), int(op.k), int(op.n), int(op.count)] for op in lb.ops]
    schema = pa.schema([pa.field(k, v.type) for k, v in cols.items()], metadata={b"ops": json.dumps(ops)})
    return pa.Table.from_arrays(list(cols.values()), schema=schema)


def encode_chunk(block, blob_memo: dict) -> tuple[list, bytes, bytes, list]:
    """A :class:`hwsim.evaluate.Block` as the store's ``chunks`` table keeps it.

    Returns ``(point_keys, records, layers, blobs)``: the records' keys in row order,
    the Arrow IPC bytes of the records and of their per-op rows, and the ``(hash,
    json_text)`` blobs the records refer to (their cost provenance, as
    :func:`hwsim.sweep.store.encode` stores it: one blob per distinct object)."""
    from hwsim.sweep.store import _BLOB_FIELDS, _stored_blob

    blobs: list = []

    def blob_text(v):
        if len(v) > 1:
            return _json(_stored_blob(v, blobs, blob_memo))
        return _json(v)

    fields, arrays = [], []
    for f, col in block.columns.items():
        if f in block.texts:  # JSON texts the block has already written
            fld, arr = _json_field(f, pa.array(block.texts[f], pa.string()))
        elif f in _BLOB_FIELDS and type(col) is list and all(type(v) is dict for v in col):
            fld, arr = _shared(f, col, blob_text)
        else:
            fld, arr = _typed(f, col)
        fields.append(fld)
        arrays.append(arr)
    meta = {b"const": _json(block.const).encode()}
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=meta))
    keys = list(block.columns["point_key"])
    # the blobs of every record, each once (a hash names one text)
    return keys, _ipc(table), _ipc(_layers_table(block.layers)), list(dict(blobs).items())


def _corrupt(path, chunk_id, e) -> HwsimError:
    return HwsimError(f"{path}: corrupt store: chunk {chunk_id} cannot be read ({shorten(str(e), 60)})")


def decode_records(data: bytes, path=None, chunk_id=None) -> list[dict]:
    """The record dicts of a chunk's records stream (blob references not expanded)."""
    try:
        table = _table(data)
    except (pa.ArrowException, OSError, ValueError) as e:
        raise _corrupt(path, chunk_id, e) from None
    cols = {}
    for fld, col in zip(table.schema, table.columns):
        vals = col.to_pylist()
        if fld.metadata and fld.metadata.get(_KIND) == b"json":
            memo: dict = {}
            out = []
            for t in vals:
                v = memo.get(t)
                if v is None:
                    try:
                        v = memo[t] = json.loads(t)
                    except (TypeError, ValueError) as e:
                        raise _corrupt(path, chunk_id, e) from None
                out.append(v)
            vals = out
        cols[fld.name] = vals
    try:
        const = json.loads(table.schema.metadata[b"const"]) if table.schema.metadata else {}
    except (ValueError, KeyError, TypeError) as e:
        raise _corrupt(path, chunk_id, e) from None
    names = list(cols)
    return [{**const, **dict(zip(names, row))} for row in zip(*cols.values())]


def decode_layers(data: bytes, path=None, chunk_id=None) -> list[list[dict]]:
    """Per record of a chunk, its per-op rows (dicts of the ``layers`` table's columns,
    ``energy_pj_by_part`` and ``mapping`` as dicts)."""
    try:
        table = _table(data)
        ops = json.loads(table.schema.metadata[b"ops"])
    except (pa.ArrowException, OSError, ValueError, KeyError, TypeError) as e:
        raise _corrupt(path, chunk_id, e) from None
    O = len(ops)
    cols = {name: table.column(name).to_pylist() for name in table.column_names}
    n = table.num_rows
    ebp = cols.pop("energy_pj_by_part", None)
    mapping = cols.pop("mapping", None)
    names = list(cols)
    out = []
    for r in range(n // O if O else 0):
        rows = []
        for i in range(O):
            at = r * O + i
            name, m, k, nn, count = ops[i]
            d = {"name": name, "m": m, "k": k, "n": nn, "count": count}
            for c in names:
                d[c] = cols[c][at]
            d["energy_pj_by_part"] = ({p: v for p, v in ebp[at].items() if v is not None} if ebp is not None else {})
            d["mapping"] = dict(mapping[at]) if mapping is not None else {}
            rows.append(d)
        out.append(rows)
    return out


__all__ = ["decode_layers", "decode_records", "encode_chunk"]
