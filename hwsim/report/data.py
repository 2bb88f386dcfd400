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

    @property
    def design_columns(self) -> list[str]:
        return [c for c in self.records.columns if c.startswith(DESIGN_PREFIX)]


def flatten(records: list[dict]) -> pd.DataFrame:
    """One row per record; ``design`` fields become ``design.<name>`` columns."""
    rows = []
    for r in records:
        row = {k: v for k, v in r.items() if k != "design"}
        for k, v in r.get("design", {}).items():
            row[DESIGN_PREFIX + k] = v
        rows.append(row)
    return pd.DataFrame(rows)


def load(store_path) -> StoredSweep:
    """Read a store (a snapshot, safe while a sweep is writing it)."""
    with Store.open_reader(store_path) as st:
        meta, runs, recs = st.snapshot()
    if not recs:
        raise HwsimError(f"{store_path}: the store holds no records yet")
    df = flatten(recs)
    return StoredSweep(Path(store_path), meta, runs, df)


def export(store_path, out) -> int:
    """Write every record as one row of ``out`` (``.csv`` or ``.parquet``); return the count."""
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
    if suffix == ".csv":
        df.to_csv(out, index=False)
    else:
        df.to_parquet(out, index=False)
    log.info("exported %d records to %s", len(df), out)
    return len(df)
