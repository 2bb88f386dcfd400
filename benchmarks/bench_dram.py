"""Replay speed of hwsim's DRAM timing model vs DRAMsim3 on the same traces.

Run from the repository root: ``PYTHONPATH=. python benchmarks/bench_dram.py [--n 49152]
[--dramsim3 /work/oracles/DRAMsim3]`` (PYTHONPATH only needed without an install of this tree).
For each trace (sequential, random, mixed read/write) on one HBM2 channel and on eight,
prints hwsim's transactions per second; if a DRAMsim3 build is given (or found at the
default path), runs ``dramsim3main`` on the same trace for the cycles hwsim measured and
prints its wall time and the ratio hwsim / DRAMsim3 (DRAMsim3's time includes starting the
process and writing its stats). The cycle counts of both are printed as a sanity check.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

from hwsim.memory.config import load_preset
from hwsim.memory.controller import DramLivelock, simulate
from hwsim.memory.oracle import _config_text, find_binary
from hwsim.memory.traces import generate, write_trace


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=49152, help="transactions per trace (default 49152)")
    ap.add_argument("--dramsim3", default="/work/oracles/DRAMsim3", help="DRAMsim3 checkout or binary")
    ap.add_argument("--patterns", nargs="+", default=["sequential", "random", "mix_random"])
    ap.add_argument("--channels", nargs="+", type=int, default=[1, 8])
    args = ap.parse_args()
    try:
        binary = find_binary(args.dramsim3)
    except Exception:  # noqa: BLE001 - DRAMsim3 is optional here
        binary = None
    print(f"{'trace':28s} {'hwsim s':>8s} {'Mtx/s':>7s} {'cycles':>9s} | {'DRAMsim3 s':>10s} "
          f"{'Mtx/s':>7s} {'cycles':>9s} | {'slower x':>8s}")
    for ch in args.channels:
        cfg = load_preset("hbm2", ch)
        for pat in args.patterns:
            t = generate(pat, cfg, args.n, seed=0)
            t0 = time.perf_counter()
            try:
                r = simulate(cfg, t.addr, t.is_write, t.cycle)
            except DramLivelock as e:
                print(f"hbm2 {ch}ch {pat:18s} stalled after {time.perf_counter() - t0:.1f} s: {e}", flush=True)
                continue
            dt = time.perf_counter() - t0
            line = f"hbm2 {ch}ch {pat:18s} {dt:8.3f} {args.n / dt / 1e6:7.3f} {r.cycles:9d} | "
            if binary is not None:
                with tempfile.TemporaryDirectory() as td:
                    td = Path(td)
                    (td / "c.ini").write_text(_config_text("hbm2", ch))
                    write_trace(t, td / "t.trace", sentinel=True)
                    t0 = time.perf_counter()
                    subprocess.run([str(binary), str(td / "c.ini"), "-t", str(td / "t.trace"), "-c",
                                    str(r.cycles), "-o", str(td)], check=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    ds = time.perf_counter() - t0
                    st = json.loads((td / "dramsim3.json").read_text())
                    done = sum(c["num_reads_done"] + c["num_writes_done"] for c in st.values())
                line += (f"{ds:10.3f} {args.n / ds / 1e6:7.3f} {'all done' if done == args.n else done:>9} | "
                         f"{dt / ds:8.1f}")
            else:
                line += "   (no DRAMsim3 build)"
            print(line, flush=True)


if __name__ == "__main__":
    main()
