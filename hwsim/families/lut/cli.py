"""CLI of the LUT tensor core family: ``hwsim run lut``, ``hwsim rtl export|synth lut``."""

from __future__ import annotations

import argparse

from hwsim.families.lut.config import LutConfig
from hwsim.families.contract import RunExtras
from hwsim.cli.options import option_for
from hwsim.errors import ConfigError


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
