"""``hwsim run FAMILY ...``: evaluate one design on one workload, as a sweep would.

One parser per registered family, built from the family contract: the design options come
from the config's field metadata, the workload options (one GEMM, a model's prefill or
decode step, or a SCALE-Sim topology file) and the pricing options are the same for every
family, and a family adds only its own options (:attr:`CliHooks.run_options`). The figures
printed are those of the :class:`~hwsim.evaluate.Record` a sweep stores for the same point,
with the per-layer table of its ops.
"""

from __future__ import annotations

import sys
from functools import partial

from hwsim.errors import ConfigError
from hwsim.families import registry
from hwsim.families.contract import RunExtras

_COMMON = ("Cycles and traffic come from the family's closed-form model (the numbers a sweep stores); "
           "area and energy from its cost components. A workload is one GEMM (--gemm), the layers of a "
           "model in prefill or decode (--model, --phase, ...), or a SCALE-Sim topology file (--topology); "
           "with more than one op a per-layer table is printed before the totals.")

#: Workload options -> the keys of a sweep spec's workload entry they set.
_WORKLOAD_KEYS = {"phase": "--phase", "batch": "--batch", "seq_len": "--seq-len", "context": "--context",
                  "quant": "--quant", "model": "--model"}


def register(sub) -> None:
    p = sub.add_parser(
        "run",
        help="evaluate one accelerator design on one GEMM, model or topology",
        description="Evaluate one accelerator design on one workload with the family's model and print "
        "cycles, utilisation, traffic, energy and area (per layer and in total).",
    )
    fam = p.add_subparsers(dest="family", metavar="FAMILY", parser_class=type(p))
    fam.required = True
    for family in registry().values():
        add_family_parser(fam, family)


def add_family_parser(sub, family):
    """The ``hwsim run`` parser of one family (see the module docstring)."""
    from hwsim.cli.common import add_fidelity_options
    from hwsim.cli.options import add_config_options

    hooks = family.cli
    p = sub.add_parser(family.name, help=family.summary,
                       description=(hooks.description + " " if hooks.description else "") + _COMMON)
    wl = p.add_argument_group("workload (one of --gemm, --model, --topology)")
    one = wl.add_mutually_exclusive_group(required=True)
    one.add_argument("--gemm", dest="wl_gemm", metavar="MxKxN", help="one GEMM C[M,N] = A[M,K] x B[K,N], e.g. 512x4096x4096")
    one.add_argument("--model", dest="wl_model", metavar="MODEL", help="a model's layers (see `hwsim workloads list`)")
    one.add_argument("--topology", dest="wl_topology", metavar="FILE.csv",
                     help="a SCALE-Sim topology file (GEMM format Layer,M,N,K or convolution format, lowered "
                     "to GEMMs as SCALE-Sim lowers them)")
    wl.add_argument("--phase", dest="wl_phase", metavar="{prefill,decode}", help="with --model: prefill or decode")
    wl.add_argument("--batch", dest="wl_batch", type=int, default=1, help="with --model: sequences per step (default 1)")
    wl.add_argument("--seq-len", dest="wl_seq_len", type=int, default=None, help="with --model --phase prefill: prompt length")
    wl.add_argument("--context", dest="wl_context", type=int, default=None,
                    help="with --model --phase decode: tokens in the KV cache, the new one included")
    wl.add_argument("--quant", dest="wl_quant", default=None, help="with --model: quantisation recipe (default: the model's)")
    add_config_options(p, family.config, title=f"{family.name} configuration")
    pr = p.add_argument_group("pricing")
    pr.add_argument("--node-nm", type=int, default=45, help="technology node for area/energy, nm (default 45)")
    pr.add_argument("--table-area", action="store_true",
                    help="price the compute array from the MAC area table instead of a synthesis of its RTL "
                         "(the default where the family has one; the record says which)")
    taken = {o for a in p._actions for o in a.option_strings}
    if "--dram" not in taken:  # a design with a DRAM field of its own prices that one
        pr.add_argument("--dram", dest="pricing_dram", default=None,
                        help="DRAM type priced for off-chip traffic (default: the design's)")
    if hooks.run_options is not None:
        hooks.run_options(p)
    add_fidelity_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.set_defaults(func=partial(cmd_run, family))
    return p


