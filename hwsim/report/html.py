"""``write_report(store, out_dir)``: a self-contained HTML report and a Markdown summary.

The report reads only the stored records (through :func:`hwsim.report.data.load`).
Every figure and table carries its provenance: how many records it draws on, which
metrics, which estimator, fidelity and code version produced them, and whether cost
figures were available. Figures are embedded in ``index.html`` as base64 PNG and also
written to ``figures/`` for ``summary.md``.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hwsim.errors import ConfigError
from hwsim.evaluate import METRICS
from hwsim.report import plots
from hwsim.report.data import DESIGN_PREFIX, load
from hwsim.report.pareto import pareto_front

log = logging.getLogger(__name__)

_TABLE_METRICS = ("tops", "utilization", "cycles", "latency_s", "tokens_per_s", "peak_tops",
                  "dram_bytes", "ops_per_dram_byte", "area_um2", "energy_pj", "energy_per_op_pj",
                  "energy_per_token_pj", "tops_per_w", "tops_per_mm2", "sqnr_db")


@dataclass
class Item:
    """One figure or table with its caption and provenance."""

    id: str
    title: str
    caption: str
    provenance: dict
    png: bytes | None = None
    table: list | None = None  # list of rows (first row = header)
    notes: list = field(default_factory=list)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "n/a"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).lower()
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return f"{v:.4g}" if 1e-3 <= abs(v) < 1e6 or v == 0 else f"{v:.3e}"
    return str(v)


def _available(df: pd.DataFrame, metric: str) -> bool:
    return metric in df and pd.to_numeric(df[metric], errors="coerce").notna().any()


def _spec_goals(meta: dict) -> tuple[dict, dict]:
    text = meta.get("spec_text", "")
    if not text:
        return {}, {}
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}, {}
    return dict(data.get("objectives", {})), {k: dict(v) for k, v in data.get("constraints", {}).items()}


def _check_goals(df, objectives: dict, constraints: dict, notes: list) -> tuple[dict, dict]:
    for m in list(objectives) + list(constraints):
        if m not in METRICS:
            raise ConfigError("--objective" if m in objectives else "--constraint",
                              f"unknown metric {m!r} (expected one of {', '.join(METRICS)})")
    obj = {}
    for m, s in objectives.items():
        if s not in ("min", "max"):
            raise ConfigError("--objective", f"{m} must be min or max, not {s!r}")
        if _available(df, m):
            obj[m] = s
        else:
            notes.append(f"Objective `{m}` is not in the records (no values); it is left out.")
    con = {}
    for m, b in constraints.items():
        if _available(df, m):
            con[m] = b
        else:
            notes.append(f"Constraint on `{m}` cannot be applied: the records hold no values for it.")
    return obj, con


def _design_name(row, swept: list[str]) -> str:
    return " ".join(f"{c[len(DESIGN_PREFIX):]}={_fmt(row[c])}" for c in swept) or row["design_id"][:8]


def _prov(df: pd.DataFrame, metrics, **extra) -> dict:
    p = {
        "records": int(len(df)),
        "workloads": ", ".join(dict.fromkeys(df["workload"])),
        "metrics": ", ".join(metrics),
        "estimator": ", ".join(sorted(set(df["estimator"]))),
        "fidelity": ", ".join(sorted(set(df["fidelity"]))),
        "code_version": ", ".join(sorted(set(df["code_version"]))),
        "record_schema": ", ".join(str(v) for v in sorted(set(df["schema_version"]))),
    }
    if any(m in ("area_um2", "energy_pj", "energy_per_op_pj", "energy_per_token_pj", "tops_per_w",
                 "tops_per_mm2", "area_mm2", "energy_pj_by_part", "area_um2_by_part") for m in metrics):
        cost = sorted({str(v) for v in df["cost_estimator"] if v is not None and v == v})
        p["cost_estimator"] = ", ".join(cost) or "none (cost model not available for these records)"
    p.update(extra)
    return p


def build_items(data, objectives: dict | None, constraints: dict | None, top: int) -> tuple[list, list]:
    """The report's figures and tables (``Item`` list) and report-level notes."""
    df = data.records.copy()
    notes: list[str] = []
    df["area_mm2"] = pd.to_numeric(df["area_um2"], errors="coerce") / 1e6
    df["dram_bytes_per_op"] = df["dram_bytes"] / df["ops"]
    spec_obj, spec_con = _spec_goals(data.meta)
    objectives = dict(spec_obj if objectives is None else objectives)
    constraints = dict(spec_con if constraints is None else constraints)
    objectives, constraints = _check_goals(df, objectives, constraints, notes)
    has_area = _available(df, "area_um2")
    has_energy = _available(df, "energy_per_op_pj")
    if not has_area or not has_energy:
        status = next((v.get("status") for v in df["cost_provenance"] if isinstance(v, dict)
                       and v.get("status")), "no cost figures in the records")
        notes.append(f"Cost figures (area, energy) are not in these records: {status}. Plots that "
                     "need them use stated proxies (PE count for area, DRAM bytes per op for energy).")
    if not objectives:
        objectives = {"tops": "max", "area_um2" if has_area else "peak_macs_per_cycle": "min"}
        notes.append("No objectives given: using " + ", ".join(f"{k} ({v})" for k, v in objectives.items()) + ".")

    design_cols = [c for c in df.columns if c.startswith(DESIGN_PREFIX)]
    swept = [c for c in design_cols if df[c].nunique() > 1]
    cats = [c for c in swept if df[c].map(lambda v: isinstance(v, (str, bool))).all()]
    nums = sorted([c for c in swept if c not in cats], key=lambda c: -df[c].nunique())
    color_by = cats[0] if cats else None
    df["design_name"] = [_design_name(r, swept) for _, r in df.iterrows()]
    items: list[Item] = []

    # ---- fidelity: model vs RTL per design (records of the RTL fidelity only)
    from hwsim.report.fidelity import fidelity_items

    fid_items, banners = fidelity_items(df, Item, _prov)
    items += fid_items
    if banners:
        notes.insert(0, f"WARNING: the RTL disagrees with the model or failed for {len(banners)} "
                     "record(s); see the fidelity section.")

    # ---- Pareto: throughput vs area
    ax_area = "area_mm2" if has_area else "peak_macs_per_cycle"
    obj_a = {"tops": "max", ("area_um2" if has_area else "peak_macs_per_cycle"): "min"}
    fig = plots.pareto_figure(df, ax_area, "tops", obj_a, constraints, color_by,
                              "Throughput vs area" if has_area else "Throughput vs PE count (area proxy)")
    if fig is not None:
        items.append(Item("pareto-area", "Pareto front: throughput vs area" if has_area else
                          "Pareto front: throughput vs PE count (area proxy)",
                          "Each point is one design on one workload; the black steps join the "
                          "feasible non-dominated designs (max TOPS, min " + plots.label(ax_area) + ")."
                          + ("" if has_area else " Area is not in the records, so the PE count "
                             "stands in for it."),
                          _prov(df, ["tops", ax_area], objectives=str(obj_a), constraints=str(constraints)),
                          png=plots.to_png(fig)))
    # ---- Pareto: energy per op vs throughput
    y_e = "energy_per_op_pj" if has_energy else "dram_bytes_per_op"
    obj_e = {"tops": "max", y_e: "min"}
    fig = plots.pareto_figure(df, "tops", y_e, obj_e, constraints, color_by,
                              "Energy per op vs throughput" if has_energy else
                              "DRAM bytes per op vs throughput (energy proxy)")
    if fig is not None:
        items.append(Item("pareto-energy", "Pareto front: energy per op vs throughput" if has_energy
                          else "Pareto front: DRAM bytes per op vs throughput (energy proxy)",
                          "Lower-right is better. " + ("" if has_energy else "Energy is not in the "
                          "records; off-chip bytes per operation stand in for it (DRAM access "
                          "dominates energy in these workloads)."),
                          _prov(df, ["tops", y_e], objectives=str(obj_e), constraints=str(constraints)),
                          png=plots.to_png(fig)))
    # ---- Pareto over the chosen objectives (when they differ from the above)
    ob = list(objectives)
    if len(ob) >= 2 and set(ob[:2]) not in ({"tops", "area_um2"}, {"tops", "peak_macs_per_cycle"},
                                             {"tops", "energy_per_op_pj"}):
        fig = plots.pareto_figure(df, ob[1], ob[0], objectives, constraints, color_by,
                                  "Chosen objectives: " + ", ".join(f"{k} ({v})" for k, v in objectives.items()))
        if fig is not None:
            items.append(Item("pareto-objectives", "Pareto front over the chosen objectives",
                              f"Front computed over all {len(ob)} objectives; the first two are drawn.",
                              _prov(df, ob, objectives=str(objectives), constraints=str(constraints)),
                              png=plots.to_png(fig)))

    # ---- best designs per workload (side by side)
    best_ids: list[str] = []
    for wl in dict.fromkeys(df["workload"]):
        sub = df[df["workload"] == wl]
        front = pareto_front(sub, objectives, constraints).head(top)
        if front.empty:
            notes.append(f"No feasible design for workload {wl} under the constraints.")
            continue
        best_ids += [d for d in front["design_id"] if d not in best_ids]
        metrics = [m for m in _TABLE_METRICS if _available(front, m)]
        header = ["", *[f"#{i + 1}" for i in range(len(front))]]
        rows = [header]
        for c in swept or design_cols[:3]:
            rows.append([c[len(DESIGN_PREFIX):], *[_fmt(v) for v in front[c]]])
        for m in metrics:
            rows.append([plots.label(m), *[_fmt(v) for v in front[m]]])
        rows.append(["design id", *[d[:10] for d in front["design_id"]]])
        items.append(Item(f"best-{len(items)}", f"Best designs for {wl}",
                          f"Feasible Pareto-optimal designs over {', '.join(f'{k} ({v})' for k, v in objectives.items())}, "
                          f"ranked by {ob[0]}; at most {top} shown ({int(len(sub))} records considered).",
                          _prov(sub, list(objectives) + metrics, constraints=str(constraints)),
                          table=rows))

    # ---- breakdowns of the best designs
    best = df[df["design_id"].isin(best_ids[:max(top, 1)])]
    first_wl = list(dict.fromkeys(df["workload"]))[0]
    bsub = best[best["workload"] == first_wl]
    names = list(bsub["design_name"])
    for col, unit, title in (("energy_pj_by_part", "energy (pJ)", "Energy by part"),
                             ("area_um2_by_part", "area (um^2)", "Area by part")):
        fig = plots.breakdown_figure(bsub, col, unit, f"{title} ({first_wl})", names)
        if fig is not None:
            items.append(Item(col, f"{title} of the best designs", f"Workload {first_wl}.",
                              _prov(bsub, [col]), png=plots.to_png(fig)))
        else:
            notes.append(f"{title}: not available in the records (cost model not wired when they were made).")
    acc = bsub.copy()
    acc["sram_words_by_buffer"] = [{k.split(":", 1)[1] + (" read" if k.startswith("sram_read") else " write"): v
                                    for k, v in a.items() if k.startswith("sram_") and v}
                                   for a in acc["actions"]]
    fig = plots.breakdown_figure(acc, "sram_words_by_buffer", "SRAM accesses (words)",
                                 f"On-chip buffer accesses ({first_wl})", names)
    if fig is not None:
        items.append(Item("sram-breakdown", "On-chip buffer accesses of the best designs",
                          "Word accesses per SRAM buffer, from the model's action counts "
                          f"(workload {first_wl}).", _prov(acc, ["actions"]), png=plots.to_png(fig)))

    # ---- per-layer results of the best design for each workload
    lay = data.layers
    for wl in dict.fromkeys(df["workload"]):
        wbest = [d for d in best_ids if ((df["design_id"] == d) & (df["workload"] == wl)).any()]
        if lay is None or lay.empty or not wbest:
            continue
        row = df[(df["design_id"] == wbest[0]) & (df["workload"] == wl)].iloc[0]
        rows = lay[lay["point_key"] == row["point_key"]].sort_values("idx")
        fig = plots.layers_figure(rows, f"{row['design_name']} on {wl}")
        if fig is not None:
            items.append(Item(f"layers-{len(items)}", f"Per-layer latency and energy ({wl})",
                              f"The best design for {wl} ({row['design_name']}), op by op with every repeat "
                              "included: compute and DRAM-stall cycles, and energy by part, from the "
                              "record's per-op results.", _prov(df[df["point_key"] == row["point_key"]],
                                                                ["cycles", "energy_pj"]),
                              png=plots.to_png(fig)))

    # ---- rooflines
    rids = best_ids[:min(6, max(top, 1))]
    rnames = [df[df["design_id"] == d]["design_name"].iloc[0] for d in rids]
    fig = plots.roofline_figure(df, rids, rnames)
    if fig is not None:
        items.append(Item("roofline", "Roofline per design",
                          "Achieved TOPS against operations per DRAM byte; the roof is the design's "
                          "peak compute and DRAM bandwidth (dotted: ridge point).",
                          _prov(df[df["design_id"].isin(rids)], ["tops", "ops_per_dram_byte", "peak_tops",
                                                                  "dram_bw_bytes_per_s"]),
                          png=plots.to_png(fig)))

    # ---- utilisation heatmap
    if len(nums) >= 2:
        x, y = nums[1], nums[0]
        facet = cats[0] if cats else None
        fig = plots.heatmap_figure(df, x, y, facet)
        if fig is not None:
            others = [c[len(DESIGN_PREFIX):] for c in swept if c not in (x, y, facet)]
            items.append(Item("heatmap", "Utilisation across the swept grid",
                              f"Mean utilisation over {', '.join(others) or 'no other field'}.",
                              _prov(df, ["utilization", x, y] + ([facet] if facet else [])),
                              png=plots.to_png(fig)))
    else:
        notes.append("Utilisation heatmap: needs at least two swept numeric fields.")

    # ---- study-specific sections (paper comparisons) registered by the families
    from hwsim.families import registry

    for fam_name in sorted(set(df["family"])):
        fam = registry().get(fam_name)
        for build in (fam.studies.values() if fam is not None else ()):
            items += build(df[df["family"] == fam_name], Item)
    return items, notes


