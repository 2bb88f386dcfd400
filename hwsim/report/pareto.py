"""Pareto fronts over any objectives, with constraints.

>>> import pandas as pd
>>> df = pd.DataFrame({"tops": [1.0, 2.0, 2.0, 0.5], "area_um2": [1.0, 3.0, 2.0, 2.0]})
>>> pareto_mask(df, {"tops": "max", "area_um2": "min"}).tolist()
[True, False, True, False]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hwsim.errors import ConfigError


def feasible_mask(df: pd.DataFrame, constraints: dict | None) -> np.ndarray:
    """Rows satisfying every ``{metric: {"min": x, "max": y}}`` bound (missing values fail)."""
    ok = np.ones(len(df), dtype=bool)
    for metric, b in (constraints or {}).items():
        if metric not in df:
            raise ConfigError("constraints", f"unknown metric {metric!r}")
        v = pd.to_numeric(df[metric], errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            if "min" in b:
                ok &= v >= b["min"]
            if "max" in b:
                ok &= v <= b["max"]
        ok &= ~np.isnan(v)
    return ok


def pareto_mask(df: pd.DataFrame, objectives: dict, constraints: dict | None = None) -> np.ndarray:
    """Boolean mask of the non-dominated feasible rows of ``df``.

    Parameters
    ----------
    objectives : dict
        ``{metric: "min" | "max"}``; at least one.
    constraints : dict, optional
        ``{metric: {"min": x, "max": y}}``; infeasible rows are never on the front.

    Rows with a missing objective value are excluded. Rows with equal objective vectors
    are all kept.
    """
    if not objectives:
        raise ConfigError("objectives", "need at least one objective for a Pareto front")
    cols = []
    for metric, sense in objectives.items():
        if metric not in df:
            raise ConfigError("objectives", f"unknown metric {metric!r}")
        if sense not in ("min", "max"):
            raise ConfigError(f"objectives.{metric}", f"must be 'min' or 'max', not {sense!r}")
        v = pd.to_numeric(df[metric], errors="coerce").to_numpy(dtype=float)
        cols.append(-v if sense == "max" else v)  # everything minimised below
    x = np.stack(cols, axis=1) if cols else np.zeros((len(df), 0))
    cand = feasible_mask(df, constraints) & ~np.isnan(x).any(axis=1)
    idx = np.flatnonzero(cand)
    # Lexicographic order: a row can only be dominated by rows before it.
    order = idx[np.lexsort(x[idx].T[::-1])]
    front: list[int] = []
    fx = np.empty((0, x.shape[1]))
    for i in order:
        xi = x[i]
        if len(front):
            dom = np.all(fx <= xi, axis=1) & np.any(fx < xi, axis=1)
            if dom.any():
                continue
        front.append(i)
        fx = np.vstack([fx, xi])
    mask = np.zeros(len(df), dtype=bool)
    mask[front] = True
    return mask


def pareto_front(df: pd.DataFrame, objectives: dict, constraints: dict | None = None) -> pd.DataFrame:
    """The feasible non-dominated rows, sorted by the first objective (best first)."""
    front = df[pareto_mask(df, objectives, constraints)]
    first, sense = next(iter(objectives.items()))
    return front.sort_values(first, ascending=(sense == "min"), kind="stable")
