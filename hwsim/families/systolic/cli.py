"""CLI of the systolic-array family: ``hwsim run systolic``, ``hwsim rtl export systolic``."""

from __future__ import annotations

import argparse
import sys

from hwsim.families.systolic.config import SystolicConfig
from hwsim.cli.common import print_json
from hwsim.families.contract import RunExtras
from hwsim.cli.options import add_config_options as add_options
from hwsim.cli.options import config_from_args as options_config
from hwsim.errors import ConfigError

def add_config_options(p: argparse.ArgumentParser, memory: bool = True) -> None:
    add_options(p, SystolicConfig, title="array configuration",
                groups=(None, "memory and clock") if memory else (None,))


def config_from_args(args) -> SystolicConfig:
    return options_config(SystolicConfig, args)


DESCRIPTION = ("C[M,N] = A[M,K] x B[K,N] on a systolic array. By default cycles are those of hwsim's own "
               "RTL (folds back to back, preload overlapped); --scalesim-compatible gives SCALE-Sim v3's "
               "compute cycles instead.")


def describe(cfg: SystolicConfig) -> str:
    return f"{cfg.rows}x{cfg.cols} {cfg.dataflow.upper()}"


def add_run_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("systolic timing, replay and synthesis")
    g.add_argument("--scalesim-compatible", action="store_true",
                   help="use SCALE-Sim v3's (non-overlapping) fold timing instead of the RTL's")
    g.add_argument("--dram-timing", default=None, metavar="PRESET",
                   help="also replay the GEMM fold by fold with every transfer served by the DRAM/HBM timing "
                   "model (a preset: hbm2, hbm3, ddr4, lpddr4, lpddr5; one channel), beside the closed form at "
                   "that memory's peak bandwidth (--gemm only)")
    g.add_argument("--dram-sim", action="store_true",
                   help="also replay the GEMM fold by fold in an event-driven (simpy) model of double-buffered "
                   "DRAM transfers, to see how far the closed form's perfect-overlap cycles are from it (--gemm only)")
    g.add_argument("--synth", action="append", choices=("asic", "ice40", "ecp5"), default=[],
                   help="also synthesise the RTL (repeatable): asic prices the PE array and periphery from a "
                   "synthesis on the project's cell library (instead of the MAC table), ice40/ecp5 give LUTs, FFs, "
                   "DSPs and Fmax")


def run_extras(args, cfg: SystolicConfig, workload) -> RunExtras:
    dram_timing = None
    single = len(workload.ops) == 1 and workload.ops[0].count == 1
    for opt, on in (("--dram-timing", args.dram_timing is not None), ("--dram-sim", args.dram_sim)):
        if on and not single:
            raise ConfigError(opt, "replays one GEMM; give the workload with --gemm")
        if on and args.scalesim_compatible:
            raise ConfigError(opt, "replays the RTL's fold order; it does not combine with --scalesim-compatible")
    if args.dram_timing is not None:
        from hwsim.memory.config import PRESETS, load_preset

        if args.dram_timing not in PRESETS:
            raise ConfigError("--dram-timing", f"must be one of {', '.join(PRESETS)}, not {args.dram_timing!r}")
        dram_timing = load_preset(args.dram_timing, channels=1)
    targets = list(dict.fromkeys(args.synth))

    def report(rec, d) -> list:
        lines = []
        if single:
            op = workload.ops[0]
            m, k, n = op.m, op.k, op.n
        if args.dram_sim:
            from hwsim.families.systolic.memsim import simulate

            r = d["dram_sim"] = simulate(cfg, m, k, n).to_dict()
            lines.append(f"  DRAM replay     {r['cycles']:>14,d}   (event-driven, {r['buffers']} buffers, "
                         f"{r['folds']:,} folds; the closed form is {-100 * r['error']:.2f} % lower)")
        if dram_timing is not None:
            from hwsim.families.systolic.memsim import simulate_dram

            r = d["dram_timing"] = {"preset": args.dram_timing, **simulate_dram(cfg, m, k, n, dram_timing).to_dict()}
            lines.append(f"  DRAM timing     {r['cycles']:>14,d}   ({r['preset']} timing model, {r['requests']:,} "
                         f"requests, row hits {r['row_hit_rate']:.1%}; the closed form at its peak of "
                         f"{r['peak_bytes_per_cycle']:g} B/cycle gives {r['closed_form_cycles']:,}, "
                         f"{-100 * r['error']:.2f} % lower{'' if r['converged'] else '; schedule not converged'})")
        d["synthesis"] = {}
        for target in targets:
            if target == "asic":
                from hwsim.families.systolic.synth import asic_area

                r = d["synthesis"]["asic"] = asic_area(cfg).to_dict()
                lines.append(f"  synthesis asic    {r['area_um2']:>12,.1f} um^2 logic (PE {r['unit_area_um2']:,.1f} "
                             f"x {r['n_units']})")
            else:
                from hwsim.families.systolic.synth import fpga_resources

                r = d["synthesis"][target] = fpga_resources(cfg, target).to_dict()
                lines.append(f"  synthesis {target:<6}  {r['luts']} LUTs, {r['ffs']} FFs, {r['dsps']} DSPs, "
                             f"Fmax {r['fmax_mhz']} MHz")
        return lines

    return RunExtras(mode="scalesim" if args.scalesim_compatible else "hardware",
                     synthesised_area="asic" in targets, report=report)


