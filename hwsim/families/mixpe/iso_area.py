"""The MixPE iso-area study: five arrays of equal synthesised area on LLM and ViT layers.

Formats (all output stationary, ``ROWS`` rows, the spec's memory and clock):

======================  =========================================================
``MixPE-W4A8``          MixPE shift-and-add PE, INT8 activations (mixpe family)
``MixPE-W4A16``         MixPE exponent-shift PE, FP16 activations (mixpe family)
``Dequant-W4A16``       per-weight dequantisation to FP16, FP16 MAC (mixpe family,
                        ``datapath="dequant_mac"``)
``INT8``                INT8 MAC array, W8A8, 32-bit accumulator (systolic family)
``FP16``                FP16 MAC array, W16A16, binary16 accumulator (systolic family)
======================  =========================================================

Sizes: every array has ``ROWS`` rows; its columns are the most whose synthesised PE
array (one PE synthesised with Yosys on the project's cell library, times the PE count,
plus the dequantise-then-MAC array's per-column dequantisers; sequencer and skew
registers left out) fits the area of the FP16 array at the paper's ``32 x 28``. The
paper's own sizes are evaluated too.

Time and energy come from the families' closed-form models and the project's cost model
(:func:`hwsim.evaluate.evaluate`, 45 nm tables), split the paper's way: ``static`` (the
DRAM background power of the MixPE simulator, :data:`STATIC_MW`, times the run time),
``dram``, ``buffer`` (SRAM accesses) and ``core`` (PE array and control). Everything is
normalised to the FP16 array per model, with the geometric mean over the models.

The numerical error of each format is its SQNR against the float64 product on the real
GEMMs of all-MiniLM-L6-v2 (:mod:`hwsim.workloads.realmodel`), computed with the bit-exact
golden models: symmetric per-tensor INT8 activations, per-output-channel INT8 weights
(INT8), unsigned 4-bit weights with binary16 scales and zero points per group of 128
(W4 formats), binary16 activations (A16 formats).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
from pathlib import Path

import numpy as np

ROWS = 32
#: The FP16 array the area budget is taken from (the MixPE paper's conf_float).
REFERENCE = ("FP16", 32, 28)
#: DRAM static power (mW) of the MixPE simulator (stats.py: 484.615 / 500 nJ per cycle at 500 MHz).
STATIC_MW = 484.615
FORMATS = ("MixPE-W4A8", "MixPE-W4A16", "Dequant-W4A16", "INT8", "FP16")
#: The MixPE paper's array sizes (FAMILIES.md section A, conf_*.ini).
PAPER_SIZES = {"MixPE-W4A8": (64, 64), "MixPE-W4A16": (32, 32), "INT8": (32, 32), "FP16": (32, 28)}
#: The paper's results (results/mixpe_res.csv of the MixPE simulator, normalised to FP16;
#: FAMILIES.md section A). Models in the order of the CSV's rows.
PAPER_TIME = {
    "vit-b-16": {"MixPE-W4A8": 0.15, "INT8": 0.82, "MixPE-W4A16": 0.53, "FP16": 1.0},
    "vit-h-14": {"MixPE-W4A8": 0.12, "INT8": 0.82, "MixPE-W4A16": 0.32, "FP16": 1.0},
    "opt-6.7b": {"MixPE-W4A8": 0.10, "INT8": 0.86, "MixPE-W4A16": 0.19, "FP16": 1.0},
    "llama-2-13b": {"MixPE-W4A8": 0.10, "INT8": 0.86, "MixPE-W4A16": 0.19, "FP16": 1.0},
}
PAPER_ENERGY = {
    "vit-b-16": {"MixPE-W4A8": 0.26, "INT8": 0.51, "MixPE-W4A16": 0.53, "FP16": 1.00},
    "vit-h-14": {"MixPE-W4A8": 0.18, "INT8": 0.50, "MixPE-W4A16": 0.32, "FP16": 1.01},
    "opt-6.7b": {"MixPE-W4A8": 0.14, "INT8": 0.49, "MixPE-W4A16": 0.22, "FP16": 1.00},
    "llama-2-13b": {"MixPE-W4A8": 0.14, "INT8": 0.51, "MixPE-W4A16": 0.22, "FP16": 1.00},
}
PAPER_SOURCE = ("MixPE simulator results/mixpe_res.csv (arXiv 2411.16158), as gathered in "
                "shared/reference/FAMILIES.md section A")


def _memory(spec_fixed: dict) -> dict:
    keys = ("freq_mhz", "dram_bw_bytes_per_cycle", "wbuf_kib", "ibuf_kib", "obuf_kib")
    return {k: spec_fixed[k] for k in keys}


def design(fmt: str, cols: int, fixed: dict, rows: int = ROWS) -> tuple[str, dict]:
    """``(family, design fields)`` of format ``fmt`` with ``rows x cols`` PEs."""
    mem = _memory(fixed)
    if fmt in ("INT8", "FP16"):
        sysd = {"rows": rows, "cols": cols, "dataflow": "os", "freq_mhz": float(mem["freq_mhz"]),
                "dram_bw_bytes_per_cycle": float(mem["dram_bw_bytes_per_cycle"]),
                "filter_sram_kb": mem["wbuf_kib"], "ifmap_sram_kb": mem["ibuf_kib"], "ofmap_sram_kb": mem["obuf_kib"]}
        if fmt == "INT8":
            return "systolic", {**sysd, "a_bits": 8, "b_bits": 8, "acc_bits": 32}
        return "systolic", {**sysd, "a_bits": 16, "b_bits": 16, "acc_bits": 16, "operand_format": "fp16"}
    base = {k: fixed[k] for k in ("w_bits", "group_size", "zero_point", "acc_bits", "dataflow")}
    d = {**base, **mem, "rows": rows, "cols": cols}
    if fmt == "MixPE-W4A8":
        return "mixpe", {**d, "act_format": "int8"}
    if fmt == "MixPE-W4A16":
        return "mixpe", {**d, "act_format": "fp16"}
    return "mixpe", {**d, "act_format": "fp16", "datapath": "dequant_mac"}


@functools.lru_cache(maxsize=None)
def pe_areas() -> dict:
    """Synthesised area (um^2) of one PE of each format, and of one dequantiser (per
    column of ``Dequant-W4A16``): ``{fmt: (per PE, per column)}``."""
    from hwsim.families.mixpe.config import MixpeConfig
    from hwsim.families.mixpe.cost import pe_array_area
    from hwsim.eda.synth import synth_asic
    from hwsim.families.systolic.config import SystolicConfig
    from hwsim.families.systolic.synth import pe_verilog

    fixed = {"w_bits": 4, "group_size": 128, "zero_point": True, "acc_bits": 20, "dataflow": "os",
             "freq_mhz": 500.0, "dram_bw_bytes_per_cycle": 128, "wbuf_kib": 128, "ibuf_kib": 256, "obuf_kib": 128}
    out = {}
    for fmt in FORMATS:
        fam, d = design(fmt, 2, fixed, rows=2)
        if fam == "systolic":
            v, top = pe_verilog(SystolicConfig(**d))
            out[fmt] = (float(synth_asic(v, top, name=top).area_um2), 0.0)
        else:
            cfg = MixpeConfig(**d)
            a = pe_array_area(cfg)
            per_col = a.periphery_um2.get("dequantisers", 0.0) / cfg.cols
            # phys_cols: the S column of a zero-point design is one more PE per row
            out[fmt] = (float(a.unit_area_um2), float(per_col))
    return out


def array_area(fmt: str, rows: int, cols: int, zero_point: bool = True) -> float:
    """Synthesised PE-array area (um^2) of ``fmt`` at ``rows x cols`` (MixPE arrays with
    a zero point carry one more column of PEs for the activation sums)."""
    pe, per_col = pe_areas()[fmt]
    phys = cols + int(zero_point and fmt.startswith("MixPE"))
    return rows * phys * pe + cols * per_col


def iso_sizes(rows: int = ROWS) -> dict:
    """``{fmt: (rows, cols)}``: the most columns whose array fits the FP16 reference area."""
    budget = array_area(*REFERENCE)
    out = {}
    for fmt in FORMATS:
        c = 1
        while array_area(fmt, rows, c + 1) <= budget:
            c += 1
        out[fmt] = (rows, c)
    return out


def _parts(rec) -> dict:
    parts = rec.energy_pj_by_part or {}
    buf = sum(v for k, v in parts.items() if k.startswith("sram"))
    dram = sum(v for k, v in parts.items() if k.split(":")[0] == "dram")
    core = sum(v for k, v in parts.items() if not k.startswith("sram") and k.split(":")[0] != "dram")
    return {"dram": dram, "buffer": buf, "core": core}


def evaluate_sizes(spec, sizes: dict) -> dict:
    """``{model: {fmt: {"time_s", "cycles", "energy": {static, dram, buffer, core}}}}``."""
    from hwsim.evaluate import Point, evaluate

    out: dict = {}
    for wl in spec.build_workloads():
        model = wl.name.split("/", 1)[-1]
        row = {}
        for fmt, (r, c) in sizes.items():
            fam, d = design(fmt, c, spec.fixed, rows=r)
            rec = evaluate(Point(fam, d, wl, "model"))
            t = rec.cycles / (float(spec.fixed["freq_mhz"]) * 1e6)
            e = _parts(rec)
            e["static"] = STATIC_MW * 1e-3 * t * 1e12  # pJ
            row[fmt] = {"cycles": int(rec.cycles), "time_s": t, "energy": e}
        out[model] = row
    return out


def normalised(results: dict, ref: str = "FP16") -> dict:
    """Time and energy (total and by part) over the FP16 array's, per model, plus
    ``"geomean"`` over the models."""
    out = {}
    for model, row in results.items():
        base_t, base_e = row[ref]["time_s"], sum(row[ref]["energy"].values())
        out[model] = {f: {"time": v["time_s"] / base_t,
                          "energy": sum(v["energy"].values()) / base_e,
                          "parts": {p: x / base_e for p, x in v["energy"].items()}}
                      for f, v in row.items()}
    models = list(out)
    fmts = list(next(iter(results.values())))
    out["geomean"] = {f: {k: math.exp(np.mean([math.log(out[m][f][k]) for m in models]))
                          for k in ("time", "energy")} for f in fmts}
    return out


# ------------------------------------------------------------------------ numerical error
def _quant_w4(w: np.ndarray, g: int):
    """Unsigned 4-bit codes, binary16 scales and zero points per group of ``g`` rows (K)."""
    k, n = w.shape
    kp = -(-k // g) * g
    wp = np.zeros((kp, n))
    wp[:k] = w
    wg = wp.reshape(kp // g, g, n)
    lo, hi = wg.min(axis=1), wg.max(axis=1)
    s = np.maximum(hi - lo, 1e-8) / 15.0
    s16 = s.astype(np.float16).astype(np.float64)
    s16 = np.where(s16 == 0, np.float64(np.float16(6e-8)), s16)
    z = np.clip(np.round(-lo / s16), 0, 15).astype(np.int64)
    q = np.clip(np.round(wg / s16[:, None, :]) + z[:, None, :], 0, 15).astype(np.int64)
    return q.reshape(kp, n)[:k], s16.astype(np.float16), z


def format_outputs(fmt: str, x: np.ndarray, w: np.ndarray, g: int = 128) -> np.ndarray:
    """The product ``x @ w`` as format ``fmt``'s hardware computes it (bit-exact goldens)."""
    from hwsim.families.mixpe.config import MixpeConfig
    from hwsim.families.mixpe.golden import mixpe_gemm
    from hwsim.families.mixpe.timing import pad_k
    from hwsim.families.systolic.config import SystolicConfig
    from hwsim.families.systolic.golden import fp16_gemm, golden_gemm

    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    x16 = x.astype(np.float16)
    if fmt == "FP16":
        cfg = SystolicConfig(rows=1, cols=1, a_bits=16, b_bits=16, acc_bits=16, operand_format="fp16")
        c = fp16_gemm(cfg, x16.view(np.uint16).astype(np.int64), w.astype(np.float16).view(np.uint16).astype(np.int64))
        return c.astype(np.uint16).view(np.float16).astype(np.float64)
    sx = max(float(np.abs(x).max()), 1e-30) / 127.0
    xq = np.clip(np.round(x / sx), -128, 127).astype(np.int64)
    if fmt == "INT8":
        sw = np.maximum(np.abs(w).max(axis=0), 1e-30) / 127.0
        wq = np.clip(np.round(w / sw), -128, 127).astype(np.int64)
        c = golden_gemm(SystolicConfig(rows=1, cols=1, a_bits=8, b_bits=8, acc_bits=32), xq, wq)
        return c * sx * sw[None, :]
    act = "int8" if fmt == "MixPE-W4A8" else "fp16"
    cfg = MixpeConfig(act_format=act, group_size=g, w_bits=4, zero_point=True,
                      datapath="dequant_mac" if fmt == "Dequant-W4A16" else "shift_add")
    q, s16, z = _quant_w4(w, g)
    k = x.shape[1]
    kp = pad_k(cfg, k)
    a = np.zeros((x.shape[0], kp), dtype=np.int64 if act == "int8" else np.float16)
    a[:, :k] = xq if act == "int8" else x16
    qp = np.zeros((kp, w.shape[1]), dtype=np.int64)
    qp[:k] = q
    c = mixpe_gemm(cfg, a, qp, s16, z).astype(np.float64)
    return c * sx if act == "int8" else c


