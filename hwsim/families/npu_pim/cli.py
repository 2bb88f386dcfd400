"""CLI of the NPU + PIM system: ``hwsim run npu-pim --schedule npu-only|naive|neupims ...``.

Modes: ``--gemm MxKxN`` (one weight GEMM on the system, the record a sweep stores);
``--model M --batch B --context C`` (one decode step; ``--compare`` runs every schedule
and the GPU roofline); ``--serve`` (a serving run of ``--requests`` with ``--lengths``).
The work is in :mod:`.runner`; this module parses and prints.
"""

from __future__ import annotations

import sys

from hwsim.cli.common import print_json, print_record, record_json, run_record
from hwsim.cli.options import add_config_options, config_from_args
from hwsim.errors import ConfigError
from hwsim.families.npu_pim.config import NpuPimConfig
from hwsim.workloads.ops import GemmOp, parse_gemm


def add_run_parser(sub) -> None:
    p = sub.add_parser(
        "npu-pim", help="system: NPU (systolic arrays) + HBM-PIM, batched LLM decode (NeuPIMs)",
        description="An NPU of systolic arrays beside an HBM stack whose banks run the attention GEMVs. "
        "A decode step is simulated event-driven (both engines, their shared channels); --fidelity model "
        "gives the closed form. Schedules: npu-only, naive (engines block each other, single row buffer), "
        "neupims (dual row buffers, sub-batch interleaving, channel load balancing).")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--gemm", metavar="MxKxN", help="one weight GEMM on the NPU (record as a sweep stores it)")
    what.add_argument("--serve", action="store_true", help="a serving run (continuous batching)")
    p.add_argument("--model", default="gpt3-13b", help="model name (default gpt3-13b)")
    p.add_argument("--batch", type=int, default=256, help="requests per decode step / most running (default 256)")
    p.add_argument("--context", type=int, default=376,
                   help="decode: tokens each request attends (default 376 = ShareGPT 80 + 296)")
    p.add_argument("--spread", action="store_true", help="decode: contexts uniform in [1, 2C-1] (seeded)")
    p.add_argument("--tp", type=int, default=None, help="tensor-parallel ways (default NeuPIMs' for GPT-3, else 1)")
    p.add_argument("--pp", type=int, default=None, help="pipeline-parallel ways (default as --tp)")
    p.add_argument("--requests", type=int, default=256, help="serve: requests in the stream (default 256)")
    p.add_argument("--lengths", default="sharegpt", help="serve: sharegpt, alpaca, P:O (means) or P:O! (exact)")
    p.add_argument("--rate", type=float, default=0.0,
                   help="serve: Poisson arrivals, requests per second (default 0: all at time 0)")
    p.add_argument("--seed", type=int, default=0, help="seed of the request stream (default 0)")
    p.add_argument("--layers", type=int, default=None,
                   help="layers simulated per step, the rest extrapolated (>= 3; serve default 4)")
    p.add_argument("--fidelity", default="event", metavar="{event,model}", help="event-driven or closed form")
    p.add_argument("--compare", action="store_true", help="decode: every schedule and the GPU roofline")
    p.add_argument("--plot", metavar="PNG", help="serve: write utilisation over time to this PNG file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_config_options(p, NpuPimConfig, title="system configuration")
    p.set_defaults(func=cmd_run)


def _shard(args, cfg):
    from hwsim.families.npu_pim.workload import Shard

    for key in ("tp", "pp"):
        v = getattr(args, key)
        if v is not None and (isinstance(v, bool) or v < 1):
            raise ConfigError(f"--{key}", f"must be a positive integer, not {v}")
    try:
        if cfg.parallelism == "none":
            return Shard.of(args.model, args.tp or 1, args.pp or 1)
        return Shard.of(args.model, args.tp, args.pp)
    except ConfigError as e:
        raise ConfigError("--" + e.key if e.key in ("tp", "pp", "model") else e.key, e.reason) from None


def cmd_run(args) -> int:
    from hwsim.families.npu_pim import runner

    cfg = config_from_args(NpuPimConfig, args)
    if args.gemm is not None:
        op = GemmOp(*parse_gemm(args.gemm))
        rec = run_record("npu-pim", cfg, op)
        if args.json:
            return print_json(record_json(rec))
        sys.stdout.write(f"NPU+PIM {cfg.schedule}: GEMM {args.gemm} on the NPU\n")
        print_record(rec)
        return 0
    shard = _shard(args, cfg)
    try:
        if args.serve:
            if args.plot:
                from hwsim.fileio import check_output_file

                plot = check_output_file(args.plot, "--plot")
            d = runner.serving_report(cfg, shard, args.requests, args.lengths, args.batch, args.seed,
                                      layers=4 if args.layers is None else args.layers, rate=args.rate)
            if args.plot:
                from hwsim.families.npu_pim.study import serving_figure
                from hwsim.report.plots import to_png

                plot.parent.mkdir(parents=True, exist_ok=True)
                plot.write_bytes(to_png(serving_figure(d["timeline"])))
        else:
            seqs = runner.contexts(args.batch, args.context, args.spread, args.seed, shard.spec.max_position)
            fn = runner.compare_report if args.compare else runner.decode_report
            d = fn(cfg, shard, seqs, args.fidelity, args.layers)
    except ConfigError as e:
        key = e.key if e.key.startswith("-") else "--" + e.key.replace("_", "-")
        raise ConfigError(key, e.reason) from None
    if args.json:
        return print_json(d)
    _print(d)
    return 0


def _print(d: dict) -> None:
    w = sys.stdout.write
    if "schedules" in d:
        for s, r in d["schedules"].items():
            w(f"{s:<9} {r['tokens_per_s']:>12,.0f} tokens/s  step {r['step_ms']:.3f} ms"
              + (f"  NPU {r['npu_utilization']:.1%}  PIM {r['pim_utilization']:.1%}" if "npu_utilization" in r else "")
              + "\n")
        g = d["schedules"]["neupims"]["gpu_roofline"]
        w(f"{'GPU':<9} {g['tokens_per_s']:>12,.0f} tokens/s  (roofline, {g['source']})\n")
        for k, v in d["ratios"].items():
            w(f"  {k:<22} {v:.2f}x\n")
        return
    skip = ("timeline", "energy_pj_by_class", "pim_commands", "energy_per_token_uj_by_class")
    for k, v in d.items():
        if k in skip:
            continue
        if isinstance(v, float):
            w(f"  {k:<30} {v:,.4f}\n")
        elif isinstance(v, dict):
            w(f"  {k:<30} " + ", ".join(f"{a}={b:,.3f}" if isinstance(b, float) else f"{a}={b}"
                                         for a, b in v.items()) + "\n")
        else:
            w(f"  {k:<30} {v}\n")
    if "energy_per_token_uj_by_class" in d:
        w("  energy per token by class (uJ)\n")
        for k, v in d["energy_per_token_uj_by_class"].items():
            w(f"    {k:<20} {v:,.3f}\n")
