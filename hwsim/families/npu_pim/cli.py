"""What the NPU + PIM system adds to the generic ``hwsim run npu-pim`` (:mod:`hwsim.cli.run`).

The generic command builds the design options (``--schedule``, ``--npu-rows``, ...), the
workload (``--gemm``, or ``--model M --phase decode --batch B --context C``) and prints the
record a sweep stores (a decode step is timed by the scheduler). The system's own options:

``--fidelity {closed,event}``
    the record's timing: the closed form (default, as a sweep's default) or the event-driven
    system;
``--compare``
    a decode step under every schedule, with the GPU roofline and the ratios;
``--serve``
    a serving run of the model at the batch size (``--requests``, ``--lengths``, ``--rate``,
    ``--seed``; ``--plot`` writes utilisation over time).

The work is in :mod:`.runner`; this module parses and prints.
"""

from __future__ import annotations

from hwsim.errors import ConfigError
from hwsim.families.contract import RunExtras

DESCRIPTION = ("An NPU of systolic arrays beside an HBM stack whose banks run the attention GEMVs (NeuPIMs). "
               "A model decode step is timed by the system's scheduler (event-driven: both engines and their "
               "shared channels; or its closed form). Schedules: npu-only, naive (engines block each other, "
               "single row buffer), neupims (dual row buffers, sub-batch interleaving, channel load balancing). "
               "With a decode workload the run also prints the step's event-driven figures (utilisations, "
               "energy by command class) and the GPU roofline.")


def describe(cfg) -> str:
    return (f"{cfg.schedule}: NPU {cfg.npu_arrays} x {cfg.npu_rows}x{cfg.npu_cols} {cfg.npu_dataflow}, "
            f"PIM {cfg.pim_channels} ch x {cfg.pim.banks_per_channel} banks x {cfg.pim_mac_lanes} lanes")


def run_options(p) -> None:
    g = p.add_argument_group("npu-pim system")
    g.add_argument("--fidelity", default="closed", metavar="{closed,event}",
                   help="timing of the record: closed form (default) or the event-driven system")
    g.add_argument("--layers", type=int, default=None,
                   help="layers the event-driven runs simulate, the rest extrapolated (>= 3; default all, "
                   "serving 4)")
    g.add_argument("--spread", action="store_true",
                   help="decode report: contexts uniform in [1, 2 x context - 1] (seeded) instead of all equal")
    g.add_argument("--compare", action="store_true", help="decode: every schedule and the GPU roofline")
    g.add_argument("--serve", action="store_true", help="serve a request stream of --model at up to --batch")
    g.add_argument("--requests", type=int, default=256, help="serve: requests in the stream (default 256)")
    g.add_argument("--lengths", default="sharegpt", help="serve: sharegpt, alpaca, P:O (means) or P:O! (exact)")
    g.add_argument("--rate", type=float, default=0.0,
                   help="serve: Poisson arrivals, requests per second (default 0: all at time 0)")
    g.add_argument("--seed", type=int, default=0, help="seed of the request stream and contexts (default 0)")
    g.add_argument("--plot", metavar="PNG", help="serve: write utilisation over time to this PNG file")


def run_extras(args, cfg, workload) -> RunExtras:
    from hwsim.families.npu_pim.model import MODES, decode_shape

    if args.fidelity not in MODES:
        raise ConfigError("--fidelity", f"must be one of {', '.join(map(repr, MODES))}, not {args.fidelity!r}")
    if args.layers is not None and args.layers < 3:
        raise ConfigError("--layers", f"must be >= 3 to extrapolate the steady period, not {args.layers}")
    shape = decode_shape(workload)
    wanted = [o for o, v in (("--compare", args.compare), ("--serve", args.serve), ("--spread", args.spread)) if v]
    if wanted and shape is None:
        raise ConfigError(wanted[0], "needs a model decode workload (--model M --phase decode --batch B --context C)")
    if args.compare and args.serve:
        raise ConfigError("--serve", "runs alone, not with --compare")
    plot = None
    if args.plot is not None:
        if not args.serve:
            raise ConfigError("--plot", "applies to --serve")
        from hwsim.fileio import check_output_file

        plot = check_output_file(args.plot, "--plot")
    if args.serve:
        from hwsim.families.npu_pim.serving import parse_lengths

        parse_lengths(args.lengths)
        if args.requests < 1:
            raise ConfigError("--requests", f"must be a positive integer, not {args.requests}")
    report = None if shape is None else (lambda rec, d: _report(args, cfg, workload, d, plot))
    return RunExtras(mode=args.fidelity, report=report)


def _report(args, cfg, workload, d: dict, plot) -> list:
    from hwsim.families.npu_pim import runner
    from hwsim.families.npu_pim.model import shard_of

    shard = shard_of(cfg, workload)
    try:
        if args.serve:
            out = runner.serving_report(cfg, shard, args.requests, args.lengths, int(workload.batch), args.seed,
                                        layers=4 if args.layers is None else args.layers, rate=args.rate)
            if plot is not None:
                from hwsim.families.npu_pim.study import serving_figure
                from hwsim.report.plots import to_png

                plot.parent.mkdir(parents=True, exist_ok=True)
                plot.write_bytes(to_png(serving_figure(out["timeline"])))
            d["serving"] = out
            return _lines("serving", {k: v for k, v in out.items() if k != "timeline"})
        seqs = runner.contexts(int(workload.batch), decode_context(workload), args.spread, args.seed,
                               shard.spec.max_position)
        if args.compare:
            out = runner.compare_report(cfg, shard, seqs, "event", args.layers)
            d["compare"] = out
            lines = [f"  {s:<9} {r['tokens_per_s']:>12,.0f} tokens/s  step {r['step_ms']:.3f} ms  "
                     f"NPU {r['npu_utilization']:.1%}  PIM busy {r['pim_utilization']:.1%}"
                     for s, r in out["schedules"].items()]
            g = out["schedules"]["neupims"]["gpu_roofline"]
            lines.append(f"  {'GPU':<9} {g['tokens_per_s']:>12,.0f} tokens/s  (roofline: {g['source']})")
            lines += [f"  {k:<22} {v:.2f}x" for k, v in out["ratios"].items()]
            return ["system: decode step under every schedule (event-driven)"] + lines
        out = runner.decode_report(cfg, shard, seqs, "event", args.layers)
        d["system"] = out
        return _lines("system: decode step (event-driven)", out)
    except ConfigError as e:
        key = e.key if e.key.startswith("-") else "--" + e.key.replace("_", "-")
        raise ConfigError(key, e.reason) from None


def decode_context(workload) -> int:
    return int(next(op.n for op in workload.ops if op.name == "attn_score"))


def _lines(title: str, d: dict) -> list:
    out = [title]
    for k, v in d.items():
        if isinstance(v, float):
            out.append(f"  {k:<30} {v:,.4f}")
        elif isinstance(v, dict):
            out.append(f"  {k:<30} " + ", ".join(f"{a}={b:,.3f}" if isinstance(b, float) else f"{a}={b}"
                                                 for a, b in v.items()))
        else:
            out.append(f"  {k:<30} {v}")
    return out

