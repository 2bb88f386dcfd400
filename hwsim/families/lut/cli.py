"""CLI of the LUT tensor core family: ``hwsim run lut``, ``hwsim rtl export|synth lut``."""

from __future__ import annotations

import argparse
import sys

from hwsim.families.lut.config import ACT_FORMATS, WEIGHT_MODES, LutConfig
from hwsim.cli.common import config_from_options, print_cost, print_json, print_perf
from hwsim.errors import ConfigError
from hwsim.workloads.ops import GemmOp, IntFormat, parse_gemm

# Config field -> command-line option, so that errors name what the user typed.
_OPTION = {
    "core": "--core", "w_bits": "--w-bits", "weight_mode": "--weight-mode", "act_format": "--act-format",
    "k_group": "--k-group", "symmetric_table": "--full-table", "tile_m": "--tile-m",
    "tile_n": "--tile-n", "tile_k": "--tile-k", "lookup_units": "--lookup-units",
    "table_bits": "--table-bits", "acc_bits": "--acc-bits", "act_sram_kb": "--act-kb",
    "weight_sram_kb": "--weight-kb", "out_sram_kb": "--out-kb", "freq_mhz": "--freq-mhz",
    "dram_bw_bytes_per_cycle": "--dram-bw",
}


def add_config_options(p: argparse.ArgumentParser, memory: bool = True) -> None:
    d = LutConfig()
    g = p.add_argument_group("LUT tensor core configuration")
    g.add_argument("--w-bits", type=int, default=d.w_bits, help=f"weight bits, 1-4 (default {d.w_bits})")
    g.add_argument("--weight-mode", default=d.weight_mode, metavar="{" + ",".join(WEIGHT_MODES) + "}",
                   help=f"how weight codes map to values (default {d.weight_mode})")
    g.add_argument("--act-format", default=d.act_format, metavar="{" + ",".join(ACT_FORMATS) + "}",
                   help=f"activation format; fp16 is modelled only (default {d.act_format})")
    g.add_argument("--k-group", type=int, default=d.k_group, help=f"activations per table, 1-6 (default {d.k_group})")
    g.add_argument("--full-table", action="store_true",
                   help="store all 2^K table entries (default: the symmetric half, negated on lookup)")
    g.add_argument("--tile-m", type=int, default=d.tile_m, help=f"tile rows of A (default {d.tile_m})")
    g.add_argument("--tile-n", type=int, default=d.tile_n, help=f"tile columns of W (default {d.tile_n})")
    g.add_argument("--tile-k", type=int, default=d.tile_k, help=f"tile depth, a multiple of --k-group (default {d.tile_k})")
    g.add_argument("--lookup-units", type=int, default=None,
                   help="table-lookup units (default: one per row, column and table of the tile)")
    g.add_argument("--table-bits", type=int, default=None, help="stored table entry width (default: exact)")
    g.add_argument("--acc-bits", type=int, default=d.acc_bits, help=f"accumulator width (default {d.acc_bits})")
    if memory:
        g = p.add_argument_group("memory and clock")
        g.add_argument("--act-kb", type=int, default=d.act_sram_kb, help=f"activation buffer, KiB (default {d.act_sram_kb})")
        g.add_argument("--weight-kb", type=int, default=d.weight_sram_kb, help=f"weight buffer, KiB (default {d.weight_sram_kb})")
        g.add_argument("--out-kb", type=int, default=d.out_sram_kb, help=f"output buffer, KiB (default {d.out_sram_kb})")
        g.add_argument("--dram-bw", type=float, default=d.dram_bw_bytes_per_cycle,
                       help=f"DRAM bandwidth in bytes per cycle (default {d.dram_bw_bytes_per_cycle:g})")
        g.add_argument("--freq-mhz", type=float, default=d.freq_mhz, help=f"clock in MHz (default {d.freq_mhz:g})")


def config_from_args(args) -> LutConfig:
    kw = {"core": getattr(args, "core", "lut"), "w_bits": args.w_bits, "weight_mode": args.weight_mode,
          "act_format": args.act_format, "k_group": args.k_group, "symmetric_table": not args.full_table,
          "tile_m": args.tile_m, "tile_n": args.tile_n, "tile_k": args.tile_k,
          "lookup_units": args.lookup_units, "table_bits": args.table_bits, "acc_bits": args.acc_bits}
    optional = (("act_kb", "act_sram_kb"), ("weight_kb", "weight_sram_kb"), ("out_kb", "out_sram_kb"),
                ("dram_bw", "dram_bw_bytes_per_cycle"), ("freq_mhz", "freq_mhz"))
    return config_from_options(LutConfig, kw, args, optional, _OPTION)


