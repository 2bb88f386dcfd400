"""How far is the systolic closed form's perfect DRAM overlap from a replay on the DRAM/HBM
timing model? (The closed form runs at the memory's peak bandwidth.)

Run: ``python benchmarks/bench_memsim_dram.py [--preset hbm2] [--freq-mhz 4000]``. Prints one
row per GEMM x dataflow: replay cycles, closed-form cycles, the closed form's error, row-hit
rate, fixed-point iterations and the replay's wall time.
"""

from __future__ import annotations

import argparse
import time

from hwsim.families.systolic.config import SystolicConfig
from hwsim.families.systolic.memsim import simulate_dram
from hwsim.memory.config import load_preset

# Llama-2-7B shapes cut to a size the replay runs in seconds: a decode GEMV slice (one
# token, a 1024-wide slice of K and N) and a prefill slice (64 tokens).
GEMMS = {"decode 1x1024x1024": (1, 1024, 1024), "prefill 64x1024x1024": (64, 1024, 1024)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--preset", default="hbm2")
    ap.add_argument("--freq-mhz", type=float, default=4000.0,
                    help="array clock; 4000 makes one HBM2 pseudo-channel 8 bytes per array cycle")
    ap.add_argument("--size", type=int, default=32, help="array rows = cols")
    args = ap.parse_args(argv)
    dram = load_preset(args.preset, channels=1)
    print(f"{'GEMM':<22} {'df':<3} {'replay':>9} {'closed':>9} {'error':>8} {'hits':>6} {'iter':>5} {'wall s':>7}")
    for name, shape in GEMMS.items():
        for df in ("os", "ws", "is"):
            cfg = SystolicConfig(rows=args.size, cols=args.size, dataflow=df, freq_mhz=args.freq_mhz)
            t = time.perf_counter()
            r = simulate_dram(cfg, *shape, dram)
            wall = time.perf_counter() - t
            print(f"{name:<22} {df:<3} {r.cycles:>9,d} {r.closed_form_cycles:>9,d} {100 * r.error:>7.2f}% "
                  f"{r.row_hit_rate:>6.1%} {r.iterations:>5d}{'' if r.converged else '*'} {wall:>7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
