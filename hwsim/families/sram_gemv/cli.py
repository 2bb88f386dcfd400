"""CLI of the SRAM LUT-GEMV family: ``hwsim run sram-gemv``, ``hwsim rtl export sram-gemv``,
``hwsim rtl synth sram-gemv``.

Options come from the config's field metadata (:func:`hwsim.cli.options.add_config_options`);
this module only adds each command's own options and prints.
"""

from __future__ import annotations

import sys

from hwsim.cli.common import print_json, print_record, record_json, run_record
from hwsim.cli.options import add_config_options, config_from_args
from hwsim.errors import ConfigError
from hwsim.families.sram_gemv.config import SramGemvConfig

NAME = "sram-gemv"
TITLE = "SRAM LUT-GEMV configuration"


def add_run_parser(sub) -> None:
    p = sub.add_parser(NAME, help="SRAM LUT-GEMV units beside an LLC (SAIL style): batched GEMV",
                       description="Time C[M,N] = A[M,K] x W[K,N] (M activation vectors) on LUT-GEMV units in "
                       "compute SRAM beside the LLC slices. --fidelity model is the closed form (pattern reuse "
                       "at its expectation for random activation bits); --fidelity cycle walks the cycle-level "
                       "model on seeded random operands (--seed).")
    p.add_argument("--gemm", required=True, metavar="MxKxN", help="GEMM shape, e.g. 8x4096x4096")
    add_config_options(p, SramGemvConfig, title=TITLE)
    p.add_argument("--fidelity", default="model", metavar="{model,cycle}", help="default model")
    p.add_argument("--seed", type=int, default=0, help="operands of --fidelity cycle (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=cmd_run)


def cmd_run(args) -> int:
    import numpy as np

    from hwsim.families.sram_gemv.family import stimulus
    from hwsim.families.sram_gemv.model import simulate
    from hwsim.workloads.ops import GemmOp, parse_gemm

    if args.fidelity not in ("model", "cycle"):
        raise ConfigError("--fidelity", f"must be one of 'model', 'cycle', not {args.fidelity!r}")
    m, k, n = parse_gemm(args.gemm)
    cfg = config_from_args(SramGemvConfig, args)
    rec = run_record(NAME, cfg, GemmOp(m, k, n))
    d = record_json(rec)
    d.update(gemm={"m": m, "k": k, "n": n}, fidelity=args.fidelity, lanes=cfg.lanes, units=cfg.units,
             entry_bits=cfg.entry_bits)
    if args.fidelity == "cycle":
        job = stimulus(cfg, (m, k, n), np.random.default_rng(args.seed))
        d["cycle_level_compute_cycles"] = simulate(cfg, job["a"], job["wq"]).cycles
    if args.json:
        return print_json(d)
    w = sys.stdout.write
    w(f"SRAM LUT-GEMV {cfg.units} arrays ({cfg.slices} slices x {cfg.arrays_per_slice}) of {cfg.rows}x{cfg.cols}, "
      f"N={cfg.group_size}, W{cfg.w_bits}A{cfg.a_bits}, {cfg.lanes} lanes  GEMM M={m} K={k} N={n}\n")
    print_record(rec)
    if args.fidelity == "cycle":
        w(f"  cycle-level     {d['cycle_level_compute_cycles']:>14,d} compute cycles (seed {args.seed}; "
          f"closed form {rec.compute_cycles:,})\n")
    return 0


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
    w(f"SRAM LUT-GEMV unit periphery, {cfg.rows}x{cfg.cols} array, {cfg.lanes} lanes, batch {cfg.batch}\n")
    for k in ("logic_area_um2", "array_area_um2", "logic_over_array", "logic_over_llc_slice", "cell_count"):
        w(f"  {k:<22} {d[k]}\n")
    return 0
