"""What a report concludes from the records: design names, the winner per objective and
workload, a balanced choice across workloads, and sentences saying why a design wins.

Everything here is computed from stored record fields (cycles, DRAM-stall cycles, DRAM
bytes, ops per DRAM byte, the record's peak throughput and DRAM bandwidth, energy and area
by part); nothing names a family.

>>> import pandas as pd
>>> df = pd.DataFrame({"workload": ["a", "a", "b", "b"], "design_id": ["x", "y", "x", "y"],
...                    "tops": [1.0, 2.0, 4.0, 1.0]})
>>> balanced(df, {"tops": "max"})[["design_id", "factor"]].round(3).values.tolist()
[['x', 1.414], ['y', 2.828]]
"""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd

from hwsim.report.data import DESIGN_PREFIX
from hwsim.report.pareto import feasible_mask
from hwsim.report.units import unit_for


def fmt_value(v) -> str:
    """A design parameter's value as shown in names and tables."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).lower()
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return str(int(f)) if f.is_integer() else f"{f:g}"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return str(v)


def _is_missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def swept_columns(df: pd.DataFrame) -> list[str]:
    """Design columns that take more than one value among ``df``'s rows."""
    out = []
    for c in df.columns:
        if not c.startswith(DESIGN_PREFIX):
            continue
        vals = {repr(v) for v in df[c] if not _is_missing(v)}
        if len(vals) > 1:
            out.append(c)
    return out


def _norm(v):
    if isinstance(v, (bool, np.bool_)):
        return ("b", bool(v))
    if isinstance(v, (int, float, np.integer, np.floating)):
        f = float(v)
        return ("n", f) if not math.isnan(f) else ("none", None)
    if v is None:
        return ("none", None)
    return ("s", str(v))


def same_value(s: pd.Series, v) -> np.ndarray:
    """Rows of ``s`` equal to ``v`` (numbers by value whatever their type, None = NaN)."""
    key = _norm(v)
    return np.array([_norm(x) == key for x in s], dtype=bool)


def short_names(names) -> dict:
    """``{name: short name}``: the names without the prefix they all share, cut at a
    separator (``families_llama2_7b_lut_w2`` -> ``lut_w2``); unchanged when that would
    leave one empty."""
    names = list(dict.fromkeys(str(n) for n in names))
    if len(names) < 2:
        return {n: n for n in names}
    pre = os.path.commonprefix(names)
    cut = max(pre.rfind(c) for c in "_- /(") + 1 if pre else 0
    out = {n: n[cut:] for n in names}
    return out if all(out.values()) and len(set(out.values())) == len(out) else {n: n for n in names}


def common_name(names) -> str:
    """The prefix the names share, up to a separator, without trailing separators."""
    names = list(dict.fromkeys(str(n) for n in names))
    if len(names) < 2:
        return names[0] if names else ""
    pre = os.path.commonprefix(names)
    cut = max(pre.rfind(c) for c in "_- /(") if pre else -1
    return pre[:cut].rstrip("_- /(") if cut > 0 else ""


def group_key(df: pd.DataFrame) -> pd.Series:
    """The group a row's design belongs to: its study (short name) when the records come
    from several, with the family when the study name does not say it; its family when
    one study holds several; else one group ("")."""
    several_fam = df["family"].nunique() > 1
    if "study" in df and df["study"].nunique() > 1:
        short = short_names(df["study"])
        out = []
        for st, fam in zip(df["study"], df["family"]):
            s = short[str(st)]
            if several_fam and str(fam).replace("-", "_") not in s.replace("-", "_"):
                s = f"{s} ({fam})"
            out.append(s)
        return pd.Series(out, index=df.index)
    if several_fam:
        return df["family"].astype(str)
    return pd.Series([""] * len(df), index=df.index)


def design_names(df: pd.DataFrame) -> pd.Series:
    """A short readable name per row: its group (study or family, when several) and the
    values of the design fields swept within that group."""
    names = pd.Series([""] * len(df), index=df.index, dtype=object)
    groups = group_key(df)
    for g, idx in groups.groupby(groups).groups.items():
        sub = df.loc[idx]
        swept = swept_columns(sub)
        for i, r in sub.iterrows():
            params = " ".join(f"{c[len(DESIGN_PREFIX):]}={fmt_value(r[c])}" for c in swept
                              if not _is_missing(r[c]))
            name = " ".join(x for x in (str(g), params) if x)
            names[i] = name or str(r["design_id"])[:8]
    return names


