"""CLI of the MixPE family: ``hwsim run mixpe``, ``hwsim rtl export mixpe``, ``hwsim rtl synth mixpe``.

The design options are generated from :class:`~hwsim.families.mixpe.config.MixpeConfig`'s
field metadata (help, unit, option name, range, choices), so a new field appears on the
command line and in error messages without an edit here.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from hwsim.cli.common import print_cost, print_json, print_perf
from hwsim.errors import ConfigError
from hwsim.families.mixpe.config import MixpeConfig
from hwsim.workloads.ops import GemmOp, IntFormat, parse_gemm

_TYPES = {"int": int, "float": float, "str": str}


def _fields(skip=()):
    return [f for f in dataclasses.fields(MixpeConfig) if f.name not in skip]


def option_names() -> dict:
    """Config field -> command-line option."""
    return {f.name: f.metadata["cli"] for f in dataclasses.fields(MixpeConfig)}


def add_config_options(p: argparse.ArgumentParser, skip=()) -> None:
    """One option per config field (except ``skip``), from the field metadata."""
    g = p.add_argument_group("MixPE configuration")
    for f in _fields(skip):
        meta = f.metadata
        dest = f.name
        extra = []
        if meta.get("range"):
            extra.append("{}..{}".format(*meta["range"]))
        if meta.get("unit"):
            extra.append(meta["unit"])
        extra.append(f"default {f.default}")
        text = f"{meta['help']} ({', '.join(extra)})"
        if f.type in (bool, "bool"):
            g.add_argument(meta["cli"], dest=dest, default=f.default, action=argparse.BooleanOptionalAction,
                           help=text)
        elif meta.get("choices"):
            g.add_argument(meta["cli"], dest=dest, default=f.default, metavar="{" + ",".join(meta["choices"]) + "}",
                           help=text)
        else:
            g.add_argument(meta["cli"], dest=dest, default=f.default, type=_TYPES[str(getattr(f.type, "__name__", f.type))],
                           help=text)


def config_from_args(args, skip=()) -> MixpeConfig:
    """The config of the parsed options, checked as a sweep checks it
    (:func:`hwsim.evaluate.check_config`); an error names the option, not the field."""
    from hwsim.evaluate import check_config

    kw = {f.name: getattr(args, f.name) for f in _fields(skip)}
    try:
        return check_config(MixpeConfig(**kw))
    except ConfigError as e:
        raise ConfigError(option_names().get(e.key, e.key), e.reason) from None


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
    p.add_argument("--dram", default="lpddr4", help="DRAM type priced for off-chip traffic (default lpddr4)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=cmd_run)


def cmd_run(args) -> int:
    from hwsim.families.mixpe.model import estimate

    m, k, n = parse_gemm(args.gemm)
    cfg = config_from_args(args)
    # the op's format records widths (IntFormat is the only kind); estimate reads cfg
    a_bits = 8 if cfg.act_format == "int8" else 16
    op = GemmOp(m=m, k=k, n=n, a_fmt=IntFormat(a_bits), b_fmt=IntFormat(cfg.w_bits, signed=not cfg.zero_point))
    perf = estimate(cfg, op)
    d = perf.to_dict()
    d.update(family="mixpe", config=cfg.to_dict(), gemm={"m": m, "k": k, "n": n},
             time_us=perf.cycles / cfg.freq_mhz, estimator="closed-form model (cycles of the RTL)")
    d["cost"] = _cost(cfg, perf, args.node_nm, args.dram)
    for key in ("area_um2", "energy_pj", "tops", "tops_per_w", "tops_per_mm2"):
        d[key] = d["cost"][key]
    if args.json:
        return print_json(d)
    sys.stdout.write(f"mixpe {cfg.rows}x{cfg.cols} W{cfg.w_bits}A{a_bits} g{cfg.group_size} "
                     f"{'zero point' if cfg.zero_point else 'signed codes'}  GEMM M={m} K={k} N={n}\n")
    print_perf(perf, cfg.freq_mhz, (("compute cycles", perf.compute_cycles), ("DRAM stalls", perf.stall_cycles),
                                    ("folds", perf.folds)))
    print_cost(d["cost"], "one synthesised PE x array, SRAM tables")
    return 0


def _cost(cfg, perf, node_nm, dram):
    from hwsim.cost.report import cost_record
    from hwsim.cost.tech import load_tech
    from hwsim.families.mixpe.cost import mixpe_inputs, pe_array_area

    try:
        tech = load_tech(node_nm)
    except ConfigError as e:
        raise ConfigError("--node-nm", e.reason) from None
    try:
        tech.dram_energy_per_bit(dram)
    except ConfigError as e:
        raise ConfigError("--dram", e.reason) from None
    return cost_record("mixpe", cfg.to_dict(), perf, tech, mixpe_inputs(cfg, dram=dram),
                       pe_array_area=pe_array_area(cfg), peak_macs_per_cycle=cfg.rows * cfg.cols)


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
        raise ConfigError(option_names().get(e.key, e.key), e.reason) from None
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
