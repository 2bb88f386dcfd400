"""``hwsim run FAMILY ...``: evaluate one design on one operation with the model."""

from __future__ import annotations

import importlib

from hwsim.cli.families import FAMILY_CLI_MODULES


def family_modules():
    for name in FAMILY_CLI_MODULES:
        try:
            yield importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise


def register(sub) -> None:
    p = sub.add_parser(
        "run",
        help="evaluate one accelerator design on one operation (cycle model)",
        description="Evaluate one accelerator design on one operation with the cycle-approximate model "
        "and print cycles, utilisation, traffic and action counts.",
    )
    fam = p.add_subparsers(dest="family", metavar="FAMILY", parser_class=type(p))
    fam.required = True
    for mod in family_modules():
        mod.add_run_parser(fam)
