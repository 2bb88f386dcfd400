"""Stored records as tables: loading one or several stores, flattening and tidy export.

Reports read only what the stores hold (through :meth:`hwsim.sweep.store.Store.snapshot`);
nothing here evaluates a model.

Several stores load as one :class:`StoredSweep` whose records carry a ``study`` column
(the spec's name, or the store's file name when two stores hold the same spec), so one
report can put several studies -- one per family, or two versions of one study -- side
by side. ``family`` filters the records of any report or export.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from hwsim.errors import ConfigError, HwsimError, shorten
from hwsim.sweep.store import Store

log = logging.getLogger(__name__)

#: Record fields holding mappings (kept as dicts in memory; separate tidy tables on export).
DICT_FIELDS = ("actions", "energy_pj_by_part", "area_um2_by_part", "cost_provenance", "rtl_check")
DESIGN_PREFIX = "design."


@dataclass(frozen=True)
class StoreInfo:
    """One store of a report: its path, study name, meta data and runs."""

    path: Path
    study: str
    meta: dict
    runs: list


@dataclass(frozen=True)
class StoredSweep:
    """A consistent snapshot of one or more stores: meta data, runs and records.

    ``meta`` and ``runs`` are those of the first store (the only one, usually);
    ``stores`` lists every store with its own.
    """

    path: Path
    meta: dict
    runs: list
    records: pd.DataFrame
    #: one row per op of each record (see :func:`layer_table`)
    layers: pd.DataFrame = None
    stores: tuple = field(default_factory=tuple)

    @property
    def design_columns(self) -> list[str]:
        return [c for c in self.records.columns if c.startswith(DESIGN_PREFIX)]

    @property
    def studies(self) -> list[str]:
        return [s.study for s in self.stores] or [self.meta.get("spec_name", self.path.stem)]


def flatten(records: list[dict]) -> pd.DataFrame:
    """One row per record; ``design`` fields become ``design.<name>`` columns (the per-op
    results are in :func:`layer_table`)."""
    rows = []
    for r in records:
        row = {k: v for k, v in r.items() if k not in ("design", "layers")}
        for k, v in r.get("design", {}).items():
            row[DESIGN_PREFIX + k] = v
        rows.append(row)
    return pd.DataFrame(rows)


def layer_table(records: list[dict]) -> pd.DataFrame:
    """One tidy row per op of each record: the record's ``point_key``, ``design_id``,
    ``family`` and ``workload``, the op's index ``idx`` and its fields (see
    :data:`hwsim.evaluate.LAYER_FIELDS`), with the energy by part as ``energy_pj.<part>``
    columns and the mapping as ``mapping.<field>`` columns (scalars only)."""
    rows = []
    for r in records:
        for i, layer in enumerate(r.get("layers") or []):
            row = {"point_key": r["point_key"], "design_id": r.get("design_id"), "family": r.get("family"),
                   "workload": r.get("workload"), "idx": i}
            if "study" in r:
                row["study"] = r["study"]
            for k, v in layer.items():
                if k in ("energy_pj_by_part", "mapping"):
                    prefix = "energy_pj." if k == "energy_pj_by_part" else "mapping."
                    row.update({prefix + str(kk): vv for kk, vv in (v or {}).items()})
                else:
                    row[k] = v
            rows.append(row)
    return pd.DataFrame(rows)


def _spec_column_order(df: pd.DataFrame, metas) -> pd.DataFrame:
    """Design columns in the order the specs give them (swept fields, then fixed ones);
    the store keeps designs with sorted keys."""
    import tomllib

    order: list[str] = []
    for m in metas:
        try:
            spec = tomllib.loads(m.get("spec_text", "") or "")
        except tomllib.TOMLDecodeError:
            continue
        for table in ("space", "fixed"):
            t = spec.get(table)
            if isinstance(t, dict):
                order += [DESIGN_PREFIX + k for k in t]
    design = [c for c in df.columns if c.startswith(DESIGN_PREFIX)]
    ranked = [c for c in dict.fromkeys(order) if c in design] + [c for c in design if c not in order]
    first = df.columns.get_loc(design[0]) if design else len(df.columns)
    rest = [c for c in df.columns if c not in design]
    return df[rest[:first] + ranked + rest[first:]]


def _check_families(df: pd.DataFrame, families, paths) -> pd.DataFrame:
    if not families:
        return df
    have = sorted(set(df["family"]))
    unknown = [f for f in families if f not in have]
    if unknown:
        raise ConfigError("--family", f"{shorten(unknown[0])} is not in {', '.join(map(str, paths))} "
                          f"(families there: {', '.join(have)})")
    return df[df["family"].isin(families)].reset_index(drop=True)


def load(store_path, family=None) -> StoredSweep:
    """Read a store (a snapshot, safe while a sweep is writing it); ``family`` (a name or
    a list of names) keeps only those families' records."""
    return load_many([store_path], family=family)


