"""The mapper beside ZigZag's mapping search (and the fixed order, and the lower bound).

Llama-2-7B layer GEMMs (prefill 512 tokens, decode 1) on a 32x32 INT8 systolic array,
weight and output stationary, 64 KiB double-buffered buffers, 32 B/cycle DRAM
(:mod:`hwsim.families.systolic.zigzag`). For every case it prints cycles and DRAM bytes
of hwsim's fixed order, hwsim's mapper (objective: cycles), ZigZag's own search
(objective: latency; the same energies, from hwsim's cost components) and the lower
bound (every operand fetched once: DRAM bytes ``|A| + |B| + |C|``, cycles the larger of
the untiled compute cycles and those bytes at the bandwidth), and the wall time per GEMM
of each mapper.

    python benchmarks/bench_mapper_zigzag.py            # ZigZag's figures from the pinned file
    python benchmarks/bench_mapper_zigzag.py --zigzag   # re-run ZigZag and re-pin its figures

``--zigzag`` needs ZigZag (``HWSIM_ZIGZAG_PYTHON`` or a venv created under the hwsim cache).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import replace

from hwsim.families.systolic.model import estimate
from hwsim.families.systolic.zigzag import PINNED, cases, design, load_pinned, run_zigzag
from hwsim.workloads.ops import GemmOp


def lower_bound(cfg, m, k, n):
    comp = estimate(replace(cfg, mapping="fixed"), GemmOp(m, k, n)).compute_cycles
    dram = m * k + k * n + m * n * cfg.acc_bits // 8
    return max(comp, math.ceil(dram / cfg.dram_bw_bytes_per_cycle)), dram


def hwsim_row(cfg, m, k, n, repeat=50):
    op = GemmOp(m, k, n)
    fixed = estimate(replace(cfg, mapping="fixed"), op)
    mapped = estimate(cfg, op)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(repeat):
        estimate(cfg, op)
    wall = (time.perf_counter() - t0) / repeat
    cpu = (time.process_time() - c0) / repeat
    return fixed, mapped, wall, cpu


def run_oracle(lpf_limit: int) -> dict:
    out = {"meta": {"tool": "zigzag-dse 3.9.1 (LOMA temporal mapping search, opt=latency)",
                    "lpf_limit": lpf_limit, "design": "hwsim.families.systolic.zigzag.DESIGN",
                    "note": "spatial unrolling fixed to the dataflow; buffers force_double_buffering; "
                            "energies from hwsim's cost components (unit_energies)"},
           "cases": []}
    for name, df, m, k, n in cases():
        r = run_zigzag(design(df), m, k, n, opt="latency", lpf_limit=lpf_limit)
        out["cases"].append({"name": name, "dataflow": df, "m": m, "k": k, "n": n, "cycles": r["cycles"],
                             "dram_bytes": r["dram_bytes"], "dram_read_bytes": r["dram_read_bytes"],
                             "dram_write_bytes": r["dram_write_bytes"], "energy_pj": r["energy_pj"],
                             "wall_s": r["wall_s"], "temporal_mapping": r["temporal_mapping"]})
        print(f"zigzag {name} {df}: {r['cycles']:.0f} cycles, {r['dram_bytes']} B, {r['wall_s']:.1f} s", flush=True)
        PINNED.write_text(json.dumps(out, indent=1) + "\n")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zigzag", action="store_true", help="run ZigZag and re-pin its figures")
    ap.add_argument("--lpf-limit", type=int, default=6, help="ZigZag's LOMA lpf_limit (default 6)")
    args = ap.parse_args()
    zz = run_oracle(args.lpf_limit) if args.zigzag else load_pinned()
    pinned = {(c["name"], c["dataflow"]): c for c in zz["cases"]}
    hdr = (f"{'GEMM':22} {'df':2} | {'fixed cyc':>10} {'mapped cyc':>10} {'zigzag cyc':>10} {'bound cyc':>10} | "
           f"{'fixed MB':>8} {'mapped MB':>9} {'zigzag MB':>9} {'bound MB':>8} | mapping")
    print(hdr)
    print("-" * len(hdr))
    walls, cpus, zwalls = [], [], []
    for name, df, m, k, n in cases():
        cfg = design(df)
        fixed, mapped, wall, cpu = hwsim_row(cfg, m, k, n)
        lb_c, lb_d = lower_bound(cfg, m, k, n)
        z = pinned.get((name, df))
        zc = f"{z['cycles']:10.0f}" if z else f"{'-':>10}"
        zd = f"{z['dram_bytes'] / 1e6:9.2f}" if z else f"{'-':>9}"
        mp = mapped.mapping
        desc = mp["order"] if mp["order"] == "fixed" else f"{mp['order']} {mp['tile_m']}x{mp['tile_k']}x{mp['tile_n']}"
        print(f"{name:22} {df:2} | {fixed.cycles:10d} {mapped.cycles:10d} {zc} {lb_c:10d} | "
              f"{fixed.total_dram_bytes / 1e6:8.2f} {mapped.total_dram_bytes / 1e6:9.2f} {zd} {lb_d / 1e6:8.2f} | {desc}")
        walls.append(wall)
        cpus.append(cpu)
        if z:
            zwalls.append(z["wall_s"])
    print()
    print(f"hwsim mapper, one GEMM mapped and priced in-process: wall mean {1e3 * sum(walls) / len(walls):.2f} ms, "
          f"max {1e3 * max(walls):.2f} ms; CPU mean {1e3 * sum(cpus) / len(cpus):.2f} ms, max {1e3 * max(cpus):.2f} ms "
          f"(wall includes waiting for a core on a loaded machine)")
    if zwalls:
        print(f"ZigZag search per GEMM (its own process, lpf_limit {zz['meta']['lpf_limit']}): "
              f"mean {sum(zwalls) / len(zwalls):.1f} s, max {max(zwalls):.1f} s")


if __name__ == "__main__":
    main()
