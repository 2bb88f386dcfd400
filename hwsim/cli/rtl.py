"""``hwsim rtl export|synth FAMILY ...``: generate Verilog, synthesise it."""

from __future__ import annotations

from hwsim.families import registry


def register(sub) -> None:
    p = sub.add_parser(
        "rtl",
        help="generate Verilog for a design, or synthesise it",
        description="Generate Verilog with the Amaranth generators (export) or synthesise it for "
        "an FPGA or a standard-cell library (synth).",
    )
    act = p.add_subparsers(dest="rtl_action", metavar="ACTION", parser_class=type(p))
    act.required = True
    exp = act.add_parser("export", help="write Verilog for a design",
                         description="Write the Verilog of a design (and a JSON file with its configuration).")
    exp_fam = exp.add_subparsers(dest="family", metavar="FAMILY", parser_class=type(p))
    exp_fam.required = True
    syn = act.add_parser("synth", help="synthesise a design (Yosys, nextpnr) and report area/resources",
                         description="Synthesise a design with Yosys (and nextpnr for FPGAs) and report "
                         "area by block (asic) or LUTs, flip-flops, DSPs and Fmax (ice40, ecp5).")
    syn_fam = syn.add_subparsers(dest="family", metavar="FAMILY", parser_class=type(p))
    syn_fam.required = True
    for family in registry().values():
        if family.cli.export is not None:
            family.cli.export(exp_fam)
        if family.cli.synth is not None:
            family.cli.synth(syn_fam)