def load_many(store_paths, family=None) -> StoredSweep:
    """Read several stores as one table; each record gets the ``study`` it came from.

    Parameters
    ----------
    store_paths : list of path-like
        Stores written by :func:`hwsim.sweep.run_sweep`; the same file twice is refused.
    family : str or list of str, optional
        Keep only these families' records (an unknown name is an error naming the stores).
    """
    paths = [Path(p) for p in store_paths]
    if not paths:
        raise ConfigError("STORE", "give at least one store")
    seen = set()
    for p in paths:
        r = p.resolve()
        if r in seen:
            raise ConfigError("STORE", f"{p} is given twice")
        seen.add(r)
    snaps = []
    for p in paths:
        with Store.open_reader(p) as st:
            meta, runs, recs = st.snapshot()
        if not recs:
            raise HwsimError(f"{p}: the store holds no records yet")
        snaps.append((p, meta, runs, recs))
    names = [m.get("spec_name") or p.stem for p, m, _, _ in snaps]
    if len(set(names)) < len(names):  # two stores of one spec: tell them apart by file
        names = [f"{n} ({p.name})" for n, (p, *_) in zip(names, snaps)]
    all_recs = []
    infos = []
    for name, (p, meta, runs, recs) in zip(names, snaps):
        for r in recs:
            r["study"] = name
        all_recs += recs
        infos.append(StoreInfo(p, name, meta, runs))
    df = _spec_column_order(flatten(all_recs), [m for _, m, _, _ in snaps])
    families = [family] if isinstance(family, str) else list(family or [])
    df = _check_families(df, families, paths)
    layers = layer_table(all_recs)
    if families and not layers.empty:
        layers = layers[layers["family"].isin(families)].reset_index(drop=True)
    return StoredSweep(paths[0], snaps[0][1], snaps[0][2], df, layers, tuple(infos))


# ----------------------------------------------------------------------------- export
def layers_path(out) -> Path:
    """Where :func:`export` writes the per-op rows beside ``out``: ``<stem>.layers<suffix>``."""
    return table_path(out, "layers")


