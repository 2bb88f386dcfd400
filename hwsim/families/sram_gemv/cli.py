"""CLI of the SRAM LUT-GEMV family: what it adds to ``hwsim run sram-gemv`` (``--fidelity
cycle``, ``--seed``), and its ``hwsim rtl export sram-gemv`` and ``hwsim rtl synth sram-gemv``.

Design options come from the config's field metadata (:func:`hwsim.cli.options.add_config_options`).
"""

from __future__ import annotations

import sys

from hwsim.cli.common import print_json
from hwsim.cli.options import add_config_options, config_from_args
from hwsim.errors import ConfigError
from hwsim.families.sram_gemv.config import SramGemvConfig

NAME = "sram-gemv"
TITLE = "SRAM LUT-GEMV configuration"


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


def add_export_parser(sub) -> None:
    p = sub.add_parser(NAME, help="one SRAM LUT-GEMV unit (table array, build, lookup-accumulate, reuse)",
                       description="Write the Verilog of one unit and a JSON file with its configuration.")
    add_config_options(p, SramGemvConfig, title=TITLE)
    p.add_argument("--out", default=".", help="output folder (default: current)")
    p.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    import json
    from pathlib import Path

    from hwsim.families.sram_gemv.hdl import TOP
    from hwsim.families.sram_gemv.rtl import verilog_text

    cfg = config_from_args(SramGemvConfig, args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    v = out / f"{TOP}.v"
    v.write_text(verilog_text(cfg))
    (out / f"{TOP}.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
    sys.stdout.write(f"wrote {v}\n")
    return 0


def add_synth_parser(sub) -> None:
    p = sub.add_parser(NAME, help="the logic one unit adds beside its SRAM array",
                       description="Synthesise the unit's periphery (table build, issue and pattern-reuse logic, "
                       "accumulators, sequencer; the table array itself excluded) on the project's standard cells "
                       "(or --liberty) and compare its area with the CACTI area of the C-SRAM array beside it.")
    add_config_options(p, SramGemvConfig, title=TITLE)
    p.add_argument("--liberty", default=None, help="a liberty file instead of the project's cell library")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_synth)


def cmd_synth(args) -> int:
    from hwsim.families.sram_gemv.synth import area_ratio

    cfg = config_from_args(SramGemvConfig, args)
    d = area_ratio(cfg, args.liberty)
    if args.json:
        return print_json(d)
    w = sys.stdout.write
    w(f"SRAM LUT-GEMV unit periphery, {cfg.rows}x{cfg.cols} array, {cfg.lanes} lanes, batch {cfg.vectors}\n")
    for k in ("logic_area_um2", "array_area_um2", "logic_over_array", "logic_over_llc_slice", "cell_count"):
        w(f"  {k:<22} {d[k]}\n")
    return 0
