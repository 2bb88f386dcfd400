"""What the SRAM LUT-GEMV family adds to the generic ``hwsim run sram-gemv``.

Design options come from the config's field metadata (:mod:`hwsim.cli.run`); this module
only names the design in the header and adds ``--fidelity cycle`` (the cycle-level model
on seeded operands beside the closed form).
"""

from __future__ import annotations

from hwsim.errors import ConfigError
from hwsim.families.contract import RunExtras
from hwsim.families.sram_gemv.config import SramGemvConfig

DESCRIPTION = ("C[M,N] = A[M,K] x W[K,N] (M activation vectors) on LUT-GEMV units in compute SRAM beside the "
               "LLC slices. The closed form takes pattern reuse at its expectation for random activation bits; "
               "--fidelity cycle also walks the cycle-level model on seeded random operands (--seed).")


def describe(cfg: SramGemvConfig) -> str:
    return (f"{cfg.units} arrays ({cfg.slices} slices x {cfg.arrays_per_slice}) of {cfg.rows}x{cfg.cols}, "
            f"N={cfg.group_size}, W{cfg.w_bits}A{cfg.a_bits}, {cfg.lanes} lanes")


def add_run_options(p) -> None:
    g = p.add_argument_group("SRAM LUT-GEMV check")
    g.add_argument("--fidelity", default="model", metavar="{model,cycle}",
                   help="closed form, or also the cycle-level model on seeded operands (--gemm only; default model)")
    g.add_argument("--seed", type=int, default=0, help="operands of --fidelity cycle (default 0)")


def run_extras(args, cfg: SramGemvConfig, workload) -> RunExtras:
    import numpy as np

    if args.fidelity not in ("model", "cycle"):
        raise ConfigError("--fidelity", f"must be one of 'model', 'cycle', not {args.fidelity!r}")
    if args.fidelity == "cycle" and (len(workload.ops) != 1 or workload.ops[0].count != 1):
        raise ConfigError("--fidelity", "cycle runs one GEMM; give the workload with --gemm")

    def report(rec, d) -> list:
        d.update(fidelity=args.fidelity, lanes=cfg.lanes, units=cfg.units, entry_bits=cfg.entry_bits)
        if args.fidelity != "cycle":
            return []
        from hwsim.families.sram_gemv.family import stimulus
        from hwsim.families.sram_gemv.model import simulate

        op = workload.ops[0]
        job = stimulus(cfg, (op.m, op.k, op.n), np.random.default_rng(args.seed))
        c = d["cycle_level_compute_cycles"] = simulate(cfg, job["a"], job["wq"]).cycles
        return [f"  cycle-level     {c:>14,d} compute cycles (seed {args.seed}; closed form {rec.compute_cycles:,})"]

    return RunExtras(report=report)