def sqnr(rows: int = 32, layers: int = 1) -> dict:
    """SQNR (dB) of every format on the first ``layers`` layers' GEMMs of all-MiniLM-L6-v2
    (first ``rows`` tokens), against the float64 product: ``{fmt: dB}`` over all the GEMMs
    together, or ``{}`` when the model package is not installed."""
    from hwsim.workloads.error import gemm_error

    try:
        from hwsim.workloads.realmodel import capture_gemms

        gemms = capture_gemms()
    except Exception:  # noqa: BLE001 - the optional package is missing
        return {}
    per_layer = len(gemms) // 6
    gemms = gemms[:per_layer * layers]
    out = {}
    for fmt in FORMATS:
        refs, outs = [], []
        for gm in gemms:
            x = np.asarray(gm.x, dtype=np.float64)[:rows]
            w = np.asarray(gm.w, dtype=np.float64)
            refs.append((x @ w).ravel())
            outs.append(format_outputs(fmt, x, w).ravel())
        out[fmt] = gemm_error(np.concatenate(refs), np.concatenate(outs)).sqnr_db
    return out


# ------------------------------------------------------------------------ the study
def run(spec_path) -> dict:
    """Everything the report shows, as plain data."""
    from hwsim.sweep.spec import load_spec

    spec = load_spec(spec_path)
    ours = iso_sizes()
    paper = dict(PAPER_SIZES, **{"Dequant-W4A16": iso_sizes()["Dequant-W4A16"]})
    res = {
        "pe_area_um2": {f: a[0] for f, a in pe_areas().items()},
        "dequantiser_area_um2": pe_areas()["Dequant-W4A16"][1],
        "budget_um2": array_area(*REFERENCE),
        "sizes": {f: list(v) for f, v in ours.items()},
        "array_area_um2": {f: array_area(f, *ours[f]) for f in FORMATS},
        "paper_sizes_area_um2": {f: array_area(f, *PAPER_SIZES[f]) for f in PAPER_SIZES},
    }
    res["iso"] = normalised(evaluate_sizes(spec, ours))
    res["paper_sizes"] = normalised(evaluate_sizes(spec, paper))
    res["sqnr_db"] = sqnr()
    return res


