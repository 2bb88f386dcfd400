"""CLI of the LUT tensor core family: ``hwsim run lut``, ``hwsim rtl export|synth lut``."""

from __future__ import annotations

import argparse

from hwsim.families.lut.config import LutConfig
from hwsim.cli.common import print_json
from hwsim.families.contract import RunExtras
from hwsim.cli.options import add_config_options as add_options
from hwsim.cli.options import config_from_args as options_config
from hwsim.cli.options import option_for
from hwsim.errors import ConfigError

def add_config_options(p: argparse.ArgumentParser, memory: bool = True) -> None:
    add_options(p, LutConfig, title="LUT tensor core configuration", skip=("core",),
                groups=(None, "memory and clock") if memory else (None,))


def config_from_args(args) -> LutConfig:
    return options_config(LutConfig, args, extra={"core": getattr(args, "core", "lut")})


DESCRIPTION = ("C[M,N] = A[M,K] x W[K,N] with low-bit weights on a LUT tensor core tile (or, with --core mac, "
               "on the MAC tile of the same shape that dequantises and multiplies). --fidelity cycle also runs "
               "the cycle-level model on seeded random operands and checks its result against the golden model "
               "and its cycles against the closed form. --synth asic gives the synthesised tile's area (Yosys on "
               "the project's cell library; about a minute the first time, then cached).")


def describe(cfg: LutConfig) -> str:
    return (f"{cfg.core} core M{cfg.tile_m} N{cfg.tile_n} K{cfg.tile_k}  W{cfg.w_bits} ({cfg.weight_mode}) x "
            f"{cfg.act_format.upper()}")


def add_run_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("LUT checks and synthesis")
    g.add_argument("--fidelity", default="model", metavar="{model,cycle}",
                   help="closed form, or also the cycle-level model checked against golden (--gemm only; default model)")
    g.add_argument("--seed", type=int, default=0, help="seed of the random operands for --fidelity cycle")
    g.add_argument("--synth", action="append", choices=("asic", "ice40", "ecp5"), default=[],
                   help="also report synthesis of the tile (repeatable): asic gives its cell area on the "
                   "project's library, ice40/ecp5 give LUTs, FFs, DSPs and Fmax (behind a serial wrapper)")


def run_extras(args, cfg: LutConfig, workload) -> RunExtras:
    import numpy as np

    if args.fidelity not in ("model", "cycle"):
        raise ConfigError("--fidelity", f"must be one of 'model', 'cycle', not {args.fidelity!r}")
    if args.fidelity == "cycle":
        if len(workload.ops) != 1 or workload.ops[0].count != 1:
            raise ConfigError("--fidelity", "cycle runs one GEMM; give the workload with --gemm")
        op = workload.ops[0]
        if op.m * op.k * op.n > 1 << 24:
            raise ConfigError("--gemm", f"--fidelity cycle is limited to M*K*N <= {1 << 24}, not {op.m * op.k * op.n}")
    targets = tuple(args.synth)

    def report(rec, d) -> list:
        lines = []
        d.update(core=cfg.core, cycle_check=None)
        if args.fidelity == "cycle":
            from hwsim.families.lut.family import FAMILY

            op = workload.ops[0]
            job = FAMILY.stimulus(cfg, (op.m, op.k, op.n), np.random.default_rng(args.seed))
            [res] = FAMILY.implementations["model"](cfg, [job])
            if not np.array_equal(res.outputs, FAMILY.golden(cfg, job)):  # pragma: no cover - a bug
                raise AssertionError("cycle-level result differs from the golden model")
            if res.cycles != rec.compute_cycles:  # pragma: no cover - a bug
                raise AssertionError("cycle-level cycles differ from the closed form's")
            d["cycle_check"] = {"seed": args.seed, "cycles": int(res.cycles), "equal_to_golden": True}
            lines.append(f"  cycle-level run (seed {args.seed}) equal to golden and to these cycles")
        d["synthesis"] = _synth(cfg, cfg.core, targets)
        lines += [_synth_line(f"{cfg.core}_tile", t, r) for t, r in d["synthesis"].items()]
        return lines

    return RunExtras(report=report)


def _synth(cfg: LutConfig, core: str, targets) -> dict:
    """``{target: result dict}`` for each requested synthesis target of ``core``'s tile."""
    from hwsim.families.lut.compare import tile_area, tile_fpga

    out = {}
    try:
        for target in dict.fromkeys(targets):
            if target == "asic":
                f = tile_area(cfg, core)
                out["asic"] = {"area_um2": f.value, "source": f.source}
            else:
                out[target] = tile_fpga(cfg, core, target).to_dict()
    except ConfigError as e:  # the RTL's own checks (e.g. integer activations only), named as options
        raise ConfigError(option_for(LutConfig, e.key), e.reason) from None
    return out


def _synth_line(name: str, target: str, r: dict) -> str:
    if target == "asic":
        return f"  synthesis asic    {name}: {r['area_um2']:,.0f} um^2 ({r['source']})"
    return (f"  synthesis {target:<6}  {name}: {r['luts']} LUTs, {r['ffs']} FFs, {r['dsps']} DSPs, "
            f"Fmax {r['fmax_mhz']} MHz")


