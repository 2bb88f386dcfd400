"""``hwsim workloads list|show``: the operations of real models."""

from __future__ import annotations

import json
import sys

from hwsim.errors import ConfigError
from hwsim.workloads.graph import PHASES, build_workload
from hwsim.workloads.models import list_models, load_model
from hwsim.workloads.recipes import RECIPES


def _human(n: float, unit: str = "") -> str:
    for div, suf in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.3f} {suf}{unit}"
    return f"{n:g} {unit}".rstrip()


def cmd_list(args) -> int:
    out = sys.stdout
    if args.json:
        rows = [load_model(n).to_dict() for n in list_models()]
        json.dump(rows, out, indent=2)
        out.write("\n")
        return 0
    hdr = f"{'model':18s} {'arch':8s} {'d':>6s} {'layers':>6s} {'heads':>5s} {'kv':>4s} {'ffn':>6s} {'gated':>5s} {'vocab':>7s}  linear params"
    print(hdr, file=out)
    for n in list_models():
        m = load_model(n)
        params = m.linear_params_per_layer() * m.num_layers
        print(f"{m.name:18s} {m.architecture:8s} {m.hidden_size:6d} {m.num_layers:6d} {m.num_heads:5d} "
              f"{m.num_kv_heads:4d} {m.ffn_size:6d} {'yes' if m.ffn_gated else 'no':>5s} {m.vocab_size:7d}  "
              f"{_human(params)}", file=out)
    print("\nquantisation recipes (--quant):", file=out)
    for r in RECIPES.values():
        print(f"  {r.name:12s} {r.description}", file=out)
    return 0


_OPTION_OF = {"seq_len": "--seq", "context": "--context", "batch": "--batch", "quant": "--quant",
              "phase": "--phase", "model": "MODEL"}


def cmd_show(args) -> int:
    if args.phase == "prefill":
        if args.context is not None:
            raise ConfigError("--context", "applies to --phase decode; prefill takes --seq")
        if args.seq is None:
            raise ConfigError("--seq", "is required with --phase prefill")
    else:
        if args.seq is not None:
            raise ConfigError("--seq", "applies to --phase prefill; decode takes --context")
        if args.context is None:
            raise ConfigError("--context", "is required with --phase decode")
    try:
        wl = build_workload(args.model, args.phase, args.batch, seq_len=args.seq,
                            context=args.context, quant=args.quant,
                            group_query_heads=not args.per_head)
    except ConfigError as e:
        if e.source is None and e.key in _OPTION_OF:  # name the option the user typed
            raise ConfigError(_OPTION_OF[e.key], e.reason) from None
        raise
    out = sys.stdout
    if args.json:
        json.dump([e.to_dict() for e in wl.entries], out, indent=2)
        out.write("\n")
        return 0
    t = wl.totals()
    length = f"seq {wl.seq_len}" if wl.phase == "prefill" else f"context {wl.seq_len}"
    print(f"{wl.model.display_name} ({wl.model.name}), {wl.phase}, batch {wl.batch}, {length}, "
          f"quant {wl.recipe.name}: {wl.tokens} token(s) per linear layer", file=out)
    print(f"{'op':14s} {'m':>7s} {'k':>7s} {'n':>7s} {'count':>7s} {'A':>6s} {'B':>12s} {'MACs':>14s}", file=out)
    for e in wl.entries:
        o = e.op
        bfmt = o.b_fmt.name + (f"/g{o.b_fmt.group_size}" if o.b_fmt.group_size else "")
        print(f"{o.name:14s} {o.m:7d} {o.k:7d} {o.n:7d} {o.count:7d} {o.a_fmt.name:>6s} {bfmt:>12s} "
              f"{_human(o.total_macs):>14s}", file=out)
    print(f"total MACs          {t['total_macs']} ({_human(t['total_macs'])})", file=out)
    print(f"weight bytes        {t['weight_bytes']} ({_human(t['weight_bytes'], 'B')})", file=out)
    if t["weight_scale_bytes"]:
        print(f"weight scale bytes  {t['weight_scale_bytes']} ({_human(t['weight_scale_bytes'], 'B')})", file=out)
    if wl.model.has_lm_head:
        print(f"KV-cache bytes      {t['kv_cache_bytes']} ({_human(t['kv_cache_bytes'], 'B')})"
          + (" written" if wl.phase == "prefill" else " read"), file=out)
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "workloads",
        help="list real models and show their GEMM/GEMV operations",
        description="Real model descriptions (models/*.yaml) and the operations of one "
        "prefill or decode step with shapes, formats and repeat counts.",
    )
    wsub = p.add_subparsers(dest="workloads_command", metavar="ACTION", parser_class=type(p))
    wsub.required = True

    pl = wsub.add_parser("list", help="list the available models and quantisation recipes")
    pl.add_argument("--json", action="store_true", help="print model descriptions as JSON")
    pl.set_defaults(func=cmd_list)

    ps = wsub.add_parser(
        "show", help="show the operations of one step of a model",
        description="Operations of one forward step: count is the number of repeats of "
        "each shape in the step (layers, and sequences x KV heads for attention).",
    )
    ps.add_argument("model", metavar="MODEL", help="model name (see 'hwsim workloads list')")
    ps.add_argument("--phase", required=True, choices=PHASES,
                    help="prefill (a prompt of --seq tokens) or decode (one token against --context cached tokens)")
    ps.add_argument("--batch", type=int, default=1, help="sequences per step (default 1)")
    ps.add_argument("--seq", type=int, help="prompt length (prefill)")
    ps.add_argument("--context", type=int, help="attended tokens incl. the new one (decode)")
    ps.add_argument("--quant", help="quantisation recipe (default: the model's own)")
    ps.add_argument("--per-head", action="store_true",
                    help="one attention op per query head instead of per KV-head group")
    ps.add_argument("--json", action="store_true",
                    help="print a JSON list of ops (name, m, k, n, count, formats, bytes)")
    ps.set_defaults(func=cmd_show)