def table_path(out, table: str) -> Path:
    """Where :func:`export` writes its table ``table`` beside ``out``: ``<stem>.<table><suffix>``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.{table}{out.suffix}")


#: The tables :func:`export` writes beside the records (long format, keyed by point_key).
EXPORT_TABLES = ("layers", "layer_energy", "breakdown", "actions", "rtl_check", "provenance")


def _flat_items(d, prefix=""):
    """``(dotted key, scalar)`` pairs of a nested mapping (lists as JSON text)."""
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            yield from _flat_items(v, key + ".")
        elif isinstance(v, (list, tuple)):
            yield key, json.dumps(v, sort_keys=True)
        else:
            yield key, v


def _value_text(v) -> str:
    return "" if v is None else str(v)


def tidy_tables(data: StoredSweep) -> dict[str, pd.DataFrame]:
    """The records as tidy tables: ``records`` (one row per record, scalar columns only)
    and the long-format :data:`EXPORT_TABLES`, each keyed by ``point_key``.

    * ``layers``: one row per op (shape, cycles, DRAM bytes, energy, mapping fields);
    * ``layer_energy``: ``point_key, idx, part, energy_pj``;
    * ``breakdown``: ``point_key, quantity (energy_pj | area_um2), part, value``;
    * ``actions``: ``point_key, action, count``;
    * ``rtl_check``: ``point_key, field, value`` (the RTL check, flattened; text values);
    * ``provenance``: ``study, store, kind, id, field, value``: each store's meta data and
      runs, and each distinct cost provenance once (records refer to it by
      ``cost_provenance_id``).
    """
    df = data.records
    keys = df["point_key"].tolist()
    out: dict[str, pd.DataFrame] = {}
    recs = df.drop(columns=[c for c in DICT_FIELDS if c in df]).copy()
    prov_rows = []
    prov_ids = []
    seen_prov = set()
    for study, p in zip(df.get("study", [""] * len(df)), df.get("cost_provenance", [None] * len(df))):
        if not isinstance(p, dict) or not p:
            prov_ids.append(None)
            continue
        text = json.dumps(p, sort_keys=True, default=str)
        pid = hashlib.sha256(text.encode()).hexdigest()[:16]
        prov_ids.append(pid)
        if pid not in seen_prov:
            seen_prov.add(pid)
            prov_rows += [(study, "", "cost_provenance", pid, k, _value_text(v)) for k, v in _flat_items(p)]
    recs["cost_provenance_id"] = prov_ids
    for c in recs.columns:  # anything else nested (a future field) becomes text, never a dict cell
        if recs[c].map(lambda v: isinstance(v, (dict, list))).any():
            recs[c] = recs[c].map(lambda v: json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v)
    out["records"] = recs

    lay = data.layers if data.layers is not None else pd.DataFrame()
    parts = [c for c in lay.columns if c.startswith("energy_pj.")]
    if not lay.empty and parts:
        le = lay[["point_key", "idx", *parts]].melt(id_vars=["point_key", "idx"], value_vars=parts,
                                                   var_name="part", value_name="energy_pj")
        le["part"] = le["part"].str[len("energy_pj."):]
        out["layer_energy"] = le.dropna(subset=["energy_pj"]).sort_values(["point_key", "idx", "part"],
                                                                          kind="stable").reset_index(drop=True)
    else:
        out["layer_energy"] = pd.DataFrame(columns=["point_key", "idx", "part", "energy_pj"])
    out["layers"] = lay

    rows = []
    for quantity, col in (("energy_pj", "energy_pj_by_part"), ("area_um2", "area_um2_by_part")):
        for k, d in zip(keys, df.get(col, [None] * len(df))):
            for part, v in (d or {}).items() if isinstance(d, dict) else ():
                rows.append((k, quantity, part, float(v)))
    out["breakdown"] = pd.DataFrame(rows, columns=["point_key", "quantity", "part", "value"])
    rows = [(k, a, int(v)) for k, d in zip(keys, df.get("actions", [None] * len(df)))
            if isinstance(d, dict) for a, v in d.items()]
    out["actions"] = pd.DataFrame(rows, columns=["point_key", "action", "count"])
    rows = [(k, f, _value_text(v)) for k, d in zip(keys, df.get("rtl_check", [None] * len(df)))
            if isinstance(d, dict) for f, v in _flat_items(d)]
    out["rtl_check"] = pd.DataFrame(rows, columns=["point_key", "field", "value"])

    for s in data.stores:
        prov_rows += [(s.study, str(s.path), "store", "", k, _value_text(v)) for k, v in sorted(s.meta.items())]
        for r in s.runs:
            prov_rows += [(s.study, str(s.path), "run", str(r.get("run_id")), k, _value_text(v))
                          for k, v in r.items() if k != "run_id"]
    out["provenance"] = pd.DataFrame(prov_rows, columns=["study", "store", "kind", "id", "field", "value"])
    return out


def export(store_path, out, family=None) -> int:
    """Write every record as one row of scalars to ``out`` (``.csv`` or ``.parquet``) and,
    beside it, the long-format tables of :func:`tidy_tables` (``<stem>.<table><suffix>``);
    return the record count. ``store_path`` may be one store or a list of stores."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ConfigError("--output", f"must end in .csv or .parquet, not {out.name!r}")
    paths = store_path if isinstance(store_path, (list, tuple)) else [store_path]
    data = load_many(paths, family=family)
    tables = tidy_tables(data)
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        path = out if name == "records" else table_path(out, name)
        if suffix == ".csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
    log.info("exported %d records to %s", len(tables["records"]), out)
    return len(tables["records"])
