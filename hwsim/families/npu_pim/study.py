"""The NeuPIMs study section of a report (``sweeps/neupims.toml``): our throughput ratios
and utilisations beside the paper's, from stored records only.

Each record is one decode step timed by the system's scheduler. Per record:

* NPU utilisation = the NPU's MACs (action ``mac``) / (cycles x the arrays' peak);
* PIM utilisation = channel time spent issuing COMPs (``dram_cmd:COMP`` x ``t_comp``) /
  (cycles x channels): the fraction of the banks' peak MAC rate used;
* the GPU baseline is the A100-40GB roofline of the same step (:mod:`.gpu`), a pure
  function of the workload's shape (model, batch, context in the workload's name).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from hwsim.report import plots

#: NeuPIMs (Heo et al., "NeuPIMs: NPU-PIM Heterogeneous Acceleration for Batched LLM
#: Inferencing", ASPLOS 2024), as summarised in issue 16 and DESIGN.md.
PAPER_CLAIMS = (
    ("throughput NeuPIMs / NPU-only", 2.4, "x"),
    ("throughput NeuPIMs / naive NPU+PIM", 1.6, "x"),
    ("throughput NeuPIMs / GPU", 3.0, "x"),
    ("NPU utilisation, GPT3-30B batch 256: naive", 0.280, "%"),
    ("NPU utilisation, GPT3-30B batch 256: NeuPIMs", 0.649, "%"),
    ("PIM utilisation, GPT3-30B batch 256: naive", 0.17, "%"),
    ("PIM utilisation, GPT3-30B batch 256: NeuPIMs", 0.264, "%"),
    ("dual row buffers alone", 0.697, "+%"),
    ("sub-batch interleaving pays from batch", 256, "batch"),
)
PAPER_SOURCE = "NeuPIMs, ASPLOS 2024 (abstract and evaluation as quoted in issue 16)"

GAP_NOTES = (
    "Sub-batch interleaving makes each sub-batch read every weight again: our NPU streams its "
    "weights from the same 1 TB/s HBM2 (its 1 MiB scratchpads hold no layer), so the GEMMs of a "
    "sub-batch of 128 are memory bound and interleaving pays only once a sub-batch keeps the arrays "
    "busy (batch 512 here, 256 in the paper). "
    "The naive schedule here differs from NeuPIMs only by the missing overlap, the single row buffer "
    "and round-robin KV placement; the PIM timing of a GEMV is nearly the same with one or two row "
    "buffers (NewtonSim's dual-buffer rules shorten PIM-to-PIM gaps the score/context programs rarely "
    "hit), so the gain over naive comes from overlap and the row-buffer contention it removes. "
    "The GPU is an ideal roofline at 312 TFLOPS and 1.56 TB/s: decode GEMVs on a real A100 reach a "
    "fraction of both, which is where the paper's 3x comes from; against the roofline the ratio is "
    "a lower bound. "
    "PIM utilisation counts COMP issue slots; the paper's figure may count all PIM commands. "
    "The NPU and PIM figures are per device of NeuPIMs' model split; tensor-parallel all-reduce is not "
    "modelled.")


def _variant(row) -> str | None:
    """``neupims``, ``neupims-single`` (single row buffer), ``neupims-whole`` (no sub-batch
    interleaving), ``naive``, ``npu-only``; ``None`` for the repeats of the last two over
    fields only NeuPIMs reads."""
    from hwsim.families.npu_pim.config import NpuPimConfig

    s = row.get("design.schedule")
    dual = bool(row.get("design.dual_row_buffer", True))
    default_min = NpuPimConfig().sub_batch_min
    split = int(row.get("design.sub_batch_min", default_min)) <= default_min
    if s == "neupims":
        if split:
            return "neupims" if dual else "neupims-single"
        return "neupims-whole" if dual else None
    if s in ("naive", "npu-only") and dual and split:
        return s
    return None


def _config(row):
    """The design of a record (``design.<field>`` columns, or a ``design`` dict)."""
    import dataclasses

    from hwsim.families.npu_pim.config import NpuPimConfig

    if isinstance(row.get("design"), dict):
        return NpuPimConfig.from_dict(row["design"])
    kw = {}
    for f in dataclasses.fields(NpuPimConfig):
        v = row.get("design." + f.name)
        if v is None or (isinstance(v, float) and v != v):
            continue
        kw[f.name] = type(f.default)(v.item() if hasattr(v, "item") else v)
    return NpuPimConfig(**kw)


def _derived(df: pd.DataFrame) -> pd.DataFrame:
    from hwsim.errors import ConfigError
    from hwsim.families.npu_pim import gpu
    from hwsim.families.npu_pim.system import check_capacity, placement
    from hwsim.families.npu_pim.workload import Shard

    rows = []
    for _, r in df.iterrows():
        v = _variant(r)
        m = re.search(r"ctx(\d+)", str(r.get("workload", "")))
        if v is None or m is None or r.get("model") is None:
            continue
        cfg = _config(r)
        act = r["actions"] if isinstance(r["actions"], dict) else {}
        cyc = float(r["cycles"])
        sh = Shard.of(r["model"])
        if cfg.parallelism == "none":
            sh = Shard(sh.spec, 1, 1)
        batch = int(r["batch"])
        seqs = [int(m.group(1))] * batch
        g = gpu.step_seconds(sh, seqs)
        try:
            check_capacity(cfg, sh, seqs, placement(cfg, seqs))
            fits = "yes"
        except ConfigError:
            fits = "no"
        rows.append({"model": r["model"], "batch": batch, "variant": v, "tokens_per_s": float(r["tokens_per_s"]),
                     "npu_util": act.get("mac", 0) / (cyc * cfg.npu_peak_macs_per_cycle),
                     "pim_util": act.get("dram_cmd:COMP", 0) * cfg.pim.t_comp_eff * cfg.pim_cycle_ratio
                     / (cyc * cfg.pim_channels),
                     "gpu_tokens_per_s": batch / g, "fits": fits})
    return pd.DataFrame(rows)


def study_table(df: pd.DataFrame) -> tuple[list, dict]:
    """Rows (model, batch, tokens/s per variant, ratios, utilisations) and the figures the
    paper comparison needs."""
    d = _derived(df)
    if d.empty:
        return [], {}
    piv = d.pivot_table(index=["model", "batch"], columns="variant", values=["tokens_per_s", "npu_util", "pim_util"])
    gpu_t = d.groupby(["model", "batch"])["gpu_tokens_per_s"].first()
    fits = d[d["variant"] == "neupims"].groupby(["model", "batch"])["fits"].first()
    need = {"neupims", "naive", "npu-only"}
    rows = [["model", "batch", "NeuPIMs tok/s", "naive tok/s", "NPU-only tok/s", "GPU roofline tok/s",
             "vs NPU-only", "vs naive", "vs GPU", "single row buffer tok/s", "dual buffer gain",
             "no interleaving tok/s", "interleaving gain",
             "NPU util naive / NeuPIMs", "PIM util naive / NeuPIMs", "KV fits (NeuPIMs layout)"]]
    out: dict = {"per_point": []}
    for (model, batch), r in piv.iterrows():
        t = r["tokens_per_s"]
        if not need <= set(t.dropna().index):
            continue
        single = t.get("neupims-single", np.nan)
        whole = t.get("neupims-whole", np.nan)
        rec = {"model": model, "batch": int(batch), "vs_npu_only": t["neupims"] / t["npu-only"],
               "vs_naive": t["neupims"] / t["naive"], "vs_gpu": t["neupims"] / gpu_t[(model, batch)],
               "dual_gain": t["neupims"] / single - 1 if single == single else np.nan,
               "split_gain": t["neupims"] / whole - 1 if whole == whole else np.nan,
               "npu_naive": r["npu_util"]["naive"], "npu_neupims": r["npu_util"]["neupims"],
               "pim_naive": r["pim_util"]["naive"], "pim_neupims": r["pim_util"]["neupims"],
               "t": dict(t), "gpu": gpu_t[(model, batch)]}
        out["per_point"].append(rec)
        rows.append([model, int(batch), f"{t['neupims']:,.0f}", f"{t['naive']:,.0f}", f"{t['npu-only']:,.0f}",
                     f"{rec['gpu']:,.0f}", f"{rec['vs_npu_only']:.2f}x", f"{rec['vs_naive']:.2f}x",
                     f"{rec['vs_gpu']:.2f}x", f"{single:,.0f}" if single == single else "n/a",
                     f"{rec['dual_gain']:+.1%}" if single == single else "n/a",
                     f"{whole:,.0f}" if whole == whole else "n/a",
                     f"{rec['split_gain']:+.1%}" if whole == whole else "n/a",
                     f"{rec['npu_naive']:.1%} / {rec['npu_neupims']:.1%}",
                     f"{rec['pim_naive']:.1%} / {rec['pim_neupims']:.1%}", fits.get((model, batch), "n/a")])
    return rows, out


def paper_rows(out: dict) -> list:
    """Our figures beside the paper's: ratios as geometric means over the points (and the
    best point), utilisations at GPT3-30B batch 256."""
    pts = out.get("per_point", [])
    if not pts:
        return []
    gm = lambda xs: float(np.exp(np.mean(np.log(xs))))
    ours = {
        "throughput NeuPIMs / NPU-only": [p["vs_npu_only"] for p in pts],
        "throughput NeuPIMs / naive NPU+PIM": [p["vs_naive"] for p in pts],
        "throughput NeuPIMs / GPU": [p["vs_gpu"] for p in pts],
    }
    rows = [["figure", "paper", "ours", "how ours is taken"]]
    for name, paper, unit in PAPER_CLAIMS:
        if name in ours:
            xs = ours[name]
            rows.append([name, f"{paper:.1f}x", f"{gm(xs):.2f}x (max {max(xs):.2f}x)",
                         "geometric mean over models and batches (max)"])
    at = [p for p in pts if p["model"] == "gpt3-30b" and p["batch"] == 256]
    if at:
        p = at[0]
        for name, key in (("NPU utilisation, GPT3-30B batch 256: naive", "npu_naive"),
                          ("NPU utilisation, GPT3-30B batch 256: NeuPIMs", "npu_neupims"),
                          ("PIM utilisation, GPT3-30B batch 256: naive", "pim_naive"),
                          ("PIM utilisation, GPT3-30B batch 256: NeuPIMs", "pim_neupims")):
            paper = dict((c[0], c[1]) for c in PAPER_CLAIMS)[name]
            rows.append([name, f"{paper:.1%}", f"{p[key]:.1%}", "GPT3-30B, batch 256"])
    gains = [p["dual_gain"] for p in pts if p["dual_gain"] == p["dual_gain"]]
    if gains:
        best = max(pts, key=lambda p: p["dual_gain"] if p["dual_gain"] == p["dual_gain"] else -1)
        rows.append(["dual row buffers alone", "+69.7%", f"{np.mean(gains):+.1%} (max {best['dual_gain']:+.1%}, "
                     f"{best['model']} b{best['batch']})", "NeuPIMs schedule with vs without dual row buffers, mean"])
    split = [p for p in pts if p["split_gain"] == p["split_gain"]]
    if split:
        pays = sorted({p["batch"] for p in split if p["split_gain"] > 0})
        rows.append(["sub-batch interleaving pays from batch", "256",
                     str(pays[0]) if pays else "never in the sweep",
                     "smallest batch where NeuPIMs with two sub-batches beats it with one (any model)"])
    return rows


def _figure(out: dict):
    import matplotlib.pyplot as plt

    pts = out["per_point"]
    models = sorted({p["model"] for p in pts})
    fig, axes = plt.subplots(2, len(models), figsize=(4.2 * len(models), 6.5), constrained_layout=True,
                             squeeze=False)
    for j, m in enumerate(models):
        ps = sorted((p for p in pts if p["model"] == m), key=lambda p: p["batch"])
        b = [p["batch"] for p in ps]
        ax = axes[0][j]
        for v in ("neupims", "naive", "npu-only", "neupims-single", "neupims-whole"):
            ys = [p["t"].get(v, np.nan) for p in ps]
            ax.plot(b, ys, marker="o", label=v)
        ax.plot(b, [p["gpu"] for p in ps], marker="x", ls="--", label="GPU roofline")
        ax.set_xscale("log", base=2)
        ax.set_title(m)
        ax.set_xlabel("batch")
        ax.set_ylabel("tokens/s")
        ax = axes[1][j]
        ax.plot(b, [p["npu_neupims"] for p in ps], marker="o", label="NPU, NeuPIMs")
        ax.plot(b, [p["npu_naive"] for p in ps], marker="o", ls=":", label="NPU, naive")
        ax.plot(b, [p["pim_neupims"] for p in ps], marker="s", label="PIM, NeuPIMs")
        ax.plot(b, [p["pim_naive"] for p in ps], marker="s", ls=":", label="PIM, naive")
        ax.set_xscale("log", base=2)
        ax.set_ylim(0, 1)
        ax.set_xlabel("batch")
        ax.set_ylabel("utilisation")
    axes[0][0].legend(fontsize=7)
    axes[1][0].legend(fontsize=7)
    return fig


def neupims_items(df: pd.DataFrame, Item) -> list:
    """The report items of the study (empty when the records are not a NeuPIMs sweep)."""
    if "design.schedule" not in df.columns:
        return []
    rows, out = study_table(df)
    if len(rows) <= 1:
        return []
    prov = {"records": len(df), "metrics": "tokens_per_s, cycles, actions['mac'], actions['dram_cmd:COMP']",
            "gpu": "hwsim.families.npu_pim.gpu (A100-40GB roofline)", "paper": PAPER_SOURCE}
    items = [Item("neupims-points", "NPU + PIM: throughput per schedule over model and batch",
                  "Tokens per second of one decode step (one device of the model split) under each schedule, the "
                  "GPU roofline, the ratios of NeuPIMs to the others, the dual-row-buffer gain (NeuPIMs with vs "
                  "without) and the utilisations. Last column: whether the KV caches in the NeuPIMs layout (a K row "
                  "per 32 tokens, V rows per 512 tokens, so short contexts leave rows part-empty) and the weights fit "
                  "the 32 GiB stack; the timing of the points that do not is shown all the same.", prov, png=plots.to_png(_figure(out)), table=rows)]
    items.append(Item("neupims-paper", "NPU + PIM: our figures beside the NeuPIMs paper's",
                      "Ratios and utilisations as the paper states them and as our records give them.",
                      {"paper": PAPER_SOURCE}, table=paper_rows(out)))
    items.append(Item("neupims-gap", "Why our figures differ from the paper's", GAP_NOTES,
                      {"source": "hwsim.families.npu_pim.study.GAP_NOTES"}))
    items.append(timeline_item(Item))
    return items


def step_timeline(cfg, shard, seqs, layers: int = 3, bins: int = 120) -> dict:
    """NPU and PIM busy fraction over time of the first ``layers`` layers of one decode step
    (event-driven), in ``bins`` equal time bins."""
    from hwsim.families.npu_pim.system import StepSim, placement

    sim = StepSim(cfg, shard, seqs, placement(cfg, seqs), layers=layers)
    sim.run()
    end = max(e for _, _, e in sim.timeline)
    edges = np.linspace(0, end, bins + 1)
    busy = {"npu": np.zeros(bins), "pim": np.zeros(bins)}
    for eng, a, b in sim.timeline:
        lo = np.clip(edges[:-1], a, b)
        hi = np.clip(edges[1:], a, b)
        busy[eng] += hi - lo
    width = edges[1] - edges[0]
    return {"t_us": (edges[:-1] + width / 2) / cfg.freq_mhz, "npu": busy["npu"] / width,
            "pim": busy["pim"] / width / cfg.pim_channels}


def timeline_item(Item, model: str = "gpt3-30b", batch: int = 256, context: int = 228):
    """Utilisation over time of one decode step, naive vs NeuPIMs (computed from the model
    when the report is written: an illustration beside the records)."""
    import matplotlib.pyplot as plt

    from hwsim.families.npu_pim.config import NpuPimConfig
    from hwsim.families.npu_pim.workload import Shard

    sh = Shard.of(model)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4), constrained_layout=True, sharey=True)
    variants = (("naive", NpuPimConfig(schedule="naive")), ("neupims", NpuPimConfig()),
                ("neupims, one sub-batch", NpuPimConfig(sub_batch_min=1 << 20)))
    for ax, (name, cfg) in zip(axes, variants):
        tl = step_timeline(cfg, sh, [context] * batch)
        ax.plot(tl["t_us"], tl["npu"], label="NPU busy (computing or waiting on weights)")
        ax.plot(tl["t_us"], tl["pim"], label="PIM units busy (mean over channels)")
        ax.set_title(name)
        ax.set_xlabel("time (us), first 3 layers")
        ax.set_ylim(0, 1.05)
    axes[0].set_ylabel("busy fraction")
    axes[0].legend(fontsize=7)
    return Item("neupims-timeline", f"NPU + PIM: engines busy over time ({model}, batch {batch})",
                f"Busy fraction of the NPU arrays and of the PIM units over the first three layers of one decode "
                f"step ({model}, batch {batch}, context {context}), event-driven. The naive schedule alternates: "
                "the PIM idles during the GEMMs and the NPU during attention; two interleaved sub-batches overlap "
                "them.", {"source": "hwsim.families.npu_pim.study.step_timeline, run when the report is written "
                           "(not from stored records)"}, png=plots.to_png(fig))


STUDIES = {"neupims": neupims_items}


def serving_figure(timeline: list):
    """NPU and PIM utilisation and running batch per iteration of a serving run, over time."""
    import matplotlib.pyplot as plt

    t = [it["t_s"] for it in timeline]
    fig, ax = plt.subplots(figsize=(8, 3.6), constrained_layout=True)
    ax.plot(t, [it["npu_util"] for it in timeline], label="NPU utilisation")
    ax.plot(t, [it["pim_util"] for it in timeline], label="PIM busy fraction")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("utilisation")
    ax.set_ylim(0, 1)
    ax2 = ax.twinx()
    ax2.plot(t, [it["batch"] for it in timeline], color="grey", ls=":", label="running requests")
    ax2.set_ylabel("requests in the iteration")
    ax.legend(loc="upper right", fontsize=8)
    return fig
