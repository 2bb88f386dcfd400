"""The LUT-vs-MAC study section of a report: our measured ratios beside the LUT Tensor
Core paper's published ones, from stored records only (the paper's claims are cited
constants kept with the family, :data:`hwsim.families.lut.compare.PAPER_CLAIMS`).
Registered as the family's ``studies`` entry (see :mod:`hwsim.report.html`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hwsim.report import plots


def _core_pj(parts) -> float:
    if not isinstance(parts, dict):
        return float("nan")
    return float(sum(v for k, v in parts.items() if not (k.startswith("sram") or k.split(":")[0] == "dram")))


def lut_vs_mac_items(df: pd.DataFrame, Item) -> list:
    """LUT/MAC ratios per (workload, weight bits), with the LUT Tensor Core paper's claims."""
    from hwsim.families.lut.compare import GAP_NOTES, PAPER_CLAIMS, paper_figures

    need = {"design.core", "design.w_bits"}
    if not need <= set(df.columns) or set(df["design.core"]) != {"lut", "mac"}:
        return []
    d = df.copy()
    d["core_energy_pj"] = d["energy_pj_by_part"].map(_core_pj)
    d["core_tops_per_w"] = 2.0 * d["macs"] / (d["core_energy_pj"] * 1e-12) / 1e12
    # density of the tile itself: compute cycles (no DRAM stalls) over the tile's area
    tile_mm2 = d["area_um2_by_part"].map(lambda p: p.get("pe_array", np.nan) if isinstance(p, dict) else np.nan) / 1e6
    core_tops = 2.0 * d["macs"] * d["design.freq_mhz"].astype(float) * 1e6 / d["compute_cycles"] / 1e12
    d["tile_tops_per_mm2"] = core_tops / tile_mm2
    other = [c for c in d.columns if c.startswith("design.") and c not in need and d[c].nunique() > 1]
    keys = ["workload", "design.w_bits"] + other
    rows = [["workload", "W bits"] + [c[len("design."):] for c in other]
            + ["tile TOPS/mm^2 LUT/MAC", "paper TOPS/mm^2", "core TOPS/W LUT/MAC", "paper TOPS/W",
               "TOPS/W with memory LUT/MAC", "speed-up LUT/MAC"]]
    plot_rows = []
    for key, g in d.groupby(keys, sort=True):
        by = {r["design.core"]: r for _, r in g.iterrows()}
        if set(by) != {"lut", "mac"}:
            continue
        lut, mac = by["lut"], by["mac"]
        dens = lut["tile_tops_per_mm2"] / mac["tile_tops_per_mm2"]
        core = lut["core_tops_per_w"] / mac["core_tops_per_w"]
        sys_ = lut["tops_per_w"] / mac["tops_per_w"] if mac["tops_per_w"] else float("nan")
        speed = mac["compute_cycles"] / lut["compute_cycles"]
        key = key if isinstance(key, tuple) else (key,)
        fmt = lut.get("design.act_format", "int8")
        paper = paper_figures(int(key[1]), fmt)
        pd_, pe_ = paper.get("paper_tops_per_mm2_ratio"), paper.get("paper_tops_per_w_ratio")
        rows.append([key[0], int(key[1])] + list(key[2:]) + [
            f"{dens:.2f}", "-" if pd_ is None else f"{pd_:.1f}", f"{core:.2f}", "-" if pe_ is None else f"{pe_:.1f}",
            f"{sys_:.2f}", f"{speed:.2f}"])
        plot_rows.append((key[0], int(key[1]), dens, core))
    if len(rows) == 1:
        return []
    claims = [["claim", "ratio", "source"]] + [[c["claim"], c["ratio"], c["source"]] for c in PAPER_CLAIMS]
    items = []
    fig = _ratio_figure(plot_rows)
    prov = {"records": len(d), "metrics": "compute_cycles, macs, area_um2_by_part['pe_array'], tops_per_w, energy_pj_by_part (core = all parts but "
            "SRAM and DRAM), compute_cycles", "area": "synthesised tiles (cost provenance of each record)",
            "paper": "hwsim.families.lut.compare.PAPER_CLAIMS"}
    items.append(Item("lut-vs-mac", "LUT tensor core vs MAC tensor core: our ratios beside the paper's",
                      "LUT over MAC for the same tile (> 1 favours the LUT core), from the stored records, with "
                      "the paper's tensor-core ratios beside ours where it published one (W1 x FP16). "
                      "Compute density uses the compute cycles and the synthesised tile area; core energy "
                      "efficiency counts the tile's arithmetic, registers and control only, priced by the table "
                      "and, for INT8, scaled by each tile's gate-level activity factor (see the next section; "
                      "FP16 designs are priced by the table alone).",
                      prov, png=plots.to_png(fig) if fig is not None else None, table=rows))
    act = _lut_activity_item(Item)
    if act is not None:
        items.append(act)
    items.append(Item("lut-paper", "The LUT Tensor Core paper's published figures",
                      "Headline claims as published, each with its source.",
                      {"source": "hwsim.families.lut.compare.PAPER_CLAIMS"}, table=claims))
    items.append(Item("lut-gap", "Why our ratios differ from the paper's",
                      " ".join(line.strip() for line in GAP_NOTES.splitlines()).replace("* ", "\u2022 "),
                      {"source": "hwsim.families.lut.compare.GAP_NOTES"}))
    return items


