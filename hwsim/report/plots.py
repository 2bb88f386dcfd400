"""Static report figures (matplotlib, Agg canvas; no pyplot global state).

Every function takes the records table (stored units) and returns a
:class:`matplotlib.figure.Figure`, or ``None`` when the records hold nothing to draw.
Axes show SI units chosen per axis (:mod:`hwsim.report.units`); log axes label only
1-2-5 steps in plain numbers. :func:`to_png` thins any tick labels that would still
overlap (:func:`overlapping_labels` finds them from the rendered text extents), so a
figure never prints one label over another. These PNGs go into ``summary.md``; the HTML
report draws the same data interactively (:mod:`hwsim.report.interactive`).
"""

from __future__ import annotations

import io
import itertools
import sys

import numpy as np
import pandas as pd
from matplotlib import ticker
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hwsim.report.pareto import pareto_mask
from hwsim.report.units import _sig, unit_for

_MARKERS = "os^vD<>pP*hX"


def label(metric: str, values=()) -> str:
    """Human label with unit of a record metric (or design field)."""
    return unit_for(metric, values).label


# ----------------------------------------------------------------------- legibility
def _texts(ax) -> dict:
    """The visible, non-empty text artists of one axes, by role."""
    def vis(ts):
        return [t for t in ts if t.get_visible() and t.get_text().strip()]

    return {"x": vis(ax.get_xticklabels()), "y": vis(ax.get_yticklabels()),
            "labels": vis([ax.xaxis.label, ax.yaxis.label, ax.title])}


def overlapping_labels(fig: Figure, pad: float = 0.5) -> list[tuple[str, str]]:
    """Pairs of texts of ``fig`` whose rendered bounding boxes overlap (after a draw):
    tick labels of one axis with each other, and any tick label, axis label or title of
    an axes with another of the same axes. ``pad`` pixels of each box are forgiven."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    r = canvas.get_renderer()
    bad = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        groups = _texts(ax)
        every = groups["x"] + groups["y"] + groups["labels"]
        boxes = {id(t): t.get_window_extent(r).expanded(1.0, 1.0) for t in every}

        def hit(a, b):
            ba, bb = boxes[id(a)], boxes[id(b)]
            return (min(ba.x1, bb.x1) - max(ba.x0, bb.x0) > pad) and (min(ba.y1, bb.y1) - max(ba.y0, bb.y0) > pad)

        for a, b in itertools.combinations(every, 2):
            if hit(a, b):
                bad.append((a.get_text(), b.get_text()))
    return bad


def _thin(ax, axis: str, renderer) -> bool:
    """Hide every other visible tick label of ``axis`` while its labels overlap; return
    whether anything was hidden."""
    changed = False
    for _ in range(6):
        labels = [t for t in (ax.get_xticklabels() if axis == "x" else ax.get_yticklabels())
                  if t.get_visible() and t.get_text().strip()]
        boxes = [t.get_window_extent(renderer) for t in labels]
        clash = any(min(a.x1, b.x1) - max(a.x0, b.x0) > 0.5 and min(a.y1, b.y1) - max(a.y0, b.y0) > 0.5
                    for a, b in zip(boxes, boxes[1:]))
        if not clash or len(labels) < 3:
            return changed
        for t in labels[1::2]:
            t.set_visible(False)
        changed = True
    return changed


def make_legible(fig: Figure) -> FigureCanvasAgg:
    """Draw ``fig`` and thin tick labels that overlap after layout (e.g. many categories,
    long log spans), drawing again if any were hidden; return the drawn canvas."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    r = canvas.get_renderer()
    again = False
    for ax in fig.axes:
        if ax.get_visible():
            for axis in ("x", "y"):
                again |= _thin(ax, axis, r)
            again |= _clear_corner(ax, r)
    if again:
        canvas.draw()
    return canvas


def _clear_corner(ax, renderer) -> bool:
    """Hide x tick labels that run into a y tick label (where the axes meet)."""
    ys = [t.get_window_extent(renderer) for t in ax.get_yticklabels() if t.get_visible() and t.get_text().strip()]
    hidden = False
    for t in ax.get_xticklabels():
        if not (t.get_visible() and t.get_text().strip()):
            continue
        a = t.get_window_extent(renderer)
        if any(min(a.x1, b.x1) - max(a.x0, b.x0) > 0.5 and min(a.y1, b.y1) - max(a.y0, b.y0) > 0.5 for b in ys):
            t.set_visible(False)
            hidden = True
    return hidden