def add_run_parser(sub) -> None:
    p = sub.add_parser(
        "lut",
        help="LUT tensor core (low-bit weights x integer activations by table lookup)",
        description="Evaluate C[M,N] = A[M,K] x W[K,N] with low-bit weights on a LUT tensor core tile "
        "(or, with --core mac, on the MAC tile of the same shape that dequantises and multiplies). "
        "--fidelity model uses the closed form; --fidelity cycle runs the cycle-level model on random "
        "operands (seeded) and checks its result against the golden model. Area is the synthesised "
        "tile's (Yosys on the project's cell library; about a minute the first time, then cached) plus "
        "the SRAM buffers; energy is the technology table scaled by the tile's gate-level activity "
        "factors.",
    )
    p.add_argument("--gemm", required=True, metavar="MxKxN", help="GEMM shape, e.g. 1x4096x4096")
    add_config_options(p)
    p.add_argument("--core", default="lut", metavar="{lut,mac}", help="LUT core or MAC baseline (default lut)")
    p.add_argument("--fidelity", default="model", metavar="{model,cycle}", help="closed form or cycle level (default model)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random operands for --fidelity cycle")
    p.add_argument("--node-nm", type=int, default=45, help="technology node for area/energy, nm (default 45)")
    p.add_argument("--dram", default="lpddr4", help="DRAM type priced for off-chip traffic (default lpddr4)")
    p.add_argument("--synth", action="append", choices=("asic", "ice40", "ecp5"), default=[],
                   help="also report synthesis of the tile (repeatable): asic gives its cell area on the "
                   "project's library, ice40/ecp5 give LUTs, FFs, DSPs and Fmax (behind a serial wrapper)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=cmd_run)


def cmd_run(args) -> int:
    import numpy as np

    from hwsim.families.lut import model

    if args.fidelity not in ("model", "cycle"):
        raise ConfigError("--fidelity", f"must be one of 'model', 'cycle', not {args.fidelity!r}")
    m, k, n = parse_gemm(args.gemm)
    cfg = config_from_args(args)
    if cfg.act_format == "fp16":
        a_fmt = IntFormat(16)
    else:
        a_fmt = IntFormat(cfg.a_bits)
    op = GemmOp(m=m, k=k, n=n, a_fmt=a_fmt, b_fmt=IntFormat(cfg.w_bits, signed=cfg.weight_mode != "unsigned"))
    if args.fidelity == "model":
        perf = model.estimate(cfg, op)
        estimator = "closed-form model"
    else:
        from hwsim.families.lut.cyclesim import simulate_lut, simulate_mac
        from hwsim.families.lut.golden import golden_lut_gemm, golden_mac_gemm

        if m * k * n > 1 << 24:
            raise ConfigError("--gemm", f"--fidelity cycle is limited to M*K*N <= {1 << 24}, not {m * k * n}")
        rng = np.random.default_rng(args.seed)
        lo = -(1 << (cfg.a_bits - 1))
        a = rng.integers(lo, -lo, (m, k))
        q = rng.integers(0, 1 << cfg.w_bits, (k, n))
        sim, gold = (simulate_lut, golden_lut_gemm) if cfg.core == "lut" else (simulate_mac, golden_mac_gemm)
        c, perf = sim(cfg, a, q)
        if not np.array_equal(c, gold(cfg, a, q)):  # pragma: no cover - a bug, not a user error
            raise AssertionError("cycle-level result differs from the golden model")
        estimator = f"cycle-level model (seed {args.seed}, result equal to golden)"
    d = perf.to_dict()
    d.update(family="lut", core=cfg.core, config=cfg.to_dict(), gemm={"m": m, "k": k, "n": n},
             time_us=perf.cycles / cfg.freq_mhz, estimator=estimator)
    d["cost"] = _cost(cfg, perf, args.node_nm, args.dram)  # validates --node-nm / --dram before any FPGA run
    d["synthesis"] = _synth(cfg, cfg.core, args.synth)
    for key in ("area_um2", "energy_pj", "tops", "tops_per_w", "tops_per_mm2"):
        d[key] = d["cost"][key]
    if args.json:
        return print_json(d)
    w = sys.stdout.write
    w(f"{cfg.core} core M{cfg.tile_m} N{cfg.tile_n} K{cfg.tile_k}  W{cfg.w_bits} ({cfg.weight_mode}) x "
      f"{cfg.act_format.upper()}  GEMM M={m} K={k} N={n}  ({estimator})\n")
    print_perf(perf, cfg.freq_mhz, (("output tiles", perf.folds),))
    print_cost(d["cost"], "synthesis" if cfg.is_integer else "tables (no RTL for this format)")
    for target, r in d["synthesis"].items():
        w(_synth_line(f"{cfg.core}_tile", target, r) + "\n")
    return 0


def _cost(cfg: LutConfig, perf, node_nm: int, dram: str) -> dict:
    from dataclasses import replace

    from hwsim.families.lut.compare import cost_inputs, pe_array_area
    from hwsim.families.lut.model import priced_actions
    from hwsim.families.lut.activity import lut_calibration
    from hwsim.cost.report import cost_record
    from hwsim.cost.tech import load_tech

    try:
        tech = load_tech(node_nm)
    except ConfigError as e:
        raise ConfigError("--node-nm", e.reason) from None
    try:
        tech.dram_energy_per_bit(dram)  # before the (first-time slow) tile synthesis
    except ConfigError as e:
        raise ConfigError("--dram", e.reason) from None
    priced = replace(perf, actions=priced_actions(cfg, perf))
    try:
        return cost_record("lut", cfg.to_dict(), priced, tech, cost_inputs(cfg, dram=dram),
                           pe_array_area=pe_array_area(cfg), calibration=lut_calibration(cfg),
                           peak_macs_per_cycle=cfg.macs_per_cycle)
    except ConfigError as e:
        if e.key in ("dram", "dram_type"):
            raise ConfigError("--dram", e.reason) from None
        raise


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
        raise ConfigError(_OPTION.get(e.key, e.key), e.reason) from None
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
