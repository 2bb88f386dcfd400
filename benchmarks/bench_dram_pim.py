"""PIM bank family: GEMV throughput and energy per MAC beside the anchors, the two layouts,
and the closed form against the event-driven model (agreement and speed).

Run from the repository root: ``PYTHONPATH=. python benchmarks/bench_dram_pim.py``.

Anchors (``/work/shared/reference/FAMILIES.md`` section B, REFERENCE.md): Samsung FIMDRAM
(HBM-PIM) 1.2 TFLOPS per stack; NewtonSim-derived 256 GMAC/s per channel and 6.3 pJ per
MAC (a COMP's 4 x RD energy over its 512 MACs). Every figure printed comes from the
closed-form model (:func:`hwsim.families.pim.model.gemv_figures`) with the energy table
named; agreement is the event-driven model's cycles minus the closed form's on a grid of
designs and shapes.
"""

from __future__ import annotations

import itertools
import time

from hwsim.families.pim.config import PimConfig
from hwsim.families.pim.cost import energy_pj_per_command
from hwsim.families.pim.model import closed_form, gemv_figures, simulate

DESIGNS = {"hbm2 preset (8 ch x 16 banks)": {}, "NewtonSim channel (32 ch x 32 banks)": dict(channels=32, ranks=2)}
SHAPES = [(4096, 4096), (4096, 16), (11008, 4096), (128, 2048)]


def figures() -> None:
    print(f"{'design':38s} {'layout':8s} {'K x N':>11s} {'cycles':>8s} {'TFLOPS':>7s} {'GMAC/s/ch':>9s} "
          f"{'util':>5s} | pJ/MAC newton / idd / attacc")
    for (name, kw), layout, (k, n) in itertools.product(DESIGNS.items(), ("neupims", "k-split"), SHAPES):
        e = {em: gemv_figures(c := PimConfig(**kw, layout=layout, energy_model=em), k, n,
                              energy_pj_per_command(c)) for em in ("newton", "idd", "attacc")}
        f = e["newton"]
        print(f"{name:38s} {layout:8s} {f'{k}x{n}':>11s} {f['cycles']:8d} {f['tflops']:7.2f} "
              f"{f['gmac_per_s_per_channel']:9.1f} {f['utilization']:5.2f} | "
              + " / ".join(f"{e[m]['pj_per_mac']:.2f}" for m in ("newton", "idd", "attacc")))


def agreement() -> None:
    configs = [dict(), dict(dual_row_buffer=False), dict(channels=32, ranks=2), dict(operand_format="int8"),
               dict(standard="hbm3"), dict(layout="k-split"), dict(layout="k-split", dual_row_buffer=False)]
    shapes = [(1, 4096, 4096), (1, 4096, 16), (4, 100, 2000), (2, 3000, 700), (1, 11008, 4096)]
    worst, n, t_ev, t_cf = 0, 0, 0.0, 0.0
    for kw, (m, k, nn) in itertools.product(configs, shapes):
        cfg = PimConfig(**kw)
        t0 = time.perf_counter()
        ev = simulate(cfg, m, k, nn)
        t1 = time.perf_counter()
        cf = closed_form(cfg, m, k, nn)
        t2 = time.perf_counter()
        t_ev += t1 - t0
        t_cf += t2 - t1
        worst = max(worst, abs(ev.cycles - cf.cycles))
        n += 1
    print(f"closed form vs event-driven: {n} cases, worst difference {worst} cycles; "
          f"time {t_cf * 1e3:.1f} ms vs {t_ev:.2f} s ({t_ev / t_cf:.0f}x)")


if __name__ == "__main__":
    figures()
    agreement()