def to_png(fig: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes, made legible first (one draw, at ``dpi``, for both the
    label check and the image); a pyplot figure is closed after."""
    from PIL import Image

    fig.set_dpi(dpi)
    canvas = make_legible(fig)
    buf = io.BytesIO()
    Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1) \
        .save(buf, format="png", optimize=False)
    if getattr(fig, "number", None) is not None and "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close(fig)
    return buf.getvalue()


def log_axis(ax, which: str) -> None:
    """A log axis labelled at 1-2-5 steps in plain numbers (no ``2x10^-1``), minor
    ticks unlabelled."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    lo, hi = (ax.get_xlim() if which == "x" else ax.get_ylim())
    span = np.log10(hi / lo) if lo > 0 and hi > 0 else 3
    subs = (1.0,) if span > 3 else (1.0, 2.0, 5.0) if span > 1 else (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)
    axis.set_major_locator(ticker.LogLocator(base=10, subs=subs, numticks=12))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: _sig(v, 3)))
    axis.set_minor_formatter(ticker.NullFormatter())


def _grid(n: int, max_cols: int = 3):
    cols = max(min(n, max_cols), 1)
    rows = -(-n // cols)
    return rows, cols


def _axes(fig: Figure, n: int, max_cols: int = 3, **kw):
    rows, cols = _grid(n, max_cols)
    axs = fig.subplots(rows, cols, squeeze=False, **kw)
    flat = list(axs.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return flat[:n]


def _usable(df: pd.DataFrame, metric: str) -> bool:
    return metric in df and pd.to_numeric(df[metric], errors="coerce").notna().any()


def _positive(s) -> bool:
    v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    return v.size > 0 and bool((v > 0).all())


def _short(text: str, n: int = 38) -> str:
    return text if len(text) <= n else text[: n - 1] + "\u2026"


# --------------------------------------------------------------------------- figures
def pareto_figure(df: pd.DataFrame, x: str, y: str, objectives: dict, constraints: dict | None,
                  color_by: str | None, title: str) -> Figure | None:
    """Scatter of ``y`` against ``x`` per workload, the Pareto front drawn as a step line."""
    if not (_usable(df, x) and _usable(df, y)):
        return None
    workloads = list(dict.fromkeys(df["workload"]))
    ux, uy = unit_for(x, df[x]), unit_for(y, df[y])
    nr, nc = _grid(len(workloads))
    fig = Figure(figsize=(5.2 * nc, 4.2 * nr), layout="constrained")
    fig.suptitle(title)
    cats = list(dict.fromkeys(df[color_by])) if color_by else [None]
    for ax, wl in zip(_axes(fig, len(workloads)), workloads):
        sub = df[df["workload"] == wl]
        front = pareto_mask(sub, objectives, constraints)
        for i, c in enumerate(cats):
            sel = (sub[color_by] == c).to_numpy() if color_by else np.ones(len(sub), bool)
            if not sel.any():
                continue
            ax.scatter(sub[x][sel].map(ux), sub[y][sel].map(uy), s=16, alpha=0.55,
                       marker=_MARKERS[i % len(_MARKERS)],
                       label=_short(str(c) if color_by.startswith("_") else f"{color_by.replace('design.', '')}={c}")
                       if color_by else "designs")
        f = sub[front].sort_values(x)
        ax.plot(f[x].map(ux), f[y].map(uy), color="black", lw=1.2,
                drawstyle="steps-post" if len(f) > 1 else "default", marker="o", mfc="none", ms=7,
                label=f"Pareto front ({len(f)})")
        if _positive(sub[x]):
            log_axis(ax, "x")
        if _positive(sub[y]):
            log_axis(ax, "y")
        ax.set_xlabel(ux.label)
        ax.set_ylabel(uy.label)
        ax.set_title(wl, fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    return fig


def breakdown_figure(rows: pd.DataFrame, column: str, metric: str, title: str,
                     names: list[str]) -> Figure | None:
    """Horizontal stacked bars of a ``{part: value}`` column (one bar per row, the design
    names on the y axis); ``metric`` gives the stored unit (``energy_pj``, ``area_um2``)."""
    if column not in rows or not any(isinstance(v, dict) and v for v in rows[column]):
        return None
    parts = sorted({p for d in rows[column] if isinstance(d, dict) for p in d})
    totals = [sum(float(v) for v in d.values()) if isinstance(d, dict) else 0.0 for d in rows[column]]
    u = unit_for(metric, totals)
    fig = Figure(figsize=(9.0, 0.42 * len(rows) + 1.8), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(rows))
    left = np.zeros(len(rows))
    for p in parts:
        vals = np.array([u(d.get(p, 0.0)) if isinstance(d, dict) else 0.0 for d in rows[column]])
        ax.barh(y, vals, left=left, label=p)
        left += vals
    ax.set_yticks(y, [_short(n, 48) for n in names], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(u.label)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncols=2 if len(parts) > 8 else 1, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(True, axis="x", alpha=0.3)
    return fig


def layers_figure(layers: pd.DataFrame, title: str) -> Figure | None:
    """Per-layer cycles (compute and DRAM stalls) and energy (by part) of one record's ops,
    every op's repeats included (``layers``: rows of :func:`hwsim.report.data.layer_table`)."""
    if layers is None or layers.empty:
        return None
    names = [f"{n} x{c}" if c > 1 else str(n) for n, c in zip(layers["name"], layers["count"])]
    y = np.arange(len(layers))
    parts = [c for c in layers.columns if c.startswith("energy_pj.") and layers[c].notna().any()]
    has_e = bool(parts) and layers["energy_pj"].notna().all()
    fig = Figure(figsize=(11.0 if has_e else 6.5, 0.35 * len(layers) + 1.9), layout="constrained")
    axes = fig.subplots(1, 2 if has_e else 1, sharey=True, squeeze=False)[0]
    comp = layers["compute_cycles"].astype(float).to_numpy()
    stall = layers["stall_cycles"].astype(float).to_numpy()
    uc = unit_for("cycles", comp + stall)
    ax = axes[0]
    ax.barh(y, uc(1) * comp, label="compute")
    ax.barh(y, uc(1) * stall, left=uc(1) * comp, label="DRAM stall")
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(uc.label)
    ax.set_title("cycles per layer", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(True, axis="x", alpha=0.3)
    if has_e:
        ax = axes[1]
        vals = layers[parts].fillna(0.0).astype(float)
        ue = unit_for("energy_pj", vals.sum(axis=1))
        left = np.zeros(len(layers))
        for c in parts:
            v = vals[c].to_numpy() * ue(1)
            ax.barh(y, v, left=left, label=c[len("energy_pj."):])
            left += v
        ax.set_xlabel(ue.label)
        ax.set_title("energy per layer", fontsize=10)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.grid(True, axis="x", alpha=0.3)
    fig.suptitle(title, fontsize=10)
    return fig


def roofline_figure(df: pd.DataFrame, design_keys: list[str], names: list[str], key: pd.Series
                    ) -> Figure | None:
    """One roofline per design: min(peak, intensity x DRAM bandwidth), its workloads as points."""
    if not design_keys:
        return None
    nr, nc = _grid(len(design_keys))
    fig = Figure(figsize=(4.8 * nc, 4.0 * nr), layout="constrained")
    fig.suptitle("Roofline per design (one point per workload)")
    for ax, dk, name in zip(_axes(fig, len(design_keys)), design_keys, names):
        sub = df[key == dk]
        peak = float(sub["peak_tops"].iloc[0])
        bw_tb = float(sub["dram_bw_bytes_per_s"].iloc[0]) / 1e12
        ai = pd.to_numeric(sub["ops_per_dram_byte"], errors="coerce").to_numpy(dtype=float)
        if not (peak > 0 and bw_tb > 0 and np.isfinite(ai).any()):
            ax.set_visible(False)
            continue
        lo = max(min(np.nanmin(ai) / 4, peak / bw_tb / 8), 1e-3)
        hi = max(np.nanmax(ai) * 4, peak / bw_tb * 8)
        xs = np.geomspace(lo, hi, 200)
        ax.plot(xs, np.minimum(peak, xs * bw_tb), color="black", lw=1.5,
                label=f"roof: {_sig(peak, 3)} TOPS, {_sig(bw_tb * 1e3, 3)} GB/s")
        ax.axvline(peak / bw_tb, color="grey", ls=":", lw=1)
        for i, (_, r) in enumerate(sub.iterrows()):
            if np.isfinite(float(r["ops_per_dram_byte"] or np.nan)) and r["tops"] > 0:
                ax.scatter(r["ops_per_dram_byte"], r["tops"], marker=_MARKERS[i % len(_MARKERS)], s=40,
                           label=_short(f"{r['workload']} (util {100 * r['utilization']:.1f} %)", 44), zorder=3)
        log_axis(ax, "x")
        log_axis(ax, "y")
        ax.set_xlabel(unit_for("ops_per_dram_byte").label)
        ax.set_ylabel(unit_for("tops").label)
        ax.set_title(_short(name, 60), fontsize=9)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=6.5, loc="lower right")
    return fig


def _tick(v) -> str:
    return _sig(float(v), 3) if isinstance(v, (float, np.floating)) else str(v)


def heatmap_figure(df: pd.DataFrame, x: str, y: str, facet: str | None, value: str = "utilization",
                   fixed: dict | None = None) -> Figure | None:
    """``value`` on the ``x`` by ``y`` grid, per workload (columns) and per ``facet``
    value (rows); ``df`` already holds one record per cell (the other swept fields at
    the values in ``fixed``, shown in the title)."""
    if not (_usable(df, value) and x in df and y in df):
        return None
    workloads = list(dict.fromkeys(df["workload"]))
    facets = list(dict.fromkeys(df[facet])) if facet else [None]
    xs = sorted(df[x].dropna().unique())
    ys = sorted(df[y].dropna().unique())
    nr, nc = len(facets), len(workloads)
    u = unit_for(value)
    fig = Figure(figsize=(max(0.55 * len(xs), 2.6) * nc + 1.6, max(0.4 * len(ys), 2.0) * nr + 1.6),
                 layout="constrained")
    sub_t = ", ".join(f"{k.replace('design.', '')}={_tick(v)}" for k, v in (fixed or {}).items())
    fig.suptitle(u.label + (f" (other fields: {sub_t})" if sub_t else ""), fontsize=10)
    axs = fig.subplots(nr, nc, squeeze=False)
    im = None
    top = max(float(pd.to_numeric(df[value], errors="coerce").max()) * u.scale, 1e-12)
    for i, fv in enumerate(facets):
        for j, wl in enumerate(workloads):
            ax = axs[i][j]
            sub = df[(df["workload"] == wl) & ((df[facet] == fv) if facet else True)]
            piv = sub.pivot_table(index=y, columns=x, values=value, aggfunc="first").reindex(index=ys, columns=xs)
            arr = piv.to_numpy(dtype=float) * u.scale
            im = ax.imshow(arr, origin="lower", aspect="auto", vmin=0, vmax=top, cmap="viridis")
            ax.set_xticks(range(len(xs)), [_tick(v) for v in xs], fontsize=7)
            ax.set_yticks(range(len(ys)), [_tick(v) for v in ys], fontsize=7)
            if len(xs) * len(ys) <= 100:
                for (r, c), v in np.ndenumerate(arr):
                    if not np.isnan(v):
                        ax.text(c, r, _sig(v, 2), ha="center", va="center", fontsize=6,
                                color="white" if v < 0.6 * top else "black")
            ax.set_xlabel(x.replace("design.", ""))
            ax.set_ylabel(y.replace("design.", ""))
            t = _short(wl, 34) if not facet else f"{_short(wl, 34)}\n{facet.replace('design.', '')}={fv}"
            ax.set_title(t, fontsize=8)
    if im is not None:
        fig.colorbar(im, ax=axs, shrink=0.8, label=u.label)
    return fig


def sensitivity_figure(curves: dict, param: str, objectives: list[str], title: str,
                       units: dict) -> Figure | None:
    """One panel per objective: the objective against the values of ``param``, one line
    per workload, the other swept fields at the objective's best design.

    ``curves[(objective, workload)]`` is ``(xs, ys)`` with ``xs`` the param's values (in
    order) and ``ys`` the objective (stored unit); ``units[objective]`` its display unit.
    """
    objs = [o for o in objectives if any(k[0] == o for k in curves)]
    if not objs:
        return None
    nr, nc = _grid(len(objs), 4)
    fig = Figure(figsize=(4.1 * nc, 3.5 * nr), layout="constrained")
    fig.suptitle(title, fontsize=10)
    for ax, o in zip(_axes(fig, len(objs), 4), objs):
        u = units[o]
        cat = False
        for i, ((oo, wl), (xs, ys)) in enumerate((k, v) for k, v in curves.items() if k[0] == o):
            cat = cat or any(isinstance(v, (str, bool, np.bool_)) for v in xs)
            xv = [str(v) if cat else float(v) for v in xs]
            ax.plot(xv, [u(v) for v in ys], marker=_MARKERS[i % len(_MARKERS)], ms=5, label=_short(wl, 40))
        vals = [u(v) for k, (_, ys) in curves.items() if k[0] == o for v in ys]
        if not cat:
            xs_all = [float(v) for k, (xs, _) in curves.items() if k[0] == o for v in xs]
            if xs_all and min(xs_all) > 0 and max(xs_all) / min(xs_all) >= 8:
                log_axis(ax, "x")
        if vals and min(vals) > 0 and max(vals) / min(vals) >= 20:
            log_axis(ax, "y")
        ax.set_xlabel(param.replace("design.", ""))
        ax.set_ylabel(u.label)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=6.5, loc="best")
    return fig