def design_key(df: pd.DataFrame) -> pd.Series:
    """One key per design of the report (a design in two studies counts twice)."""
    if "study" in df and df["study"].nunique() > 1:
        return df["study"].astype(str) + ":" + df["design_id"].astype(str)
    return df["design_id"].astype(str)


def _numeric(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)


def best_row(sub: pd.DataFrame, metric: str, sense: str, constraints=None):
    """The feasible row of ``sub`` best in ``metric`` (``None`` when none has a value);
    ties keep the first row (the store's order)."""
    if metric not in sub or sub.empty:
        return None
    v = _numeric(sub[metric])
    ok = feasible_mask(sub, constraints) & np.isfinite(v)
    if not ok.any():
        return None
    v = np.where(ok, v, np.inf if sense == "min" else -np.inf)
    i = int(np.argmin(v) if sense == "min" else np.argmax(v))
    return sub.iloc[i]


def winners(df: pd.DataFrame, objectives: dict, constraints=None) -> dict:
    """``{(metric, workload): row}`` of the best feasible record per objective and workload."""
    out = {}
    for wl in dict.fromkeys(df["workload"]):
        sub = df[df["workload"] == wl]
        for m, s in objectives.items():
            r = best_row(sub, m, s, constraints)
            if r is not None:
                out[(m, wl)] = r
    return out


def _regret(values: np.ndarray, sense: str) -> np.ndarray:
    """How far each value is from the best, as a factor >= 1 (log-ratio for positive
    metrics; for metrics that can be zero or negative, 1 + the distance over the range)."""
    best = np.nanmin(values) if sense == "min" else np.nanmax(values)
    if np.all(values[np.isfinite(values)] > 0):
        return values / best if sense == "min" else best / values
    span = np.nanmax(values) - np.nanmin(values)
    if not span > 0:
        return np.ones_like(values)
    return 1.0 + np.abs(values - best) / span


