"""Wall time of hwsim's closed-form systolic model vs SCALE-Sim 3.0.0 on the same GEMMs.

Run: ``python benchmarks/bench_systolic.py [--sizes 128 256 512] [--rows 32 --cols 32]``.
Both tools compute the same compute-cycle count (the script checks it); the ratio is
SCALE-Sim wall time / hwsim wall time, measured in one run on this machine. The last
column times hwsim's event-driven DRAM replay (:mod:`hwsim.families.systolic.memsim`, fold by
fold in simpy) of the same GEMM, the slower check on the closed form's DRAM overlap.
"""

from __future__ import annotations

import argparse
import time

from hwsim.families.systolic.config import SystolicConfig
from hwsim.families.systolic.memsim import simulate
from hwsim.families.systolic.model import estimate
from hwsim.families.systolic.scalesim import run_scalesim
from hwsim.workloads.ops import GemmOp


def time_model(cfg, op, repeat=200):
    t0 = time.perf_counter()
    for _ in range(repeat):
        p = estimate(cfg, op, mode="scalesim")
    return (time.perf_counter() - t0) / repeat, p


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512], help="M=K=N values")
    ap.add_argument("--rows", type=int, default=32)
    ap.add_argument("--cols", type=int, default=32)
    ap.add_argument("--dataflow", default="os")
    args = ap.parse_args()
    cfg = SystolicConfig(rows=args.rows, cols=args.cols, dataflow=args.dataflow)
    print(f"{'GEMM':>12} {'cycles':>10} {'hwsim s':>10} {'SCALE-Sim s':>12} {'ratio':>10} {'replay s':>10}")
    for s in args.sizes:
        op = GemmOp(s, s, s)
        t_model, p = time_model(cfg, op)
        ref = run_scalesim(cfg, s, s, s)
        assert ref["compute_cycles"] == p.compute_cycles, (ref["compute_cycles"], p.compute_cycles)
        t0 = time.perf_counter()
        simulate(cfg, s, s, s)
        t_replay = time.perf_counter() - t0
        print(f"{s:>4}^3 {args.dataflow:>3} {p.compute_cycles:>10} {t_model:>10.2e} {ref['wall_s']:>12.2f} "
              f"{ref['wall_s'] / t_model:>10.3g}x {t_replay:>10.3f}")


if __name__ == "__main__":
    main()
