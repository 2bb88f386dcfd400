"""The DRAM replay against hand-derived bounds (HBM2, one channel).

Run from the repository root: ``PYTHONPATH=. python benchmarks/bench_dram_bounds.py [--n 4000]``.
Prints, for each case, what the replay measures and the bound worked out by hand from the
preset's timing (``hwsim/data/dram/HBM2_8Gb_x128.ini``, DRAMsim3's file):

* streaming reads reach the burst rate ``64 B / max(BL/2, tCCD_S)`` (refresh off);
* refresh costs ``tRFC`` (plus the precharge / re-activate around it) per ``tREFI``;
* row misses in one bank are ``tRC``-bound; rotating over four banks of one group,
  ``tRC / 4``; rotating over all sixteen banks, ``tFAW / 4`` (four activates per window);
* uniform random reads over the whole channel: every access a row miss, at best the
  ``tFAW / 4`` activate rate.

The same bounds are asserted (as inequalities) in ``tests/test_dram.py``; this script gives
the figures for the README.
"""

from __future__ import annotations

import argparse

import numpy as np

from hwsim.memory.config import load_preset
from hwsim.memory.controller import simulate
from hwsim.memory.traces import generate


def _reads(cfg, addrs):
    addrs = np.asarray(addrs, dtype=np.int64)
    return simulate(cfg, addrs, np.zeros(len(addrs), bool), np.zeros(len(addrs), np.int64))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4000)
    n = ap.parse_args().n
    hbm2 = load_preset("hbm2", 1)
    off = hbm2.replace(tREFI=10**9)
    rows = []
    seq = np.arange(n) * 64
    r0 = _reads(off, seq)
    peak = hbm2.peak_bytes_per_cycle
    rows.append(("streaming reads, refresh off", f"{r0.bandwidth_bytes_per_cycle:.2f} B/cycle",
                 f"<= {peak:.0f} B/cycle (64 B / max(BL/2, tCCD_S))",
                 f"{r0.bandwidth_bytes_per_cycle / peak:.1%} of peak"))
    r1 = _reads(hbm2, seq)
    lost = (r1.cycles - r0.cycles) / max(1, r1.ref)
    rows.append(("refresh loss per REF", f"{lost:.0f} cycles ({r1.ref} REF)",
                 f"tRFC {hbm2.tRFC} .. tRFC + tRC + tRP {hbm2.tRFC + hbm2.tRC + hbm2.tRP}",
                 f"{(r1.cycles - r0.cycles) / r1.cycles:.1%} of time (tRFC/tREFI {hbm2.tRFC / hbm2.tREFI:.1%})"))
    m = max(100, n // 10)
    r = _reads(off, [off.encode(0, 0, 0, 0, i, 0) for i in range(m)])
    rows.append(("row misses, one bank", f"{r.cycles / m:.2f} cycles/access", f">= tRC = {off.tRC}",
                 f"{off.tRC / (r.cycles / m):.1%} of the bound rate"))
    r = _reads(off, [off.encode(0, 0, 0, i % 4, i, 0) for i in range(m)])
    rows.append(("row misses, 4 banks of a group", f"{r.cycles / m:.2f} cycles/access",
                 f">= tRC/4 = {off.tRC / 4:.1f}", f"{off.tRC / 4 / (r.cycles / m):.1%} of the bound rate"))
    r = _reads(off, [off.encode(0, 0, i % 4, (i // 4) % 4, i, 0) for i in range(m)])
    rows.append(("row misses, 16 banks", f"{r.cycles / m:.2f} cycles/access", f">= tFAW/4 = {off.tFAW / 4:.1f}",
                 f"{off.tFAW / 4 / (r.cycles / m):.1%} of the bound rate"))
    t = generate("random", hbm2, n, seed=0)
    r = simulate(hbm2, t.addr, t.is_write, t.cycle)
    rows.append(("uniform random reads (refresh on)", f"{r.cycles / n:.2f} cycles/access, {r.act} ACT",
                 f">= tFAW/4 = {hbm2.tFAW / 4:.1f}", f"{hbm2.tFAW / 4 / (r.cycles / n):.1%} of the bound rate"))
    w = max(len(x[0]) for x in rows)
    for name, got, bound, ratio in rows:
        print(f"{name:{w}s}  {got:34s} {bound:48s} {ratio}")


if __name__ == "__main__":
    main()
