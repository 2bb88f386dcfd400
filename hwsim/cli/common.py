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
    """``--rtl-check``, ``--rtl-tiles`` and ``--rtl-seed`` of ``hwsim run`` (see
    :func:`fidelity_kwargs`). A flag rather than a ``--fidelity`` choice: a family's run
    command may own ``--fidelity`` for its cycle-level or event-driven runs."""
    g = parser.add_argument_group("RTL fidelity")
    g.add_argument("--rtl-check", action="store_true",
                   help="evaluate at fidelity 'rtl': also run tiles of every op over its full K on the "
                        "Verilated RTL and check them against golden and the cycle-level model")
    g.add_argument("--rtl-tiles", type=int, default=1, metavar="N",
                   help="with --rtl-check: tiles per op (default 1)")
    g.add_argument("--rtl-seed", type=int, default=0, metavar="S",
                   help="with --rtl-check: seed that picks the tiles and draws their operands (default 0)")


def fidelity_kwargs(args) -> dict:
    """The :func:`run_record` keywords of the options :func:`add_fidelity_options` added."""
    if not args.rtl_check:
        for opt, v, default in (("--rtl-tiles", args.rtl_tiles, 1), ("--rtl-seed", args.rtl_seed, 0)):
            if v != default:
                raise ConfigError(opt, "applies with --rtl-check only")
        return {}
    return {"fidelity": "rtl", "rtl_tiles": args.rtl_tiles, "rtl_seed": args.rtl_seed}


_SAMPLE_OPTIONS = {"rtl_sample.tiles": "--rtl-tiles", "rtl_sample.seed": "--rtl-seed"}


def run_record(family: str, cfg, workload, *, mode: str | None = None, node_nm: int = 45,
               dram: str | None = None, synthesised_area: bool | None = None, fidelity: str = "model",
               rtl_tiles: int = 1, rtl_seed: int = 0):
    """The :class:`~hwsim.evaluate.Record` of one design on one workload (a
    :class:`~hwsim.evaluate.Workload`, or one op): ``hwsim run`` prints exactly what a
    sweep would store for the same point.

    ``fidelity="rtl"`` also runs ``rtl_tiles`` tiles of every op (seed ``rtl_seed``) on
    the Verilated RTL and fills the record's ``rtl_check`` (:func:`hwsim.fidelity.rtl_check`).
    """
    from hwsim.evaluate import Point, Pricing, Workload, evaluate

    if not isinstance(workload, Workload):
        workload = Workload.from_gemms("gemm", [workload])
    try:
        sample = None
        if fidelity == "rtl":
            from hwsim.fidelity import RtlSample

            sample = RtlSample(rtl_tiles, rtl_seed)
        point = Point(family, cfg.to_dict(), workload, fidelity=fidelity, mode=mode,
                      pricing=Pricing(node_nm, dram) if synthesised_area is None
                      else Pricing(node_nm, dram, synthesised_area), rtl_sample=sample)
        return evaluate(point)
    except ConfigError as e:
        key = _SAMPLE_OPTIONS.get(e.key) or ("--rtl-check" if e.key == "fidelity" else None)
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
