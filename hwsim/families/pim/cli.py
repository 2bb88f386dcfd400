"""CLI of the PIM family: ``hwsim run pim --gemm 1xKxN ...`` (and ``hwsim rtl export pim``).

Options are generated from the config's field metadata
(:func:`hwsim.families.contract.param`): ``--channels``, ``--mac-lanes``, ``--operand-format``,
``--no-dual-row-buffer``, ... A field left unset keeps its default (``None``: the preset's).
"""

from __future__ import annotations

import argparse
import sys

from hwsim.cli.common import print_json
from hwsim.families.contract import RunExtras
from hwsim.cli.options import add_config_options as add_options
from hwsim.cli.options import config_from_args as options_config
from hwsim.cli.options import option_for
from hwsim.errors import ConfigError
from hwsim.families.pim.config import PimConfig
from hwsim.families.pim.layout import WeightLayout

def add_config_options(p: argparse.ArgumentParser) -> None:
    add_options(p, PimConfig, title="PIM configuration")


def config_from_args(args) -> PimConfig:
    return options_config(PimConfig, args)


DESCRIPTION = ("C[M,N] = A[M,K] x W[K,N] as M GEMVs on PIM banks: W stays in the banks (NeuPIMs layout), "
               "each row of A is written to the channels' global buffers (GWRITE), and all-bank COMP commands "
               "multiply and accumulate beside every bank. --fidelity event also issues every command of each "
               "op through the event-driven PIM timing engine. Energy is per command from the preset's IDD "
               "currents (NewtonSim rules).")


def describe(cfg: PimConfig) -> str:
    return (f"{cfg.standard} {cfg.channels_eff} ch x {cfg.banks_per_channel} banks x {cfg.mac_lanes} "
            f"{cfg.operand_format} lanes")


def add_run_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("PIM command schedule")
    g.add_argument("--fidelity", default="model", metavar="{model,event}",
                   help="closed form, or also every command through the event-driven engine (default model)")


def run_extras(args, cfg: PimConfig, workload) -> RunExtras:
    from hwsim.families.pim import model
    from hwsim.families.pim.cost import energy_pj_per_command

    if args.fidelity not in ("model", "event"):
        raise ConfigError("--fidelity", f"must be one of 'model', 'event', not {args.fidelity!r}")
    key = "--gemm" if args.gemm else "--model" if args.model else "--topology"
    try:
        for op in workload.ops:
            WeightLayout(cfg, op.k, op.n).check_capacity()
    except ConfigError as e:
        raise ConfigError(key if e.key in ("gemm", "k", "n") else option_for(PimConfig, e.key), e.reason) from None

    def report(rec, d) -> list:
        counts: dict = {}
        cycles = closed = 0
        for op in workload.ops:
            sched = model.simulate(cfg, op.m, op.k, op.n) if args.fidelity == "event" else \
                model.closed_form(cfg, op.m, op.k, op.n)
            cycles += sched.cycles * op.count
            closed += model.closed_form(cfg, op.m, op.k, op.n).cycles * op.count
            for c, v in sched.counts.items():
                counts[c] = counts.get(c, 0) + v * op.count
        e_cmd = energy_pj_per_command(cfg)
        energy = sum(e_cmd[c] * v for c, v in counts.items())
        macs = sum(op.total_macs for op in workload.ops)
        seconds = cycles / (cfg.freq_mhz * 1e6)
        d.update(fidelity=args.fidelity, commands=counts, energy_pj_per_command=e_cmd, command_energy_pj=energy,
                 pj_per_mac=energy / macs, gmac_per_s=macs / seconds / 1e9, channels=cfg.channels_eff,
                 banks_per_channel=cfg.banks_per_channel, schedule_cycles=cycles)
        lines = []
        if args.fidelity == "event":
            lines.append(f"  event-driven    {cycles:>14,d} cycles (closed form {closed:,})")
        lines.append(f"  throughput      {d['gmac_per_s']:>14,.1f} GMAC/s "
                     f"({d['gmac_per_s'] / cfg.channels_eff:,.1f} per channel)")
        lines.append(f"  command energy  {energy / 1e6:>14,.3f} uJ ({d['pj_per_mac']:.2f} pJ/MAC)")
        return lines

    return RunExtras(report=report)


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


def add_synth_parser(sub) -> None:
    p = sub.add_parser("pim", help="PIM unit of one channel",
                       description="Synthesise one channel's PIM unit (global buffer, MAC lanes, adder trees, "
                       "accumulators). asic: cell area on the project's standard-cell library (or --liberty). "
                       "ice40/ecp5: Yosys + nextpnr behind a serialising I/O wrapper; reports LUTs, flip-flops, "
                       "DSPs and Fmax. Small configurations (--banks-per-group, --mac-lanes) fit FPGAs.")
    add_config_options(p)
    p.add_argument("--target", choices=("asic", "ice40", "ecp5"), default="asic", help="flow (default asic)")
    p.add_argument("--liberty", default=None, help="asic: a liberty file instead of the project's cell library")
    p.add_argument("--clock-mhz", type=float, default=12.0,
                   help="clock constraint for nextpnr, MHz (default 12; Fmax is reported either way)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_synth)


def cmd_synth(args) -> int:
    from hwsim.eda.synth import fpga_wrapped, synth_asic
    from hwsim.families.pim.hdl import TOP
    from hwsim.families.pim.rtl import component, verilog_text

    cfg = config_from_args(args)
    if args.target == "asic":
        d = synth_asic(verilog_text(cfg), TOP, args.liberty, name=TOP).to_dict()
    else:
        if args.liberty is not None:
            raise ConfigError("--liberty", "applies to --target asic only")
        d = fpga_wrapped(component(cfg), TOP, args.target, freq_mhz=args.clock_mhz).to_dict()
    d.update(target=args.target, config=cfg.to_dict())
    if args.json:
        return print_json(d)
    w = sys.stdout.write
    w(f"PIM unit {cfg.banks_per_channel} banks x {cfg.mac_lanes} {cfg.operand_format} lanes: {args.target}\n")
    keys = ("area_um2", "cell_count") if args.target == "asic" else \
        ("device", "luts", "ffs", "dsps", "brams", "fmax_mhz")
    for k in keys:
        w(f"  {k:<14} {d.get(k)}\n")
    return 0
