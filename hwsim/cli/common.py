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


def add_fidelity_options(parser) -> None:
    """``--fidelity``, ``--rtl-tiles`` and ``--rtl-seed`` of ``hwsim run`` (see
    :func:`fidelity_kwargs`)."""
    from hwsim.evaluate import FIDELITIES

    g = parser.add_argument_group("fidelity")
    g.add_argument("--fidelity", choices=FIDELITIES, default="model",
                   help="'rtl' also runs tiles of the GEMM on the Verilated RTL and checks them "
                        "against golden and the cycle-level model (default: model)")
    g.add_argument("--rtl-tiles", type=int, default=1, metavar="N",
                   help="tiles of the GEMM the RTL runs (with --fidelity rtl; default 1)")
    g.add_argument("--rtl-seed", type=int, default=0, metavar="S",
                   help="seed that picks the tiles and draws their operands (default 0)")


def fidelity_kwargs(args) -> dict:
    """The :func:`run_record` keywords of the options :func:`add_fidelity_options` added."""
    return {"fidelity": args.fidelity, "rtl_tiles": args.rtl_tiles, "rtl_seed": args.rtl_seed}


_SAMPLE_OPTIONS = {"rtl_sample.tiles": "--rtl-tiles", "rtl_sample.seed": "--rtl-seed"}


def run_record(family: str, cfg, op, *, mode: str | None = None, node_nm: int = 45, dram: str | None = None,
               synthesised_area: bool = False, fidelity: str = "model", rtl_tiles: int = 1,
               rtl_seed: int = 0):
    """The :class:`~hwsim.evaluate.Record` of one design on one operation: ``hwsim run``
    prints exactly what a sweep would store for the same point.

    ``fidelity="rtl"`` also runs ``rtl_tiles`` tiles of the op (seed ``rtl_seed``) on the
    Verilated RTL and fills the record's ``rtl_check`` (:func:`hwsim.fidelity.rtl_check`).
    """
    from hwsim.evaluate import Point, Pricing, Workload, evaluate

    try:
        sample = None
        if fidelity == "rtl":
            from hwsim.fidelity import RtlSample

            sample = RtlSample(rtl_tiles, rtl_seed)
        point = Point(family, cfg.to_dict(), Workload.from_gemms("gemm", [op]), fidelity=fidelity, mode=mode,
                      pricing=Pricing(node_nm, dram, synthesised_area), rtl_sample=sample)
        return evaluate(point)
    except ConfigError as e:
        key = _SAMPLE_OPTIONS.get(e.key) or ("--fidelity" if e.key == "fidelity" else None)
        raise ConfigError(key or _PRICING_OPTIONS.get(e.key, e.key), e.reason) from None


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


def print_record(rec, rows: tuple = ()) -> None:
    """Print a record as an aligned table; ``rows`` are extra ``(label, int)`` lines after
    the cycle count; then the RTL check, if the record has one."""
    _print_model(rec, rows)
    print_rtl_check(rec)


def _print_model(rec, rows: tuple) -> None:
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


def print_rtl_check(rec) -> None:
    """Print the RTL fidelity's verdict of a record (nothing at the model fidelity)."""
    from hwsim.fidelity import summary

    c = rec.rtl_check
    if not c:
        return
    w = sys.stdout.write
    w(f"  RTL check       {summary(c)}\n")
    if c.get("status") == "ok":
        for t in c["tiles"]:
            m, k, n = t["shape"]
            w(f"    {t['op']:<12} {m}x{k}x{n}  outputs {'=' if t['equal'] else '!='} golden, "
              f"cycles RTL {t['rtl_cycles']} / model {t['model_cycles']} / estimate {t['estimate_cycles']}\n")
        w(f"    Verilator build {c['build_s']:.1f} s, simulation {c['sim_s']:.1f} s\n")
    elif c.get("log"):
        w(f"    log: {c['log']}\n")
