"""Energy breakdown of one Llama-2-7B layer on a 32x32 INT8 weight-stationary array:
hwsim before the cost components, hwsim now, and ZigZag on the same mapping.

The design is :data:`hwsim.families.systolic.zigzag.DESIGN` (32x32, INT8 operands, INT32
accumulators, 64 KiB ifmap/filter/ofmap buffers, 32 B/cycle of DRAM, 1 GHz, 45 nm),
dataflow ``ws``. The workload is one decoder layer of Llama-2-7B: prefill of 512 tokens,
and decode of one token against a 512-token context (q/k/v/o, gate/up/down, and the 32
heads' attention GEMMs; no LM head).

Columns (energy by part, uJ):

* **before**: the pricing before the cost components landed (commit ``e5bf9eb``, the
  parent of the commit that introduced :mod:`hwsim.cost.components`), run from a
  detached worktree of that commit on the same design and layer with its own model
  (``--before-tree``; otherwise the pinned figures);
* **now (fixed)** and **now (mapped)**: the current pricing (components, CACTI-table
  SRAMs at their port widths, fills and drains charged, calibrated activity, stalled
  cycles as the RTL's ungated clock costs them), with the fixed loop order (as
  ``before``) and with the mapper's tiling;
* **ZigZag**: ``zigzag-dse`` 3.9.1 in its own environment, given the same per-access
  energies (:func:`hwsim.families.systolic.zigzag.unit_energies`, from the cost
  components) and, per GEMM, the mapper's loop order and tiles as a complete temporal
  ordering (``--zigzag``; otherwise the pinned figures). ZigZag charges MACs, the PE
  weight registers, the three buffers and DRAM; it has no control, no leakage and no
  separate partial-sum buffer (its partial sums live in the ofmap buffer).

    python benchmarks/bench_energy_zigzag.py                      # now; before and ZigZag pinned
    python benchmarks/bench_energy_zigzag.py --before-tree /tmp/wt-costold --zigzag --pin

``--pin`` rewrites ``benchmarks/data/energy_zigzag.json`` (``tests/test_bench_energy.py``
diffs the "now" columns against it without ZigZag or the old tree).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

PINNED = Path(__file__).resolve().parent / "data" / "energy_zigzag.json"
BEFORE_COMMIT = "e5bf9eb"
#: Llama-2-7B: hidden 4096, 32 heads of 128, FFN 11008 (hwsim/data/models/llama-2-7b.yaml).
D, HEADS, HD, FFN = 4096, 32, 128, 11008


def layer_ops(phase: str, tokens: int = 512, context: int = 512):
    """``(name, m, k, n, count)`` of one Llama-2-7B decoder layer (see module doc)."""
    t = tokens if phase == "prefill" else 1
    s = tokens if phase == "prefill" else context
    return [("qkvo_proj", t, D, D, 4), ("ffn_gate_up", t, D, FFN, 2), ("ffn_down", t, FFN, D, 1),
            ("attn_score", t, HD, s, HEADS), ("attn_context", t, s, HD, HEADS)]


PHASES = ("prefill", "decode")


def design(mapping: str = "search"):
    from hwsim.families.systolic.zigzag import design as zz_design

    return replace(zz_design("ws"), mapping=mapping)


def now_breakdown(mapping: str) -> dict:
    """``{phase: {"energy_pj_by_part", "energy_pj", "cycles", "stall_cycles", "mappings"}}``."""
    from hwsim.evaluate import Point, Pricing, Workload, evaluate
    from hwsim.workloads.ops import GemmOp

    cfg = design(mapping)
    # energy does not depend on the area's source: the MAC table spares the syntheses
    pricing = Pricing(synthesised_area=False)
    out = {}
    for phase in PHASES:
        ops = layer_ops(phase)
        wl = Workload.from_gemms(f"llama-2-7b layer {phase}",
                                 [GemmOp(m, k, n, count=c, name=name) for name, m, k, n, c in ops])
        rec = evaluate(Point("systolic", cfg.to_dict(), wl, pricing=pricing))
        out[phase] = {"energy_pj_by_part": rec.energy_pj_by_part, "energy_pj": rec.energy_pj,
                      "cycles": rec.cycles, "stall_cycles": rec.stall_cycles,
                      "mappings": [ly["mapping"] for ly in rec.layers]}
    return out


_BEFORE = r'''
import json, sys
from hwsim.evaluate import Point, Workload, evaluate
from hwsim.workloads.ops import GemmOp
job = json.loads(sys.argv[1])
out = {}
for phase, ops in job["phases"].items():
    wl = Workload.from_gemms("layer " + phase, [GemmOp(m, k, n, count=c, name=name) for name, m, k, n, c in ops])
    rec = evaluate(Point("systolic", job["design"], wl))
    out[phase] = {"energy_pj_by_part": rec.energy_pj_by_part, "energy_pj": rec.energy_pj,
                  "cycles": rec.cycles, "stall_cycles": rec.stall_cycles}
print(json.dumps(out))
'''


def before_breakdown(tree: Path) -> dict:
    """The same layer priced by the code in ``tree`` (a checkout of :data:`BEFORE_COMMIT`)."""
    import os

    fields = ("rows", "cols", "dataflow", "a_bits", "b_bits", "acc_bits", "ifmap_sram_kb", "filter_sram_kb",
              "ofmap_sram_kb", "dram_bw_bytes_per_cycle", "freq_mhz")
    cfg = design("fixed")
    job = {"design": {k: getattr(cfg, k) for k in fields},
           "phases": {p: layer_ops(p) for p in PHASES}}
    env = {**os.environ, "PYTHONPATH": str(tree)}
    res = subprocess.run([sys.executable, "-c", _BEFORE, json.dumps(job)], capture_output=True, text=True,
                         cwd=tree, env=env)
    if res.returncode != 0:
        raise RuntimeError(f"the old tree failed:\n{res.stderr[-2000:]}")
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=tree).stdout.strip()
    return {"commit": commit, "phases": json.loads(res.stdout)}


# ------------------------------------------------------------------------------- ZigZag
_DRIVER = r'''
import json, logging, sys
logging.disable(logging.CRITICAL)
from zigzag.api import get_hardware_performance_zigzag
job = json.load(open(sys.argv[1]))
d = sys.argv[2]
for name in ("accelerator", "workload", "mapping"):
    json.dump(job[name], open(f"{d}/{name}.yaml", "w"))  # JSON is YAML
energy, latency, cmes = get_hardware_performance_zigzag(
    f"{d}/workload.yaml", f"{d}/accelerator.yaml", f"{d}/mapping.yaml", opt="energy",
    dump_folder=f"{d}/out", lpf_limit=6, loma_show_progress_bar=False)
cme = cmes[0][1][0][0]
hier = cme.accelerator.memory_hierarchy
by_mem = {}
for lop, levels in cme.mem_energy_breakdown.items():
    mem_op = cme.memory_operand_links.layer_to_mem_op(lop)
    for e, lvl in zip(levels, hier.get_memory_levels(mem_op=mem_op)):
        by_mem[lvl.name] = by_mem.get(lvl.name, 0.0) + float(e)
json.dump({"energy_pj": float(energy), "mac_pj": float(cme.mac_energy), "by_memory_pj": by_mem,
           "cycles": float(latency), "temporal_mapping": str(cme.temporal_mapping)}, sys.stdout)
'''


def _factors(total: int, inner: int) -> tuple[int, int, bool]:
    """``(inner', outer)`` with ``inner' * outer == total`` and ``inner'`` the largest
    divisor of ``total`` not above ``inner``; the flag says whether it was adjusted."""
    inner = max(1, min(inner, total))
    f = max(d for d in range(1, inner + 1) if total % d == 0)
    return f, total // f, f != inner


def temporal_ordering(cfg, m: int, k: int, n: int, mapping: dict) -> tuple[list, list[str]]:
    """The mapper's tiling of a ``ws`` GEMM as ZigZag's temporal ordering (innermost
    first): inside a buffer tile the array streams up to ``acc_depth`` rows of A per
    weight tile, over the tile's K folds, then its N folds, then its chunks of rows (the
    order of :func:`hwsim.families.systolic.model.traffic`); outside, the tiles in the
    mapper's loop order. ZigZag needs every factor to divide its loop: a tile that does
    not divide its dimension is rounded down to a divisor (returned as notes)."""
    kt, nt = math.ceil(k / cfg.rows), math.ceil(n / cfg.cols)
    totals = {"M": m, "K": kt, "N": nt}
    if mapping["order"] == "fixed":
        tiles, order = {"M": m, "K": kt, "N": nt}, "nkm"
    else:
        tiles = {"M": mapping["tile_m"], "K": math.ceil(mapping["tile_k"] / cfg.rows),
                 "N": math.ceil(mapping["tile_n"] / cfg.cols)}
        order = mapping["order"]
    notes, inner, outer = [], {}, {}
    for dim in "MKN":
        inner[dim], outer[dim], adj = _factors(totals[dim], tiles[dim])
        if adj:
            notes.append(f"{dim} tile {tiles[dim]} -> {inner[dim]} (divides {totals[dim]})")
    rows_chunk, m_chunks, adj = _factors(inner["M"], cfg.acc_depth)
    if adj:
        notes.append(f"M chunk {min(cfg.acc_depth, inner['M'])} -> {rows_chunk}")
    seq = [("M", rows_chunk), ("K", inner["K"]), ("N", inner["N"]), ("M", m_chunks)]
    seq += [(ch.upper(), outer[ch.upper()]) for ch in reversed(order)]
    return [[d, int(f)] for d, f in seq if f > 1], notes


def run_zigzag_gemm(cfg, m, k, n, mapping) -> dict:
    from hwsim.families.systolic.zigzag import (accelerator_yaml, mapping_yaml, unit_energies, venv_python,
                                                workload_yaml)

    order, notes = temporal_ordering(cfg, m, k, n, mapping)
    mp = mapping_yaml(cfg)
    mp[0]["temporal_ordering"] = order
    job = {"accelerator": accelerator_yaml(cfg, unit_energies(cfg)), "workload": workload_yaml(cfg, m, k, n),
           "mapping": mp}
    with tempfile.TemporaryDirectory(prefix="hwsim-zz-energy-") as d:
        (Path(d) / "job.json").write_text(json.dumps(job))
        (Path(d) / "driver.py").write_text(_DRIVER)
        res = subprocess.run([str(venv_python()), str(Path(d) / "driver.py"), str(Path(d) / "job.json"), d],
                             capture_output=True, text=True, cwd=d)
    if res.returncode != 0:
        raise RuntimeError(f"ZigZag failed on {m}x{k}x{n}:\n{res.stderr[-3000:]}")
    out = json.loads(res.stdout)
    out["temporal_ordering"], out["notes"] = order, notes
    return out


#: ZigZag memory names -> hwsim parts.
ZZ_PARTS = {"pe_reg": "pe_array", "ifmap": "sram:ifmap", "filter": "sram:filter", "ofmap": "sram:ofmap",
            "dram": "dram"}


def zigzag_breakdown(now: dict) -> dict:
    """ZigZag's energy by hwsim part for every phase, on the mapper's mappings."""
    cfg = design("search")
    out = {}
    for phase in PHASES:
        parts: dict[str, float] = {}
        gemms = []
        mac = 0.0
        for (name, m, k, n, count), mp in zip(layer_ops(phase), now[phase]["mappings"]):
            r = run_zigzag_gemm(cfg, m, k, n, mp)
            mac += count * r["mac_pj"]
            parts["pe_array"] = parts.get("pe_array", 0.0) + count * r["mac_pj"]
            for mem, e in r["by_memory_pj"].items():
                parts[ZZ_PARTS[mem]] = parts.get(ZZ_PARTS[mem], 0.0) + count * e
            gemms.append({"name": name, "m": m, "k": k, "n": n, "count": count, "energy_pj": r["energy_pj"],
                          "temporal_ordering": r["temporal_ordering"], "notes": r["notes"]})
        out[phase] = {"energy_pj_by_part": parts, "energy_pj": sum(parts.values()), "mac_pj": mac, "gemms": gemms}
    return out


# ------------------------------------------------------------------------------- table
ORDER = ("pe_array", "control", "sram:ifmap", "sram:filter", "sram:ofmap", "sram:acc", "sram", "dram")


def table(cols: dict) -> str:
    lines = []
    for phase in PHASES:
        have = {name: c[phase] for name, c in cols.items() if c and phase in c}
        parts = sorted({p for c in have.values() for p in c["energy_pj_by_part"]},
                       key=lambda p: (ORDER.index(p) if p in ORDER else len(ORDER), p))
        lines.append(f"\n{phase} (uJ)")
        lines.append(f"  {'part':<14}" + "".join(f"{name:>16}" for name in have))
        for p in parts:
            row = "".join(f"{c['energy_pj_by_part'][p] / 1e6:>16.2f}" if p in c["energy_pj_by_part"]
                          else f"{'-':>16}" for c in have.values())
            lines.append(f"  {p:<14}{row}")
        lines.append(f"  {'total':<14}" + "".join(f"{c['energy_pj'] / 1e6:>16.2f}" for c in have.values()))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before-tree", type=Path, help=f"a checkout of {BEFORE_COMMIT} (else the pinned figures)")
    ap.add_argument("--zigzag", action="store_true", help="run ZigZag (else the pinned figures)")
    ap.add_argument("--pin", action="store_true", help=f"write {PINNED.name}")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from hwsim.families.systolic.zigzag import unit_energies

    pinned = json.loads(PINNED.read_text()) if PINNED.exists() else {}
    now_fixed, now = now_breakdown("fixed"), now_breakdown("search")
    before = before_breakdown(args.before_tree) if args.before_tree else pinned.get("before")
    zz = zigzag_breakdown(now) if args.zigzag else pinned.get("zigzag")
    cols = {f"before {BEFORE_COMMIT}": (before or {}).get("phases"), "now (fixed)": now_fixed,
            "now (mapped)": now, "ZigZag (mapped)": zz}
    data = {"meta": {"design": "hwsim.families.systolic.zigzag.DESIGN, dataflow ws",
                     "workload": "one Llama-2-7B layer: prefill 512 tokens; decode 1 token, context 512",
                     "before": f"commit {BEFORE_COMMIT} (fixed loop order, its own model and pricing)",
                     "zigzag": "zigzag-dse 3.9.1, mapper's mappings as temporal orderings, hwsim's unit energies"},
            "zigzag_unit_energies": unit_energies(design("search")),
            "before": before, "now_fixed": now_fixed, "now": now, "zigzag": zz}
    if args.pin:
        PINNED.parent.mkdir(exist_ok=True)
        PINNED.write_text(json.dumps(data, indent=1, default=float) + "\n")
    if args.json:
        print(json.dumps(data, indent=1, default=float))
    else:
        print(table(cols))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
