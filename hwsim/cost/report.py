"""The cost fields of an evaluation record: area, energy, derived metrics, provenance.

:func:`cost_record` takes a model's cycle count and action counts, the technology, the
widths and buffers that price them (:class:`CostInputs`, built from a family config by the
family's cost hook), and the PE-array area (a synthesis result, or ``None`` for the
arithmetic table), and returns a flat dict with units in the names.

Metrics count one MAC as two operations. ``tops`` is the achieved throughput of the run
(``2 * macs / runtime``), ``peak_tops`` the array's peak at the configured clock;
``tops_per_w = 2 * macs / energy`` and ``tops_per_mm2 = tops / area``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hwsim.cost.area import AreaBreakdown, area_breakdown, pe_area_from_table, synthesized_area
from hwsim.cost.components import ComponentDesign, price
from hwsim.cost.energy import SramSpec, calibration_factor, energy_from_actions
from hwsim.eda.synth import AsicResult, ComposedArea, tool_versions
from hwsim.cost.tech import Figure, Tech
from hwsim.errors import ConfigError, check_int

RECORD_VERSION = 1


@dataclass(frozen=True)
class CostInputs:
    """What the cost model needs to know about a design beyond its action counts.

    With ``design`` (a :class:`~hwsim.cost.components.ComponentDesign`), the design is
    priced from its components (:func:`hwsim.cost.components.price`) and the width,
    buffer and control fields only serve older callers of
    :func:`~hwsim.cost.energy.energy_from_actions`. Without it, the parameters mirror
    :func:`~hwsim.cost.energy.energy_from_actions`.
    """

    freq_mhz: float
    n_pes: int
    a_bits: int | None = None
    b_bits: int | None = None
    acc_bits: int | None = None
    pe_reg_bits: int = 0
    sram: Mapping[str, SramSpec] = field(default_factory=dict)
    dram: str = "lpddr4"
    shift_bits: int | None = None
    lut_entry_bits: int | None = None
    control_bits: int = 64
    control_source: str | None = None
    design: ComponentDesign | None = None
    dram_commands: Mapping[str, Figure] = field(default_factory=dict)

    def __post_init__(self):
        if isinstance(self.freq_mhz, bool) or not isinstance(self.freq_mhz, (int, float)) or not self.freq_mhz > 0:
            raise ConfigError("freq_mhz", f"must be a positive number, not {self.freq_mhz!r}")
        check_int("n_pes", self.n_pes, 1)
        check_int("pe_reg_bits", self.pe_reg_bits, 0)
        if self.design is not None and not isinstance(self.design, ComponentDesign):
            raise ConfigError("design", f"must be a ComponentDesign, not {type(self.design).__name__}")


def _perf_fields(perf) -> tuple[int, int, dict]:
    if isinstance(perf, Mapping):
        d = perf
    elif hasattr(perf, "to_dict"):
        d = perf.to_dict()
    else:
        raise ConfigError("perf", f"must be a Perf or a mapping, not {type(perf).__name__}")
    for key in ("cycles", "macs", "actions"):
        if key not in d:
            raise ConfigError("perf", f"lacks {key!r}")
    return int(d["cycles"]), int(d["macs"]), dict(d["actions"])


def _legacy(actions, cycles, tech, inputs, pe_array_area, extra_area, calibration):
    """Energy and area from the keyword widths (inputs without components)."""
    e = energy_from_actions(
        actions, tech, cycles=cycles, freq_mhz=inputs.freq_mhz, a_bits=inputs.a_bits, b_bits=inputs.b_bits,
        acc_bits=inputs.acc_bits, sram=inputs.sram, dram=inputs.dram, shift_bits=inputs.shift_bits,
        lut_entry_bits=inputs.lut_entry_bits, n_pes=inputs.n_pes, pe_reg_bits=inputs.pe_reg_bits,
        control_bits=inputs.control_bits, control_source=inputs.control_source, calibration=calibration,
        dram_commands=inputs.dram_commands)
    if pe_array_area is None:
        if None in (inputs.a_bits, inputs.b_bits, inputs.acc_bits):
            raise ConfigError("pe_array_area", "is required when the PE widths are unknown")
        one = pe_area_from_table(tech, inputs.a_bits, inputs.b_bits, inputs.acc_bits, inputs.pe_reg_bits)
        pe_array_area = one.times(inputs.n_pes, f"{inputs.n_pes} PEs")
    area: AreaBreakdown = area_breakdown(tech, sram=inputs.sram, pe_array=pe_array_area, extra=extra_area)
    return e, area


def cost_record(family: str, cfg: Mapping, perf, tech: Tech, inputs: CostInputs, *,
                pe_array_area: AsicResult | ComposedArea | Figure | None = None,
                extra_area: Mapping[str, AsicResult | ComposedArea | Figure] | None = None,
                calibration: Mapping[str, Figure] | None = None,
                peak_macs_per_cycle: float | None = None) -> dict:
    """Area, energy, derived metrics and provenance of one evaluation.

    Parameters
    ----------
    family : str
    cfg : mapping
        The design's configuration (``cfg.to_dict()``), recorded as is.
    perf : Perf or mapping
        Needs ``cycles``, ``macs`` and ``actions``.
    tech : Tech
    inputs : CostInputs
    pe_array_area : AsicResult, ComposedArea, Figure or None
        Synthesised array (or composed) area; ``None`` prices the PEs from the table.
    extra_area : mapping, optional
        Further blocks (control, read-out) by name.
    calibration : mapping, optional
        Component -> energy factor (see :mod:`hwsim.eda.activity`).
    peak_macs_per_cycle : float, optional
        For ``peak_tops``; default ``inputs.n_pes`` (one MAC per PE per cycle).

    Returns
    -------
    dict
        ``area_um2``, ``area_um2_by_part``, ``energy_pj``, ``energy_pj_by_part``,
        ``dynamic_energy_pj``, ``leakage_energy_pj``, ``runtime_s``, ``tops``,
        ``peak_tops``, ``tops_per_w``, ``tops_per_mm2``, ``node_nm``, ``freq_mhz`` and
        ``provenance``.
    """
    cycles, macs, actions = _perf_fields(perf)
    if inputs.design is not None:
        override = {}
        if pe_array_area is not None:
            override["pe_array"] = (pe_array_area if isinstance(pe_array_area, Figure)
                                    else synthesized_area(tech, pe_array_area, "pe_array"))
        for k, v in (extra_area or {}).items():
            override[k] = v if isinstance(v, Figure) else synthesized_area(tech, v, k)
        e, area = price(inputs.design.components, inputs.design.counts(actions), tech, cycles=cycles,
                        freq_mhz=inputs.freq_mhz, calibration=calibration, area_override=override)
    else:
        e, area = _legacy(actions, cycles, tech, inputs, pe_array_area, extra_area, calibration)
    runtime_s = e.runtime_s
    ops = 2.0 * macs
    tops = ops / runtime_s / 1e12 if runtime_s > 0 else 0.0
    energy_j = e.total_pj * 1e-12
    area_mm2 = area.total_um2 * 1e-6
    return {
        "cost_record_version": RECORD_VERSION,
        "family": family,
        "node_nm": tech.node_nm,
        "freq_mhz": inputs.freq_mhz,
        "cycles": cycles,
        "macs": macs,
        "runtime_s": runtime_s,
        "area_um2": area.total_um2,
        "area_um2_by_part": area.by_part,
        "energy_pj": e.total_pj,
        "energy_pj_by_part": e.by_part,
        "dynamic_energy_pj": e.dynamic_pj,
        "leakage_energy_pj": e.leakage_pj,
        "tops": tops,
        "peak_tops": 2.0 * (inputs.n_pes if peak_macs_per_cycle is None else peak_macs_per_cycle)
        * inputs.freq_mhz * 1e6 / 1e12,
        "tops_per_w": ops / energy_j / 1e12 if energy_j > 0 else 0.0,
        "tops_per_mm2": tops / area_mm2 if area_mm2 > 0 else 0.0,
        "config": dict(cfg),
        "provenance": {
            "tech": tech.provenance(),
            "area_sources": {k: v.source for k, v in area.parts.items()},
            "energy_lines": [ln.to_dict() for ln in e.lines],
            "leakage_lines": [ln.to_dict() for ln in e.leakage],
            "calibration": {k: v.to_dict() for k, v in e.calibration.items()},
            "area_mode": area_mode(pe_array_area, extra_area),
            "synthesis_run_id": (pe_array_area.provenance.get("run_id")
                                 if isinstance(pe_array_area, AsicResult) else None),
            "tools": tool_versions(),
        },
    }


def area_mode(pe_array_area, extra_area=None) -> str:
    """How a record's logic area was priced, in words (``cost_provenance["area_mode"]``):
    ``table`` (the MAC area table, no synthesis: what ``Pricing(synthesised_area=False)``
    selects), ``synthesised`` (a synthesis of the RTL, with how the array was composed)
    or ``given`` (a family's own figure)."""
    from hwsim.eda.synth import FittedArea

    if pe_array_area is None:
        return "table: PEs from the MAC area table, periphery not priced (no synthesis)"
    if isinstance(pe_array_area, Figure):
        return f"given: {pe_array_area.source}"
    extra = dict(extra_area or {})
    if isinstance(pe_array_area, ComposedArea):
        how = (f"synthesised: {pe_array_area.n_units} units, "
               f"{pe_array_area.provenance.get('estimator') or 'composed from one synthesised unit'}")
    else:
        how = "synthesised: the compute array synthesised whole"
    for k, v in extra.items():
        if isinstance(v, FittedArea):
            how += f"; {k} from its growth fit ({'extrapolated' if v.extrapolated else 'within the fitted sizes'})"
        elif isinstance(v, (AsicResult, ComposedArea)):
            how += f"; {k} synthesised"
        else:
            how += f"; {k} given"
    return how


def energy_coefficients(tech: Tech, inputs: CostInputs, calibration: Mapping[str, Figure] | None = None):
    """The energy of a design as a linear function: ``(per_action, per_cycle)`` with
    ``per_action[a] = {part: pJ per count of model action a}`` and ``per_cycle = {part:
    pJ per cycle}`` (per-cycle actions and leakage), calibration factors applied, so that
    the energy by part of a run is ``sum_a n_a * per_action[a] + cycles * per_cycle``
    exactly as :func:`cost_record` prices it. Only for designs priced from components
    (``inputs.design``); ``None`` otherwise."""
    design = inputs.design
    if design is None:
        return None
    cal = dict(calibration or {})

    def each(c, action):
        return c.action_energy(action, tech).value * calibration_factor(cal, c.bucket, action)

    by_name = {c.name: c for c in design.components}
    per_action: dict[str, dict[str, float]] = {}
    for act, routes in design.routes.items():
        d: dict[str, float] = {}
        for r in routes:
            c = by_name[r.component]
            e = each(c, r.action)
            if r.action == c.STALL:  # a stalled cycle replaces one of the per-cycle charges
                e -= sum(each(c, a) for a in c.PER_CYCLE)
            d[c.bucket] = d.get(c.bucket, 0.0) + r.factor * e
        per_action[act] = d
    per_cycle: dict[str, float] = {}
    seconds = 1.0 / (inputs.freq_mhz * 1e6)
    for c in design.components:
        for action in c.PER_CYCLE:
            per_cycle[c.bucket] = per_cycle.get(c.bucket, 0.0) + each(c, action)
        lk = c.leakage(tech)
        if lk is not None:
            per_cycle[c.bucket] = per_cycle.get(c.bucket, 0.0) + lk.value * 1e-3 * seconds * 1e12
    return per_action, per_cycle
