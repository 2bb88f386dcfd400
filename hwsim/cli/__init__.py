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
import math
import os
import sys

from hwsim import __version__
from hwsim.errors import HwsimError, shorten

#: Longest error line printed (user values inside are shortened already; this also
#: bounds messages from code that does not shorten).
MAX_LINE = 400

# Subcommand modules, in the order they appear in --help. Each one is imported
# explicitly: no plug-ins are discovered from the file system.
COMMAND_MODULES = (
    "hwsim.cli.run",
    "hwsim.cli.rtl",
    "hwsim.cli.workloads",
    "hwsim.cli.sweep",
    "hwsim.cli.dram",
    "hwsim.cli.cost",
    "hwsim.cli.families",
)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: ``hwsim run: error: --rows: ...`` and exit 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(2, one_line(f"{self.prog}: error: {message}") + "\n")

    def _get_value(self, action, arg_string):
        # Every number read from the command line is finite: "inf" and "nan" are not
        # frequencies, bandwidths or bounds. One check for every option of every command.
        value = super()._get_value(action, arg_string)
        name = "/".join(action.option_strings) or action.metavar or action.dest
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentError(None, f"argument {name}: must be a finite number, "
                                         f"not {shorten(arg_string)}")
        # Seeds of every command seed NumPy's generators: non-negative, within 64 bits.
        if action.dest == "seed" and isinstance(value, int) and not 0 <= value < 2**63:
            raise argparse.ArgumentError(None, f"argument {name}: must be an integer from 0 to "
                                         f"2^63 - 1, not {shorten(arg_string)}")
        return value


def one_line(message: str, limit: int = MAX_LINE) -> str:
    """``message`` on one line of at most ``limit`` characters."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _os_error_line(e: OSError) -> str:
    """One line for a file-system error (a path that cannot be read or written)."""
    what = e.strerror or type(e).__name__
    names = [shorten(str(f)) for f in (e.filename, e.filename2) if f is not None]
    return f"{' -> '.join(names)}: {what}" if names else what


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
        print(one_line(f"hwsim {args.command}: error: {e}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hwsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (e.g. `hwsim ... | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:
        # A path the system refused (unwritable, not a folder, disk full, ...): the user's
        # environment, not a bug. Paths are checked before long work starts
        # (hwsim.fileio); this catches what only shows when writing.
        if e.filename is None:
            raise
        print(one_line(f"hwsim {args.command}: error: {_os_error_line(e)}"), file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
