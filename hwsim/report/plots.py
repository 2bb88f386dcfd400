"""Report figures (matplotlib, Agg canvas; no pyplot global state).

Every function takes the records table and returns a :class:`matplotlib.figure.Figure`
or ``None`` when the records hold nothing to draw. Axis labels carry units.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hwsim.report.pareto import pareto_mask

#: Human labels with units for record metrics.
LABELS = {
    "tops": "achieved throughput (TOPS)",
    "throughput_ops_per_s": "throughput (ops/s)",
    "area_um2": "area (um^2)",
    "area_mm2": "area (mm^2)",
    "energy_pj": "energy (pJ)",
    "energy_per_op_pj": "energy per op (pJ/op)",
    "energy_per_token_pj": "energy per token (pJ/token)",
    "tops_per_w": "efficiency (TOPS/W)",
    "tops_per_mm2": "density (TOPS/mm^2)",
    "utilization": "utilisation (fraction of peak)",
    "peak_macs_per_cycle": "peak MACs/cycle (PEs)",
    "peak_tops": "peak throughput (TOPS)",
    "cycles": "cycles",
    "latency_s": "latency (s)",
    "dram_bytes": "DRAM traffic (bytes)",
    "dram_bytes_per_op": "DRAM bytes per op (B/op)",
    "ops_per_dram_byte": "arithmetic intensity (ops/DRAM byte)",
    "tokens_per_s": "tokens/s",
}

_MARKERS = "os^vD<>pP*hX"


def label(metric: str) -> str:
    return LABELS.get(metric, metric.replace("design.", ""))


def to_png(fig: Figure, dpi: int = 110) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)  # constrained layout already fits
    return buf.getvalue()


def _grid(n: int, max_cols: int = 3):
    cols = min(n, max_cols)
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


def pareto_figure(df: pd.DataFrame, x: str, y: str, objectives: dict, constraints: dict | None,
                  color_by: str | None, title: str) -> Figure | None:
    """Scatter of ``y`` against ``x`` per workload, the Pareto front drawn as a step line."""
    if not (_usable(df, x) and _usable(df, y)):
        return None
    workloads = list(dict.fromkeys(df["workload"]))
    fig = Figure(figsize=(5.2 * min(len(workloads), 3), 4.2 * _grid(len(workloads))[0]),
                 layout="constrained")
    fig.suptitle(title)
    cats = list(dict.fromkeys(df[color_by])) if color_by else [None]
    for ax, wl in zip(_axes(fig, len(workloads)), workloads):
        sub = df[df["workload"] == wl]
        front = pareto_mask(sub, objectives, constraints)
        for i, c in enumerate(cats):
            sel = (sub[color_by] == c).to_numpy() if color_by else np.ones(len(sub), bool)
            ax.scatter(sub[x][sel], sub[y][sel], s=14, alpha=0.45, marker=_MARKERS[i % len(_MARKERS)],
                       label=f"{color_by.replace('design.', '')}={c}" if color_by else "designs")
        f = sub[front].sort_values(x)
        ax.plot(f[x], f[y], color="black", lw=1.2, drawstyle="steps-post" if len(f) > 1 else "default",
                marker="o", mfc="none", ms=7, label=f"Pareto front ({len(f)})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(label(x))
        ax.set_ylabel(label(y))
        ax.set_title(wl, fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    return fig


def breakdown_figure(rows: pd.DataFrame, column: str, unit: str, title: str,
                     names: list[str]) -> Figure | None:
    """Stacked bars of a ``{part: value}`` column for the given rows (one bar per design)."""
    if column not in rows or not any(isinstance(v, dict) and v for v in rows[column]):
        return None
    parts = sorted({p for d in rows[column] if isinstance(d, dict) for p in d})
    fig = Figure(figsize=(max(5.0, 1.2 * len(rows) + 3), 4.2), layout="constrained")
    ax = fig.subplots()
    bottom = np.zeros(len(rows))
    for p in parts:
        vals = np.array([float(d.get(p, 0.0)) if isinstance(d, dict) else 0.0 for d in rows[column]])
        ax.bar(range(len(rows)), vals, bottom=bottom, label=p)
        bottom += vals
    ax.set_xticks(range(len(rows)), names, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(unit)
    ax.set_title(title)
    ax.legend(fontsize=7, ncols=2 if len(parts) > 6 else 1, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(True, axis="y", alpha=0.3)
    return fig


def _si(values, unit: str) -> tuple[float, str]:
    """A scale and prefixed unit that keep the largest value between 1 and 1000."""
    top = max((abs(float(v)) for v in values), default=0.0)
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if top >= scale:
            return scale, prefix + unit
    return 1.0, unit


def layers_figure(layers: pd.DataFrame, title: str) -> Figure | None:
    """Per-layer cycles (compute and DRAM stalls) and energy (by part) of one record's ops,
    every op's repeats included (``layers``: rows of :func:`hwsim.report.data.layer_table`)."""
    if layers is None or layers.empty:
        return None
    names = [f"{n} x{c}" if c > 1 else str(n) for n, c in zip(layers["name"], layers["count"])]
    y = np.arange(len(layers))
    parts = [c for c in layers.columns if c.startswith("energy_pj.")]
    has_e = bool(parts) and layers["energy_pj"].notna().all()
    fig = Figure(figsize=(10.0 if has_e else 6.0, 0.35 * len(layers) + 1.8), layout="constrained")
    axes = fig.subplots(1, 2 if has_e else 1, sharey=True, squeeze=False)[0]
    comp = layers["compute_cycles"].astype(float).to_numpy()
    stall = layers["stall_cycles"].astype(float).to_numpy()
    sc, unit = _si(comp + stall, "cycles")
    ax = axes[0]
    ax.barh(y, comp / sc, label="compute")
    ax.barh(y, stall / sc, left=comp / sc, label="DRAM stall")
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(unit)
    ax.set_title("cycles per layer")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(True, axis="x", alpha=0.3)
    if has_e:
        ax = axes[1]
        vals = layers[parts].fillna(0.0).astype(float)
        sc, unit = _si(vals.sum(axis=1) * 1e-12, "J")
        left = np.zeros(len(layers))
        for c in parts:
            v = vals[c].to_numpy() * 1e-12 / sc
            ax.barh(y, v, left=left, label=c[len("energy_pj."):])
            left += v
        ax.set_xlabel(unit)
        ax.set_title("energy per layer")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.grid(True, axis="x", alpha=0.3)
    fig.suptitle(title, fontsize=10)
    return fig


