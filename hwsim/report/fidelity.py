"""The report's fidelity section: per design, does its RTL agree with the model's numbers?

Reads the ``rtl_check`` field of stored records (:func:`hwsim.fidelity.rtl_check`). Each
row says which fidelity each number came from (the record's cycles, energy and area from
the closed-form model; the agreement columns from the Verilated RTL on sampled workload
tiles), and every design whose RTL disagrees, or whose check failed, gets a warning.
"""

from __future__ import annotations

import pandas as pd

#: Relative error of the closed-form estimate against the RTL on a tile above which the
#: report warns (the estimators are exact on the tiles of every current family).
ESTIMATE_TOLERANCE = 0.01


def _db(v, exact: bool = False) -> str:
    if v is None:
        return "exact" if exact else "n/a"
    return f"{v:.1f} dB"


def _check(v) -> dict:
    return v if isinstance(v, dict) else {}


def disagreements(check: dict) -> list[str]:
    """What, in one record's ``rtl_check``, disagrees (empty when all agrees)."""
    if not check:
        return []
    if check.get("status") != "ok":
        log = check.get("log")
        return [f"the RTL check failed ({check.get('error', '?')})" + (f"; log: {log}" if log else "")]
    n = check["tiles_checked"]
    out = []
    if check["outputs_equal"] != n:
        out.append(f"RTL outputs differ from golden on {n - check['outputs_equal']} of {n} tiles")
    if check["cycles_equal"] != n:
        out.append(f"RTL cycles differ from the cycle-level model on {n - check['cycles_equal']} of {n} "
                   f"tiles (up to {check['cycles_max_abs_error']} cycles)")
    est = check.get("estimate_max_rel_error") or 0.0
    if est > ESTIMATE_TOLERANCE:
        out.append(f"the closed-form estimate (the report's cycles) is off the RTL by up to {est:.1%} on a tile")
    return out


def fidelity_items(df: pd.DataFrame, item_cls, prov) -> tuple[list, list]:
    """``(items, banners)``: the fidelity table (one row per design and workload) and one
    warning per record whose RTL disagrees. Empty when no record was checked on RTL."""
    if "rtl_check" not in df or not any(_check(v) for v in df["rtl_check"]):
        return [], []
    header = ["design", "workload", "numbers from", "tiles (per op, seed)", "outputs = golden",
              "RTL cycles = model", "estimate vs RTL", "recipe error", "RTL-path error (linear / attention)",
              "build / sim (s)", "agree"]
    rows = [header]
    banners = []
    for _, r in df.iterrows():
        c = _check(r["rtl_check"])
        name = r["design_name"]
        if not c:
            rows.append([name, r["workload"], f"model ({r['estimator']}); no RTL check", "", "", "", "", "",
                         "", "", "n/a"])
            continue
        s = c.get("sample", {})
        builds = c.get("builds", [])
        built = sum(not b["cached"] for b in builds)
        timing = f"{c.get('build_s', 0):.1f} ({built} built, {len(builds) - built} cached) / {c.get('sim_s', 0):.1f}"
        src = f"cycles/energy/area: model ({r['estimator']}); agreement: Verilator RTL"
        bad = disagreements(c)
        if c.get("status") != "ok":
            rows.append([name, r["workload"], src, f"{s.get('tiles')} ({s.get('seed')})", "failed", "failed",
                         "", "", "", timing, "NO"])
        else:
            n = c["tiles_checked"]
            rows.append([name, r["workload"], src, f"{n} ({s.get('tiles')}/op, seed {s.get('seed')})",
                         f"{c['outputs_equal']}/{n}",
                         f"{c['cycles_equal']}/{n} (max err {c['cycles_max_abs_error']})",
                         f"max {c.get('estimate_max_rel_error', 0.0):.2%}",
                         "" if c.get("recipe") is None else f"{c['recipe']}: {_db(c.get('recipe_sqnr_db'))}",
                         f"{_db(c.get('rtl_sqnr_db'), bool(c.get('rtl_exact')))} / "
                         f"{_db(c.get('rtl_sqnr_db_attention'))}", timing, "no" if bad else "yes"])
        for b in bad:
            banners.append(f"{name} on {r['workload']}: {b}.")
    checked = [_check(v) for v in df["rtl_check"] if _check(v)]
    ok = [c for c in checked if c.get("status") == "ok"]
    tiles = sum(c["tiles_checked"] for c in ok)
    caption = (f"{len(checked)} records checked on the Verilated RTL ({tiles} workload tiles; "
               f"{len(checked) - len(ok)} checks failed). The records' cycles, energy and area come from "
               "the closed-form model; each tile is a block of the op's outputs over its full K, run "
               "through golden, the cycle-level model and the RTL. 'estimate vs RTL' compares the "
               "closed-form estimate of the tile with the RTL's cycles. Recipe error: the workload "
               "recipe's quantiser on the linear-layer tiles; RTL-path error: the RTL outputs, scaled "
               "back, against the float32 product, on the linear-layer and on the attention tiles "
               "(pooled SQNR). Build seconds include waiting for another worker's build of the "
               "same configuration.")
    metrics = ["rtl_check"]
    item = item_cls("fidelity", "Fidelity: model vs RTL per design", caption,
                    prov(df[[bool(_check(v)) for v in df["rtl_check"]]], metrics), table=rows,
                    notes=list(banners))
    return [item], banners

