"""Interactive report figures (Plotly): hovering a point shows its design's parameters and
figures. The HTML report embeds each figure as JSON and draws it with the plotly.js that
:func:`write_assets` copies beside the page (``assets/plotly.min.js``), so the report
works offline.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from hwsim.report.analysis import fmt_value
from hwsim.report.data import DESIGN_PREFIX
from hwsim.report.pareto import pareto_mask
from hwsim.report.units import unit_for

ASSET = "assets/plotly.min.js"
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
            "#bcbd22", "#17becf")
#: Metrics listed in every hover box (when the record has them).
HOVER_METRICS = ("tokens_per_s", "tops", "utilization", "energy_per_token_pj", "energy_per_op_pj",
                 "area_um2", "sqnr_db", "ops_per_dram_byte")


def write_assets(out_dir) -> Path:
    """Copy plotly.js (from the installed ``plotly`` package) to ``out_dir/assets``."""
    from plotly.offline import get_plotlyjs

    path = Path(out_dir) / ASSET
    path.parent.mkdir(parents=True, exist_ok=True)
    js = get_plotlyjs()
    if not path.is_file() or path.stat().st_size != len(js.encode()):
        path.write_text(js, encoding="utf-8")
    return path


def hover_texts(df: pd.DataFrame, names: pd.Series, units: dict) -> list[str]:
    """One hover box per row: the design's name, study, family and workload, every design
    field of its family, and its figures in the report's units."""
    out = []
    design_cols = [c for c in df.columns if c.startswith(DESIGN_PREFIX)]
    several = "study" in df and df["study"].nunique() > 1
    for i, r in df.iterrows():
        lines = [f"<b>{html.escape(str(names[i]))}</b>"]
        if several:
            lines.append(f"study: {html.escape(str(r['study']))}")
        lines.append(f"family: {html.escape(str(r['family']))} · workload: {html.escape(str(r['workload']))}")
        params = [f"{c[len(DESIGN_PREFIX):]}={fmt_value(r[c])}" for c in design_cols
                  if r[c] is not None and not (isinstance(r[c], float) and math.isnan(r[c]))
                  and c[len(DESIGN_PREFIX):] not in ("mapping", "mapping_objective")]
        for k in range(0, len(params), 4):
            lines.append(html.escape(", ".join(params[k:k + 4])))
        for m in HOVER_METRICS:
            if m in r and r[m] is not None and not (isinstance(r[m], float) and math.isnan(r[m])):
                u = units.get(m) or unit_for(m, df[m])
                lines.append(f"{u.name}: {u.fmt(r[m], 4)} {u.unit}")
        if r.get("quant"):
            lines.append(f"quantisation: {html.escape(str(r['quant']))}")
        out.append("<br>".join(lines))
    return out


def _axis(u, log: bool) -> dict:
    d = {"title": {"text": u.label}, "automargin": True, "gridcolor": "#e5e5e5", "zeroline": False}
    if log:
        d["type"] = "log"
    return d


def _positive(s) -> bool:
    v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    return v.size > 0 and bool((v > 0).all())


def _layout(title: str, height: int, **kw) -> dict:
    return {"title": {"text": title, "font": {"size": 14}}, "height": height, "hovermode": "closest",
            "margin": {"l": 60, "r": 20, "t": 60, "b": 50}, "legend": {"font": {"size": 10}},
            "plot_bgcolor": "white", **kw}


