"""CLI of the SRAM LUT-GEMV family: what it adds to ``hwsim run sram-gemv`` (``--fidelity
cycle``, ``--seed``) and to the generic ``hwsim rtl synth sram-gemv`` (the array and LLC
fields the periphery's area is compared with, and the comparison itself).

Design options come from the config's field metadata (:func:`hwsim.cli.options.add_config_options`).
"""

from __future__ import annotations

from hwsim.cli.options import add_config_options
from hwsim.errors import ConfigError
from hwsim.families.sram_gemv.config import SramGemvConfig


DESCRIPTION = ("C[M,N] = A[M,K] x W[K,N] (M activation vectors) on LUT-GEMV units in compute SRAM beside the "
               "LLC slices: per group of N weights a table of 2**N subset sums is written, then looked up once "
               "per activation bit plane and shift-accumulated. The closed form takes pattern reuse at its "
               "expectation for random activation bits; --fidelity cycle also walks the cycle-level model on "
               "seeded random operands (--seed).")


def describe(cfg: SramGemvConfig) -> str:
    return (f"{cfg.units} arrays ({cfg.slices} slices x {cfg.arrays_per_slice}) of {cfg.rows}x{cfg.cols}, "
            f"N={cfg.group_size}, W{cfg.w_bits}A{cfg.a_bits}, {cfg.lanes} lanes")


def add_run_options(p) -> None:
    g = p.add_argument_group("SRAM LUT-GEMV cycle-level model")
    g.add_argument("--fidelity", default="model", metavar="{model,cycle}",
                   help="closed form, or also the cycle-level model on seeded random operands (default model)")
    g.add_argument("--seed", type=int, default=0, help="operands of --fidelity cycle (default 0)")


def run_extras(args, cfg: SramGemvConfig, workload):
    from hwsim.families.contract import RunExtras

    if args.fidelity not in ("model", "cycle"):
        raise ConfigError("--fidelity", f"must be one of 'model', 'cycle', not {args.fidelity!r}")

    def report(rec, d) -> list:
        import numpy as np

        from hwsim.families.sram_gemv.family import stimulus
        from hwsim.families.sram_gemv.model import simulate

        d.update(fidelity=args.fidelity, lanes=cfg.lanes, units=cfg.units, entry_bits=cfg.entry_bits)
        if args.fidelity != "cycle":
            return []
        rng = np.random.default_rng(args.seed)
        total = 0
        for op in workload.ops:
            job = stimulus(cfg, (op.m, op.k, op.n), rng)
            total += simulate(cfg, job["a"], job["wq"]).cycles * op.count
        d["cycle_level_compute_cycles"] = total
        return [f"  cycle-level     {total:>14,d} compute cycles (seed {args.seed}; closed form "
                f"{rec.compute_cycles:,})"]

    return RunExtras(report=report)


#: Config fields that price the area beside the unit's logic (not in its RTL): options of
#: ``hwsim rtl synth sram-gemv`` only.
SYNTH_FIELDS = ("rows", "arrays_per_slice", "llc_slice_kib", "llc_line_bytes")


def add_synth_options(p) -> None:
    """The array and LLC-slice fields :func:`synth_asic` compares the logic with."""
    from dataclasses import fields

    add_config_options(p, SramGemvConfig, title="C-SRAM array and LLC slice (area comparison)",
                       skip=tuple(f.name for f in fields(SramGemvConfig) if f.name not in SYNTH_FIELDS))


def synth_asic(cfg: SramGemvConfig, args) -> dict:
    """The unit's periphery (the table array excluded) synthesised, beside the CACTI area of
    its C-SRAM array and of its LLC slice (:func:`.synth.area_ratio`)."""
    from hwsim.families.sram_gemv.synth import area_ratio

    d = area_ratio(cfg, args.liberty)
    d["area_um2"] = d["logic_area_um2"]
    d["area_um2_by_part"] = {"periphery combinational": d["logic_area_um2"] - d["sequential_area_um2"],
                             "periphery sequential": d["sequential_area_um2"]}
    return d