def _f(x) -> str:
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def tables(res: dict) -> dict:
    """Report tables (lists of rows, first row the header)."""
    sizes = [["format", "PE area um^2", "our iso-area size", "PE-array area um^2", "paper's size",
              "paper's size: our area um^2"]]
    for f in FORMATS:
        ps = PAPER_SIZES.get(f)
        sizes.append([f, f"{res['pe_area_um2'][f]:.0f}", "x".join(map(str, res["sizes"][f])),
                      f"{res['array_area_um2'][f]:.0f}", "x".join(map(str, ps)) if ps else "-",
                      f"{res['paper_sizes_area_um2'][f]:.0f}" if ps else "-"])
    norm = [["model", "format", "time (ours)", "time (paper)", "time at paper's sizes", "energy (ours)",
             "energy (paper)", "static", "DRAM", "buffer", "core"]]
    for model, row in res["iso"].items():
        for f in FORMATS:
            v = row[f]
            pt = PAPER_TIME.get(model, {}).get(f) if model != "geomean" else _paper_geo(PAPER_TIME, f)
            pe = PAPER_ENERGY.get(model, {}).get(f) if model != "geomean" else _paper_geo(PAPER_ENERGY, f)
            at_paper = res["paper_sizes"][model][f]["time"]
            parts = v.get("parts", {})
            norm.append([model, f, _f(v["time"]), _f(pt) if pt else "-", _f(at_paper), _f(v["energy"]),
                         _f(pe) if pe else "-"] + [_f(parts[p]) if p in parts else "-"
                                                   for p in ("static", "dram", "buffer", "core")])
    speed = [["format", "SQNR dB (MiniLM-L6 layer 0 GEMMs)", "geomean time vs FP16 (iso-area)"]]
    for f in FORMATS:
        s = res["sqnr_db"].get(f)
        speed.append([f, f"{s:.1f}" if s is not None else "n/a", _f(res["iso"]["geomean"][f]["time"])])
    return {"sizes": sizes, "normalised": norm, "sqnr": speed}


