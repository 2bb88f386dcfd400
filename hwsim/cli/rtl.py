"""``hwsim rtl export|synth FAMILY ...``: the Verilog bundle of a design, or its synthesis.

Both commands are built from the family contract for every family with
:class:`~hwsim.families.contract.RtlHooks`: the options are the config fields that shape
the RTL (``RtlHooks.fields``, from their metadata), plus the family's synthesis extras.
"""

from __future__ import annotations

import sys

from hwsim.cli.common import print_json
from hwsim.cli.options import add_config_options, config_from_args, option_for
from hwsim.errors import ConfigError
from hwsim.families import registry


def _skip(fam) -> tuple:
    return tuple(f for f in fam.fields() if f not in fam.rtl.fields)


def _top(fam, cfg):
    """The top component of ``cfg`` (built here so that a design the generator refuses is
    reported as an error of the option that caused it). Build it last: Amaranth warns
    about a component that is never elaborated."""
    try:
        return fam.top(cfg)
    except ConfigError as e:
        raise ConfigError(option_for(fam.config, e.key), e.reason) from None


def register(sub) -> None:
    p = sub.add_parser(
        "rtl",
        help="generate Verilog for a design, or synthesise it",
        description="Write a design's Verilog bundle (export) or synthesise it for an FPGA or a "
        "standard-cell library (synth).",
    )
    act = p.add_subparsers(dest="rtl_action", metavar="ACTION", parser_class=type(p))
    act.required = True
    exp = act.add_parser(
        "export", help="write the Verilog bundle of a design",
        description="Write <name>.v (self-describing top: configuration and port table in its header), "
        "<name>.json (the fields that shape the RTL), <name>_tb.v (a self-checking testbench with vectors "
        "from the golden model), Yosys scripts for iCE40, ECP5 and a generic ASIC flow, an SDC with the "
        "clock and <name>.mk (lint, sim, synth, pnr targets); with --fpga-wrapper also the serial I/O "
        "wrapper and PCF/LPF pin constraints. <name> includes a hash of the RTL-shaping fields, so two "
        "exports never overwrite each other.")
    exp_fam = exp.add_subparsers(dest="family", metavar="FAMILY", parser_class=type(p))
    exp_fam.required = True
    syn = act.add_parser("synth", help="synthesise a design (Yosys, nextpnr) and report area/resources",
                         description="Synthesise a design with Yosys (and nextpnr for FPGAs) and report "
                         "area by block (asic) or LUTs, flip-flops, DSPs and Fmax (ice40, ecp5).")
    syn_fam = syn.add_subparsers(dest="family", metavar="FAMILY", parser_class=type(p))
    syn_fam.required = True
    for fam in registry().values():
        if fam.rtl is None:
            continue
        e = exp_fam.add_parser(fam.name, help=fam.summary, description=f"Write the Verilog bundle of a {fam.name} "
                               f"design ({fam.summary}). Only the fields that shape the RTL are options.")
        add_config_options(e, fam.config, title=f"{fam.name} RTL configuration", skip=_skip(fam))
        e.add_argument("-o", "--output", default="rtl/generated", help="output folder (default rtl/generated)")
        e.add_argument("--fpga-wrapper", action="store_true",
                       help="also write the serial I/O wrapper, iCE40 PCF and ECP5 LPF pin files and pnr targets")
        e.add_argument("--freq-mhz", dest="clock_mhz", type=float, default=None,
                       help="clock of the SDC constraint, MHz (default: the design's clock, else 100; the FPGA "
                       "pin files constrain the boards' 12 MHz oscillator)")
        e.add_argument("--seed", type=int, default=0, help="seed of the testbench's stimulus (default 0)")
        e.add_argument("--json", action="store_true", help="print the bundle's files as JSON")
        if fam.rtl.export_options is not None:
            fam.rtl.export_options(e)
        e.set_defaults(func=cmd_export, fam=fam)

        s = syn_fam.add_parser(fam.name, help=fam.summary, description=f"Synthesise a {fam.name} design. "
                               "asic: cell area by block on the project's standard-cell library (or --liberty). "
                               "ice40/ecp5: Yosys + nextpnr behind the serial I/O wrapper; LUTs, flip-flops, "
                               "DSPs, BRAMs and Fmax.")
        add_config_options(s, fam.config, title=f"{fam.name} RTL configuration", skip=_skip(fam))
        s.add_argument("--target", choices=("asic", "ice40", "ecp5"), default="asic", help="flow (default asic)")
        s.add_argument("--liberty", default=None, help="asic: a liberty file instead of the project's cell library")
        s.add_argument("--freq-mhz", dest="clock_mhz", type=float, default=12.0,
                       help="clock constraint for nextpnr, MHz (default 12; Fmax is reported either way)")
        s.add_argument("--json", action="store_true", help="print one JSON object")
        if fam.rtl.synth_options is not None:
            fam.rtl.synth_options(s)
        s.set_defaults(func=cmd_synth, fam=fam)


