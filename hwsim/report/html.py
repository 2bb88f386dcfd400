"""``write_report(stores, out_dir)``: an HTML report (interactive) and a Markdown summary.

The report reads only the stored records (:func:`hwsim.report.data.load_many`), of one
store or of several (studies side by side), optionally of some families only. Its order:

1. **headline**: which design wins for which objective and workload, and sentences drawn
   from the records saying why (compute- or memory-bound, where the energy goes); each
   family's (or study's) balanced choice side by side; the balanced choice across
   workloads; what was swept; with several stores, the same metrics aligned per study;
2. Pareto fronts; the Pareto-optimal designs per workload;
3. per-layer latency and energy; energy, area and on-chip accesses by component for every
   workload; rooflines;
4. sensitivity: each swept field against each objective, the other fields at the
   objective's best design; utilisation over the two widest swept fields;
5. the families' own study sections (paper comparisons);
6. fidelity (model vs RTL) and provenance, last.

``index.html`` draws its figures with plotly.js from ``assets/`` (written beside it: the
report works offline); every figure is also a PNG in ``figures/`` for ``summary.md``.
Every figure and table carries its provenance.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import logging
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hwsim.errors import ConfigError
from hwsim.evaluate import METRICS
from hwsim.report import analysis, interactive, plots
from hwsim.report.data import DESIGN_PREFIX, load_many
from hwsim.report.pareto import pareto_front
from hwsim.report.units import unit_for

log = logging.getLogger(__name__)

_TABLE_METRICS = ("tokens_per_s", "tops", "utilization", "latency_s", "peak_tops", "dram_bytes",
                  "ops_per_dram_byte", "area_um2", "energy_pj", "energy_per_token_pj", "energy_per_op_pj",
                  "tops_per_w", "tops_per_mm2", "sqnr_db")
#: Most designs drawn in one breakdown or roofline figure.
MAX_HIGHLIGHTED = 12


@dataclass
class Item:
    """One figure or table with its caption and provenance.

    ``png`` is the static figure (``summary.md``; the HTML page too when there is no
    ``plot``); ``plot`` an interactive figure (:mod:`hwsim.report.interactive`);
    ``sentences`` paragraphs of findings; ``notes`` warnings.
    """

    id: str
    title: str
    caption: str
    provenance: dict
    png: bytes | None = None
    table: list | None = None  # list of rows (first row = header)
    notes: list = field(default_factory=list)
    plot: dict | None = None
    sentences: list = field(default_factory=list)
    section: str = "Study"


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "n/a"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).lower()
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        from hwsim.report.units import _sig

        return _sig(float(v), 4)
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


def _spec_description(meta: dict) -> str:
    try:
        return tomllib.loads(meta["spec_text"]).get("description", "") if meta.get("spec_text") else ""
    except tomllib.TOMLDecodeError:
        return ""


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
    if "study" in df and df["study"].nunique() > 1:
        p["studies"] = ", ".join(dict.fromkeys(df["study"]))
    if any(m in ("area_um2", "energy_pj", "energy_per_op_pj", "energy_per_token_pj", "tops_per_w",
                 "tops_per_mm2", "area_mm2", "energy_pj_by_part", "area_um2_by_part") for m in metrics):
        cost = sorted({str(v) for v in df["cost_estimator"] if v is not None and v == v})
        p["cost_estimator"] = ", ".join(cost) or "none (cost model not available for these records)"
    p.update(extra)
    return p


def _goal_text(objectives: dict) -> str:
    return ", ".join(f"{unit_for(k).name} ({'higher' if v == 'max' else 'lower'} is better)"
                     for k, v in objectives.items())


class _Builder:
    """Builds the report's items from one loaded :class:`~hwsim.report.data.StoredSweep`."""

    def __init__(self, data, objectives, constraints, top: int):
        self.data = data
        self.top = top
        self.notes: list[str] = []
        self.items: list[Item] = []
        df = data.records.copy()
        df["area_mm2"] = pd.to_numeric(df["area_um2"], errors="coerce") / 1e6
        df["dram_bytes_per_op"] = df["dram_bytes"] / df["ops"]
        tok = pd.to_numeric(df.get("tokens"), errors="coerce")
        df["dram_bytes_per_token"] = df["dram_bytes"] / tok
        df["compute_area_um2"] = [float(p.get("pe_array", np.nan)) if isinstance(p, dict) else np.nan
                                  for p in df["area_um2_by_part"]]
        if "study" not in df:
            df["study"] = data.studies[0]
        self.workloads = _workload_order(data, df)
        spec_obj: dict = {}
        spec_con: dict = {}
        for s in (data.stores or ()):
            o, c = _spec_goals(s.meta)
            for k, v in o.items():
                spec_obj.setdefault(k, v)
            for k, v in c.items():
                spec_con.setdefault(k, v)
        if not data.stores:
            spec_obj, spec_con = _spec_goals(data.meta)
        objectives = dict(spec_obj if objectives is None else objectives)
        constraints = dict(spec_con if constraints is None else constraints)
        self.objectives, self.constraints = _check_goals(df, objectives, constraints, self.notes)
        self.has_area = _available(df, "area_um2")
        self.has_energy = _available(df, "energy_per_op_pj")
        if not self.has_area or not self.has_energy:
            status = next((v.get("status") for v in df["cost_provenance"] if isinstance(v, dict)
                           and v.get("status")), "no cost figures in the records")
            self.notes.append(f"Cost figures (area, energy) are not in these records: {status}. Plots that "
                              "need them use stated proxies (PE count for area, DRAM bytes per op for energy).")
        if not self.objectives:
            speed = "tokens_per_s" if _available(df, "tokens_per_s") else "tops"
            self.objectives = {speed: "max"}
            if _available(df, "energy_per_token_pj"):
                self.objectives["energy_per_token_pj"] = "min"
            elif self.has_energy:
                self.objectives["energy_per_op_pj"] = "min"
            self.objectives["area_um2" if self.has_area else "peak_macs_per_cycle"] = "min"
            self.notes.append("No objectives given: using " + _goal_text(self.objectives) + ".")
        df["design_name"] = analysis.design_names(df)
        df["design_key"] = analysis.design_key(df)
        df["group"] = analysis.group_key(df)
        self.several_groups = df["group"].nunique() > 1
        self.df = df
        self.names = df["design_name"]
        self.units = {m: unit_for(m, df[m]) for m in list(_TABLE_METRICS) + ["area_mm2", "compute_area_um2",
                                                                             "dram_bytes_per_token", "cycles"]
                      if m in df}
        for m in self.objectives:
            self.units.setdefault(m, unit_for(m, df[m]))
        design_cols = [c for c in df.columns if c.startswith(DESIGN_PREFIX)]
        self.swept = analysis.swept_columns(df)
        cats = [c for c in self.swept if df[c].dropna().map(lambda v: isinstance(v, (str, bool))).all()]
        if df["family"].nunique() > 1:
            self.color = df["family"].astype(str)
            self.color_name = "family"
        elif df["study"].nunique() > 1:
            self.color = df["study"].astype(str)
            self.color_name = "study"
        elif cats:
            self.color = cats[0][len(DESIGN_PREFIX):] + "=" + df[cats[0]].map(analysis.fmt_value)
            self.color_name = cats[0]
        else:
            self.color = pd.Series(["designs"] * len(df), index=df.index)
            self.color_name = None
        self.design_cols = design_cols
        self.balanced = analysis.balanced(df, self.objectives, self.constraints)
        self.group_best = self._group_best()

    # ------------------------------------------------------------------ helpers
    def add(self, item: Item, section: str) -> None:
        item.section = section
        self.items.append(item)

    def _group_best(self) -> dict:
        """Each group's (family's or study's) balanced choice: ``{group: design_key}``."""
        out = {}
        for g, sub in self.df.groupby("group", sort=False):
            b = analysis.balanced(sub, self.objectives, self.constraints)
            if not b.empty:
                key = b["design_key"].iloc[0]
                out[g] = key if not self.several_groups or "study" not in sub or sub["study"].nunique() == 1 \
                    else key
        return out

    def _rows_of(self, key: str, wl: str | None = None) -> pd.DataFrame:
        d = self.df[self.df["design_key"] == key]
        return d if wl is None else d[d["workload"] == wl]

    def _name_of(self, key: str) -> str:
        return str(self.df.loc[self.df["design_key"] == key, "design_name"].iloc[0])

    def _cell(self, r, m: str) -> str:
        u = self.units.get(m) or unit_for(m, self.df[m])
        return u.fmt(r[m], 4)

    # ------------------------------------------------------------------ headline
    def headline(self) -> None:
        df = self.df
        win = analysis.winners(df, self.objectives, self.constraints)
        header = ["objective"] + self.workloads
        rows = [header]
        for m, s in self.objectives.items():
            u = self.units[m]
            row = [f"{u.name} ({'max' if s == 'max' else 'min'}, {u.unit})" if u.unit else f"{u.name} ({s})"]
            for wl in self.workloads:
                r = win.get((m, wl))
                if r is None:
                    row.append("none feasible")
                    continue
                sub = df[(df["workload"] == wl)]
                v = pd.to_numeric(sub[m], errors="coerce")
                ties = sub[np.isclose(v, float(r[m]), rtol=1e-9, atol=0) & (sub["group"] != r["group"])]
                tie = ", ".join(dict.fromkeys(str(g) for g in ties["group"]))
                row.append(f"{r['design_name']}: {u.fmt(r[m], 4)}" + (f" (tied: {tie})" if tie else ""))
            rows.append(row)
        sentences = []
        for wl in self.workloads:
            sentences += analysis.explain_workload(df, wl, self.objectives, self.names, self.constraints,
                                                   with_error=False)
        err = analysis.explain_error(df, df["group"] if self.several_groups else df["design_name"])
        if err:
            sentences.append(err)
        winners_keys = list(dict.fromkeys(r["design_key"] for r in win.values()))
        self.highlight = list(dict.fromkeys(winners_keys + list(self.group_best.values())))[:MAX_HIGHLIGHTED]
        what = ", ".join(dict.fromkeys(df["family"]))
        self.add(Item("winners", "Which design wins, and why",
                      f"The best feasible design per objective (rows) and workload (columns) among "
                      f"{df['design_key'].nunique():,} designs ({what}); the sentences below are drawn from the "
                      "records: DRAM-stall share of the cycles, ops per DRAM byte against the design's ridge point "
                      "(peak ops/s over DRAM bytes/s), DRAM bytes per token, and the energy by part.",
                      _prov(df, list(self.objectives) + ["stall_cycles", "ops_per_dram_byte", "energy_pj_by_part"],
                            constraints=str(self.constraints)),
                      table=rows, sentences=sentences), "Headline")
        self._side_by_side()
        self._balanced_table()
        self._space_table()
        if len(self.data.stores) > 1:
            self._studies_table()

    def _side_by_side(self) -> None:
        """Each group's balanced choice, its figures per workload side by side."""
        if not self.several_groups or not self.group_best:
            return
        df = self.df
        metrics = [m for m in ("tokens_per_s", "energy_per_token_pj", "utilization") if _available(df, m)]
        if "tokens_per_s" not in metrics and _available(df, "tops"):
            metrics.insert(0, "tops")
        header = ["family / study" if df["study"].nunique() > 1 else "family", "design", "quantisation",
                  f"area ({self.units['area_mm2'].unit})" if "area_mm2" in self.units else "area",
                  "compute area (mm^2)", "SQNR (dB)"]
        for wl in self.workloads:
            for m in metrics:
                header.append(f"{wl}: {self.units[m].name} ({self.units[m].unit})")
        rows = [header]
        for g, key in self.group_best.items():
            d = self._rows_of(key)
            r0 = d.iloc[0]
            ca = r0["compute_area_um2"]
            row = [g, r0["design_name"], ", ".join(sorted({str(q) for q in d["quant"] if q})) or "n/a",
                   unit_for("area_um2").fmt(r0["area_um2"], 3),
                   "n/a" if not np.isfinite(ca) else unit_for("area_um2").fmt(ca, 3),
                   ", ".join(sorted({_fmt(v) for v in d["sqnr_db"] if v is not None and v == v})) or "n/a"]
            for wl in self.workloads:
                rw = d[d["workload"] == wl]
                for m in metrics:
                    row.append("not run" if rw.empty else self._cell(rw.iloc[0], m))
            rows.append(row)
        self.add(Item("side-by-side", "Side by side: each family's balanced choice",
                      "For each family (or study): the design closest to the best on every workload and objective "
                      "at once (see the next table), its area (total, and of the compute: the pe_array part of "
                      "the cost model), the numerical error of its quantisation recipe, and its throughput, energy "
                      "per token and utilisation per workload.",
                      _prov(df[df["design_key"].isin(self.group_best.values())],
                            metrics + ["area_um2", "area_um2_by_part", "sqnr_db"]), table=rows), "Headline")

    def _balanced_table(self) -> None:
        b = self.balanced
        if b.empty:
            self.notes.append("Balanced choice: no design has a feasible record on every workload.")
            return
        b = b.head(max(self.top, 3))
        header = ["rank", "design", "factor off the best (geometric mean)", "worst factor", "where"]
        rows = [header] + [[i + 1, self._name_of(r["design_key"]), f"{r['factor']:.3g}", f"{r['worst']:.3g}",
                            _where(r["worst_where"])] for i, r in b.iterrows()]
        self.add(Item("balanced", "Balanced choice across workloads",
                      "Designs ranked by the geometric mean, over every workload and objective ("
                      + _goal_text(self.objectives) + "), of the factor by which they miss that workload's best "
                      "feasible value (1 = the best everywhere); only designs run on every workload are ranked.",
                      _prov(self.df, list(self.objectives), constraints=str(self.constraints)), table=rows),
                 "Headline")

    def _space_table(self) -> None:
        df = self.df
        rows = [["family / study" if df["study"].nunique() > 1 else "family", "designs", "swept", "fixed",
                 "workloads", "quantisation", "fidelity"]]
        for g, sub in df.groupby("group", sort=False):
            swept = analysis.swept_columns(sub)
            sw = "; ".join(f"{c[len(DESIGN_PREFIX):]} = {', '.join(analysis.fmt_value(v) for v in _ordered(sub[c]))}"
                           for c in swept) or "nothing"
            fixed = [c for c in sub.columns if c.startswith(DESIGN_PREFIX) and c not in swept
                     and sub[c].notna().any()]
            fx = ", ".join(f"{c[len(DESIGN_PREFIX):]}={analysis.fmt_value(sub[c].iloc[0])}" for c in fixed
                           if c[len(DESIGN_PREFIX):] not in ("mapping", "mapping_objective")
                           and sub[c].iloc[0] is not None)
            rows.append([g or str(sub["family"].iloc[0]), f"{sub['design_key'].nunique():,}", sw, fx,
                         ", ".join(dict.fromkeys(sub["workload"])),
                         ", ".join(sorted({str(q) for q in sub["quant"] if q})) or "none",
                         ", ".join(sorted(set(sub["fidelity"])))])
        desc = [d for d in (_spec_description(s.meta) for s in self.data.stores) if d]
        self.add(Item("space", "What was swept",
                      "The design space per family (or study): swept fields with their values, fixed fields, "
                      "workloads and quantisation recipes.",
                      _prov(df, ["design"], specs=" / ".join(desc) or "n/a"), table=rows), "Headline")

    def _studies_table(self) -> None:
        """The same metrics aligned across the stores: the best value of each study."""
        df = self.df
        metrics = [m for m in dict.fromkeys(list(self.objectives) + ["tokens_per_s", "tops", "energy_per_token_pj",
                                                                     "area_um2", "sqnr_db"]) if _available(df, m)]
        studies = list(dict.fromkeys(df["study"]))
        rows = [["workload", "metric"] + studies]
        for wl in self.workloads:
            for m in metrics:
                sense = self.objectives.get(m) or ("max" if m in ("tokens_per_s", "tops", "sqnr_db") else "min")
                row = [wl, f"{self.units[m].name} ({self.units[m].unit}, {sense})"]
                for s in studies:
                    r = analysis.best_row(df[(df["study"] == s) & (df["workload"] == wl)], m, sense,
                                          self.constraints)
                    row.append("not run" if r is None else f"{self._cell(r, m)} ({r['design_name']})")
                rows.append(row)
        self.add(Item("studies", "Studies compared: the same metrics, aligned",
                      f"{len(studies)} stores; per workload (by name) and metric, each study's best feasible value "
                      "and the design that reaches it. 'not run': the study has no record of that workload.",
                      _prov(df, metrics), table=rows), "Headline")

    # ------------------------------------------------------------------ Pareto
    def pareto(self) -> None:
        df = self.df
        ax_area = "area_um2" if self.has_area else "peak_macs_per_cycle"
        speed = "tokens_per_s" if _available(df, "tokens_per_s") and df["tokens_per_s"].notna().all() else "tops"
        panels = [("pareto-area", "Pareto front: throughput vs area" if self.has_area else
                   "Pareto front: throughput vs PE count (area proxy)", ax_area, speed,
                   {speed: "max", ax_area: "min"},
                   "Each point is one design on one workload (hover for its parameters and figures); the black "
                   "steps join the feasible non-dominated designs." + ("" if self.has_area else
                                                                         " Area is not in the records, so the PE "
                                                                         "count stands in for it."))]
        y_e = ("energy_per_token_pj" if _available(df, "energy_per_token_pj") and speed == "tokens_per_s"
               else "energy_per_op_pj" if self.has_energy else "dram_bytes_per_op")
        panels.append(("pareto-energy", "Pareto front: energy vs throughput" if self.has_energy else
                       "Pareto front: DRAM bytes per op vs throughput (energy proxy)", speed, y_e,
                       {speed: "max", y_e: "min"}, "Lower right is better." + (
                           "" if self.has_energy else " Energy is not in the records; off-chip bytes per operation "
                           "stand in for it.")))
        ob = list(self.objectives)
        if len(ob) >= 2 and set(ob[:2]) not in ({speed, ax_area}, {speed, y_e}):
            panels.append(("pareto-objectives", "Pareto front over the chosen objectives", ob[1], ob[0],
                           self.objectives, f"Front computed over all {len(ob)} objectives ("
                           + _goal_text(self.objectives) + "); the first two are drawn."))
        for pid, title, x, y, obj, cap in panels:
            if not (_available(df, x) and _available(df, y)):
                continue
            units = dict(self.units)
            fig = plots.pareto_figure(df, x, y, obj, self.constraints, self.color_name if self.color_name and
                                      self.color_name.startswith(DESIGN_PREFIX) else None, title) \
                if not self.several_groups else _pareto_by(df, x, y, obj, self.constraints, self.color, title)
            spec = interactive.pareto(df, x, y, obj, self.constraints, self.names, self.color, title, units)
            self.add(Item(pid, title, cap, _prov(df, [x, y], objectives=str(obj), constraints=str(self.constraints)),
                          png=plots.to_png(fig) if fig is not None else None, plot=spec), "Pareto fronts")
        for wl in self.workloads:
            sub = df[df["workload"] == wl]
            front = pareto_front(sub, self.objectives, self.constraints).head(self.top)
            if front.empty:
                self.notes.append(f"No feasible design for workload {wl} under the constraints.")
                continue
            metrics = [m for m in _TABLE_METRICS if _available(front, m)]
            rows = [["", *[f"#{i + 1}" for i in range(len(front))]]]
            rows.append(["design", *front["design_name"]])
            for m in metrics:
                u = self.units.get(m) or unit_for(m, df[m])
                rows.append([u.label, *[u.fmt(v) for v in front[m]]])
            rows.append(["design id", *[d[:10] for d in front["design_id"]]])
            self.add(Item(f"best-{len(self.items)}", f"Best designs for {wl}",
                          f"Feasible Pareto-optimal designs over {_goal_text(self.objectives)}, ranked by "
                          f"{unit_for(ob[0]).name}; at most {self.top} shown ({len(sub):,} records considered).",
                          _prov(sub, list(self.objectives) + metrics, constraints=str(self.constraints)),
                          table=rows), "Pareto fronts")

    # ------------------------------------------------------------------ breakdowns
    def breakdowns(self) -> None:
        df = self.df
        keys = self.highlight
        who = ("the winners of the headline table and each family's balanced choice" if self.several_groups
               else "the winners of the headline table and the balanced choice")
        lay = self.data.layers
        # per-layer results: each group's balanced choice on every workload
        for wl in self.workloads:
            for g, key in self.group_best.items():
                rws = self._rows_of(key, wl)
                if lay is None or lay.empty or rws.empty:
                    continue
                r = rws.iloc[0]
                rows = lay[lay["point_key"] == r["point_key"]].sort_values("idx")
                if rows.empty:
                    continue
                title = f"{r['design_name']} on {wl}"
                self.add(Item(f"layers-{len(self.items)}", f"Per-layer latency and energy: {title}",
                              f"The balanced choice{' of ' + g if g else ''}, op by op with every repeat included: "
                              "compute and DRAM-stall cycles, and energy by part, from the record's per-op results.",
                              _prov(rws.iloc[:1], ["layers.cycles", "layers.energy_pj_by_part"]),
                              png=plots.to_png(plots.layers_figure(rows, title)),
                              plot=interactive.layers(rows, title)), "Per-layer results")
        no_layers = sorted({g for g, key in self.group_best.items()
                            if lay is None or lay.empty or not lay["point_key"].isin(self._rows_of(key)["point_key"]).any()})
        if no_layers:
            self.notes.append("Per-layer results: the records of " + ", ".join(x or "this study" for x in no_layers)
                              + " hold none (a system's scheduler times the workload as a whole).")
        # energy (and on-chip accesses) per workload, area once: the same designs everywhere
        for wl in self.workloads:
            sub = df[df["design_key"].isin(keys) & (df["workload"] == wl)]
            sub = sub.set_index("design_key").loc[[k for k in keys if k in set(sub["design_key"])]].reset_index()
            names = list(sub["design_name"])
            em = "energy_per_token_pj" if _available(sub, "energy_per_token_pj") else "energy_pj"
            per = sub.copy()
            if em == "energy_per_token_pj":
                per["energy_pj_by_part"] = [({k: float(v) / float(t) for k, v in p.items()} if isinstance(p, dict)
                                             and t else p) for p, t in zip(sub["energy_pj_by_part"], sub["tokens"])]
            title = f"Energy {'per token ' if em == 'energy_per_token_pj' else ''}by part on {wl}"
            fig = plots.breakdown_figure(per, "energy_pj_by_part", "energy_pj", title, names)
            if fig is not None:
                self.add(Item(f"energy-{len(self.items)}", title,
                              f"Designs: {who}. Parts are the cost model's components (pe_array: the compute; "
                              "sram:*: on-chip buffers; dram: off-chip traffic; control; leakage is in each part).",
                              _prov(sub, ["energy_pj_by_part"]), png=plots.to_png(fig),
                              plot=interactive.bars(per, "energy_pj_by_part", "energy_pj", names, title)),
                         "Energy and area by component")
            acc = sub.copy()
            acc["sram_words_by_buffer"] = [
                {k.split(":", 1)[1] + (" read" if k.startswith("sram_read") else " write"): v
                 for k, v in a.items() if k.startswith("sram_") and ":" in k and v} if isinstance(a, dict) else {}
                for a in acc["actions"]]
            if any(acc["sram_words_by_buffer"]):
                t2 = f"On-chip buffer accesses on {wl}"
                fig = plots.breakdown_figure(acc, "sram_words_by_buffer", "sram_words", t2, names)
                self.add(Item(f"sram-{len(self.items)}", t2,
                              f"Word accesses per SRAM buffer, from the model's action counts. Designs: {who}.",
                              _prov(acc, ["actions"]), png=plots.to_png(fig),
                              plot=interactive.bars(acc, "sram_words_by_buffer", "sram_words", names, t2)),
                         "Energy and area by component")
        sub = df[df["design_key"].isin(keys)].drop_duplicates("design_key")
        sub = sub.set_index("design_key").loc[[k for k in keys if k in set(sub["design_key"])]].reset_index()
        fig = plots.breakdown_figure(sub, "area_um2_by_part", "area_um2", "Area by part", list(sub["design_name"]))
        if fig is not None:
            self.add(Item("area_um2_by_part", "Area by part",
                          f"Designs: {who}. A design's area is the same on every workload.",
                          _prov(sub, ["area_um2_by_part"]), png=plots.to_png(fig),
                          plot=interactive.bars(sub, "area_um2_by_part", "area_um2", list(sub["design_name"]),
                                                "Area by part")), "Energy and area by component")
        elif not self.has_area:
            self.notes.append("Area by part: not available in the records (cost model not wired when they were made).")
        rk = [k for k in keys if _available(self._rows_of(k), "ops_per_dram_byte")][:6]
        fig = plots.roofline_figure(df, rk, [self._name_of(k) for k in rk], df["design_key"])
        if fig is not None:
            self.add(Item("roofline", "Roofline per design",
                          "Achieved TOPS against operations per DRAM byte; the roof is the design's peak compute and "
                          f"DRAM bandwidth (dotted: ridge point). Designs: {who}.",
                          _prov(df[df["design_key"].isin(rk)], ["tops", "ops_per_dram_byte", "peak_tops",
                                                               "dram_bw_bytes_per_s"]),
                          png=plots.to_png(fig)), "Energy and area by component")

    # ------------------------------------------------------------------ sensitivity
    def sensitivity(self) -> None:
        df = self.df
        objs = list(self.objectives)
        for g, sub in df.groupby("group", sort=False):
            swept = analysis.swept_columns(sub)
            for p in swept:
                others = [c for c in swept if c != p]
                curves, hover = {}, {}
                for o in objs:
                    for wl in self.workloads:
                        sw = sub[sub["workload"] == wl]
                        best = analysis.best_row(sw, o, self.objectives[o], self.constraints)
                        if best is None:
                            continue
                        sel = sw
                        for c in others:
                            sel = sel[analysis.same_value(sel[c], best[c])]
                        sel = sel[pd.to_numeric(sel[o], errors="coerce").notna()]
                        sel = sel.drop_duplicates(p)
                        if len(sel) < 2:
                            continue
                        keys_ = [_order_key(v) for v in sel[p]]
                        sel = sel.iloc[sorted(range(len(sel)), key=keys_.__getitem__)]
                        curves[(o, wl)] = (list(sel[p]), list(sel[o]))
                        hover[(o, wl)] = interactive.hover_texts(sel, self.names, self.units)
                if not curves:
                    continue
                name = p[len(DESIGN_PREFIX):]
                title = f"{g + ': ' if g else ''}{name} vs each objective"
                fig = plots.sensitivity_figure(curves, p, objs, title, self.units)
                self.add(Item(f"sens-{len(self.items)}", f"Sensitivity to {name}" + (f" ({g})" if g else ""),
                              f"Each objective against {name}, one line per workload; every other swept field ("
                              + (", ".join(c[len(DESIGN_PREFIX):] for c in others) or "none")
                              + ") held at the values of that objective's best design on that workload.",
                              _prov(sub, objs + [p]), png=plots.to_png(fig) if fig is not None else None,
                              plot=interactive.sensitivity(curves, p, objs, title, self.units, hover)),
                         "Sensitivity")
            self._heatmap(g, sub, swept)

    def _heatmap(self, g, sub, swept) -> None:
        cats = [c for c in swept if sub[c].dropna().map(lambda v: isinstance(v, (str, bool))).all()]
        nums = sorted([c for c in swept if c not in cats], key=lambda c: -sub[c].nunique())
        if len(nums) < 2 or not _available(sub, "utilization"):
            return
        x, y = nums[1], nums[0]
        facet = cats[0] if cats else None
        rest = [c for c in swept if c not in (x, y, facet)]
        key = self.group_best.get(g)
        ref = self._rows_of(key).iloc[0] if key is not None else sub.iloc[0]
        sel = sub
        for c in rest:
            sel = sel[analysis.same_value(sel[c], ref[c])]
        fixed = {c: ref[c] for c in rest}
        fig = plots.heatmap_figure(sel, x, y, facet, fixed=fixed)
        if fig is None:
            return
        fx = ", ".join(f"{c[len(DESIGN_PREFIX):]}={analysis.fmt_value(v)}" for c, v in fixed.items())
        self.add(Item(f"heatmap-{len(self.items)}", "Utilisation across the swept grid" + (f" ({g})" if g else ""),
                      f"Utilisation (% of peak) on the {x[len(DESIGN_PREFIX):]} x {y[len(DESIGN_PREFIX):]} grid"
                      + (f", per {facet[len(DESIGN_PREFIX):]}" if facet else "")
                      + (f"; the other swept fields at the balanced choice's values ({fx})" if fx else "")
                      + " (no averaging: one record per cell).",
                      _prov(sel, ["utilization", x, y] + ([facet] if facet else [])), png=plots.to_png(fig)),
                 "Sensitivity")

    # ------------------------------------------------------------------ the rest
    def studies(self) -> None:
        from hwsim.families import registry

        for fam_name in sorted(set(self.df["family"])):
            fam = registry().get(fam_name)
            for build in (fam.studies.values() if fam is not None else ()):
                for it in build(self.df[self.df["family"] == fam_name], Item):
                    self.add(it, "Family studies")

    def fidelity(self) -> None:
        from hwsim.report.fidelity import fidelity_items

        fid_items, banners = fidelity_items(self.df, Item, _prov)
        for it in fid_items:
            self.add(it, "Fidelity and provenance")
        if banners:
            self.notes.insert(0, f"WARNING: the RTL disagrees with the model or failed for {len(banners)} "
                              "record(s); see the fidelity section.")

    def provenance(self) -> None:
        df = self.df
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        rows = [["field", "value"]]
        for s in self.data.stores:
            m = s.meta
            sub = df[df["study"] == s.study]
            pre = f"{s.study}: " if len(self.data.stores) > 1 else ""
            rows += [
                [pre + "store", str(s.path)],
                [pre + "spec", f"{m.get('spec_source', '')} (hash {m.get('spec_hash', '?')})"],
                [pre + "records", f"{len(sub):,} ({sub['design_id'].nunique():,} designs x "
                                  f"{sub['workload'].nunique()} workloads)"],
                [pre + "family / fidelity", f"{', '.join(sorted(set(sub['family'])))} / "
                                            f"{', '.join(sorted(set(sub['fidelity'])))}"],
                [pre + "estimator", ", ".join(sorted(set(sub["estimator"])))],
                [pre + "cost estimator", ", ".join(sorted({str(v) for v in sub["cost_estimator"] if v and v == v}))
                 or "none"],
                [pre + "code version", ", ".join(f"{k} ({v} records)" for k, v in
                                                 sub["code_version"].value_counts().items())],
                [pre + "record schema / store layout",
                 f"{', '.join(map(str, sorted(set(sub['schema_version']))))} / {m.get('store_version')}"],
                [pre + "runs", "; ".join(f"#{r['run_id']} {r['status']} {r['started_at']} {r['executor']} "
                                         f"evaluated {r['evaluated']}" for r in s.runs)],
            ]
        rows.append(["generated", now])
        self.add(Item("provenance", "Provenance", "Where every record came from: stores, specs, runs, estimators "
                      "and code versions.", _prov(df, ["all"]), table=rows), "Fidelity and provenance")
        mixed = [str(g) or "the study" for g, sub in df.groupby(["study", "family"]) if sub["code_version"].nunique() > 1]
        if mixed:
            self.notes.append("Records of one family in one study come from several code versions ("
                              + ", ".join(map(str, mixed)) + "; see the provenance); figures mix them.")


