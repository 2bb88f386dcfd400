"""Stored records as a table: loading, flattening and export.

Reports read only what the store holds; nothing here evaluates a model.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hwsim.errors import ConfigError, HwsimError
from hwsim.sweep.store import Store

log = logging.getLogger(__name__)

#: Record fields holding mappings (kept as dicts in memory, JSON text on export).
DICT_FIELDS = ("actions", "energy_pj_by_part", "area_um2_by_part", "cost_provenance", "rtl_check")
DESIGN_PREFIX = "design."


@dataclass(frozen=True)
class StoredSweep:
    """A consistent snapshot of one store: its meta data, runs and records."""

    path: Path
    meta: dict
    runs: list
    records: pd.DataFrame
    #: one row per op of each record (see :func:`layer_table`)
    layers: pd.DataFrame = None

    @property
    def design_columns(self) -> list[str]:
        return [c for c in self.records.columns if c.startswith(DESIGN_PREFIX)]


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
            for k, v in layer.items():
                if k in ("energy_pj_by_part", "mapping"):
                    prefix = "energy_pj." if k == "energy_pj_by_part" else "mapping."
                    row.update({prefix + str(kk): vv for kk, vv in (v or {}).items()})
                else:
                    row[k] = v
            rows.append(row)
    return pd.DataFrame(rows)


def load(store_path) -> StoredSweep:
    """Read a store (a snapshot, safe while a sweep is writing it)."""
    with Store.open_reader(store_path) as st:
        meta, runs, recs = st.snapshot()
    if not recs:
        raise HwsimError(f"{store_path}: the store holds no records yet")
    df = flatten(recs)
    return StoredSweep(Path(store_path), meta, runs, df, layer_table(recs))


def layers_path(out) -> Path:
    """Where :func:`export` writes the per-op rows beside ``out``: ``<stem>.layers<suffix>``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.layers{out.suffix}")


def export(store_path, out) -> int:
    """Write every record as one row of ``out`` (``.csv`` or ``.parquet``), and their per-op
    results as tidy rows of :func:`layers_path` ``(out)``; return the record count."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ConfigError("--output", f"must end in .csv or .parquet, not {out.name!r}")
    data = load(store_path)
    df = data.records.copy()
    for c in DICT_FIELDS:
        if c in df:
            df[c] = [json.dumps(v, sort_keys=True) for v in df[c]]
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    layers = data.layers if data.layers is not None else pd.DataFrame()
    for frame, path in ((df, out), (layers, layers_path(out))):
        if suffix == ".csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
    log.info("exported %d records to %s", len(df), out)
    return len(df)
