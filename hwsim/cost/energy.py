"""Energy from named action counts: a pure function of (counts, widths, technology).

See :mod:`hwsim.cost` for the action vocabulary. Nothing here runs a model or a tool.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from hwsim.cost.tech import Figure, Tech
from hwsim.errors import ConfigError, check_int

log = logging.getLogger(__name__)

PE_ARRAY = "pe_array"
DRAM = "dram"
CONTROL = "control"

_MULT_RE = re.compile(r"^mult:(\d+)x(\d+)$")
_SRAM_RE = re.compile(r"^sram_(read|write):([A-Za-z0-9_]+)$")
_FILL_RE = re.compile(r"^(fill|drain)_bytes:([A-Za-z0-9_]+)$")
_DRAM_CMD_RE = re.compile(r"^dram_cmd:([A-Za-z0-9_]+)$")


@dataclass(frozen=True)
class SramSpec:
    """One on-chip SRAM buffer as the cost model sees it.

    Parameters
    ----------
    size_bytes : int
        Capacity.
    width_bits : int
        Bits per access; ``sram_read:<buf>`` / ``sram_write:<buf>`` count accesses of this width.
    origin : str, optional
        The design field that sets the size (named in errors); default ``<buffer>_sram_kb``.
    """

    size_bytes: int
    width_bits: int
    origin: str | None = field(default=None, compare=False)

    def __post_init__(self):
        check_int("size_bytes", self.size_bytes, 1)
        check_int("width_bits", self.width_bits, 1)


@dataclass(frozen=True)
class EnergyLine:
    """``count`` actions of one kind at ``each`` energy, charged to ``component``."""

    component: str
    action: str
    count: float
    each: Figure

    @property
    def energy_pj(self) -> float:
        return float(self.count) * self.each.value

    def to_dict(self) -> dict:
        return {"component": self.component, "action": self.action, "count": float(self.count),
                "energy_each_pj": self.each.value, "energy_pj": self.energy_pj, "source": self.each.source}


@dataclass(frozen=True)
class LeakageLine:
    """Leakage ``power`` of ``component`` over ``seconds``."""

    component: str
    power: Figure
    seconds: float

    @property
    def energy_pj(self) -> float:
        return self.power.value * 1e-3 * self.seconds * 1e12  # mW * s -> pJ

    def to_dict(self) -> dict:
        return {"component": self.component, "power_mw": self.power.value, "seconds": self.seconds,
                "energy_pj": self.energy_pj, "source": self.power.source}


def calibration_factor(calibration: Mapping, part: str, action: str | None = None) -> float:
    """The factor a calibration applies to an energy line of ``part``: the entry
    ``"<part>/<component action>"`` if there is one (``action`` is ``"<component>.<action>"``
    or a bare action), else the part's entry, else 1."""
    if action is not None and calibration:
        c = calibration.get(f"{part}/{action.rsplit('.', 1)[-1]}")
        if c is not None:
            return c.value
    c = calibration.get(part) if calibration else None
    return c.value if c is not None else 1.0


