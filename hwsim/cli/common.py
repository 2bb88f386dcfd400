"""Output helpers shared by the family CLI modules."""

from __future__ import annotations

import json
import sys

from hwsim.errors import ConfigError


def print_json(d: dict) -> int:
    json.dump(d, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


#: Pricing fields -> the options of ``hwsim run`` that set them.
_PRICING_OPTIONS = {"node_nm": "--node-nm", "dram": "--dram", "dram_type": "--dram"}


def run_record(family: str, cfg, workload, *, mode: str | None = None, node_nm: int = 45,
               dram: str | None = None, synthesised_area: bool = False):
    """The :class:`~hwsim.evaluate.Record` of one design on one workload (a
    :class:`~hwsim.evaluate.Workload`, or one op): ``hwsim run`` prints exactly what a
    sweep would store for the same point."""
    from hwsim.evaluate import Point, Pricing, Workload, evaluate

    if not isinstance(workload, Workload):
        workload = Workload.from_gemms("gemm", [workload])
    try:
        point = Point(family, cfg.to_dict(), workload, mode=mode,
                      pricing=Pricing(node_nm, dram, synthesised_area))
        return evaluate(point)
    except ConfigError as e:
        raise ConfigError(_PRICING_OPTIONS.get(e.key, e.key), e.reason) from None


def record_json(rec) -> dict:
    """A record as ``hwsim run --json`` prints it: every record field, plus ``cost`` (the
    priced figures with their provenance) and ``time_us``."""
    d = rec.to_dict()
    d["time_us"] = rec.latency_s * 1e6
    d["cost"] = {k: d[k] for k in ("area_um2", "area_um2_by_part", "energy_pj", "energy_pj_by_part", "tops",
                                   "peak_tops", "tops_per_w", "tops_per_mm2")}
    d["cost"].update(node_nm=rec.cost_provenance.get("node_nm"), estimator=rec.cost_estimator,
                     provenance=rec.cost_provenance)
    return d


def _mapping_text(m: dict) -> str:
    if not m:
        return "-"
    return " ".join(f"{k}={v}" for k, v in m.items() if k != "objective")


def print_layers(rec) -> None:
    """The per-layer table of a record (one line per op, its repeats included)."""
    w = sys.stdout.write
    energy = rec.energy_pj is not None
    w(f"  {'layer':<14} {'M x K x N':>20} {'count':>6} {'cycles':>15} {'util':>6} {'DRAM bytes':>15}"
      + (f" {'energy uJ':>12}" if energy else "") + "  mapping\n")
    for ly in rec.layers:
        shape = f"{ly['m']}x{ly['k']}x{ly['n']}"
        w(f"  {str(ly['name'])[:14]:<14} {shape:>20} {ly['count']:>6,d} {ly['cycles']:>15,d} "
          f"{ly['utilization']:>6.1%} {ly['dram_bytes']:>15,d}"
          + (f" {ly['energy_pj'] / 1e6:>12.3f}" if energy else "") + f"  {_mapping_text(ly['mapping'])}\n")
    w("  totals\n")


def print_record(rec, rows: tuple = ()) -> None:
    """Print a record as an aligned table; ``rows`` are extra ``(label, int)`` lines after
    the cycle count."""
    w = sys.stdout.write
    w(f"  cycles          {rec.cycles:>14,d}   ({rec.latency_s * 1e6:.3f} us at {rec.freq_mhz:g} MHz)\n")
    for label, v in (("compute cycles", rec.compute_cycles), ("DRAM stalls", rec.stall_cycles)) + tuple(rows):
        w(f"  {label:<15} {v:>14,d}\n")
    w(f"  MACs            {rec.macs:>14,d}\n")
    w(f"  utilization     {rec.utilization:>14.1%}   (peak {rec.peak_macs_per_cycle:g} MACs/cycle)\n")
    reads = {k.split(":", 1)[1]: v for k, v in rec.actions.items() if k.startswith("sram_read:")}
    writes = {k.split(":", 1)[1]: v for k, v in rec.actions.items() if k.startswith("sram_write:")}
    w("  SRAM reads      " + ", ".join(f"{b} {v:,}" for b, v in reads.items()) + "\n")
    w("  SRAM writes     " + ", ".join(f"{b} {v:,}" for b, v in writes.items()) + "\n")
    w(f"  DRAM bytes      {rec.dram_bytes:>14,d}\n")
    w("  actions\n")
    for key, v in rec.actions.items():
        w(f"    {key:<20} {v:>14,d}\n")
    if rec.energy_pj is None:
        w(f"  cost            {rec.cost_provenance.get('status')}\n")
        return
    sources = rec.cost_provenance.get("area_sources") or {}
    w(f"  cost ({rec.cost_estimator}; compute area: {str(sources.get('pe_array', '?'))[:60]})\n")
    w(f"    area            {rec.area_um2 / 1e6:>12.4f} mm^2  ("
      + ", ".join(f"{k} {v / 1e6:.4f}" for k, v in rec.area_um2_by_part.items()) + ")\n")
    w(f"    energy          {rec.energy_pj / 1e6:>12.4f} uJ    ("
      + ", ".join(f"{k} {v / 1e6:.4f}" for k, v in rec.energy_pj_by_part.items()) + ")\n")
    w(f"    throughput      {rec.tops:>12.4f} TOPS  (peak {rec.peak_tops:.4f})\n")
    w(f"    efficiency      {rec.tops_per_w:>12.4f} TOPS/W, {rec.tops_per_mm2:.4f} TOPS/mm^2\n")