def _where(text: str) -> str:
    """``"energy_per_token_pj on W"`` in words: ``"energy per token on W"``."""
    m, _, wl = text.partition(" on ")
    return f"{unit_for(m).name} on {wl}" if wl else text


def _workload_order(data, df) -> list[str]:
    """Workloads in the order the specs list them (then any other in record order)."""
    named = []
    for s in (data.stores or ()):
        try:
            spec = tomllib.loads(s.meta.get("spec_text", "") or "")
        except tomllib.TOMLDecodeError:
            continue
        named += [w.get("name") for w in spec.get("workloads", []) if isinstance(w, dict)]
    have = list(dict.fromkeys(df["workload"]))
    return [w for w in dict.fromkeys(named) if w in have] + [w for w in have if w not in named]


def _order_key(v):
    if isinstance(v, (bool, np.bool_)):
        return (0, int(v), "")
    if isinstance(v, (int, float, np.integer, np.floating)):
        return (1, float(v), "")
    return (2, 0.0, str(v))


def _ordered(s: pd.Series) -> list:
    vals = {repr(v): v for v in s if not (v is None or (isinstance(v, float) and math.isnan(v)))}
    return sorted(vals.values(), key=_order_key)


def _pareto_by(df, x, y, obj, constraints, color: pd.Series, title):
    d = df.copy()
    d["_color"] = color
    return plots.pareto_figure(d, x, y, obj, constraints, "_color", title)