def _tiles(value: str) -> tuple[str, ...]:
    if value not in ("lut", "mac", "both"):
        raise ConfigError("--tile", f"must be one of 'lut', 'mac', 'both', not {value!r}")
    return ("lut", "mac") if value == "both" else (value,)


def add_export_parser(sub) -> None:
    p = sub.add_parser("lut", help="LUT tensor core tile (and its MAC baseline)",
                       description="Write the Verilog of the LUT tensor core tile (table precompute unit, "
                       "lookup array with bit-serial accumulation, output stage) and/or of the MAC baseline "
                       "tile of the same shape, plus a JSON file with the configuration. Weight bits and "
                       "weight mode are run-time inputs of both tiles.")
    add_config_options(p, memory=False)
    p.add_argument("--tile", default="both", metavar="{lut,mac,both}", help="which tile(s) to write (default both)")
    p.add_argument("--with-rescale", action="store_true",
                   help="also write scaled_lut_tile.v: the LUT tile followed by its group-wise fixed-point "
                   "output-rescale stage")
    p.add_argument("--group-size", type=int, default=128,
                   help="with --with-rescale: K elements per quantisation group (default 128)")
    p.add_argument("-o", "--output", default="rtl/generated", help="output folder (default rtl/generated)")
    p.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    from hwsim.families.lut.rtl import export_verilog

    tiles = _tiles(args.tile)
    cfg = config_from_args(args)
    rcfg = None
    if args.with_rescale:  # validate everything before writing anything
        from hwsim.families.lut.rescale import rescale_config

        try:
            rcfg = rescale_config(cfg, args.group_size)
        except ConfigError as e:
            raise ConfigError("--group-size" if e.key == "group_size" else e.key, e.reason) from None
    for path in export_verilog(cfg, args.output, tiles):
        print(path)
    if rcfg is not None:
        from pathlib import Path

        from hwsim.families.lut.rescale_rtl import verilog_text

        path = Path(args.output) / "scaled_lut_tile.v"
        path.write_text(verilog_text(cfg, rcfg))
        print(path)
    return 0


def add_synth_parser(sub) -> None:
    p = sub.add_parser("lut", help="LUT tensor core tile (and its MAC baseline)",
                       description="Synthesise the LUT and/or MAC tile: onto the project's standard-cell "
                       "library with Yosys (--target asic: cell area in um^2), or for an FPGA with Yosys and "
                       "nextpnr from PyPI (--target ice40 / ecp5: LUTs, flip-flops, DSPs, BRAMs, Fmax; the "
                       "tile sits behind a serial wrapper so that its wide buses fit the package).")
    add_config_options(p, memory=False)
    p.add_argument("--tile", default="both", metavar="{lut,mac,both}", help="which tile(s) (default both)")
    p.add_argument("--target", default="asic", metavar="{asic,ice40,ecp5}",
                   help="standard cells (asic) or an FPGA: iCE40 HX8K, ECP5 LFE5U-85F (default asic)")
    p.add_argument("--liberty", default=None, help="asic: a liberty file (default: the project's 45 nm cells)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_synth)


def cmd_synth(args) -> int:
    from hwsim.families.lut.compare import tile_fpga
    from hwsim.eda.synth import synth_asic
    from hwsim.families.lut.rtl import top_name, verilog_text

    tiles = _tiles(args.tile)
    if args.target not in ("asic", "ice40", "ecp5"):
        raise ConfigError("--target", f"must be one of 'asic', 'ice40', 'ecp5', not {args.target!r}")
    if args.liberty is not None and args.target != "asic":
        raise ConfigError("--liberty", f"applies to --target asic only, not {args.target!r}")
    cfg = config_from_args(args)
    out = {}
    for kind in tiles:
        if args.target == "asic":
            r = synth_asic(verilog_text(cfg, kind), top_name(kind), args.liberty,
                           name=f"{kind}_m{cfg.tile_m}n{cfg.tile_n}k{cfg.tile_k}")
            out[kind] = {"area_um2": r.area_um2, "sequential_area_um2": r.sequential_area_um2,
                         "cells": r.cell_count, "provenance": r.provenance}
        else:
            out[kind] = tile_fpga(cfg, kind, args.target).to_dict()
    if args.json:
        return print_json({"family": "lut", "target": args.target, "config": cfg.to_dict(), "tiles": out})
    for kind, r in out.items():
        name = f"{kind}_tile M{cfg.tile_m} N{cfg.tile_n} K{cfg.tile_k}"
        if args.target == "asic":
            print(f"{name}: {r['area_um2']:,.0f} um^2 ({r['cells']:,} cells, sequential "
                  f"{r['sequential_area_um2']:,.0f} um^2)")
        else:
            print(f"{name} on {args.target}: {r['luts']:,} LUTs, {r['ffs']:,} FFs, {r['dsps']} DSPs, "
                  f"{r['brams']} BRAMs, Fmax {r['fmax_mhz']} MHz (wrapper adds "
                  f"{r['provenance']['wrapper']['wrapper_ffs']} FFs)")
    return 0
