"""Output helpers shared by the family CLI modules."""

from __future__ import annotations

import json
import sys

from hwsim.arch.base import Perf
from hwsim.errors import ConfigError


def config_from_options(cls, kw: dict, args, optional, option_names: dict):
    """``cls(**kw)``, plus each ``(attribute, field)`` of ``optional`` that ``args`` has
    (subcommands without memory options leave those fields at their defaults).

    A :class:`~hwsim.errors.ConfigError` is re-raised naming the command-line option
    (``option_names``: field -> option) instead of the config field.
    """
    kw = dict(kw)
    for attr, field in optional:
        if hasattr(args, attr):
            kw[field] = getattr(args, attr)
    try:
        return cls(**kw)
    except ConfigError as e:
        raise ConfigError(option_names.get(e.key, e.key), e.reason) from None


def print_json(d: dict) -> int:
    json.dump(d, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


def print_perf(perf: Perf, freq_mhz: float, rows: tuple = ()) -> None:
    """Print a model's :class:`~hwsim.arch.base.Perf` as an aligned table.

    ``rows`` are extra ``(label, int)`` lines printed after the cycle count.
    """
    w = sys.stdout.write
    w(f"  cycles          {perf.cycles:>14,d}   ({perf.cycles / freq_mhz:.3f} us at {freq_mhz:g} MHz)\n")
    for label, v in rows:
        w(f"  {label:<15} {v:>14,d}\n")
    w(f"  MACs            {perf.macs:>14,d}\n")
    w(f"  utilization     {perf.utilization:>14.1%}\n")
    w("  SRAM reads      " + ", ".join(f"{b} {v:,}" for b, v in perf.sram_reads.items()) + "\n")
    w("  SRAM writes     " + ", ".join(f"{b} {v:,}" for b, v in perf.sram_writes.items()) + "\n")
    w("  DRAM bytes      " + ", ".join(f"{b} {v:,}" for b, v in perf.dram_bytes.items()) + "\n")
    w("  actions\n")
    for key, v in perf.actions.items():
        w(f"    {key:<20} {v:>14,d}\n")
