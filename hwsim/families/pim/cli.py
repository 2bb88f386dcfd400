"""CLI of the PIM family: ``hwsim run pim --gemm 1xKxN ...`` (and ``hwsim rtl export pim``).

Options are generated from the config's field metadata
(:func:`hwsim.families.contract.param`): ``--channels``, ``--mac-lanes``, ``--operand-format``,
``--no-dual-row-buffer``, ... A field left unset keeps its default (``None``: the preset's).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from hwsim.cli.common import print_json, print_record, record_json, run_record
from hwsim.cli.options import add_config_options as add_options
from hwsim.cli.options import config_from_args as options_config
from hwsim.cli.options import option_for
from hwsim.errors import ConfigError
from hwsim.families.pim.config import PimConfig
from hwsim.families.pim.layout import WeightLayout
from hwsim.workloads.ops import GemmOp, parse_gemm

def add_config_options(p: argparse.ArgumentParser) -> None:
    add_options(p, PimConfig, title="PIM configuration")


def config_from_args(args) -> PimConfig:
    return options_config(PimConfig, args)


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
        raise ConfigError("--gemm" if e.key in ("gemm", "k", "n") else option_for(PimConfig, e.key), e.reason) from None
    if args.fidelity == "event":
        perf = dataclasses.replace(perf, cycles=sched.cycles, compute_cycles=sched.cycles)
    e_cmd = energy_pj_per_command(cfg)
    energy = sum(e_cmd[c] * v for c, v in sched.counts.items())
    seconds = sched.cycles / (cfg.freq_mhz * 1e6)
    rec = run_record("pim", cfg, GemmOp(m, k, n))
    d = record_json(rec)
    d.update(gemm={"m": m, "k": k, "n": n}, fidelity=args.fidelity, commands=sched.counts,
             energy_pj_per_command=e_cmd, command_energy_pj=energy, pj_per_mac=energy / (m * k * n),
             gmac_per_s=m * k * n / seconds / 1e9, channels=cfg.channels_eff,
             banks_per_channel=cfg.banks_per_channel, schedule_cycles=sched.cycles)
    if args.json:
        return print_json(d)
    w = sys.stdout.write
    w(f"PIM {cfg.standard} {cfg.channels_eff} ch x {cfg.banks_per_channel} banks x {cfg.mac_lanes} "
      f"{cfg.operand_format} lanes  GEMM M={m} K={k} N={n}  ({args.fidelity})\n")
    print_record(rec)
    if args.fidelity == "event":
        w(f"  event-driven    {sched.cycles:>14,d} cycles (closed form {rec.compute_cycles:,})\n")
    w(f"  throughput      {d['gmac_per_s']:>14,.1f} GMAC/s ({d['gmac_per_s'] / cfg.channels_eff:,.1f} per channel)\n")
    w(f"  command energy  {energy / 1e6:>14,.3f} uJ ({d['pj_per_mac']:.2f} pJ/MAC)\n")
    return 0
