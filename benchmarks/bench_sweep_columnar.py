"""Columnar sweep throughput and memory: Llama-2-7B design points (design x {prefill 512,
decode ctx 1024}) on a systolic grid, mapper on, evaluated and stored.

Run ``python benchmarks/bench_sweep_columnar.py [--jobs 2] [--points N] [--per-point N]
[--seconds S] [--dask]`` (the grid: ``bench_sweep.py``'s 5,184 systolic designs times
DRAM bandwidths). It prints, in one run:

* the columnar sweep (``run_sweep``: streamed tasks, columnar evaluation, one store
  transaction per task) on a grid of about ``--points`` points: points/s and the peak
  resident memory of the sweep process and of its workers (``ru_maxrss``);
* the per-point path (``evaluate_many`` per chunk, then ``encode`` per record: the
  sweep's path before the columnar one) on the first ``--per-point`` designs' points of
  the same grid with the same number of worker processes, and the ratio of the rates;
* with ``--dask``, the columnar sweep again on a Dask ``LocalCluster`` of ``--jobs``
  single-threaded worker processes.

``--seconds S`` stops the columnar sweep after S seconds (SIGINT; the store keeps every
committed task) to measure memory on a grid too large to finish (e.g. ``--points
10000000``); the rate is then the points committed per second.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import math
import multiprocessing
import os
import resource
import signal
import tempfile
import threading
import time
from pathlib import Path

from hwsim.sweep import Store, load_spec, run_sweep

SPEC = """
version = 1
name = "bench-columnar"
family = "systolic"
mode = "hardware"
[fixed]
mapping = "search"
[space]
rows = {{pow2 = [4, 128]}}
cols = {{pow2 = [4, 128]}}
dataflow = ["os", "ws", "is"]
ifmap_sram_kb = [32, 64, 128, 256]
filter_sram_kb = [32, 64, 128, 256]
ofmap_sram_kb = [32, 64, 256]
{bandwidth}
[[workloads]]
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


def spec_text(points: int) -> str:
    """The grid of ``bench_sweep.py`` (5,184 designs x 2 workloads), times as many DRAM
    bandwidths (log-spaced, 4 to 64 bytes/cycle) as make about ``points`` points."""
    n = round(points / (5184 * 2))
    bw = f"dram_bw_bytes_per_cycle = {{log = [4.0, 64.0, {n}]}}" if n >= 2 else ""
    return SPEC.format(bandwidth=bw)


def _maxrss_mib(who) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0


def per_point(spec, db: Path, jobs: int, n_designs: int) -> tuple[int, float]:
    """The per-point path on the first ``n_designs`` designs: ``evaluate_many`` then
    ``encode`` per record in worker processes, one store transaction per chunk."""
    from hwsim.sweep.executors import evaluate_chunk, worker_init

    workloads = spec.build_workloads()
    t0 = time.perf_counter()
    designs = [d for _, d in zip(range(n_designs), spec.grid_designs())]
    points = sorted(spec.points(designs, workloads), key=lambda p: p.workload.name)
    size = max(16, min(2048, math.ceil(len(points) / (4 * jobs))))
    chunks = [points[i:i + size] for i in range(0, len(points), size)]
    n = 0
    with Store.open_writer(db) as st, cf.ProcessPoolExecutor(
            jobs, mp_context=multiprocessing.get_context("spawn"), initializer=worker_init,
            initargs=(os.getpid(),)) as pool:
        run = st.start_run(executor="bench", spec_name=spec.name, spec_hash=spec.text_hash,
                           strategy="grid", code_version="bench", planned=None)
        for rows in pool.map(evaluate_chunk, chunks):
            n += st.put_rows(rows, run)
    return n, time.perf_counter() - t0


def columnar(spec, db: Path, seconds: float | None, **kw) -> tuple[int, float, bool]:
    timer = None
    if seconds:
        timer = threading.Timer(seconds, lambda: os.kill(os.getpid(), signal.SIGINT))
        timer.start()
    t0 = time.perf_counter()
    stopped = False
    try:
        res = run_sweep(spec, db, **kw)
        n = res.evaluated
    except KeyboardInterrupt:
        stopped = True
        with Store.open_reader(db) as st:
            n = st.count()
    finally:
        if timer is not None:
            timer.cancel()
    return n, time.perf_counter() - t0, stopped


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--points", type=int, default=100_000, help="about this many points in the grid")
    ap.add_argument("--per-point", type=int, default=2000, help="designs run through the per-point path (0: skip)")
    ap.add_argument("--seconds", type=float, default=None, help="stop the columnar sweep after this long")
    ap.add_argument("--chunk-size", type=int, default=None)
    ap.add_argument("--dask", action="store_true", help="also run on a Dask LocalCluster of --jobs workers")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "bench.toml"
        p.write_text(spec_text(args.points))
        spec = load_spec(p)
        total = spec.grid_size * len(spec.workloads)
        print(f"grid: {spec.grid_size} designs x {len(spec.workloads)} workloads = {total} points "
              f"(systolic, mapping search, Llama-2-7B prefill 512 + decode ctx 1024), jobs={args.jobs}")
        if args.per_point:
            n, dt = per_point(spec, Path(d) / "per_point.db", args.jobs, args.per_point)
            pp = n / dt
            print(f"per-point path: {n} points in {dt:.1f} s = {pp:,.0f} points/s")
        n, dt, stopped = columnar(spec, Path(d) / "columnar.db", args.seconds, jobs=args.jobs,
                                  chunk_size=args.chunk_size)
        rate = n / dt
        print(f"columnar path: {n} points {'committed before the stop at' if stopped else 'in'} {dt:.1f} s "
              f"= {rate:,.0f} points/s")
        if args.per_point:
            print(f"ratio columnar / per-point: {rate / pp:.1f}x")
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        print(f"CPU: sweep process {me.ru_utime + me.ru_stime:.1f} s, workers {kids.ru_utime + kids.ru_stime:.1f} s "
              f"({(me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime) / max(n, 1) * 1e6:.0f} us per point)")
        print(f"peak RSS: sweep process {_maxrss_mib(resource.RUSAGE_SELF):,.0f} MiB, "
              f"largest worker {_maxrss_mib(resource.RUSAGE_CHILDREN):,.0f} MiB")
        print(f"store: {(Path(d) / 'columnar.db').stat().st_size / 2**20:,.0f} MiB")
        if args.dask:
            import warnings

            from distributed import LocalCluster

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with LocalCluster(n_workers=args.jobs, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
                    n2, dt2, stopped2 = columnar(spec, Path(d) / "dask.db", args.seconds, executor="dask",
                                                 scheduler=cluster.scheduler_address,
                                                 chunk_size=args.chunk_size)
            print(f"dask LocalCluster ({args.jobs} workers): {n2} points in {dt2:.1f} s = "
                  f"{n2 / dt2:,.0f} points/s (local executor {rate:,.0f})")


if __name__ == "__main__":
    main()
