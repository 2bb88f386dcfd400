"""The ``hwsim`` command.

Each subcommand lives in its own module with a ``register(subparsers)`` function that
adds its parser and sets ``func`` (a callable taking the parsed namespace and returning
an exit status). User errors (:class:`hwsim.errors.HwsimError`) are printed as one line
and exit with status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from hwsim import __version__
from hwsim.errors import HwsimError

# Subcommand modules, in the order they appear in --help. Each one is imported
# explicitly: no plug-ins are discovered from the file system.
COMMAND_MODULES = (
    "hwsim.cli.run",
    "hwsim.cli.rtl",
    "hwsim.cli.workloads",
    "hwsim.cli.sweep",
    "hwsim.cli.dram",
)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: ``hwsim run: error: --rows: ...`` and exit 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="hwsim",
        description=(
            "Simulate and explore matrix-multiplication and quantized-LLM accelerators "
            "at three fidelities: golden (bit-exact NumPy), model (cycle-approximate) "
            "and RTL (Amaranth -> Verilator)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"hwsim {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log more (-v: info, -vv: debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:  # a subcommand not written yet
                continue
            raise
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except HwsimError as e:
        print(f"hwsim {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hwsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (e.g. `hwsim ... | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