@dataclass(frozen=True)
class EnergyBreakdown:
    """Dynamic energy by action and leakage by component of one run.

    Attributes
    ----------
    lines : tuple of EnergyLine
    leakage : tuple of LeakageLine
    runtime_s : float
    calibration : dict
        Component -> factor applied to its dynamic energy, with the factor's source.
    """

    lines: tuple[EnergyLine, ...]
    leakage: tuple[LeakageLine, ...]
    runtime_s: float
    calibration: dict = field(default_factory=dict)

    def _factor(self, comp: str, action: str | None = None) -> float:
        return calibration_factor(self.calibration, comp, action)

    @cached_property
    def _dynamic_by_part(self) -> dict[str, float]:
        # the figures below all derive from these two sums: each is summed once
        out: dict[str, float] = {}
        for ln in self.lines:
            out[ln.component] = out.get(ln.component, 0.0) + ln.energy_pj * self._factor(ln.component, ln.action)
        return out

    @cached_property
    def _leakage_by_part(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for ln in self.leakage:
            out[ln.component] = out.get(ln.component, 0.0) + ln.energy_pj
        return out

    @property
    def dynamic_pj_by_part(self) -> dict[str, float]:
        return dict(self._dynamic_by_part)

    @property
    def leakage_pj_by_part(self) -> dict[str, float]:
        return dict(self._leakage_by_part)

    @property
    def by_part(self) -> dict[str, float]:
        """Dynamic plus leakage energy (pJ) per component."""
        out = dict(self._dynamic_by_part)
        for k, v in self._leakage_by_part.items():
            out[k] = out.get(k, 0.0) + v
        return out

    @property
    def dynamic_pj(self) -> float:
        return sum(self._dynamic_by_part.values())

    @property
    def leakage_pj(self) -> float:
        return sum(self._leakage_by_part.values())

    @property
    def total_pj(self) -> float:
        return self.dynamic_pj + self.leakage_pj

    def to_dict(self) -> dict:
        return {
            "energy_pj": self.total_pj,
            "dynamic_pj": self.dynamic_pj,
            "leakage_pj": self.leakage_pj,
            "energy_pj_by_part": self.by_part,
            "runtime_s": self.runtime_s,
            "lines": [ln.to_dict() for ln in self.lines],
            "leakage": [ln.to_dict() for ln in self.leakage],
            "calibration": {k: v.to_dict() for k, v in self.calibration.items()},
        }


def _count(name, v) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ConfigError(f"actions[{name}]", f"must be a number, not {v!r}") from None
    if not x >= 0:
        raise ConfigError(f"actions[{name}]", f"must be a non-negative count, not {v!r}")
    return x


def _need(key: str, value):
    if value is None:
        raise ConfigError(key, "is required to price the actions given")
    return check_int(key, value, 1)


def action_energy(name: str, tech: Tech, *, a_bits=None, b_bits=None, acc_bits=None,
                  sram: Mapping[str, SramSpec] | None = None, dram: str = "lpddr4",
                  shift_bits=None, lut_entry_bits=None,
                  dram_commands: Mapping[str, Figure] | None = None) -> tuple[str, Figure]:
    """(component, energy per action) of one action name; unknown names raise.

    ``dram_cmd:<command>`` is one DRAM command (e.g. a processing-in-memory COMP) priced
    at ``dram_commands[command]``, which the design supplies (derived from its memory's
    IDD currents); it is charged to the ``dram`` component.

    Examples
    --------
    >>> from hwsim.cost.tech import load_tech
    >>> comp, e = action_energy("mac", load_tech(45), a_bits=8, b_bits=8, acc_bits=32)
    >>> comp, round(e.value, 3)
    ('pe_array', 0.3)
    >>> action_energy("flop", load_tech(45))
    Traceback (most recent call last):
    ...
    hwsim.errors.ConfigError: actions: unknown action 'flop' (known: mac, mult:<a>x<b>, add_bits, shift, lut_lookup, reg_write_bits, rf_access_bits, sram_read:<buffer>, sram_write:<buffer>, fill_bytes:<buffer>, drain_bytes:<buffer>, dram_read_bytes, dram_write_bytes, dram_cmd:<command>)
    """
    if name == "mac":
        return PE_ARRAY, tech.mac_energy(_need("a_bits", a_bits), _need("b_bits", b_bits), _need("acc_bits", acc_bits))
    m = _MULT_RE.match(name)
    if m:
        return PE_ARRAY, tech.mult_energy(int(m.group(1)), int(m.group(2)))
    if name == "add_bits":
        return PE_ARRAY, tech.add_energy(32).times(1 / 32, "per bit")
    if name == "shift":
        return PE_ARRAY, tech.shift_energy(_need("shift_bits", shift_bits))
    if name == "lut_lookup":
        return PE_ARRAY, tech.lut_lookup_energy(_need("lut_entry_bits", lut_entry_bits))
    if name == "reg_write_bits":
        return PE_ARRAY, tech.reg_bit_energy()
    if name == "rf_access_bits":
        return PE_ARRAY, tech.rf_bit_energy()
    m = _SRAM_RE.match(name)
    if m:
        kind, buf = m.groups()
        if not sram or buf not in sram:
            known = ", ".join(sorted(sram or ())) or "none"
            raise ConfigError("actions", f"{name!r} names SRAM buffer {buf!r}, which is not configured (buffers: {known})")
        spec = sram[buf]
        c = tech.sram(spec.size_bytes, spec.width_bits)
        return f"sram:{buf}", (c.read if kind == "read" else c.write)
    m = _FILL_RE.match(name)
    if m:
        kind, buf = m.groups()
        if not sram or buf not in sram:
            known = ", ".join(sorted(sram or ())) or "none"
            raise ConfigError("actions", f"{name!r} names SRAM buffer {buf!r}, which is not configured (buffers: {known})")
        spec = sram[buf]
        c = tech.sram(spec.size_bytes, spec.width_bits)
        each = c.write if kind == "fill" else c.read
        return f"sram:{buf}", each.times(8 / spec.width_bits, f"per byte of a {spec.width_bits}-bit access ({kind} from/to DRAM)")
    if name in ("dram_read_bytes", "dram_write_bytes"):
        return DRAM, tech.dram_energy_per_bit(dram).times(8, "per byte")
    m = _DRAM_CMD_RE.match(name)
    if m:
        if not dram_commands or m.group(1) not in dram_commands:
            known = ", ".join(sorted(dram_commands or ())) or "none"
            raise ConfigError("actions", f"{name!r} names DRAM command {m.group(1)!r}, which the design does "
                              f"not price (commands: {known})")
        # charged per command class (``dram:COMP``, ``dram:G_ACT``, ...), so records keep
        # the energy of each kind of command
        return f"{DRAM}:{m.group(1)}", dram_commands[m.group(1)]
    raise ConfigError("actions", f"unknown action {name!r} (known: {', '.join(ACTION_NAMES)})")


ACTION_NAMES = ("mac", "mult:<a>x<b>", "add_bits", "shift", "lut_lookup", "reg_write_bits",
                "rf_access_bits", "sram_read:<buffer>", "sram_write:<buffer>", "fill_bytes:<buffer>",
                "drain_bytes:<buffer>", "dram_read_bytes", "dram_write_bytes",
                "dram_cmd:<command>")


def energy_from_actions(actions: Mapping[str, float], tech: Tech, *, cycles: int, freq_mhz: float,
                        a_bits: int | None = None, b_bits: int | None = None,
                        acc_bits: int | None = None,
                        sram: Mapping[str, SramSpec] | None = None, dram: str = "lpddr4",
                        shift_bits: int | None = None, lut_entry_bits: int | None = None,
                        n_pes: int = 0, pe_reg_bits: int = 0, control_bits: int = 64,
                        control_source: str | None = None,
                        calibration: Mapping[str, Figure] | None = None,
                        dram_commands: Mapping[str, Figure] | None = None) -> EnergyBreakdown:
    """Energy of a run from its named action counts.

    Dynamic energy is ``sum(count * energy per action)`` by component; leakage is the
    leakage power of the PE array (``n_pes`` MACs plus ``pe_reg_bits`` register bits each)
    and of every SRAM buffer over ``cycles / freq_mhz``. Control is charged
    ``control_bits`` register-bit writes per cycle (the sequencer's counters and state;
    an assumption, stated in the line's source).

    Parameters
    ----------
    actions : mapping of str to number
        Action name -> count (see :mod:`hwsim.cost`). Unknown names raise
        :class:`~hwsim.errors.ConfigError`.
    tech : Tech
        From :func:`hwsim.cost.tech.load_tech`.
    cycles : int
        Run time in clock cycles (for leakage and control).
    freq_mhz : float
        Clock frequency.
    a_bits, b_bits, acc_bits : int, optional
        Operand and accumulator widths of ``mac`` (required when ``mac`` is counted).
    sram : mapping of str to SramSpec
        The buffers that ``sram_read:<buf>`` / ``sram_write:<buf>`` may name.
    dram : str
        Memory kind for ``dram_*_bytes`` (``"lpddr4"``, ``"hbm2"``, ...).
    shift_bits, lut_entry_bits : int, optional
        Widths for ``shift`` and ``lut_lookup``.
    n_pes, pe_reg_bits : int
        For PE-array leakage.
    control_bits : int
        Register bits of control toggled per cycle.
    control_source : str, optional
        Where ``control_bits`` comes from (default: "assumed").
    calibration : mapping of str to Figure, optional
        Component -> factor (unit ``"x"``) applied to its dynamic energy, e.g. from
        :func:`hwsim.eda.activity.calibrate`.
    dram_commands : mapping of str to Figure, optional
        Energy per DRAM command, for ``dram_cmd:<command>`` actions.

    Examples
    --------
    >>> from hwsim.cost.tech import load_tech
    >>> e = energy_from_actions({"mac": 1000, "dram_read_bytes": 10}, load_tech(45),
    ...                         a_bits=8, b_bits=8, acc_bits=32, cycles=0, freq_mhz=1000)
    >>> round(e.dynamic_pj_by_part["pe_array"], 6), e.dynamic_pj_by_part["dram"]
    (300.0, 640.0)
    """
    check_int("cycles", cycles, 0)
    if isinstance(freq_mhz, bool) or not isinstance(freq_mhz, (int, float)) or not freq_mhz > 0:
        raise ConfigError("freq_mhz", f"must be a positive number, not {freq_mhz!r}")
    check_int("n_pes", n_pes, 0)
    check_int("pe_reg_bits", pe_reg_bits, 0)
    check_int("control_bits", control_bits, 0)
    sram = dict(sram or {})
    lines = []
    for name, v in actions.items():
        n = _count(name, v)
        m = _SRAM_RE.match(name) or _FILL_RE.match(name)
        if n == 0 and m and m.group(2) not in sram:
            # a buffer the design does not have (e.g. the ws/is accumulator buffer in an
            # os array), touched zero times: nothing to price. Non-zero counts still raise.
            continue
        comp, each = action_energy(name, tech, a_bits=a_bits, b_bits=b_bits, acc_bits=acc_bits, sram=sram,
                                   dram=dram, shift_bits=shift_bits, lut_entry_bits=lut_entry_bits,
                                   dram_commands=dram_commands)
        lines.append(EnergyLine(comp, name, n, each))
    if cycles and control_bits:
        each = tech.reg_bit_energy().times(
            control_bits, control_source or f"assumed {control_bits} control register bits written per cycle")
        lines.append(EnergyLine(CONTROL, "cycle", float(cycles), each))
    runtime_s = cycles / (freq_mhz * 1e6)
    leak = []
    if n_pes:
        if a_bits is None or b_bits is None or acc_bits is None:
            raise ConfigError("n_pes", "PE leakage needs a_bits, b_bits and acc_bits")
        mac = tech.mac_leakage(a_bits, b_bits, acc_bits)
        reg = tech.reg_bit_leakage().times(pe_reg_bits, f"{pe_reg_bits} register bits")
        pe = Figure(mac.value + reg.value, "mW", f"mac[{mac.source}] + regs[{reg.source}]")
        leak.append(LeakageLine(PE_ARRAY, pe.times(n_pes, f"{n_pes} PEs"), runtime_s))
    for buf, spec in sram.items():
        leak.append(LeakageLine(f"sram:{buf}", tech.sram(spec.size_bytes, spec.width_bits).leakage, runtime_s))
    cal = {}
    for comp, fig in (calibration or {}).items():
        if fig.unit != "x" or not fig.value > 0:
            raise ConfigError(f"calibration[{comp}]", f"must be a positive factor with unit 'x', not {fig!r}")
        cal[comp] = fig
    log.debug("energy: %d action kinds, %d cycles at %g MHz", len(lines), cycles, freq_mhz)
    return EnergyBreakdown(tuple(lines), tuple(leak), runtime_s, cal)
