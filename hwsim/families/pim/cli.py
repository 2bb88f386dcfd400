"""CLI of the PIM family: ``hwsim run pim --gemm 1xKxN ...`` (and ``hwsim rtl export pim``).

Options are generated from the config's field metadata
(:func:`hwsim.families.contract.param`): ``--channels``, ``--mac-lanes``, ``--operand-format``,
``--no-dual-row-buffer``, ... A field left unset keeps its default (``None``: the preset's).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from hwsim.cli.common import config_from_options, print_json, print_perf
from hwsim.errors import ConfigError
from hwsim.families.contract import option_name
from hwsim.families.pim.config import PimConfig
from hwsim.families.pim.layout import WeightLayout
from hwsim.workloads.ops import GemmOp, parse_gemm

_OPTION = {f.name: option_name(f) for f in dataclasses.fields(PimConfig)}


def add_config_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("PIM configuration")
    for f in dataclasses.fields(PimConfig):
        md, opt = f.metadata, option_name(f)
        unit = f" [{md['unit']}]" if md.get("unit") else ""
        if isinstance(f.default, bool):
            flag = opt if not f.default else "--no-" + opt[2:]
            g.add_argument(flag, dest=f.name, action="store_const", const=not f.default, default=f.default,
                           help=f"{md['help']} (default {'on' if f.default else 'off'})")
            continue
        kind = str if isinstance(f.default, str) else int
        extra = {"metavar": "{" + ",".join(md["choices"]) + "}"} if md.get("choices") else {}
        g.add_argument(opt, dest=f.name, type=kind, default=f.default,
                       help=f"{md['help']}{unit} (default {f.default})", **extra)


def config_from_args(args) -> PimConfig:
    kw = {f.name: getattr(args, f.name) for f in dataclasses.fields(PimConfig)}
    return config_from_options(PimConfig, kw, args, (), _OPTION)


def add_run_parser(sub) -> None:
    p = sub.add_parser(
        "pim", help="DRAM-PIM banks (HBM with MAC lanes per bank): GEMV",
        description="Time C[M,N] = A[M,K] x W[K,N] as M GEMVs on PIM banks: W stays in the banks "
        "(NeuPIMs layout), each row of A is written to the channels' global buffers (GWRITE), and "
        "all-bank COMP commands multiply and accumulate beside every bank. --fidelity model uses "
        "the closed form, --fidelity event issues every command through the event-driven PIM "
        "timing engine. Energy is per command from the preset's IDD currents (NewtonSim rules).")
    p.add_argument("--gemm", required=True, metavar="MxKxN", help="GEMM shape, e.g. 1x4096x4096")
    add_config_options(p)
    p.add_argument("--fidelity", default="model", metavar="{model,event}",
                   help="closed form or event-driven (default model)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=cmd_run)


def cmd_run(args) -> int:
    from hwsim.families.pim import model
    from hwsim.families.pim.cost import energy_pj_per_command

    if args.fidelity not in ("model", "event"):
        raise ConfigError("--fidelity", f"must be one of 'model', 'event', not {args.fidelity!r}")
    m, k, n = parse_gemm(args.gemm)
    cfg = config_from_args(args)
    try:
        WeightLayout(cfg, k, n).check_capacity()
        perf = model.estimate(cfg, GemmOp(m, k, n))
        sched = model.simulate(cfg, m, k, n) if args.fidelity == "event" else model.closed_form(cfg, m, k, n)
    except ConfigError as e:
        raise ConfigError("--gemm" if e.key in ("gemm", "k", "n") else _OPTION.get(e.key, e.key), e.reason) from None
    if args.fidelity == "event":
        perf = dataclasses.replace(perf, cycles=sched.cycles, compute_cycles=sched.cycles)
    e_cmd = energy_pj_per_command(cfg)
    energy = sum(e_cmd[c] * v for c, v in sched.counts.items())
    seconds = sched.cycles / (cfg.freq_mhz * 1e6)
    d = perf.to_dict()
    d.update(family="pim", config=cfg.to_dict(), gemm={"m": m, "k": k, "n": n}, fidelity=args.fidelity,
             time_us=seconds * 1e6, commands=sched.counts, energy_pj_per_command=e_cmd,
             energy_pj=energy, pj_per_mac=energy / (m * k * n), gmac_per_s=m * k * n / seconds / 1e9,
             channels=cfg.channels_eff, banks_per_channel=cfg.banks_per_channel)
    if args.json:
        return print_json(d)
    w = sys.stdout.write
    w(f"PIM {cfg.standard} {cfg.channels_eff} ch x {cfg.banks_per_channel} banks x {cfg.mac_lanes} "
      f"{cfg.operand_format} lanes  GEMM M={m} K={k} N={n}  ({args.fidelity})\n")
    print_perf(perf, cfg.freq_mhz)
    w(f"  throughput      {d['gmac_per_s']:>14,.1f} GMAC/s ({d['gmac_per_s'] / cfg.channels_eff:,.1f} per channel)\n")
    w(f"  command energy  {energy / 1e6:>14,.3f} uJ ({d['pj_per_mac']:.2f} pJ/MAC)\n")
    return 0


def add_export_parser(sub) -> None:
    p = sub.add_parser("pim", help="PIM unit of one channel (global buffer, lanes, adder trees, accumulators)",
                       description="Write the Verilog of one channel's PIM unit and a JSON file with its "
                       "configuration.")
    add_config_options(p)
    p.add_argument("--out", default=".", help="output folder (default: current)")
    p.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    import json
    from pathlib import Path

    from hwsim.families.pim.hdl import TOP
    from hwsim.families.pim.rtl import verilog_text

    cfg = config_from_args(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    v = out / f"{TOP}.v"
    v.write_text(verilog_text(cfg))
    (out / f"{TOP}.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
    sys.stdout.write(f"wrote {v}\n")
    return 0