def _paper_geo(table: dict, fmt: str):
    vals = [table[m][fmt] for m in table if fmt in table[m]]
    return math.exp(np.mean(np.log(vals))) if len(vals) == len(table) else None


GAP_NOTES = """\
* Sizes: the paper sizes its arrays from Bit Fusion's PE cost table scaled per precision
  (the same (8,4) PE for MixPE-W4A8 and INT8; FAMILIES.md section A) and treats W4A8 and
  W4A16 as four MACs per PE per cycle. Here each PE is synthesised from its own RTL and
  does one weight per cycle, so equal area buys MixPE far fewer than 4x the INT8 PEs.
* The FP16 shift-and-add PE chains four binary16 adders (one per weight bit): it is
  larger than an FP16 multiplier plus adder, so at equal area MixPE-W4A16 gets fewer PEs
  than FP16 and, the layers being compute bound at batch 64, is slower. At the paper's
  sizes (32 x 32 vs 32 x 28) our time ratio is the PE-count ratio, 0.87.
* DRAM: the MixPE model follows the RTL feeder's fixed fold order (column blocks outer),
  so binary16 activations larger than the input buffer (64 x 4096 x 2 B = 512 KiB > 256
  KiB) are re-read once per column block; the paper's optimiser searches loop orders and
  tilings. This inflates MixPE-W4A16's DRAM energy.
* MixPE's per-group binary32 dequantisation stage (hwsim.families.mixpe.dequant_rtl) is
  not in the areas: it is verified in RTL, but its synthesis (three binary32 multipliers
  and two adders) takes about ten minutes on this flow, too long for a report; how many
  stages an array needs depends on how the drain is buffered (one per column without a
  buffer, ceil(rows x cols / group_size) with one). The sequencers and skew registers are
  left out of every array alike.
* Energy: the project's 45 nm tables price binary16 multiplies and adds as integer ones of
  their widths; static energy is the MixPE simulator's DRAM background power (485 mW)
  times the run time; DRAM and buffer energies follow our models' traffic.
* Workloads: linear layers only as in the paper; Llama-2-13B uses its real SwiGLU FFN
  (13824) where the paper's benchmark used a 4x FFN (20480); ViTs run 64 images of 197 /
  257 tokens plus the patch embedding.
"""


