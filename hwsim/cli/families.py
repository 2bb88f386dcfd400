"""``hwsim families``: the registered accelerator families and what each provides."""

from __future__ import annotations

import dataclasses
import sys

from hwsim.cli.common import print_json
from hwsim.families import registry
from hwsim.families.contract import IMPLEMENTATIONS, option_name


def describe(fam) -> dict:
    """JSON-able description of one family (what ``hwsim families --json`` prints)."""
    fields = []
    for f in dataclasses.fields(fam.config):
        default = f.default if f.default is not dataclasses.MISSING else None
        fields.append({"name": f.name, "default": default, "option": option_name(f),
                       **{k: v for k, v in f.metadata.items() if k in ("help", "unit", "range", "choices")}})
    return {
        "name": fam.name,
        "summary": fam.summary,
        "package": fam.package.__name__,
        "config": f"{fam.config.__module__}.{fam.config.__qualname__}",
        "implementations": [i for i in IMPLEMENTATIONS if i in fam.implementations],
        "modes": list(fam.modes),
        "ops": [k.__name__ for k in fam.op_kinds],
        "vectorised_model": fam.estimate_arrays is not None,
        "export": fam.rtl is not None,
        "synth": fam.rtl is not None,
        "rtl_fields": list(fam.rtl.fields) if fam.rtl is not None else [],
        "studies": list(fam.studies),
        "config_fields": fields,
    }


def cmd_families(args) -> int:
    fams = [describe(f) for f in registry().values()]
    if args.json:
        return print_json({"families": fams})
    w = sys.stdout.write
    for d in fams:
        w(f"{d['name']:<10} {d['summary']}\n")
        w(f"{'':<10} implementations: {', '.join(d['implementations'])}; ops: {', '.join(d['ops'])}; "
          f"modes: {', '.join(d['modes'])}\n")
    return 0


def register(sub) -> None:
    p = sub.add_parser("families", help="list the accelerator families and what each provides",
                       description="List the registered accelerator families: their implementations "
                       "(golden, cycle-level model, Amaranth simulation, Verilator), operations, estimator "
                       "modes and configuration fields.")
    p.add_argument("--json", action="store_true", help="print one JSON object (config fields included)")
    p.set_defaults(func=cmd_families)
