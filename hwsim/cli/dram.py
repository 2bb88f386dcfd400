"""``hwsim dram replay|presets``: the DRAM/HBM timing model on DRAMsim3 traces."""

from __future__ import annotations

import sys

from hwsim.cli.common import print_json
from hwsim.errors import ConfigError
from hwsim.memory.config import PRESETS, load_ini, load_preset
from hwsim.memory.controller import simulate
from hwsim.memory.traces import read_trace


def _config(args):
    if args.config:
        cfg = load_ini(args.config)
    else:
        cfg = load_preset(args.standard)
    if args.channels is not None:
        if args.channels < 1 or args.channels & (args.channels - 1):
            raise ConfigError("--channels", f"must be a power of two >= 1, not {args.channels}")
        cfg = cfg.replace(channels=args.channels)
    return cfg


def cmd_replay(args) -> int:
    cfg = _config(args)
    trace = read_trace(args.trace)
    r = simulate(cfg, trace.addr, trace.is_write, trace.cycle)
    d = {"trace": str(args.trace), "config": cfg.source, "transactions": len(trace)}
    d.update(r.to_dict())
    if args.json:
        return print_json(d)
    w = sys.stdout.write
    w(f"{args.trace}: {len(trace):,} transactions ({trace.reads:,} reads, {trace.writes:,} writes) "
      f"on {cfg.source}, {cfg.channels} channel(s)\n")
    w(f"  cycles          {r.cycles:>14,d}   ({r.cycles * cfg.tCK / 1e3:.3f} us at tCK {cfg.tCK:g} ns)\n")
    for label, v in (("ACT", r.act), ("PRE", r.pre), ("REF", r.ref), ("RD", r.reads), ("WR", r.writes)):
        w(f"  {label:<15} {v:>14,d}\n")
    w(f"  bandwidth       {r.bandwidth_bytes_per_cycle:>14.3f} B/cycle "
      f"({r.bandwidth_bytes_per_cycle / cfg.tCK:.2f} GB/s)\n")
    w(f"  read latency    {r.avg_read_latency_cycles:>14.2f} cycles (mean)\n")
    w(f"  energy          {r.energy_pj / 1e6:>14.4f} uJ    ("
      + ", ".join(f"{k} {v / 1e6:.4f}" for k, v in r.energy_by_kind_pj.items()) + ")\n")
    return 0


def cmd_presets(args) -> int:
    rows = []
    for name, fname in PRESETS.items():
        c = load_preset(name)
        rows.append({"standard": name, "file": fname, "protocol": c.protocol, "channels": c.channels,
                     "ranks": c.ranks, "banks": c.banks, "tck_ns": c.tCK,
                     "request_bytes": c.request_size_bytes,
                     "peak_gb_per_s_per_channel": round(c.peak_bytes_per_cycle / c.tCK, 3)})
    if args.json:
        return print_json(rows)
    print(f"{'standard':9s} {'protocol':8s} {'ch':>3s} {'ranks':>5s} {'banks':>5s} {'tCK ns':>7s} "
          f"{'B/req':>5s} {'GB/s/ch':>8s}  file")
    for r in rows:
        print(f"{r['standard']:9s} {r['protocol']:8s} {r['channels']:3d} {r['ranks']:5d} {r['banks']:5d} "
              f"{r['tck_ns']:7g} {r['request_bytes']:5d} {r['peak_gb_per_s_per_channel']:8.2f}  {r['file']}")
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "dram",
        help="replay memory traces through the DRAM/HBM timing model",
        description="Event-driven DRAM/HBM timing model (banks, row buffers, FR-FCFS, refresh, "
        "IDD energy) following DRAMsim3; configurations in DRAMsim3's .ini format.",
    )
    dsub = p.add_subparsers(dest="dram_command", metavar="ACTION", parser_class=type(p))
    dsub.required = True
    pr = dsub.add_parser(
        "replay", help="replay a DRAMsim3-format trace",
        description="Replay a trace of '0xADDR READ|WRITE CYCLE' lines (one transaction each, "
        "in order, at most one accepted per cycle) and print cycles, commands, bandwidth, "
        "read latency and energy.",
    )
    pr.add_argument("trace", metavar="TRACE", help="trace file")
    pr.add_argument("--standard", default="hbm2", choices=tuple(PRESETS),
                    help="shipped preset (default hbm2); ignored with --config")
    pr.add_argument("--config", metavar="FILE.ini", help="DRAMsim3 .ini configuration")
    pr.add_argument("--channels", type=int, help="override the number of channels")
    pr.add_argument("--json", action="store_true", help="print a JSON object")
    pr.set_defaults(func=cmd_replay)
    pp = dsub.add_parser("presets", help="list the shipped DRAM presets")
    pp.add_argument("--json", action="store_true", help="print JSON")
    pp.set_defaults(func=cmd_presets)