def cmd_export(args) -> int:
    from hwsim.eda.export import check_output, export

    fam = args.fam
    cfg = config_from_args(fam.config, args)
    if args.clock_mhz is not None and not (args.clock_mhz > 0 and args.clock_mhz < float("inf")):
        raise ConfigError("--freq-mhz", f"must be a positive finite number, not {args.clock_mhz!r}")
    out_dir = args.output
    # the extras' options are checked before anything is written
    extra = fam.rtl.export_extra(cfg, args) if fam.rtl.export_extra is not None else None
    check_output(out_dir)
    component, module = _top(fam, cfg)
    try:
        bundle = export(fam, cfg, out_dir, fpga_wrapper=args.fpga_wrapper, freq_mhz=args.clock_mhz, seed=args.seed,
                        top=(component, module))
    except ConfigError as e:
        raise ConfigError(option_for(fam.config, e.key) if e.key != "--output" else e.key, e.reason) from None
    if extra is not None:
        bundle.files.update(extra(bundle))
    if args.json:
        return print_json(bundle.to_dict())
    for role, path in bundle.files.items():
        sys.stdout.write(f"{role:<14} {path}\n")
    return 0


def cmd_synth(args) -> int:
    from hwsim.eda.synth import fpga_wrapped, synth_asic
    from hwsim.eda.verilog import convert

    fam = args.fam
    if not (args.clock_mhz > 0 and args.clock_mhz < float("inf")):
        raise ConfigError("--freq-mhz", f"must be a positive finite number, not {args.clock_mhz!r}")
    if args.liberty is not None and args.target != "asic":
        raise ConfigError("--liberty", f"applies to --target asic only, not {args.target!r}")
    cfg = config_from_args(fam.config, args)
    component, module = _top(fam, cfg)
    if args.target == "asic":
        try:
            if fam.rtl.synth_asic is not None:
                # the family synthesises its own parts; the top was built only to check the design
                component._MustUse__silence = True
                d = fam.rtl.synth_asic(cfg, args)
            else:
                d = synth_asic(convert(component, module), module, args.liberty, name=module).to_dict()
        except ConfigError as e:
            if e.key == "liberty":
                raise ConfigError("--liberty", e.reason, e.source) from None
            raise
    else:
        from hwsim.eda.export import export_name

        d = fpga_wrapped(component, f"{export_name(fam, cfg, module)}_fpga", args.target,
                         freq_mhz=args.clock_mhz).to_dict()
    d.update(family=fam.name, target=args.target, top=module, config=cfg.to_dict())
    if args.json:
        return print_json(d)
    w = sys.stdout.write
    w(f"{fam.name} {module}: {args.target}\n")
    if args.target == "asic":
        w(f"  area            {d['area_um2']:>12,.1f} um^2\n")
        for k, v in (d.get("area_um2_by_part") or d.get("by_block") or {}).items():
            w(f"    {k:<24} {v:>12,.1f} um^2\n")
    else:
        for k in ("device", "package", "luts", "ffs", "dsps", "brams", "logic_cells", "fmax_mhz"):
            w(f"  {k:<14} {d.get(k)}\n")
    return 0
