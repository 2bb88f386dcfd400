"""Speed of the NPU + PIM system simulation (a benchmark, not a test).

Run from the repository root: ``PYTHONPATH=. python benchmarks/bench_npu_pim.py
[--skip-serving]``. Times (1) one decode step of GPT-3 13B at batch 256 (contexts uniform
in [1, 752], seeded), every layer simulated event-driven, for each schedule (target: under
60 s on one core), and (2) a serving run of 256 requests with ShareGPT lengths at batch
256 under the neupims schedule (target: under 10 minutes). Prints one JSON line per run.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from hwsim.families.npu_pim.config import NpuPimConfig
from hwsim.families.npu_pim.runner import serving_report
from hwsim.families.npu_pim.system import simulate_step
from hwsim.families.npu_pim.workload import Shard


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-serving", action="store_true")
    ap.add_argument("--requests", type=int, default=256)
    args = ap.parse_args()
    sh = Shard.of("gpt3-13b")
    seqs = np.random.default_rng(0).integers(1, 753, 256).tolist()
    for sched in ("npu-only", "naive", "neupims"):
        cfg = NpuPimConfig(schedule=sched)
        t = time.perf_counter()
        r = simulate_step(cfg, sh, seqs)
        dt = time.perf_counter() - t
        print(json.dumps({"run": "decode step gpt3-13b batch 256", "schedule": sched, "wall_s": round(dt, 3),
                          "cycles": r.cycles, "tokens_per_s": round(256 / (r.cycles / cfg.freq_mhz / 1e6), 1),
                          "target_s": 60}), flush=True)
    if args.skip_serving:
        return
    t = time.perf_counter()
    d = serving_report(NpuPimConfig(), sh, args.requests, "sharegpt", 256, seed=0)
    dt = time.perf_counter() - t
    print(json.dumps({"run": f"serving {args.requests} ShareGPT requests gpt3-13b batch 256", "schedule": "neupims",
                      "wall_s": round(dt, 1), "iterations": d["iterations"], "tokens_per_s": round(d["tokens_per_s"], 1),
                      "target_s": 600}), flush=True)


if __name__ == "__main__":
    main()