def _html_table(rows) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows[1:])
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _md_table(rows) -> str:
    esc = [[str(c).replace("|", "\\|") for c in r] for r in rows]
    out = ["| " + " | ".join(esc[0]) + " |", "|" + "---|" * len(esc[0])]
    out += ["| " + " | ".join(r) + " |" for r in esc[1:]]
    return "\n".join(out)


_CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0;font-size:.85em}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:right}
td:first-child,th:first-child{text-align:left}img{max-width:100%}details{font-size:.8em;color:#555;margin-bottom:1.5em}
.note{background:#fff6db;padding:.4em .8em;border-left:4px solid #e0b000}code{background:#f3f3f3}
.warn{background:#fde2e1;padding:.4em .8em;border-left:4px solid #c0392b;font-weight:600}"""


def write_report(store_path, out_dir, objectives: dict | None = None, constraints: dict | None = None,
                 top: int = 5) -> Path:
    """Write ``index.html`` and ``summary.md`` (plus ``figures/*.png``) for a store.

    Parameters
    ----------
    store_path : path-like
        A store written by :func:`hwsim.sweep.run_sweep` (read as a snapshot).
    out_dir : path-like
        Created if absent.
    objectives, constraints : dict, optional
        Override the spec's ``{metric: "min"|"max"}`` and ``{metric: {"min"/"max": x}}``.
    top : int
        Designs per best-design table.
    """
    data = load(store_path)
    items, notes = build_items(data, objectives, constraints, top)
    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    meta = data.meta
    df = data.records
    title = f"hwsim sweep report: {meta.get('spec_name', data.path.stem)}"
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    overview = [
        ["field", "value"],
        ["store", str(data.path)],
        ["spec", f"{meta.get('spec_source', '')} (hash {meta.get('spec_hash', '?')})"],
        ["records", f"{len(df):,} ({df['design_id'].nunique():,} designs x {df['workload'].nunique()} workloads)"],
        ["family / fidelity", f"{', '.join(sorted(set(df['family'])))} / {', '.join(sorted(set(df['fidelity'])))}"],
        ["estimator", ", ".join(sorted(set(df["estimator"])))],
        ["code version", ", ".join(f"{k} ({v} records)" for k, v in df["code_version"].value_counts().items())],
        ["record schema / store layout", f"{', '.join(map(str, sorted(set(df['schema_version']))))} / {meta.get('store_version')}"],
        ["runs", "; ".join(f"#{r['run_id']} {r['status']} {r['started_at']} {r['executor']} evaluated {r['evaluated']}"
                           for r in data.runs)],
        ["generated", now],
    ]
    if df["code_version"].nunique() > 1:
        notes.append("The store holds records from several code versions (see the overview); "
                     "figures mix them.")

    h = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
         f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"]
    desc = tomllib.loads(meta["spec_text"]).get("description", "") if meta.get("spec_text") else ""
    if desc:
        h.append(f"<p>{html.escape(desc)}</p>")
    h.append(_html_table(overview))
    for n in notes:
        cls = "warn" if n.startswith("WARNING") else "note"
        h.append(f"<p class='{cls}'>{html.escape(n)}</p>")
    md = [f"# {title}", "", desc, "", _md_table(overview), ""]
    md += [f"> {n}" + "\n" for n in notes]
    toc = "".join(f"<li><a href='#{it.id}'>{html.escape(it.title)}</a></li>" for it in items)
    h.append(f"<ul>{toc}</ul>")
    for it in items:
        h.append(f"<h2 id='{it.id}'>{html.escape(it.title)}</h2><p>{html.escape(it.caption)}</p>")
        md += [f"## {it.title}", "", it.caption, ""]
        for n in it.notes:
            h.append(f"<p class='warn'>{html.escape(n)}</p>")
            md += [f"> **WARNING** {n}", ""]
        if it.png is not None:
            (out / "figures" / f"{it.id}.png").write_bytes(it.png)
            b64 = base64.b64encode(it.png).decode()
            h.append(f"<img alt='{html.escape(it.title)}' src='data:image/png;base64,{b64}'>")
            md += [f"![{it.title}](figures/{it.id}.png)", ""]
        if it.table is not None:
            h.append(_html_table(it.table))
            md += [_md_table(it.table), ""]
        prov = [["provenance", ""]] + [[k, str(v)] for k, v in it.provenance.items()]
        h.append("<details><summary>provenance</summary>" + _html_table(prov) + "</details>")
        md += ["<details><summary>provenance</summary>", "", _md_table(prov), "", "</details>", ""]
    h.append("</body></html>")
    (out / "index.html").write_text("\n".join(h), encoding="utf-8")
    (out / "summary.md").write_text("\n".join(md), encoding="utf-8")
    log.info("report written to %s (%d figures/tables)", out, len(items))
    return out
