"""Output helpers shared by the family CLI modules."""

from __future__ import annotations

import json
import sys

from hwsim.families.base import Perf


def print_json(d: dict) -> int:
    json.dump(d, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


def print_perf(perf: Perf, freq_mhz: float, rows: tuple = ()) -> None:
    """Print a model's :class:`~hwsim.families.base.Perf` as an aligned table.

    ``rows`` are extra ``(label, int)`` lines printed after the cycle count.
    """
    w = sys.stdout.write
    w(f"  cycles          {perf.cycles:>14,d}   ({perf.cycles / freq_mhz:.3f} us at {freq_mhz:g} MHz)\n")
    for label, v in rows:
        w(f"  {label:<15} {v:>14,d}\n")
    w(f"  MACs            {perf.macs:>14,d}\n")
    w(f"  utilization     {perf.utilization:>14.1%}\n")
    w("  SRAM reads      " + ", ".join(f"{b} {v:,}" for b, v in perf.sram_reads.items()) + "\n")
    w("  SRAM writes     " + ", ".join(f"{b} {v:,}" for b, v in perf.sram_writes.items()) + "\n")
    w("  DRAM bytes      " + ", ".join(f"{b} {v:,}" for b, v in perf.dram_bytes.items()) + "\n")
    w("  actions\n")
    for key, v in perf.actions.items():
        w(f"    {key:<20} {v:>14,d}\n")


def print_cost(c: dict, area_from: str) -> None:
    """Print a cost record (:func:`hwsim.cost.report.cost_record`) under the perf table;
    ``area_from`` says where the logic area came from."""
    w = sys.stdout.write
    w(f"  cost ({c['node_nm']} nm; area: {area_from})\n")
    w(f"    area            {c['area_um2'] / 1e6:>12.4f} mm^2  ("
      + ", ".join(f"{k} {v / 1e6:.4f}" for k, v in c["area_um2_by_part"].items()) + ")\n")
    w(f"    energy          {c['energy_pj'] / 1e6:>12.4f} uJ    ("
      + ", ".join(f"{k} {v / 1e6:.4f}" for k, v in c["energy_pj_by_part"].items()) + ")\n")
    w(f"    throughput      {c['tops']:>12.4f} TOPS  (peak {c['peak_tops']:.4f})\n")
    w(f"    efficiency      {c['tops_per_w']:>12.4f} TOPS/W, {c['tops_per_mm2']:.4f} TOPS/mm^2\n")