def build_items(data, objectives: dict | None, constraints: dict | None, top: int) -> tuple[list, list]:
    """The report's figures and tables (``Item`` list, in page order) and report-level notes."""
    b = _Builder(data, objectives, constraints, top)
    b.headline()
    b.pareto()
    b.breakdowns()
    b.sensitivity()
    b.studies()
    b.fidelity()
    b.provenance()
    return b.items, b.notes


# ------------------------------------------------------------------------ rendering
def _html_table(rows, cls: str = "") -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows[1:])
    c = f" class='{cls}'" if cls else ""
    return f"<div class='tw'><table{c}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


def _md_table(rows) -> str:
    esc = [[str(c).replace("|", "\\|").replace("\n", " ") for c in r] for r in rows]
    out = ["| " + " | ".join(esc[0]) + " |", "|" + "---|" * len(esc[0])]
    out += ["| " + " | ".join(r) + " |" for r in esc[1:]]
    return "\n".join(out)


_CSS = """body{font-family:system-ui,sans-serif;max-width:1280px;margin:1.5em auto;padding:0 1em;color:#222}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
h3.sec{font-size:1.3em;margin-top:2em;color:#234}
.tw{overflow-x:auto}table{border-collapse:collapse;margin:.5em 0;font-size:.82em}
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:right;vertical-align:top}
th{background:#f3f5f8}td:first-child,th:first-child{text-align:left}
table.words td{text-align:left}table.named td:nth-child(2){text-align:left}img{max-width:100%}details{font-size:.8em;color:#555;margin-bottom:1.2em}
.note{background:#fff6db;padding:.4em .8em;border-left:4px solid #e0b000}code{background:#f3f3f3}
.warn{background:#fde2e1;padding:.4em .8em;border-left:4px solid #c0392b;font-weight:600}
ul.why li{margin:.3em 0}.toc{font-size:.85em;columns:3}.plot{width:100%}
.sub{color:#555;font-size:.9em}"""


