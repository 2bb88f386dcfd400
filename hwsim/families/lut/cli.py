"""CLI of the LUT tensor core family: ``hwsim run lut``, ``hwsim rtl export|synth lut``."""

from __future__ import annotations

import argparse
import sys

from hwsim.families.lut.config import LutConfig
from hwsim.cli.common import print_json, print_record, record_json, run_record
from hwsim.cli.options import add_config_options as add_options
from hwsim.cli.options import config_from_args as options_config
from hwsim.cli.options import option_for
from hwsim.errors import ConfigError
from hwsim.workloads.ops import GemmOp, IntFormat, parse_gemm

def add_config_options(p: argparse.ArgumentParser, memory: bool = True) -> None:
    add_options(p, LutConfig, title="LUT tensor core configuration", skip=("core",),
                groups=(None, "memory and clock") if memory else (None,))


def config_from_args(args) -> LutConfig:
    return options_config(LutConfig, args, extra={"core": getattr(args, "core", "lut")})


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

    if args.fidelity not in ("model", "cycle"):
        raise ConfigError("--fidelity", f"must be one of 'model', 'cycle', not {args.fidelity!r}")
    m, k, n = parse_gemm(args.gemm)
    cfg = config_from_args(args)
    a_fmt = IntFormat(16) if cfg.act_format == "fp16" else IntFormat(cfg.a_bits)
    op = GemmOp(m=m, k=k, n=n, a_fmt=a_fmt, b_fmt=IntFormat(cfg.w_bits, signed=cfg.weight_mode != "unsigned"))
    check = None
    if args.fidelity == "cycle":
        from hwsim.families.lut.family import FAMILY

        if m * k * n > 1 << 24:
            raise ConfigError("--gemm", f"--fidelity cycle is limited to M*K*N <= {1 << 24}, not {m * k * n}")
        job = FAMILY.stimulus(cfg, (m, k, n), np.random.default_rng(args.seed))
        [res] = FAMILY.implementations["model"](cfg, [job])
        if not np.array_equal(res.outputs, FAMILY.golden(cfg, job)):  # pragma: no cover - a bug
            raise AssertionError("cycle-level result differs from the golden model")
        check = {"seed": args.seed, "cycles": int(res.cycles), "equal_to_golden": True}
    rec = run_record("lut", cfg, op, node_nm=args.node_nm, dram=args.dram)
    if check is not None and check["cycles"] != rec.compute_cycles:  # pragma: no cover - a bug
        raise AssertionError("cycle-level cycles differ from the closed form's")
    d = record_json(rec)
    d.update(core=cfg.core, gemm={"m": m, "k": k, "n": n}, cycle_check=check)
    d["synthesis"] = _synth(cfg, cfg.core, args.synth)
    if args.json:
        return print_json(d)
    w = sys.stdout.write
    how = rec.estimator if check is None else \
        f"{rec.estimator}; cycle-level run (seed {args.seed}) equal to golden and to these cycles"
    w(f"{cfg.core} core M{cfg.tile_m} N{cfg.tile_n} K{cfg.tile_k}  W{cfg.w_bits} ({cfg.weight_mode}) x "
      f"{cfg.act_format.upper()}  GEMM M={m} K={k} N={n}  ({how})\n")
    print_record(rec)
    for target, r in d["synthesis"].items():
        w(_synth_line(f"{cfg.core}_tile", target, r) + "\n")
    return 0


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


def add_export_options(p) -> None:
    """Options of ``hwsim rtl export lut`` beyond the generic ones."""
    p.add_argument("--with-rescale", action="store_true",
                   help="also write scaled_<name>_g<G>.v: the LUT tile followed by its group-wise fixed-point "
                   "output-rescale stage")
    p.add_argument("--group-size", type=int, default=128,
                   help="with --with-rescale: K elements per quantisation group (default 128)")


def export_extra(cfg: LutConfig, args):
    """With ``--with-rescale``: check the group size now, and return the writer of the scaled tile."""
    if not args.with_rescale:
        return None
    from hwsim.families.lut.rescale import rescale_config

    try:
        rcfg = rescale_config(cfg, args.group_size)
    except ConfigError as e:
        raise ConfigError("--group-size" if e.key == "group_size" else option_for(LutConfig, e.key), e.reason) from None

    def write(bundle) -> dict:
        from hwsim.eda.verilog import convert
        from hwsim.families.lut.rescale_rtl import component

        name = f"scaled_{bundle.name}_g{rcfg.group_size}"
        path = bundle.folder / f"{name}.v"
        path.write_text(f"// {name}: the LUT tile of {bundle.name} followed by its group-wise output rescale "
                        f"(groups of {rcfg.group_size}).\n" + convert(component(cfg, rcfg), name))
        return {"scaled_tile": path}

    return write
