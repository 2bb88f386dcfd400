"""SI units chosen per column: one unit for every value of a table column or plot axis.

A metric's stored unit is in its name (``area_um2``, ``energy_per_token_pj``); reports
show areas in mm^2 and pick, per column, the prefix that keeps the column's typical value
between 1 and 1000 (``uJ``, ``mJ``, ...), so a column never mixes ``7.084e+05`` with
``0.3``.

>>> u = unit_for("energy_per_token_pj", [2.0e9, 5.0e9])
>>> u.unit, u.fmt(3.2e9)
('mJ', '3.2')
>>> unit_for("area_um2", [7.084e5]).label
'area (mm^2)'
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_PREFIX = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "u"),
           (1e-9, "n"), (1e-12, "p"))

#: metric -> (human name, base SI unit, factor from the stored unit to the base unit,
#: fixed display unit or None to choose a prefix per column)
METRIC_UNITS: dict[str, tuple] = {
    "area_um2": ("area", "m^2", 1e-12, "mm^2"),
    "area_mm2": ("area", "m^2", 1e-6, "mm^2"),
    "energy_pj": ("energy", "J", 1e-12, None),
    "energy_per_token_pj": ("energy per token", "J", 1e-12, None),
    "energy_per_op_pj": ("energy per op", "pJ", 1.0, "pJ"),
    "latency_s": ("latency", "s", 1.0, None),
    "tokens_per_s": ("throughput", "tokens/s", 1.0, "tokens/s"),
    "tops": ("throughput", "TOPS", 1.0, "TOPS"),
    "peak_tops": ("peak throughput", "TOPS", 1.0, "TOPS"),
    "tops_per_w": ("efficiency", "TOPS/W", 1.0, "TOPS/W"),
    "tops_per_mm2": ("density", "TOPS/mm^2", 1.0, "TOPS/mm^2"),
    "sqnr_db": ("SQNR", "dB", 1.0, "dB"),
    "utilization": ("utilisation", "%", 100.0, "%"),
    "dram_bytes": ("DRAM traffic", "B", 1.0, None),
    "dram_bytes_per_token": ("DRAM traffic per token", "B", 1.0, None),
    "ops_per_dram_byte": ("ops per DRAM byte", "ops/B", 1.0, "ops/B"),
    "cycles": ("cycles", "cycles", 1.0, None),
    "compute_cycles": ("compute cycles", "cycles", 1.0, None),
    "stall_cycles": ("DRAM-stall cycles", "cycles", 1.0, None),
    "macs": ("MACs", "MAC", 1.0, None),
    "ops": ("operations", "ops", 1.0, None),
    "peak_macs_per_cycle": ("peak MACs/cycle", "MAC/cycle", 1.0, "MAC/cycle"),
    "freq_mhz": ("clock", "MHz", 1.0, "MHz"),
    "dram_bw_bytes_per_s": ("DRAM bandwidth", "B/s", 1.0, None),
    "rel_fro_error": ("relative error", "", 1.0, ""),
    "sram_words": ("SRAM accesses", "words", 1.0, None),
}
_COUNTS = ("cycles", "MAC", "ops", "words")

#: Whether larger is better, for metrics with an obvious direction (used in captions).
HIGHER_IS_BETTER = {"tokens_per_s": True, "tops": True, "tops_per_w": True, "tops_per_mm2": True,
                    "sqnr_db": True, "utilization": True, "energy_per_token_pj": False,
                    "energy_pj": False, "energy_per_op_pj": False, "area_um2": False,
                    "latency_s": False, "cycles": False, "dram_bytes": False}


def _sig(v: float, digits: int = 4) -> str:
    """``v`` with ``digits`` significant digits, never in exponent notation."""
    if v == 0 or not math.isfinite(v):
        return "0" if v == 0 else str(v)
    d = max(digits - 1 - int(math.floor(math.log10(abs(v)))), 0)
    s = f"{v:,.{d}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


@dataclass(frozen=True)
class Unit:
    """How one column is shown: ``value_in_stored_unit * scale`` in ``unit``."""

    metric: str
    name: str
    unit: str
    scale: float

    @property
    def label(self) -> str:
        return f"{self.name} ({self.unit})" if self.unit else self.name

    def __call__(self, v):
        """The value in the display unit (``nan`` for a missing one)."""
        try:
            f = float(v)
        except (TypeError, ValueError):
            return float("nan")
        return f * self.scale

    def fmt(self, v, digits: int = 4) -> str:
        x = self(v)
        return "n/a" if not math.isfinite(x) else _sig(x, digits)


def unit_for(metric: str, values=()) -> Unit:
    """The display unit of ``metric`` for a column holding ``values`` (stored units)."""
    name, base, to_base, fixed = METRIC_UNITS.get(metric, (metric.replace("design.", ""), "", 1.0, ""))
    if fixed is not None:
        if fixed == "mm^2":
            return Unit(metric, name, "mm^2", to_base / 1e-6)
        return Unit(metric, name, fixed, to_base)
    arr = np.asarray([float(v) for v in values if v is not None], dtype=float)
    arr = np.abs(arr[np.isfinite(arr) & (arr != 0)]) * to_base
    typical = float(np.median(arr)) if arr.size else 1.0
    for p, prefix in _PREFIX:
        if typical >= p * 0.9995:
            # counts read "M cycles", not "Mcycles"
            unit = f"{prefix} {base}" if prefix and base in _COUNTS else f"{prefix}{base}"
            return Unit(metric, name, unit, to_base / p)
    p, prefix = _PREFIX[-1]
    return Unit(metric, name, f"{prefix}{base}", to_base / p)


def label(metric: str, values=()) -> str:
    return unit_for(metric, values).label
