"""CLI of the MixPE family: ``hwsim run mixpe``, ``hwsim rtl export mixpe``, ``hwsim rtl synth mixpe``.

The design options are generated from :class:`~hwsim.families.mixpe.config.MixpeConfig`'s
field metadata (help, unit, option name, range, choices), so a new field appears on the
command line and in error messages without an edit here.
"""

from __future__ import annotations

import argparse
import sys

from hwsim.cli.common import print_json
from hwsim.cli.options import add_config_options as add_options
from hwsim.cli.options import config_from_args as options_config
from hwsim.cli.options import option_for
from hwsim.errors import ConfigError
from hwsim.families.mixpe.config import MixpeConfig

def add_config_options(p: argparse.ArgumentParser, skip=()) -> None:
    """One option per config field (except ``skip``), from the field metadata."""
    add_options(p, MixpeConfig, title="MixPE configuration", skip=tuple(skip))


def config_from_args(args, skip=()) -> MixpeConfig:
    """The config of the parsed options, checked as a sweep checks it; an error names the
    option, not the field."""
    return options_config(MixpeConfig, args)


DESCRIPTION = ("C[M,N] = A[M,K] x W[K,N] with w-bit group-quantised weights on a MixPE array (output "
               "stationary; every set weight bit adds a shifted activation, dequantisation once per group). "
               "Cycles are those of hwsim's MixPE RTL (closed form); area is one synthesised PE composed over "
               "the array plus the SRAM buffers.")


def describe(cfg: MixpeConfig) -> str:
    a_bits = 8 if cfg.act_format == "int8" else 16
    return (f"{cfg.rows}x{cfg.cols} W{cfg.w_bits}A{a_bits} g{cfg.group_size} "
            f"{'zero point' if cfg.zero_point else 'signed codes'}")


#: Fields that do not change the RTL (left off the export and synth commands).
_NOT_RTL = ("wbuf_kib", "ibuf_kib", "obuf_kib", "freq_mhz", "dram_bw_bytes_per_cycle")


def add_export_parser(sub) -> None:
    p = sub.add_parser("mixpe", help="MixPE array",
                       description="Write the Verilog of a MixPE array (the systolic os array with "
                       "shift-and-add PEs; weight bits and code kind are run-time inputs) and a JSON file "
                       "with its configuration.")
    add_config_options(p, skip=_NOT_RTL)
    p.add_argument("-o", "--output", default="rtl/generated", help="output folder (default rtl/generated)")
    p.set_defaults(func=cmd_export)


def _rtl_config(args) -> MixpeConfig:
    from hwsim.families.mixpe.timing import array_config

    cfg = config_from_args(args, skip=_NOT_RTL)
    try:
        array_config(cfg)
    except ConfigError as e:
        raise ConfigError(option_for(MixpeConfig, e.key), e.reason) from None
    return cfg


def cmd_export(args) -> int:
    from hwsim.families.mixpe.rtl import export_verilog

    print(export_verilog(_rtl_config(args), args.output))
    return 0


def add_synth_parser(sub) -> None:
    p = sub.add_parser("mixpe", help="MixPE array",
                       description="Synthesise the MixPE PE (INT8 or FP16 path) on the project's standard-cell library (Yosys) "
                       "and compose the PE grid's area.")
    add_config_options(p, skip=_NOT_RTL)
    p.add_argument("--liberty", default=None, help="a liberty file instead of the project's cell library")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_synth)


def cmd_synth(args) -> int:
    from hwsim.families.mixpe.cost import pe_array_area

    cfg = _rtl_config(args)
    try:
        d = pe_array_area(cfg, args.liberty).to_dict()
    except ConfigError as e:
        if e.key == "liberty":
            raise ConfigError("--liberty", e.reason, e.source) from None
        raise
    d.update(target="asic", config=cfg.to_dict())
    if args.json:
        return print_json(d)
    sys.stdout.write(f"mixpe {cfg.rows}x{cfg.cols} acc{cfg.acc_bits}: PE grid {d['area_um2']:,.1f} um^2 "
                     f"(PE {d['unit_area_um2']:,.1f} x {d['n_units']}; periphery not included)\n")
    return 0
