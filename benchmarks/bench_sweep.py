"""Sweep throughput: ~10,000 points (designs x {prefill, decode}) of Llama-2-7B layers.

Run ``python benchmarks/bench_sweep.py [--jobs N] [--mode hardware|scalesim] [--mapping
fixed|search]``; prints the points, the wall time and points per second of the whole
``run_sweep`` (planning, vectorised model and mapper, cost, store commits). Without
``--mapping`` the designs take the config's default.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from hwsim.sweep import load_spec, run_sweep

SPEC = """
version = 1
name = "bench"
family = "systolic"
mode = "{mode}"
[space]
rows = {{pow2 = [4, 128]}}
cols = {{pow2 = [4, 128]}}
dataflow = ["os", "ws", "is"]
ifmap_sram_kb = [32, 64, 128, 256]
filter_sram_kb = [32, 64, 128, 256]
ofmap_sram_kb = [32, 64, 256]
{mapping}[[workloads]]
model = "llama-2-7b"
phase = "prefill"
batch = 1
seq_len = 512
[[workloads]]
model = "llama-2-7b"
phase = "decode"
batch = 1
context = 1024
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--mode", default="hardware")
    ap.add_argument("--mapping", choices=("fixed", "search"), default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        spec_path = Path(d) / "bench.toml"
        mapping = f'mapping = ["{args.mapping}"]\n' if args.mapping else ""
        spec_path.write_text(SPEC.format(mode=args.mode, mapping=mapping))
        spec = load_spec(spec_path)
        t0 = time.perf_counter()
        res = run_sweep(spec, Path(d) / "bench.db", jobs=args.jobs)
        dt = time.perf_counter() - t0
    print(f"{res.planned} points ({spec.grid_size} designs x {len(spec.workloads)} workloads), "
          f"jobs={args.jobs}, mode={args.mode}, mapping={args.mapping or 'default'}: {dt:.1f} s, {res.planned / dt:.0f} points/s")


if __name__ == "__main__":
    main()