def _subplot_axes(n: int, cols: int, gap: float = 0.08, vgap: float = 0.16):
    """Domains of an ``n``-panel grid with ``cols`` columns: ``[(xdomain, ydomain), ...]``."""
    rows = -(-n // cols)
    w = (1 - gap * (cols - 1)) / cols
    h = (1 - vgap * (rows - 1)) / rows
    out = []
    for i in range(n):
        r, c = divmod(i, cols)
        x0 = c * (w + gap)
        y1 = 1 - r * (h + vgap)
        out.append(([x0, x0 + w], [y1 - h, y1]))
    return out, rows


def _clean(v):
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return None if not math.isfinite(f) else f
    if isinstance(v, np.integer):
        return int(v)
    return v


def pareto(df: pd.DataFrame, x: str, y: str, objectives: dict, constraints, names: pd.Series,
           color: pd.Series, title: str, units: dict) -> dict | None:
    """Scatter of ``y`` over ``x``, one panel per workload, points coloured by ``color``
    (family or a swept field), the Pareto front as a black step line."""
    if x not in df or y not in df or not (pd.to_numeric(df[x], errors="coerce").notna().any()
                                          and pd.to_numeric(df[y], errors="coerce").notna().any()):
        return None
    workloads = list(dict.fromkeys(df["workload"]))
    cols = min(len(workloads), 2)
    doms, rows = _subplot_axes(len(workloads), cols)
    ux, uy = units.get(x) or unit_for(x, df[x]), units.get(y) or unit_for(y, df[y])
    hover = pd.Series(hover_texts(df, names, units), index=df.index)
    cats = list(dict.fromkeys(color))
    data, layout = [], _layout(title, 380 * rows + 40)
    for i, wl in enumerate(workloads):
        sub = df[df["workload"] == wl]
        xa, ya = ("x", "y") if i == 0 else (f"x{i + 1}", f"y{i + 1}")
        for j, c in enumerate(cats):
            sel = sub[color[sub.index] == c]
            if sel.empty:
                continue
            data.append({"type": "scatter", "mode": "markers", "name": str(c), "legendgroup": str(c),
                         "showlegend": i == 0, "xaxis": xa, "yaxis": ya,
                         "x": [_clean(ux(v)) for v in sel[x]], "y": [_clean(uy(v)) for v in sel[y]],
                         "text": list(hover[sel.index]), "hovertemplate": "%{text}<extra></extra>",
                         "marker": {"size": 8, "opacity": 0.75, "color": _PALETTE[j % len(_PALETTE)]}})
        front = sub[pareto_mask(sub, objectives, constraints)].sort_values(x)
        if not front.empty:
            data.append({"type": "scatter", "mode": "lines+markers", "name": "Pareto front",
                         "legendgroup": "front", "showlegend": i == 0, "xaxis": xa, "yaxis": ya,
                         "x": [_clean(ux(v)) for v in front[x]], "y": [_clean(uy(v)) for v in front[y]],
                         "line": {"shape": "hv", "color": "black", "width": 1.5},
                         "marker": {"size": 12, "symbol": "circle-open", "color": "black"},
                         "text": list(hover[front.index]), "hovertemplate": "%{text}<extra></extra>"})
        xd, yd = doms[i]
        sfx = "" if i == 0 else str(i + 1)
        layout[f"xaxis{sfx}"] = {**_axis(ux, _positive(sub[x])), "domain": xd, "anchor": ya}
        layout[f"yaxis{sfx}"] = {**_axis(uy, _positive(sub[y])), "domain": yd, "anchor": xa}
        layout.setdefault("annotations", []).append(
            {"text": f"<b>{html.escape(wl)}</b>", "xref": "paper", "yref": "paper", "x": (xd[0] + xd[1]) / 2,
             "y": yd[1], "yanchor": "bottom", "showarrow": False, "font": {"size": 12}})
    return {"data": data, "layout": layout}


def bars(rows: pd.DataFrame, column: str, metric: str, names: list[str], title: str) -> dict | None:
    """Horizontal stacked bars of a ``{part: value}`` column, one bar per row."""
    if column not in rows or not any(isinstance(v, dict) and v for v in rows[column]):
        return None
    parts = sorted({p for d in rows[column] if isinstance(d, dict) for p in d})
    totals = [sum(float(v) for v in d.values()) if isinstance(d, dict) else 0.0 for d in rows[column]]
    u = unit_for(metric, totals)
    data = []
    for j, p in enumerate(parts):
        vals = [_clean(u(d.get(p, 0.0))) if isinstance(d, dict) else 0.0 for d in rows[column]]
        data.append({"type": "bar", "orientation": "h", "name": p, "y": names, "x": vals,
                     "hovertemplate": "%{y}<br>" + html.escape(p) + ": %{x:.4g} " + u.unit + "<extra></extra>",
                     "marker": {"color": _PALETTE[j % len(_PALETTE)]}})
    layout = _layout(title, 120 + 26 * len(rows), barmode="stack",
                     xaxis={"title": {"text": u.label}, "gridcolor": "#e5e5e5", "automargin": True},
                     yaxis={"autorange": "reversed", "automargin": True})
    return {"data": data, "layout": layout}


def layers(rows: pd.DataFrame, title: str) -> dict | None:
    """Per-op cycles (compute + DRAM stall) and energy by part of one record."""
    if rows is None or rows.empty:
        return None
    names = [f"{i}: {n} x{c}" if c > 1 else f"{i}: {n}" for i, n, c in zip(rows["idx"], rows["name"], rows["count"])]
    comp = rows["compute_cycles"].astype(float)
    stall = rows["stall_cycles"].astype(float)
    uc = unit_for("cycles", comp + stall)
    data = [{"type": "bar", "orientation": "h", "name": "compute", "y": names, "x": [uc(v) for v in comp],
             "xaxis": "x", "yaxis": "y", "marker": {"color": _PALETTE[0]},
             "hovertemplate": "%{y}<br>compute: %{x:.4g} " + uc.unit + "<extra></extra>"},
            {"type": "bar", "orientation": "h", "name": "DRAM stall", "y": names, "x": [uc(v) for v in stall],
             "xaxis": "x", "yaxis": "y", "marker": {"color": _PALETTE[3]},
             "hovertemplate": "%{y}<br>DRAM stall: %{x:.4g} " + uc.unit + "<extra></extra>"}]
    parts = [c for c in rows.columns if c.startswith("energy_pj.") and rows[c].notna().any()]
    two = bool(parts) and rows["energy_pj"].notna().all()
    layout = _layout(title, 140 + 22 * len(rows), barmode="stack",
                     xaxis={"title": {"text": uc.label}, "domain": [0, 0.46 if two else 1], "automargin": True,
                            "gridcolor": "#e5e5e5"},
                     yaxis={"autorange": "reversed", "automargin": True})
    if two:
        vals = rows[parts].fillna(0.0).astype(float)
        ue = unit_for("energy_pj", vals.sum(axis=1))
        for j, c in enumerate(parts):
            p = c[len("energy_pj."):]
            data.append({"type": "bar", "orientation": "h", "name": p, "y": names, "x": [ue(v) for v in vals[c]],
                         "xaxis": "x2", "yaxis": "y2", "marker": {"color": _PALETTE[(j + 4) % len(_PALETTE)]},
                         "hovertemplate": "%{y}<br>" + html.escape(p) + ": %{x:.4g} " + ue.unit + "<extra></extra>"})
        layout["xaxis2"] = {"title": {"text": ue.label}, "domain": [0.54, 1], "anchor": "y2", "gridcolor": "#e5e5e5"}
        layout["yaxis2"] = {"autorange": "reversed", "anchor": "x2", "showticklabels": False,
                            "matches": "y"}
    return {"data": data, "layout": layout}


def sensitivity(curves: dict, param: str, objectives: list[str], title: str, units: dict,
                hover: dict) -> dict | None:
    """One panel per objective: the objective against ``param``'s values, a line per
    workload, the other swept fields at that objective's best design (``hover`` gives
    each point's hover text)."""
    objs = [o for o in objectives if any(k[0] == o for k in curves)]
    if not objs:
        return None
    cols = min(len(objs), 4)
    doms, rows = _subplot_axes(len(objs), cols, gap=0.07)
    layout = _layout(title, 330 * rows + 40)
    data = []
    wls = list(dict.fromkeys(k[1] for k in curves))
    for i, o in enumerate(objs):
        u = units[o]
        xa, ya = ("x", "y") if i == 0 else (f"x{i + 1}", f"y{i + 1}")
        cat = False
        for (oo, wl), (xs, ys) in curves.items():
            if oo != o:
                continue
            cat = cat or any(isinstance(v, (str, bool, np.bool_)) for v in xs)
            j = wls.index(wl)
            data.append({"type": "scatter", "mode": "lines+markers", "name": wl, "legendgroup": wl,
                         "showlegend": i == 0, "xaxis": xa, "yaxis": ya,
                         "x": [fmt_value(v) if cat else _clean(v) for v in xs],
                         "y": [_clean(u(v)) for v in ys], "text": hover.get((o, wl), [""] * len(xs)),
                         "hovertemplate": "%{text}<extra></extra>",
                         "marker": {"color": _PALETTE[j % len(_PALETTE)]},
                         "line": {"color": _PALETTE[j % len(_PALETTE)]}})
        xd, yd = doms[i]
        sfx = "" if i == 0 else str(i + 1)
        xs_all = [v for k, (xs, _) in curves.items() if k[0] == o for v in xs]
        logx = (not cat) and all(isinstance(v, (int, float, np.number)) and v > 0 for v in xs_all) \
            and max(xs_all) / min(xs_all) >= 8
        xaxis = {"title": {"text": param.replace(DESIGN_PREFIX, "")}, "domain": xd, "anchor": ya,
                 "automargin": True, "gridcolor": "#e5e5e5"}
        if cat:
            xaxis["type"] = "category"
        elif logx:
            xaxis["type"] = "log"
        layout[f"xaxis{sfx}"] = xaxis
        layout[f"yaxis{sfx}"] = {"title": {"text": u.label}, "domain": yd, "anchor": xa, "automargin": True,
                                 "gridcolor": "#e5e5e5"}
    return {"data": data, "layout": layout}


def embed(fig: dict, div_id: str) -> str:
    """The figure as a placeholder div plus its JSON (drawn by :data:`BOOT_JS`)."""
    text = json.dumps(fig, separators=(",", ":"), allow_nan=False, default=_clean)
    text = text.replace("</", "<\\/")
    h = int(fig.get("layout", {}).get("height", 400))
    return (f"<div class='plot' id='{div_id}' style='min-height:{h}px'></div>"
            f"<script type='application/json' id='{div_id}-spec'>{text}</script>")


#: Collects the page's console errors and failed loads into ``data-console-errors`` (a
#: count on ``<html>``) and ``<pre id="hwsim-console-errors">``, so a headless browser's
#: DOM dump shows them (``scripts/check_reports_browser.py``).
HEAD_JS = """
(function(){
  var errs=[],oe=console.error;
  function note(msg){
    errs.push(String(msg));
    document.documentElement.setAttribute('data-console-errors',String(errs.length));
    var p=document.getElementById('hwsim-console-errors');
    if(p){p.textContent=errs.join('\\n');}
  }
  console.error=function(){note(Array.prototype.join.call(arguments,' '));oe.apply(console,arguments);};
  window.addEventListener('error',function(e){
    note('error: '+(e.message||(e.target&&(e.target.src||e.target.href))||'unknown'));},true);
  window.addEventListener('unhandledrejection',function(e){note('unhandled rejection: '+e.reason);});
  document.addEventListener('DOMContentLoaded',function(){
    document.documentElement.setAttribute('data-console-errors',String(errs.length));
    var p=document.getElementById('hwsim-console-errors');if(p){p.textContent=errs.join('\\n');}});
})();
"""

#: Draws every embedded figure; a figure that fails logs a console error and is marked.
BOOT_JS = """
(function(){
  var divs=document.querySelectorAll('div.plot');
  if(typeof Plotly==='undefined'){console.error('hwsim report: plotly.js did not load ('+
    'assets/plotly.min.js missing?)');return;}
  divs.forEach(function(d){
    try{
      var spec=JSON.parse(document.getElementById(d.id+'-spec').textContent);
      Plotly.newPlot(d,spec.data,spec.layout,{responsive:true,displaylogo:false}).then(function(){
        d.setAttribute('data-rendered','yes');
      },function(e){d.setAttribute('data-rendered','failed');console.error('hwsim report: '+d.id+': '+e);});
    }catch(e){d.setAttribute('data-rendered','failed');console.error('hwsim report: '+d.id+': '+e);}
  });
})();
"""
