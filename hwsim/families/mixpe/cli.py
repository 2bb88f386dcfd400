"""CLI of the MixPE family: ``hwsim run mixpe``, ``hwsim rtl export mixpe``, ``hwsim rtl synth mixpe``.

The design options are generated from :class:`~hwsim.families.mixpe.config.MixpeConfig`'s
field metadata (help, unit, option name, range, choices), so a new field appears on the
command line and in error messages without an edit here.
"""

from __future__ import annotations

import argparse
import sys

from hwsim.cli.common import print_json, print_record, record_json, run_record
from hwsim.cli.options import add_config_options as add_options
from hwsim.cli.options import config_from_args as options_config
from hwsim.families.mixpe.config import MixpeConfig
from hwsim.workloads.ops import GemmOp, IntFormat, parse_gemm

def add_config_options(p: argparse.ArgumentParser, skip=()) -> None:
    """One option per config field (except ``skip``), from the field metadata."""
    add_options(p, MixpeConfig, title="MixPE configuration", skip=tuple(skip))


def config_from_args(args) -> MixpeConfig:
    """The config of the parsed options, checked as a sweep checks it; an error names the
    option, not the field."""
    return options_config(MixpeConfig, args)


def add_run_parser(sub) -> None:
    p = sub.add_parser(
        "mixpe", help="MixPE (low-bit weights x INT8/FP16 activations by shift-and-add)",
        description="Evaluate C[M,N] = A[M,K] x W[K,N] with w-bit group-quantised weights on a MixPE "
        "array (output stationary; every set weight bit adds a shifted activation, dequantisation once "
        "per group). Cycles are those of hwsim's MixPE RTL (closed form); area is one synthesised PE "
        "composed over the array plus the SRAM buffers.")
    p.add_argument("--gemm", required=True, metavar="MxKxN", help="GEMM shape, e.g. 64x4096x4096")
    add_config_options(p)
    p.add_argument("--node-nm", type=int, default=45, help="technology node for area/energy, nm (default 45)")
    p.add_argument("--dram", default=None, help="DRAM type priced for off-chip traffic (default: the design's, lpddr4)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=cmd_run)


def cmd_run(args) -> int:
    m, k, n = parse_gemm(args.gemm)
    cfg = config_from_args(args)
    # the op's format records widths (IntFormat is the only kind); estimate reads cfg
    a_bits = 8 if cfg.act_format == "int8" else 16
    op = GemmOp(m=m, k=k, n=n, a_fmt=IntFormat(a_bits), b_fmt=IntFormat(cfg.w_bits, signed=not cfg.zero_point))
    rec = run_record("mixpe", cfg, op, node_nm=args.node_nm, dram=args.dram)
    d = record_json(rec)
    d["gemm"] = {"m": m, "k": k, "n": n}
    if args.json:
        return print_json(d)
    sys.stdout.write(f"mixpe {cfg.rows}x{cfg.cols} W{cfg.w_bits}A{a_bits} g{cfg.group_size} "
                     f"{'zero point' if cfg.zero_point else 'signed codes'}  GEMM M={m} K={k} N={n}  "
                     f"({rec.estimator})\n")
    print_record(rec)
    return 0


def synth_asic(cfg: MixpeConfig, args) -> dict:
    """The PE (INT8 or FP16 path) synthesised and composed over the grid (no periphery)."""
    from hwsim.families.mixpe.cost import pe_array_area

    return pe_array_area(cfg, args.liberty).to_dict()