def workload_from_args(args):
    """The :class:`~hwsim.evaluate.Workload` the options describe (built as a sweep spec's
    workload entry is, so the record equals the sweep's); errors name the options. The
    workload options are parsed into ``wl_*`` attributes, apart from the config fields'."""
    from hwsim.sweep.spec import WorkloadSpec, topology_workload
    from hwsim.workloads.ops import parse_gemm

    model_only = [o for o, v in (("--phase", args.wl_phase), ("--seq-len", args.wl_seq_len),
                                 ("--context", args.wl_context), ("--quant", args.wl_quant)) if v is not None]
    if args.wl_model is None and (model_only or args.wl_batch != 1):
        raise ConfigError(model_only[0] if model_only else "--batch", "applies to --model workloads only")
    if args.wl_gemm is not None:
        m, k, n = parse_gemm(args.wl_gemm)
        spec = WorkloadSpec(name="gemm", gemms=({"m": m, "k": k, "n": n, "count": 1, "name": "gemm0"},))
        return spec.build()
    if args.wl_topology is not None:
        try:
            return topology_workload(args.wl_topology).build()
        except ConfigError as e:
            if e.source is None:
                raise ConfigError("--topology", f"{e.key}: {e.reason}") from None
            raise ConfigError("--topology", f"{e.source}: {e.key}: {e.reason}") from None
    if args.wl_phase is None:
        raise ConfigError("--phase", "is required with --model (prefill or decode)")
    if args.wl_phase not in ("prefill", "decode"):
        raise ConfigError("--phase", f"must be one of 'prefill', 'decode', not {args.wl_phase!r}")
    if args.wl_phase == "prefill" and args.wl_seq_len is None:
        raise ConfigError("--seq-len", "is required with --phase prefill")
    if args.wl_phase == "decode" and args.wl_context is None:
        raise ConfigError("--context", "is required with --phase decode")
    length = f"s{args.wl_seq_len}" if args.wl_phase == "prefill" else f"ctx{args.wl_context}"
    spec = WorkloadSpec(name=f"{args.wl_model}/{args.wl_phase}/b{args.wl_batch}/{length}", model=args.wl_model,
                        phase=args.wl_phase, batch=args.wl_batch, seq_len=args.wl_seq_len, context=args.wl_context,
                        quant=args.wl_quant)
    try:
        return spec.build(key="workload")
    except ConfigError as e:
        field = e.key.split(".", 1)[1] if e.key.startswith("workload.") else e.key
        raise ConfigError(_WORKLOAD_KEYS.get(field, field), e.reason) from None


def _area_choice(args, extras) -> bool | None:
    """``Pricing.synthesised_area`` from ``--table-area`` and the family's own options
    (``None``: the pricing default)."""
    if args.table_area:
        if extras.synthesised_area:
            raise ConfigError("--table-area", "contradicts the family's option that asks for a synthesised area")
        return False
    return True if extras.synthesised_area else None


def cmd_run(family, args) -> int:
    from hwsim.cli.common import fidelity_kwargs, print_json, print_layers, print_record, record_json, run_record
    from hwsim.cli.options import config_from_args

    # everything the user typed is checked before any model runs
    workload = workload_from_args(args)
    cfg = config_from_args(family.config, args)
    for op in workload.ops:
        family.check_op(op, "--gemm" if args.wl_gemm else "--model" if args.wl_model else "--topology")
    extras = family.cli.run_extras(args, cfg, workload) if family.cli.run_extras else RunExtras()
    rec = run_record(family.name, cfg, workload, mode=extras.mode, node_nm=args.node_nm,
                     dram=getattr(args, "pricing_dram", None),
                     synthesised_area=_area_choice(args, extras), **fidelity_kwargs(args))
    d = record_json(rec)
    if args.wl_gemm is not None:
        op = workload.ops[0]
        d["gemm"] = {"m": op.m, "k": op.k, "n": op.n}
    lines = extras.report(rec, d) if extras.report is not None else []
    if args.json:
        return print_json(d)
    w = sys.stdout.write
    what = (f"GEMM M={workload.ops[0].m} K={workload.ops[0].k} N={workload.ops[0].n}" if args.wl_gemm
            else f"{workload.name} ({len(workload.ops)} ops)")
    design = family.cli.describe(cfg) if family.cli.describe else ""
    w(f"{family.name} {design}  {what}  ({rec.estimator})\n")
    if len(rec.layers) > 1:
        print_layers(rec)
    print_record(rec)
    for line in lines:
        w(line + "\n")
    return 0
