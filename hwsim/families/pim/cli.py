"""CLI of the PIM family: ``hwsim run pim --gemm 1xKxN ...`` (and ``hwsim rtl export pim``).

Options are generated from the config's field metadata
(:func:`hwsim.families.contract.param`): ``--channels``, ``--mac-lanes``, ``--operand-format``,
``--no-dual-row-buffer``, ... A field left unset keeps its default (``None``: the preset's).
"""

from __future__ import annotations

import argparse

from hwsim.families.contract import RunExtras
from hwsim.cli.options import option_for
from hwsim.errors import ConfigError
from hwsim.families.pim.config import PimConfig
from hwsim.families.pim.layout import WeightLayout


DESCRIPTION = ("C[M,N] = A[M,K] x W[K,N] as M GEMVs on PIM banks: W stays in the banks (--layout neupims: "
               "outputs over channels then banks; k-split: K sliced over channels), each row of A is written to "
               "the channels' global buffers (GWRITE), and all-bank COMP commands multiply and accumulate beside "
               "every bank. --fidelity event also issues every command of each op through the event-driven PIM "
               "timing engine. Energy is per command class (--energy-model newton: the preset's IDD currents with "
               "NewtonSim's 4x factors; idd: IDD scaled by what a command touches; attacc: AttAcc's pJ/bit table) "
               "plus the data bus (BUS, per 64-byte host transfer).")


def describe(cfg: PimConfig) -> str:
    return (f"{cfg.standard} {cfg.channels_eff} ch x {cfg.banks_per_channel} banks x {cfg.mac_lanes} "
            f"{cfg.operand_format} lanes, {cfg.layout} layout, {cfg.energy_model} energy")


def add_run_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("PIM command schedule")
    g.add_argument("--fidelity", default="model", metavar="{model,event}",
                   help="closed form, or also every command through the event-driven engine (default model)")


def run_extras(args, cfg: PimConfig, workload) -> RunExtras:
    from hwsim.families.pim import model
    from hwsim.families.pim.cost import energy_pj_per_command

    if args.fidelity not in ("model", "event"):
        raise ConfigError("--fidelity", f"must be one of 'model', 'event', not {args.fidelity!r}")
    key = "--gemm" if args.wl_gemm else "--model" if args.wl_model else "--topology"
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
            counts["BUS"] = counts.get("BUS", 0) + \
                model.bus_transfers(cfg, WeightLayout(cfg, op.k, op.n), op.m) * op.count
        e_cmd = energy_pj_per_command(cfg)
        by_class = {c: e_cmd[c] * v for c, v in counts.items()}
        energy = sum(by_class.values())
        macs = sum(op.total_macs for op in workload.ops)
        seconds = cycles / (cfg.freq_mhz * 1e6)
        d.update(fidelity=args.fidelity, layout=cfg.layout, energy_model=cfg.energy_model, commands=counts,
                 energy_pj_per_command=e_cmd, energy_pj_by_class=by_class, command_energy_pj=energy,
                 pj_per_mac=energy / macs, gmac_per_s=macs / seconds / 1e9, channels=cfg.channels_eff,
                 banks_per_channel=cfg.banks_per_channel, schedule_cycles=cycles)
        lines = []
        if args.fidelity == "event":
            lines.append(f"  event-driven    {cycles:>14,d} cycles (closed form {closed:,})")
        lines.append(f"  throughput      {d['gmac_per_s']:>14,.1f} GMAC/s "
                     f"({d['gmac_per_s'] / cfg.channels_eff:,.1f} per channel)")
        lines.append(f"  command energy  {energy / 1e6:>14,.3f} uJ ({d['pj_per_mac']:.2f} pJ/MAC, {cfg.energy_model})")
        lines.append("  by class        " + ", ".join(f"{c} {v / 1e6:,.3f}" for c, v in by_class.items() if v) + " uJ")
        return lines

    return RunExtras(report=report)
