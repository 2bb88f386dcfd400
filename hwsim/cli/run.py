"""``hwsim run FAMILY ...``: evaluate one design on one operation with the model."""

from __future__ import annotations

from hwsim.families import registry


def register(sub) -> None:
    p = sub.add_parser(
        "run",
        help="evaluate one accelerator design on one operation (cycle model)",
        description="Evaluate one accelerator design on one operation with the cycle-approximate model "
        "and print cycles, utilisation, traffic and action counts.",
    )
    fam = p.add_subparsers(dest="family", metavar="FAMILY", parser_class=type(p))
    fam.required = True
    for family in registry().values():
        family.cli.run(fam)