def _lut_activity_item(Item):
    """The pinned gate-level activity runs of both tiles, which calibrate the records'
    core energies (:mod:`hwsim.families.lut.activity`)."""
    from hwsim.families.lut.activity import _pinned

    pin = _pinned()
    cores = pin["cores"]
    run = pin["run"]
    rows = [["W bits", "LUT pJ/MAC (gate level)", "MAC pJ/MAC (gate level)", "LUT/MAC energy (gate level)",
             "LUT/MAC energy (table)", "LUT datapath factor", "MAC datapath factor"]]
    for b in sorted(cores["lut"], key=int):
        if b not in cores["mac"]:
            continue
        lut, mac = cores["lut"][b], cores["mac"][b]
        rows.append([int(b), f"{lut['pj_per_mac']['activity']:.3f}", f"{mac['pj_per_mac']['activity']:.3f}",
                     f"{lut['pj_per_mac']['activity'] / mac['pj_per_mac']['activity']:.2f}",
                     f"{lut['pj_per_mac']['table'] / mac['pj_per_mac']['table']:.2f}",
                     f"{lut['pe_array']['factor']:.2f}", f"{mac['pe_array']['factor']:.2f}"])
    if len(rows) == 1:
        return None
    first = str(rows[1][0])
    tile = f"M{run['tile_m']} N{run['tile_n']} K{run['tile_k']}"
    shape = "x".join(map(str, run["shape"]))
    return Item("lut-activity", "Gate-level activity energy of the two tiles (calibration runs)",
                f"Both tiles ({tile}) mapped onto the project's cell library and simulated under Verilator on "
                f"{run['n_gemms']} LLM-like INT8 GEMMs {shape} per precision; toggles priced with the cells' "
                "switching energies. Energy per MAC (tile only, no SRAM) and the factors (gate level / table) "
                "that scale the records' datapath energy. A lower bound: no glitches, wires or clock tree.",
                {"source": "hwsim/families/lut/data/calibration.json (hwsim.families.lut.activity)",
                 "runs": "; ".join(cores[c][first]["pe_array"]["source"].split(" (")[0] for c in ("lut", "mac"))},
                table=rows)


def _ratio_figure(rows):
    if not rows:
        return None
    import matplotlib.pyplot as plt

    wls = sorted({r[0] for r in rows})
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for ax, idx, title in ((axes[0], 2, "compute density (TOPS/mm^2)"), (axes[1], 3, "core energy efficiency (TOPS/W)")):
        width = 0.8 / max(len(wls), 1)
        for i, wl in enumerate(wls):
            pts = sorted((r[1], r[idx]) for r in rows if r[0] == wl)
            xs = np.arange(len(pts)) + i * width
            ax.bar(xs, [p[1] for p in pts], width, label=wl)
            ax.set_xticks(np.arange(len(pts)) + 0.4 - width / 2, [f"W{p[0]}" for p in pts])
        ax.axhline(1.0, color="k", lw=0.8)
        ax.axhline(10.0, color="tab:red", ls="--", lw=1, label="paper: >10x (headline)")
        ax.set_yscale("log")
        ax.set_ylabel("LUT / MAC")
        ax.set_title(title)
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("LUT tensor core over MAC tensor core with dequantisation (same tile)")
    return fig