def write_report(store_path, out_dir, objectives: dict | None = None, constraints: dict | None = None,
                 top: int = 5, family=None) -> Path:
    """Write ``index.html`` (interactive, with ``assets/``), ``summary.md`` and
    ``figures/*.png`` for one store or several.

    Parameters
    ----------
    store_path : path-like or list of path-like
        Stores written by :func:`hwsim.sweep.run_sweep` (read as snapshots); several are
        compared (their records carry the study they came from).
    out_dir : path-like
        Created if absent.
    objectives, constraints : dict, optional
        Override the specs' ``{metric: "min"|"max"}`` and ``{metric: {"min"/"max": x}}``.
    top : int
        Designs per best-design table.
    family : str or list of str, optional
        Report only these families' records.
    """
    paths = list(store_path) if isinstance(store_path, (list, tuple)) else [store_path]
    data = load_many(paths, family=family)
    items, notes = build_items(data, objectives, constraints, top)
    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    if any(it.plot is not None for it in items):
        interactive.write_assets(out)
    studies = data.studies
    if len(studies) == 1:
        title = f"hwsim report: {studies[0]}"
    else:
        short = analysis.short_names(studies)
        common = analysis.common_name(studies)
        title = f"hwsim report: {common + ': ' if common else ''}{', '.join(short[s] for s in studies)}"
    if family:
        title += " (" + ", ".join([family] if isinstance(family, str) else family) + ")"
    descs = [d for d in (_spec_description(s.meta) for s in data.stores) if d]
    h = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
         f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{_CSS}</style>"
         f"<script>{interactive.HEAD_JS}</script></head><body>"
         f"<h1>{html.escape(title)}</h1>"]
    md = [f"# {title}", ""]
    for d in descs[:1] if len(descs) == 1 else []:
        h.append(f"<p class='sub'>{html.escape(d)}</p>")
        md += [d, ""]
    for n in notes:
        if n.startswith("WARNING"):
            h.append(f"<p class='warn'>{html.escape(n)}</p>")
            md += [f"> **{n}**", ""]
    section = None
    body = []
    toc = []
    for it in items:
        if it.section != section:
            section = it.section
            sid = "sec-" + section.lower().replace(" ", "-")
            body.append(f"<h3 class='sec' id='{sid}'>{html.escape(section)}</h3>")
            toc.append(f"<li><a href='#{sid}'><b>{html.escape(section)}</b></a></li>")
            md += [f"# {section}", ""]
        toc.append(f"<li><a href='#{it.id}'>{html.escape(it.title)}</a></li>")
        body.append(f"<h2 id='{it.id}'>{html.escape(it.title)}</h2><p>{html.escape(it.caption)}</p>")
        md += [f"## {it.title}", "", it.caption, ""]
        for n in it.notes:
            body.append(f"<p class='warn'>{html.escape(n)}</p>")
            md += [f"> **WARNING** {n}", ""]
        if it.table is not None:
            body.append(_html_table(it.table, "words" if it.id in ("winners", "space", "balanced", "studies")
                                    else "named" if it.id == "side-by-side" else ""))
            md += [_md_table(it.table), ""]
        if it.sentences:
            body.append("<ul class='why'>" + "".join(f"<li>{html.escape(s)}</li>" for s in it.sentences) + "</ul>")
            md += [f"- {s}" for s in it.sentences] + [""]
        if it.png is not None:
            (out / "figures" / f"{it.id}.png").write_bytes(it.png)
            md += [f"![{it.title}](figures/{it.id}.png)", ""]
        if it.plot is not None:
            body.append(interactive.embed(it.plot, f"plot-{it.id}"))
        elif it.png is not None:
            b64 = base64.b64encode(it.png).decode()
            body.append(f"<img alt='{html.escape(it.title)}' src='data:image/png;base64,{b64}'>")
        prov = [["provenance", ""]] + [[k, str(v)] for k, v in it.provenance.items()]
        body.append("<details><summary>provenance</summary>" + _html_table(prov) + "</details>")
        md += ["<details><summary>provenance</summary>", "", _md_table(prov), "", "</details>", ""]
        if it.id == "winners":  # the first screen: winners and why; then notes and contents
            other = [n for n in notes if not n.startswith("WARNING")]
            body += [f"<p class='note'>{html.escape(n)}</p>" for n in other]
            md += [f"> {n}\n" for n in other]
            body.append("<!--toc-->")
    page_body = "\n".join(body)
    toc_html = "<details open><summary>contents</summary><ul class='toc'>" + "".join(toc) + "</ul></details>"
    page_body = page_body.replace("<!--toc-->", toc_html, 1) if "<!--toc-->" in page_body else toc_html + page_body
    h.append(page_body)
    if any(it.plot is not None for it in items):
        h.append(f"<script src='{interactive.ASSET}'></script><script>{interactive.BOOT_JS}</script>")
    h.append("<pre id='hwsim-console-errors' hidden></pre></body></html>")
    (out / "index.html").write_text("\n".join(h), encoding="utf-8")
    (out / "summary.md").write_text("\n".join(md), encoding="utf-8")
    log.info("report written to %s (%d figures/tables)", out, len(items))
    return out
