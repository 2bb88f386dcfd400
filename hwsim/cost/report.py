"""The cost fields of an evaluation record: area, energy, derived metrics, provenance.

:func:`cost_record` takes a model's cycle count and action counts, the technology, the
widths and buffers that price them (:class:`CostInputs`, built from a family config, e.g.
:func:`systolic_inputs`), and the PE-array area (a synthesis result, or ``None`` for the
arithmetic table), and returns a flat dict with units in the names.

Metrics count one MAC as two operations. ``tops`` is the achieved throughput of the run
(``2 * macs / runtime``), ``peak_tops`` the array's peak at the configured clock;
``tops_per_w = 2 * macs / energy`` and ``tops_per_mm2 = tops / area``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hwsim.cost.area import AreaBreakdown, area_breakdown, pe_area_from_table
from hwsim.cost.energy import SramSpec, energy_from_actions
from hwsim.cost.synth import AsicResult, ComposedArea, tool_versions
from hwsim.cost.tech import Figure, Tech
from hwsim.errors import ConfigError, check_int

RECORD_VERSION = 1


@dataclass(frozen=True)
class CostInputs:
    """What the cost model needs to know about a design beyond its action counts.

    Parameters mirror :func:`hwsim.cost.energy.energy_from_actions`.
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

    def __post_init__(self):
        if isinstance(self.freq_mhz, bool) or not isinstance(self.freq_mhz, (int, float)) or not self.freq_mhz > 0:
            raise ConfigError("freq_mhz", f"must be a positive number, not {self.freq_mhz!r}")
        check_int("n_pes", self.n_pes, 1)
        check_int("pe_reg_bits", self.pe_reg_bits, 0)


#: Flip-flops of the systolic sequencer (counters, state, handshake), counted in the
#: 2x2 OS gate netlist (the periphery's other registers are counted by formula).
SEQUENCER_BITS = 136


def systolic_control_bits(cfg) -> int:
    """Register bits of the systolic RTL's periphery, charged as control each cycle.

    The sequencer (:data:`SEQUENCER_BITS`), the operand skew triangles
    (``a_bits * R(R-1)/2 + b_bits * C(C-1)/2``: exactly the skew flip-flops of the gate
    netlists) and the output de-skew triangle (``acc_bits * C(C-1)/2``: exactly the
    ``ws`` netlists' output flip-flops). Against the flip-flop count of the periphery
    (``acc`` buffer excluded) in the gate netlists this is 3 % / 11 % low for OS 2x2 / 4x4
    and 12 % / 13 % low for WS 2x2 / 4x4; the activity calibration at 2x2 absorbs the
    constant part.
    """
    r, c = cfg.rows, cfg.cols
    tri_r, tri_c = r * (r - 1) // 2, c * (c - 1) // 2
    return SEQUENCER_BITS + cfg.a_bits * tri_r + cfg.b_bits * tri_c + cfg.acc_bits * tri_c


def systolic_inputs(cfg, dram: str = "lpddr4") -> CostInputs:
    """Cost inputs of a :class:`hwsim.arch.systolic.config.SystolicConfig`.

    Buffers are word-wide SRAMs of the operand widths (``ifmap``: ``a_bits``, ``filter``:
    ``b_bits``, ``ofmap``: ``acc_bits``), matching the model's word counts. A PE holds an
    ``a``, a ``b`` and an accumulator register. Control is the periphery's register bits
    (:func:`systolic_control_bits`), which grow with the square of the array's sides.
    """
    ctrl = systolic_control_bits(cfg)
    return CostInputs(
        freq_mhz=float(cfg.freq_mhz), n_pes=cfg.pes, a_bits=cfg.a_bits, b_bits=cfg.b_bits, acc_bits=cfg.acc_bits,
        pe_reg_bits=cfg.a_bits + cfg.b_bits + cfg.acc_bits,
        sram={"ifmap": SramSpec(cfg.ifmap_sram_kb * 1024, cfg.a_bits),
              "filter": SramSpec(cfg.filter_sram_kb * 1024, cfg.b_bits),
              "ofmap": SramSpec(cfg.ofmap_sram_kb * 1024, cfg.acc_bits),
              # the ws/is partial-sum buffer of the RTL: acc_depth x cols words (os keeps
              # its sums in the PEs and has none)
              **({"acc": SramSpec(max(1, cfg.acc_depth * cfg.cols * cfg.acc_bits // 8), cfg.acc_bits,
                                  origin="acc_depth")}
                 if cfg.dataflow in ("ws", "is") else {})},
        dram=dram,
        control_bits=ctrl,
        control_source=f"{ctrl} periphery register bits (hwsim.cost.report.systolic_control_bits: sequencer "
                       f"{SEQUENCER_BITS} + skew and de-skew triangles of a {cfg.rows}x{cfg.cols} array) "
                       "written per cycle",
    )


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
        Component -> energy factor (see :mod:`hwsim.cost.activity`).
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
    e = energy_from_actions(
        actions, tech, cycles=cycles, freq_mhz=inputs.freq_mhz, a_bits=inputs.a_bits, b_bits=inputs.b_bits,
        acc_bits=inputs.acc_bits, sram=inputs.sram, dram=inputs.dram, shift_bits=inputs.shift_bits,
        lut_entry_bits=inputs.lut_entry_bits, n_pes=inputs.n_pes, pe_reg_bits=inputs.pe_reg_bits,
        control_bits=inputs.control_bits, control_source=inputs.control_source, calibration=calibration)
    if pe_array_area is None:
        if None in (inputs.a_bits, inputs.b_bits, inputs.acc_bits):
            raise ConfigError("pe_array_area", "is required when the PE widths are unknown")
        one = pe_area_from_table(tech, inputs.a_bits, inputs.b_bits, inputs.acc_bits, inputs.pe_reg_bits)
        pe_array_area = one.times(inputs.n_pes, f"{inputs.n_pes} PEs")
    area: AreaBreakdown = area_breakdown(tech, sram=inputs.sram, pe_array=pe_array_area, extra=extra_area)
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
            "synthesis_run_id": (pe_array_area.provenance.get("run_id")
                                 if isinstance(pe_array_area, AsicResult) else None),
            "tools": tool_versions(),
        },
    }