def markdown(res: dict) -> str:
    from hwsim.report.html import _md_table

    t = tables(res)
    return "\n\n".join([
        "# MixPE iso-area study",
        f"Area budget: the FP16 MAC array at 32 x 28 = {res['budget_um2']:.0f} um^2 of synthesised PEs "
        f"(dequantiser {res['dequantiser_area_um2']:.0f} um^2 per column for Dequant-W4A16).",
        _md_table(t["sizes"]),
        "## Time and energy normalised to FP16 (iso-area sizes; paper beside)",
        _md_table(t["normalised"]),
        "## Numerical error beside speed", _md_table(t["sqnr"]),
        "## Why our figures differ from the paper's", GAP_NOTES, f"Paper figures: {PAPER_SOURCE}.",
    ]) + "\n"


def default_spec() -> Path | None:
    """``sweeps/mixpe_iso_area.toml`` of a source checkout, if there is one."""
    p = Path(__file__).resolve().parents[3] / "sweeps" / "mixpe_iso_area.toml"
    return p if p.is_file() else None


def iso_area_items(df, Item) -> list:
    """The family's ``studies`` hook: the iso-area section, for a store of this study's
    sweep (its workloads are named ``iso-area/<model>``)."""
    if "workload" not in df.columns or not any(str(w).startswith("iso-area/") for w in df["workload"]):
        return []
    spec = default_spec()
    if spec is None:
        return []
    res = run(spec)
    t = tables(res)
    prov = {"spec": str(spec), "areas": "Yosys on hwsim45.lib, one PE per format (cached)",
            "paper": PAPER_SOURCE, "model": "hwsim.families.mixpe.iso_area"}
    return [
        Item("mixpe-iso-sizes", "MixPE iso-area: array sizes of equal synthesised area",
             f"Columns per format (32 rows) whose synthesised PE array fits the FP16 32 x 28 array "
             f"({res['budget_um2']:.0f} um^2), beside the paper's sizes.", prov, table=t["sizes"]),
        Item("mixpe-iso-norm", "MixPE iso-area: time and energy normalised to FP16, ours beside the paper's",
             "Per model and geometric mean; energy split into static, DRAM, buffer and core (fractions of "
             "the FP16 array's total).", prov, table=t["normalised"]),
        Item("mixpe-iso-sqnr", "MixPE iso-area: numerical error beside speed",
             "SQNR of each format's bit-exact golden on real all-MiniLM-L6-v2 GEMMs.", prov, table=t["sqnr"]),
        Item("mixpe-iso-gap", "MixPE iso-area: why our figures differ from the paper's",
             " ".join(line.strip() for line in GAP_NOTES.splitlines()).replace("* ", "\u2022 "), prov),
    ]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hwsim.families.mixpe.iso_area", description=__doc__.split("\n")[0])
    ap.add_argument("spec", nargs="?", default=default_spec())
    ap.add_argument("--json", help="also write the raw figures here")
    args = ap.parse_args(argv)
    res = run(args.spec)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1, sort_keys=True) + "\n")
    sys.stdout.write(markdown(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