def add_export_parser(sub) -> None:
    p = sub.add_parser("systolic", help="systolic array",
                       description="Write the Verilog of a systolic array (PE grid, skew logic and the "
                       "tiled-GEMM sequencer) and a JSON file with its configuration.")
    add_config_options(p, memory=False)
    p.add_argument("-o", "--output", default="rtl/generated", help="output folder (default rtl/generated)")
    p.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    from hwsim.families.systolic.rtl import export_verilog

    cfg = config_from_args(args)
    path = export_verilog(cfg, args.output)
    print(path)
    return 0


def add_synth_parser(sub) -> None:
    p = sub.add_parser("systolic", help="systolic array",
                       description="Synthesise a systolic array's RTL. asic: area by block on the project's "
                       "standard-cell library (one PE synthesised and composed with the periphery, or the whole "
                       "array with --flat). ice40/ecp5: Yosys + nextpnr behind a serialising I/O wrapper; reports "
                       "LUTs, flip-flops, DSPs, BRAMs and Fmax.")
    add_config_options(p, memory=False)
    p.add_argument("--freq-mhz", type=float, default=12.0,
                   help="clock constraint for nextpnr, MHz (default 12; Fmax is reported either way)")
    p.add_argument("--target", choices=("asic", "ice40", "ecp5"), default="asic", help="flow (default asic)")
    p.add_argument("--flat", action="store_true", help="asic: synthesise the whole array instead of composing")
    p.add_argument("--liberty", default=None, help="asic: a liberty file instead of the project's cell library")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_synth)


def cmd_synth(args) -> int:
    from hwsim.families.systolic.synth import asic_area, fpga_resources

    cfg = config_from_args(args)
    if args.target == "asic":
        try:
            res = asic_area(cfg, "flat" if args.flat else "composed", args.liberty)
        except ConfigError as e:
            if e.key == "liberty":
                raise ConfigError("--liberty", e.reason, e.source) from None
            raise
        d = res.to_dict()
        if "area_um2_by_part" not in d:
            d["area_um2_by_part"] = dict(d.get("by_block", {}))
    else:
        d = fpga_resources(cfg, args.target).to_dict()
    d["target"] = args.target
    d["config"] = cfg.to_dict()
    if args.json:
        return print_json(d)
    w = sys.stdout.write
    w(f"systolic {cfg.rows}x{cfg.cols} {cfg.dataflow.upper()} int{cfg.a_bits}xint{cfg.b_bits} acc{cfg.acc_bits}: "
      f"{args.target}\n")
    if args.target == "asic":
        w(f"  area            {d['area_um2']:>12,.1f} um^2\n")
        for k, v in d["area_um2_by_part"].items():
            w(f"    {k:<24} {v:>12,.1f} um^2\n")
    else:
        for k in ("device", "package", "luts", "ffs", "dsps", "brams", "logic_cells", "fmax_mhz"):
            w(f"  {k:<14} {d.get(k)}\n")
    return 0