def roofline_figure(df: pd.DataFrame, design_ids: list[str], names: list[str]) -> Figure | None:
    """One roofline per design: min(peak, intensity x DRAM bandwidth), its workloads as points."""
    if not design_ids:
        return None
    fig = Figure(figsize=(4.6 * min(len(design_ids), 3), 3.9 * _grid(len(design_ids))[0]),
                 layout="constrained")
    fig.suptitle("Roofline per design (closed-form model; one point per workload)")
    for ax, did, name in zip(_axes(fig, len(design_ids)), design_ids, names):
        sub = df[df["design_id"] == did]
        peak = float(sub["peak_tops"].iloc[0])
        bw_tb = float(sub["dram_bw_bytes_per_s"].iloc[0]) / 1e12
        ai = pd.to_numeric(sub["ops_per_dram_byte"], errors="coerce").to_numpy(dtype=float)
        lo = max(min(np.nanmin(ai) / 4, peak / bw_tb / 8), 1e-3)
        hi = max(np.nanmax(ai) * 4, peak / bw_tb * 8)
        xs = np.geomspace(lo, hi, 200)
        ax.plot(xs, np.minimum(peak, xs * bw_tb), color="black", lw=1.5,
                label=f"roof: {peak:.3g} TOPS, {bw_tb * 1e3:.3g} GB/s")
        ax.axvline(peak / bw_tb, color="grey", ls=":", lw=1)
        for i, (_, r) in enumerate(sub.iterrows()):
            ax.scatter(r["ops_per_dram_byte"], r["tops"], marker=_MARKERS[i % len(_MARKERS)], s=40,
                       label=f"{r['workload']} (util {r['utilization']:.2f})", zorder=3)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(label("ops_per_dram_byte"))
        ax.set_ylabel(label("tops"))
        ax.set_title(name, fontsize=9)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=6.5, loc="lower right")
    return fig


def heatmap_figure(df: pd.DataFrame, x: str, y: str, facet: str | None, value: str = "utilization"
                   ) -> Figure | None:
    """Mean ``value`` over the other swept fields, on the ``x`` by ``y`` grid, per workload
    (columns) and per ``facet`` value (rows)."""
    if not (_usable(df, value) and x in df and y in df):
        return None
    workloads = list(dict.fromkeys(df["workload"]))
    facets = list(dict.fromkeys(df[facet])) if facet else [None]
    xs = sorted(df[x].unique())
    ys = sorted(df[y].unique())
    nr, nc = len(facets), len(workloads)
    fig = Figure(figsize=(0.45 * len(xs) * nc + 2.2 * nc + 1, 0.38 * len(ys) * nr + 1.4 * nr + 0.8),
                 layout="constrained")
    fig.suptitle(f"{label(value)}: mean over the other swept fields")
    axs = fig.subplots(nr, nc, squeeze=False)
    im = None
    for i, fv in enumerate(facets):
        for j, wl in enumerate(workloads):
            ax = axs[i][j]
            sub = df[(df["workload"] == wl) & ((df[facet] == fv) if facet else True)]
            piv = sub.pivot_table(index=y, columns=x, values=value, aggfunc="mean").reindex(
                index=ys, columns=xs)
            im = ax.imshow(piv.to_numpy(dtype=float), origin="lower", aspect="auto", vmin=0, vmax=1,
                           cmap="viridis")
            ax.set_xticks(range(len(xs)), [f"{v:g}" if isinstance(v, float) else str(v) for v in xs],
                          fontsize=7, rotation=90 if len(xs) > 8 else 0)
            ax.set_yticks(range(len(ys)), [f"{v:g}" if isinstance(v, float) else str(v) for v in ys],
                          fontsize=7)
            if len(xs) * len(ys) <= 100:
                arr = piv.to_numpy(dtype=float)
                for (r, c), v in np.ndenumerate(arr):
                    if not np.isnan(v):
                        ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=6,
                                color="white" if v < 0.6 else "black")
            ax.set_xlabel(x.replace("design.", ""))
            ax.set_ylabel(y.replace("design.", ""))
            t = wl if not facet else f"{wl}\n{facet.replace('design.', '')}={fv}"
            ax.set_title(t, fontsize=8)
    if im is not None:
        fig.colorbar(im, ax=axs, shrink=0.8, label=label(value))
    return fig