def balanced(df: pd.DataFrame, objectives: dict, constraints=None) -> pd.DataFrame:
    """Designs ranked by how close they come to the best on every workload and objective
    at once: the geometric mean, over (workload, objective), of the factor by which the
    design misses that workload's best feasible value (1 = best everywhere).

    Only designs with a feasible record on every workload are ranked. Returns one row per
    design: ``design_key``, ``design_id``, ``factor`` and ``worst`` (the largest factor and
    where it occurs), best first.
    """
    if not objectives or df.empty:
        return pd.DataFrame(columns=["design_key", "design_id", "factor", "worst"])
    d = df.copy()
    if "design_key" not in d:
        d["design_key"] = design_key(d)
    d = d[feasible_mask(d, constraints)]
    workloads = list(dict.fromkeys(df["workload"]))
    logs: dict[str, list] = {}
    worst: dict[str, tuple] = {}
    for wl in workloads:
        sub = d[d["workload"] == wl]
        for m, s in objectives.items():
            if m not in sub:
                continue
            v = _numeric(sub[m])
            if not np.isfinite(v).any():
                continue
            r = _regret(v, s)
            for k, x in zip(sub["design_key"], r):
                if np.isfinite(x):
                    logs.setdefault(k, []).append(math.log(x))
                    if x > worst.get(k, (0.0, ""))[0]:
                        worst[k] = (float(x), f"{m} on {wl}")
    complete = d.groupby("design_key")["workload"].nunique()
    complete = set(complete[complete == len(workloads)].index)
    n_max = max((len(v) for v in logs.values()), default=0)
    rows = []
    for k, ls in logs.items():
        if k in complete and len(ls) == n_max:
            did = d.loc[d["design_key"] == k, "design_id"].iloc[0]
            rows.append((k, did, math.exp(sum(ls) / len(ls)), worst[k][0], worst[k][1]))
    out = pd.DataFrame(rows, columns=["design_key", "design_id", "factor", "worst", "worst_where"])
    return out.sort_values(["factor", "design_key"], kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------------ explanations
def _parts_share(parts) -> list[tuple[str, float]]:
    if not isinstance(parts, dict) or not parts:
        return []
    tot = sum(float(v) for v in parts.values())
    if not tot > 0:
        return []
    return sorted(((k, float(v) / tot) for k, v in parts.items()), key=lambda t: -t[1])


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def _f(v, digits: int = 3) -> str:
    from hwsim.report.units import _sig

    return _sig(float(v), digits)


def boundness(r) -> dict:
    """Why a record runs at the speed it does, on the roofline: the time its DRAM traffic
    needs at the design's bandwidth and the time its operations need at its peak, each as
    a fraction of its latency, its ops per DRAM byte against its ridge point (peak ops/s
    over DRAM bytes/s), and the share of its cycles stalled on DRAM. Memory-bound when
    the traffic needs at least as long as the operations."""
    def num(k):
        v = r.get(k)
        return float(v) if v is not None and not _is_missing(v) else float("nan")

    cyc, stall, lat = num("cycles"), num("stall_cycles"), num("latency_s")
    peak = num("peak_tops") * 1e12
    bw = num("dram_bw_bytes_per_s")
    t_mem = num("dram_bytes") / bw if bw > 0 else float("nan")
    t_comp = num("ops") / peak if peak > 0 else float("nan")
    ridge = peak / bw if bw > 0 else float("nan")
    mem = bool(t_mem >= t_comp) if math.isfinite(t_mem) and math.isfinite(t_comp) else bool(
        cyc > 0 and stall / cyc > 0.5)
    return {"stall_frac": stall / cyc if cyc > 0 else float("nan"), "ridge": ridge,
            "intensity": num("ops_per_dram_byte"), "memory_bound": mem, "bw": bw, "peak": peak,
            "mem_frac": t_mem / lat if lat > 0 else float("nan"),
            "comp_frac": t_comp / lat if lat > 0 else float("nan")}


def _bound_sentence(r, b: dict, name: str) -> str:
    ai, ridge = b["intensity"], b["ridge"]
    where = (f"{_f(ai)} ops per DRAM byte, {'below' if ai < ridge else 'above'} its ridge point of {_f(ridge)}"
             if math.isfinite(ai) and math.isfinite(ridge) else "")
    bpt = _per_token(r, "dram_bytes")
    if b["memory_bound"]:
        s = "It is memory-bound"
        if math.isfinite(b["mem_frac"]):
            ub = unit_for("dram_bytes", [bpt if math.isfinite(bpt) else float(r["dram_bytes"])])
            moved = (f"{ub.fmt(bpt, 3)} {ub.unit} per token" if math.isfinite(bpt)
                     else f"{ub.fmt(r['dram_bytes'], 3)} {ub.unit}")
            s += (f": streaming {moved} at {_f(b['bw'] / 1e9)} GB/s takes {_pct(min(b['mem_frac'], 1.0))} "
                  "of its time")
        if where:
            s += f" ({where})"
        if math.isfinite(b["stall_frac"]) and b["stall_frac"] > 0.01:
            s += f"; {_pct(b['stall_frac'])} of its cycles stall on DRAM"
        return s + ", so bytes per token and bandwidth decide its speed."
    s = "It is compute-bound"
    if math.isfinite(b["mem_frac"]):
        s += f": its DRAM traffic needs only {_pct(b['mem_frac'])} of its time"
    if where:
        s += f" ({where})"
    return s + f", and it keeps {_pct(float(r['utilization']))} of its {_f(b['peak'] / 1e12)} TOPS peak busy."


def _per_token(r, metric: str) -> float:
    t = r.get("tokens")
    v = r.get(metric)
    if _is_missing(t) or not t or _is_missing(v):
        return float("nan")
    return float(v) / float(t)


def _runner_up(sub: pd.DataFrame, winner, metric: str, sense: str, names: pd.Series):
    """The best record of another design group (another family, else another design)."""
    if "family" in sub and sub["family"].nunique() > 1:
        other = sub[sub["family"] != winner["family"]]
    else:
        other = sub[sub["design_id"] != winner["design_id"]]
    return best_row(other, metric, sense)


def explain_workload(df: pd.DataFrame, wl: str, objectives: dict, names: pd.Series,
                     constraints=None, with_error: bool = True) -> list[str]:
    """A few sentences on ``wl``: who is fastest and why (compute- or memory-bound), who
    spends the least energy per token (or op) and where its energy goes, who keeps the
    least numerical error. Every figure comes from the records."""
    sub = df[df["workload"] == wl]
    out = []
    speed = "tokens_per_s" if "tokens_per_s" in sub and np.isfinite(_numeric(sub["tokens_per_s"])).any() else "tops"
    w = best_row(sub, speed, "max", constraints)
    if w is not None:
        u = unit_for(speed, sub[speed])
        s = f"On {wl}, {names[w.name]} is fastest: {u.fmt(w[speed], 3)} {u.unit}"
        r2 = _runner_up(sub, w, speed, "max", names)
        if r2 is not None and float(r2[speed]) > 0:
            s += f", {_f(float(w[speed]) / float(r2[speed]))}x {names[r2.name]} ({u.fmt(r2[speed], 3)} {u.unit})"
        s += "."
        b = boundness(w)
        s += " " + _bound_sentence(w, b, names[w.name])
        if r2 is not None:
            b2 = boundness(r2)
            s += (f" {names[r2.name]} is {'memory' if b2['memory_bound'] else 'compute'}-bound too" if
                  b2["memory_bound"] == b["memory_bound"] else
                  f" {names[r2.name]} is {'memory' if b2['memory_bound'] else 'compute'}-bound")
            s += (f" (peak {_f(b2['peak'] / 1e12)} TOPS, {_f(b2['bw'] / 1e9)} GB/s, "
                  f"{_f(b2['intensity'])} ops per DRAM byte, {_pct(float(r2['utilization']))} utilised).")
        out.append(s)
    emetric = next((m for m in ("energy_per_token_pj", "energy_per_op_pj")
                    if m in sub and np.isfinite(_numeric(sub[m])).any()), None)
    if emetric is not None:
        e = best_row(sub, emetric, "min", constraints)
        ue = unit_for(emetric, sub[emetric])
        what = "energy per token" if emetric == "energy_per_token_pj" else "energy per op"
        s = f"{names[e.name]} needs the least {what}: {ue.fmt(e[emetric], 3)} {ue.unit}"
        r2 = _runner_up(sub, e, emetric, "min", names)
        if r2 is not None and float(e[emetric]) > 0:
            s += f" ({_f(float(r2[emetric]) / float(e[emetric]))}x less than {names[r2.name]})"
        shares = _parts_share(e.get("energy_pj_by_part"))
        if shares:
            s += "; " + ", ".join(f"{_pct(x)} goes to {p}" for p, x in shares[:2] if x >= 0.05)
        if r2 is not None:
            sh2 = _parts_share(r2.get("energy_pj_by_part"))
            if sh2:
                s += f", while {names[r2.name]} spends {_pct(sh2[0][1])} of its energy on {sh2[0][0]}"
        out.append(s + ".")
    if with_error and "sqnr_db" in sub and np.isfinite(_numeric(sub["sqnr_db"])).any():
        hi = best_row(sub, "sqnr_db", "max")
        lo = best_row(sub, "sqnr_db", "min")
        if hi is not None and lo is not None and float(hi["sqnr_db"]) != float(lo["sqnr_db"]):
            out.append(f"Numerical error{'' if not wl else ' on ' + wl}: {names[hi.name]} keeps {_f(hi['sqnr_db'])} dB SQNR ({hi.get('quant')}), "
                       f"{names[lo.name]} {_f(lo['sqnr_db'])} dB ({lo.get('quant')}), measured on the "
                       "recipes' hardware compute paths.")
    return out


def explain_error(df: pd.DataFrame, groups: pd.Series) -> str | None:
    """One sentence: each quantisation recipe's SQNR (a property of the recipe, the same on
    every workload) and the designs (groups) that use it, most accurate first."""
    if "sqnr_db" not in df or "quant" not in df:
        return None
    rows = df[pd.to_numeric(df["sqnr_db"], errors="coerce").notna() & df["quant"].notna()]
    if rows["quant"].nunique() < 2:
        return None
    parts = []
    for q, sub in sorted(rows.groupby("quant"), key=lambda t: -float(t[1]["sqnr_db"].max())):
        who = ", ".join(dict.fromkeys(str(g) for g in groups[sub.index] if g)) or "all"
        lo, hi = float(sub["sqnr_db"].min()), float(sub["sqnr_db"].max())
        val = f"{_f(hi)} dB" if abs(hi - lo) < 1e-9 else f"{_f(lo)}-{_f(hi)} dB"
        parts.append(f"{q} {val} ({who})")
    src = {str(s) for s in rows.get("error_source", pd.Series(dtype=object)).dropna()}
    how = " on the recipes' hardware compute paths against float32" if src else ""
    return ("Numerical error is the recipe's, the same on every workload (SQNR" + how + "): "
            + "; ".join(parts) + ".")
