"""Cost components: hardware blocks that own their area, leakage and energy per action.

In the manner of Accelergy's component classes (and ZigZag's ``MemoryInstance``), a family
declares the blocks of a design -- SRAM buffers, registers, a PE array, adder trees,
lookup-table units, the sequencer, the DRAM interface -- and its model emits action
counts against them. Pricing is the pure function :func:`price`::

    (components, counts, tech) -> (EnergyBreakdown, AreaBreakdown)

Every figure is a :class:`~hwsim.cost.tech.Figure` with its provenance. A new family adds
components (or subclasses :class:`Component`) in its own package; nothing here names a
family.

Each component has a ``name`` (unique in a design; counts are keyed by it) and a
``part``: the bucket of ``energy_pj_by_part`` / ``area_um2_by_part`` it is reported
under (default: ``name``). Several components may share a part (a LUT tile's lookup
units, adders and registers are all ``pe_array``), so the record format stays
``pe_array``, ``sram:<buffer>``, ``dram``, ``control``.

:class:`ComponentDesign` adds the routing of a model's action names onto component
actions (:class:`Route`), with a factor per route (e.g. the model counts ifmap *words*
and the SRAM prices *accesses* of ``rows x a_bits`` bits, so the factor is
``a_bits / (rows * a_bits)``).

Examples
--------
>>> from hwsim.cost.tech import load_tech
>>> comps = (PeArray("pe_array", n_pes=4, a_bits=8, b_bits=8, acc_bits=32),
...          DramInterface("dram", kind="lpddr4"))
>>> e, a = price(comps, {"pe_array": {"mac": 1000}, "dram": {"read_bytes": 10}}, load_tech(45),
...              cycles=0, freq_mhz=1000.0)
>>> round(e.dynamic_pj_by_part["pe_array"], 6), e.dynamic_pj_by_part["dram"]
(300.0, 640.0)
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from hwsim.cost.area import AreaBreakdown
from hwsim.cost.energy import EnergyBreakdown, EnergyLine, LeakageLine
from hwsim.cost.tech import Figure, Tech
from hwsim.errors import ConfigError, check_int

log = logging.getLogger(__name__)

_MULT_RE = re.compile(r"^mult:(\d+)x(\d+)$")


def _positive(key: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value > 0 and math.isfinite(value)):
        raise ConfigError(key, f"must be a positive number, not {value!r}")


@dataclass(frozen=True)
class Component:
    """Base class: a named block with actions, area and leakage.

    Subclasses set :attr:`ACTIONS` and implement :meth:`action_energy`, :meth:`area` and
    :meth:`leakage`; they validate their fields in ``__post_init__`` (calling
    ``super().__post_init__()``).

    Parameters
    ----------
    name : str
        Unique within a design; action counts are keyed by it.
    part : str, optional
        Breakdown bucket (default ``name``).
    """

    name: str
    part: str | None = field(default=None, kw_only=True)

    #: Names of the actions (patterns in angle brackets), for messages.
    ACTIONS: ClassVar[tuple[str, ...]] = ()
    #: Actions charged once per clock cycle of the run (e.g. a sequencer's state).
    PER_CYCLE: ClassVar[tuple[str, ...]] = ()
    #: The action a stalled cycle is charged as instead of the :attr:`PER_CYCLE` actions
    #: (``None``: stalled cycles cost what other cycles do). :func:`price` charges the
    #: per-cycle actions on ``cycles`` minus this action's count.
    STALL: ClassVar[str | None] = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError("name", f"must be a non-empty string, not {self.name!r}")
        if self.part is not None and (not isinstance(self.part, str) or not self.part):
            raise ConfigError("part", f"must be a non-empty string, not {self.part!r}")

    @property
    def bucket(self) -> str:
        return self.part or self.name

    def action_energy(self, action: str, tech: Tech) -> Figure:
        """Energy (pJ) of one ``action``; unknown actions raise."""
        raise self._unknown(action)

    def area(self, tech: Tech) -> Figure | None:
        """Area (um^2), or ``None`` when this block's area is not priced here."""
        return None

    def leakage(self, tech: Tech) -> Figure | None:
        """Leakage power (mW), or ``None``."""
        return None

    def _unknown(self, action: str) -> ConfigError:
        return ConfigError(f"counts[{self.name}]", f"unknown action {action!r} of {type(self).__name__} "
                           f"(known: {', '.join(self.ACTIONS) or 'none'})")

    def describe(self, tech: Tech) -> dict:
        """Plain-data summary: class, fields, area, leakage (for ``hwsim cost show``)."""
        from dataclasses import fields as dc_fields

        out = {"class": type(self).__name__, **{f.name: getattr(self, f.name) for f in dc_fields(self)
                                                 if not isinstance(getattr(self, f.name), Figure)}}
        out["part"] = self.bucket
        a, lk = self.area(tech), self.leakage(tech)
        out["area_um2"] = None if a is None else a.value
        out["leakage_mw"] = None if lk is None else lk.value
        out["sources"] = {"area": None if a is None else a.source, "leakage": None if lk is None else lk.source}
        return out


#: Fewest words of a buffer priced as an SRAM macro: the CACTI table has no organisation
#: of 16 rows or fewer, so shallower buffers are flip-flop arrays.
MIN_SRAM_ROWS = 32


def _register_array(tech: Tech, size_bytes: int, width_bits: int):
    from hwsim.cost.tech import SramCost

    bits = size_bytes * 8
    why = (f"register array: {size_bytes} B read {width_bits} bits at a time is {bits / width_bits:g} words deep, "
           f"below the SRAM table's {MIN_SRAM_ROWS}-row minimum")
    e = tech.reg_bit_energy()
    each = Figure(e.value * width_bits, "pJ", f"{why}; {width_bits} x reg bit [{e.source}]")
    return SramCost(size_bytes, width_bits, each, each,
                    tech.reg_bit_area().times(bits, why), tech.reg_bit_leakage().times(bits, why))


#: Clock-gating choices of a clocked block (see :func:`clock_bit_energy`).
CLOCK_GATING = ("none", "icg")


def clock_bit_energy(tech: Tech) -> Figure:
    """Energy of one clock cycle at a flip-flop whose data does not change: its clock
    pin's internal energy on the rising and the falling edge plus charging its input
    capacitance (``C * V**2`` per cycle), from the ``DFF_X1`` of the project's cell data
    (``hwsim/data/cells/hwsim45_cells.json``, Nangate45 typical corner), node-scaled.
    Wire and clock-buffer capacitance is not included (the cell data has none). This is
    what an ungated flip-flop spends in a stalled cycle."""
    from hwsim.eda.activity import load_cells

    lib = load_cells()
    ck = lib.cells["DFF_X1"]["inputs"]["CK"]
    fj = ck["internal_rise_fj"] + ck["internal_fall_fj"] + ck["cap_ff"] * lib.voltage_v ** 2
    src = (f"DFF_X1 CK pin, internal rise + fall + C*V^2 at {lib.voltage_v:g} V "
           f"(hwsim45_cells.json: {lib.source.split(':')[0]})")
    return tech._node(Figure(fj * 1e-3, "pJ", src), "energy")


def _check_gating(value) -> None:
    if value not in CLOCK_GATING:
        raise ConfigError("clock_gating", f"must be one of {', '.join(map(repr, CLOCK_GATING))}, not {value!r}")


@dataclass(frozen=True)
class SramBuffer(Component):
    """An on-chip SRAM buffer: ``size_bytes`` read and written ``width_bits`` at a time.

    Priced from the CACTI table (:meth:`hwsim.cost.tech.Tech.sram`), banked so that one
    access per cycle of ``freq_mhz`` is sustained (see :mod:`hwsim.cost.sram`). Actions:
    ``read`` and ``write``, one access of ``width_bits`` each.

    Parameters
    ----------
    size_bytes, width_bits : int
    freq_mhz : float, optional
        Clock it must serve; sets the bank count (``None``: ``banks`` or one bank).
    banks : int, optional
        Force the bank count.
    ports : int
        Read-write ports; the table has single-ported macros, so only 1.
    origin : str, optional
        The design field that sets the size (named in errors).
    """

    size_bytes: int = 0
    width_bits: int = 0
    freq_mhz: float | None = None
    banks: int | None = None
    ports: int = 1
    origin: str | None = field(default=None, compare=False)

    ACTIONS = ("read", "write")

    def __post_init__(self):
        super().__post_init__()
        check_int("size_bytes", self.size_bytes, 1)
        check_int("width_bits", self.width_bits, 1)
        if self.freq_mhz is not None:
            _positive("freq_mhz", self.freq_mhz)
        if self.banks is not None:
            check_int("banks", self.banks, 1)
        check_int("ports", self.ports, 1, 1)

    @property
    def depth(self) -> float:
        """Words of ``width_bits`` it holds."""
        return self.size_bytes * 8 / self.width_bits

    def macro(self, tech: Tech):
        """The priced macro (:class:`hwsim.cost.tech.SramCost`).

        A buffer shallower than :data:`MIN_SRAM_ROWS` words is no SRAM macro (CACTI
        organises none, see the table's header): it is priced as a flip-flop array, one
        register-bit energy per bit read or written, and the source says so.
        """
        if self.depth < MIN_SRAM_ROWS:
            return _register_array(tech, self.size_bytes, self.width_bits)
        return tech.sram(self.size_bytes, self.width_bits, freq_mhz=self.freq_mhz, banks=self.banks)

    def action_energy(self, action, tech):
        if action == "read":
            return self.macro(tech).read
        if action == "write":
            return self.macro(tech).write
        raise self._unknown(action)

    def area(self, tech):
        return self.macro(tech).area

    def leakage(self, tech):
        return self.macro(tech).leakage

    def describe(self, tech):
        d = super().describe(tech)
        m = self.macro(tech)
        d.update(depth=self.depth, banks=m.banks, read_pj=m.read.value, write_pj=m.write.value, bank_cycle_ns=m.bank_cycle_ns,
                 bank_access_ns=m.bank_access_ns)
        d["sources"]["energy"] = m.read.source
        return d


@dataclass(frozen=True)
class Registers(Component):
    """``bits`` flip-flops. Action ``write_bits``: one bit written."""

    bits: int = 0

    ACTIONS = ("write_bits",)

    def __post_init__(self):
        super().__post_init__()
        check_int("bits", self.bits, 0)

    def action_energy(self, action, tech):
        if action == "write_bits":
            return tech.reg_bit_energy()
        raise self._unknown(action)

    def area(self, tech):
        return tech.reg_bit_area().times(self.bits, f"{self.bits} register bits")

    def leakage(self, tech):
        return tech.reg_bit_leakage().times(self.bits, f"{self.bits} register bits")


@dataclass(frozen=True)
class RegisterFile(Registers):
    """A register file of ``bits`` storage bits. Action ``access_bits``: one bit read or
    written (Han/Horowitz 32-bit access / 32); area and leakage as flip-flops."""

    ACTIONS = ("access_bits",)

    def action_energy(self, action, tech):
        if action == "access_bits":
            return tech.rf_bit_energy()
        raise self._unknown(action)


@dataclass(frozen=True)
class PeArray(Component):
    """``n_pes`` integer MAC processing elements of ``a_bits x b_bits -> acc_bits`` with
    ``reg_bits`` register bits each.

    Actions: ``mac``; ``reg_write_bits`` (one pipeline register bit written);
    ``add_bits`` (one bit of integer addition); ``mult:<a>x<b>`` (one extra multiply).
    Area and leakage from the arithmetic table, unless ``synth_area`` (a synthesised or
    composed array, already node-scaled) is given.
    """

    n_pes: int = 0
    a_bits: int = 8
    b_bits: int = 8
    acc_bits: int = 32
    reg_bits: int = 0
    synth_area: Figure | None = None
    clock_gating: str = "none"

    ACTIONS = ("mac", "reg_write_bits", "add_bits", "mult:<a>x<b>", "stall_cycle")

    def __post_init__(self):
        super().__post_init__()
        _check_gating(self.clock_gating)
        check_int("n_pes", self.n_pes, 1)
        for k in ("a_bits", "b_bits", "acc_bits"):
            check_int(k, getattr(self, k), 1)
        check_int("reg_bits", self.reg_bits, 0)
        if self.synth_area is not None and not isinstance(self.synth_area, Figure):
            raise ConfigError("synth_area", f"must be a Figure, not {type(self.synth_area).__name__}")

    def action_energy(self, action, tech):
        if action == "mac":
            return tech.mac_energy(self.a_bits, self.b_bits, self.acc_bits)
        if action == "reg_write_bits":
            return tech.reg_bit_energy()
        if action == "add_bits":
            return tech.add_energy(32).times(1 / 32, "per bit")
        if action == "stall_cycle":
            return self.stall_energy(tech)
        m = _MULT_RE.match(action)
        if m:
            return tech.mult_energy(int(m.group(1)), int(m.group(2)))
        raise self._unknown(action)

    def stall_energy(self, tech) -> Figure:
        """One cycle in which the array is frozen by its clock enable. ``clock_gating="none"``
        (a recirculating enable, as the project's RTL has): every PE register bit's clock
        pin still toggles; ``"icg"``: one clock-gating cell per PE (all of a PE's
        registers share the enable) is clocked, modelled as one flip-flop clock pin."""
        e = clock_bit_energy(tech)
        if self.clock_gating == "none":
            return e.times(self.n_pes * self.reg_bits, f"{self.n_pes} PEs x {self.reg_bits} ungated register bits")
        return e.times(self.n_pes, f"{self.n_pes} PEs x one clock-gating cell (modelled as one clock pin)")

    def area(self, tech):
        if self.synth_area is not None:
            return self.synth_area
        mac = tech.mac_area(self.a_bits, self.b_bits, self.acc_bits)
        reg = tech.reg_bit_area().times(self.reg_bits, f"{self.reg_bits} register bits")
        one = Figure(mac.value + reg.value, "um2", f"table: mac[{mac.source}] + regs[{reg.source}]")
        return one.times(self.n_pes, f"{self.n_pes} PEs")

    def leakage(self, tech):
        mac = tech.mac_leakage(self.a_bits, self.b_bits, self.acc_bits)
        reg = tech.reg_bit_leakage().times(self.reg_bits, f"{self.reg_bits} register bits")
        pe = Figure(mac.value + reg.value, "mW", f"mac[{mac.source}] + regs[{reg.source}]")
        return pe.times(self.n_pes, f"{self.n_pes} PEs")

    def describe(self, tech):
        d = super().describe(tech)
        d["synth_area"] = None if self.synth_area is None else self.synth_area.to_dict()
        d["mac_pj"] = tech.mac_energy(self.a_bits, self.b_bits, self.acc_bits).value
        return d


@dataclass(frozen=True)
class AdderTree(Component):
    """``trees`` reduction trees of ``inputs`` operands, ``bits`` wide.

    Actions: ``reduce`` (one tree's ``inputs - 1`` additions) and ``add_bits`` (one bit of
    addition, for counts the model already has in bits).
    """

    inputs: int = 2
    bits: int = 32
    trees: int = 1

    ACTIONS = ("reduce", "add_bits")

    def __post_init__(self):
        super().__post_init__()
        check_int("inputs", self.inputs, 2)
        check_int("bits", self.bits, 1)
        check_int("trees", self.trees, 1)

    def action_energy(self, action, tech):
        if action == "reduce":
            return tech.add_energy(self.bits).times(self.inputs - 1, f"{self.inputs - 1} adders")
        if action == "add_bits":
            return tech.add_energy(32).times(1 / 32, "per bit")
        raise self._unknown(action)

    def area(self, tech):
        return tech.add_area(self.bits).times((self.inputs - 1) * self.trees, f"{self.trees} x {self.inputs - 1} adders")

    def leakage(self, tech):
        n = (self.inputs - 1) * self.trees
        return tech._leak("int32_add_mw").times(self.bits / 32 * n, f"{n} {self.bits}-bit adders")


@dataclass(frozen=True)
class LutUnit(Component):
    """``units`` lookup units, each a register-held table of ``entries`` x ``entry_bits``
    with a ``shift_bits``-wide shifter.

    Actions: ``lookup`` (one entry read: one register-bit energy per entry bit, the read
    mux of a flip-flop table) and ``shift`` (one barrel shift). ``units=0`` declares the
    units without area or leakage of their own (a synthesised array figure of the same
    part already holds them).
    """

    entry_bits: int = 8
    entries: int = 16
    units: int = 1
    shift_bits: int = 32

    ACTIONS = ("lookup", "shift")

    def __post_init__(self):
        super().__post_init__()
        for k in ("entry_bits", "entries", "shift_bits"):
            check_int(k, getattr(self, k), 1)
        check_int("units", self.units, 0)

    def action_energy(self, action, tech):
        if action == "lookup":
            return tech.lut_lookup_energy(self.entry_bits)
        if action == "shift":
            return tech.shift_energy(self.shift_bits)
        raise self._unknown(action)

    def area(self, tech):
        if not self.units:
            return None
        bits = self.units * self.entries * self.entry_bits
        return tech.reg_bit_area().times(bits, f"{self.units} tables of {self.entries} x {self.entry_bits} bits")

    def leakage(self, tech):
        if not self.units:
            return None
        bits = self.units * self.entries * self.entry_bits
        return tech.reg_bit_leakage().times(bits, f"{bits} table bits")


@dataclass(frozen=True)
class Sequencer(Component):
    """Control: ``bits`` register bits (counters, state, skew) written every cycle.

    Action ``cycle`` is charged once per clock cycle in which the block advances;
    ``stall_cycle`` once per cycle in which its clock enable holds it (the model's
    stalled-cycle count, routed here). In a stalled cycle no register is written:
    with ``clock_gating="none"`` (the enable recirculates each register's value) every
    register bit's clock pin still toggles; with ``"icg"`` the clock stops at
    ``ceil(bits / icg_fanout)`` clock-gating cells, each modelled as one clock pin.
    Its area is not priced here (a synthesised periphery carries it).
    """

    bits: int = 64
    source: str | None = field(default=None, compare=False)
    clock_gating: str = "none"
    icg_fanout: int = 32

    ACTIONS = ("cycle", "stall_cycle")
    PER_CYCLE = ("cycle",)
    STALL = "stall_cycle"

    def __post_init__(self):
        super().__post_init__()
        check_int("bits", self.bits, 0)
        _check_gating(self.clock_gating)
        check_int("icg_fanout", self.icg_fanout, 1)

    def action_energy(self, action, tech):
        if action == "cycle":
            return tech.reg_bit_energy().times(
                self.bits, self.source or f"assumed {self.bits} control register bits written per cycle")
        if action == "stall_cycle":
            e = clock_bit_energy(tech)
            if self.clock_gating == "none":
                return e.times(self.bits, f"{self.bits} ungated control register bits")
            n = -(-self.bits // self.icg_fanout)
            return e.times(n, f"{n} clock-gating cells of {self.icg_fanout} control register bits each "
                              "(modelled as one clock pin each)")
        raise self._unknown(action)


@dataclass(frozen=True)
class DramInterface(Component):
    """Off-chip memory of ``kind`` (``lpddr4``, ``hbm2``, ...). Actions ``read_bytes`` and
    ``write_bytes``: one byte transferred (device energy per bit x 8; not node-scaled)."""

    kind: str = "lpddr4"

    ACTIONS = ("read_bytes", "write_bytes")

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.kind, str):
            raise ConfigError("dram", f"must be a memory kind, not {self.kind!r}")

    def action_energy(self, action, tech):
        if action in self.ACTIONS:
            return tech.dram_energy_per_bit(self.kind).times(8, "per byte")
        raise self._unknown(action)


@dataclass(frozen=True)
class Route:
    """One model action charged as ``factor`` x ``action`` of ``component``."""

    component: str
    action: str
    factor: float = 1.0
    why: str = ""

    def __post_init__(self):
        _positive("factor", self.factor)


@dataclass(frozen=True)
class ComponentDesign:
    """A design's components and how its model's action names map onto them.

    Parameters
    ----------
    components : tuple of Component
    routes : mapping of str to tuple of Route
        Model action name -> the component actions it is charged as. An empty tuple
        means the action has no component in this design: a non-zero count raises.
    """

    components: tuple
    routes: Mapping[str, tuple] = field(default_factory=dict)

    def __post_init__(self):
        names = [c.name for c in self.components]
        for c in self.components:
            if not isinstance(c, Component):
                raise ConfigError("components", f"must be Component instances, not {type(c).__name__}")
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError("components", f"names must be unique, not repeated {', '.join(dup)}")
        for act, rs in self.routes.items():
            for r in rs:
                if r.component not in names:
                    raise ConfigError(f"routes[{act}]", f"names component {r.component!r}, which is not declared "
                                      f"(components: {', '.join(names)})")

    def component(self, name: str) -> Component:
        for c in self.components:
            if c.name == name:
                return c
        raise ConfigError("component", f"no component {name!r} (components: {', '.join(c.name for c in self.components)})")

    def counts(self, actions: Mapping[str, float]) -> dict[str, dict[str, float]]:
        """Component action counts from a model's named action counts."""
        out: dict[str, dict[str, float]] = {}
        for name, v in actions.items():
            n = _count(name, v)
            if name not in self.routes:
                raise ConfigError("actions", f"unknown action {name!r} (this design prices: "
                                  f"{', '.join(sorted(self.routes))})")
            rs = self.routes[name]
            if not rs:
                if n:
                    raise ConfigError("actions", f"{name!r} has no component in this design but counts {n:g}")
                continue
            for r in rs:
                d = out.setdefault(r.component, {})
                d[r.action] = d.get(r.action, 0.0) + n * r.factor
        return out


def _count(name, v) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ConfigError(f"actions[{name}]", f"must be a number, not {v!r}") from None
    if not (x >= 0 and math.isfinite(x)):
        raise ConfigError(f"actions[{name}]", f"must be a non-negative count, not {v!r}")
    return x


def price(components, counts: Mapping[str, Mapping[str, float]], tech: Tech, *, cycles: int, freq_mhz: float,
          calibration: Mapping[str, Figure] | None = None,
          area_override: Mapping[str, Figure] | None = None) -> tuple[EnergyBreakdown, AreaBreakdown]:
    """Energy and area of a run: a pure function of components, counts and technology.

    Parameters
    ----------
    components : iterable of Component
    counts : mapping
        ``{component name: {action: count}}``; unknown components or actions raise.
    tech : Tech
    cycles : int
        Run length (per-cycle actions and leakage).
    freq_mhz : float
        Clock (leakage time).
    calibration : mapping of str to Figure, optional
        Part -> factor (unit ``"x"``) on its dynamic energy; a key ``"<part>/<action>"``
        (e.g. ``"control/stall_cycle"``) sets the factor of that component action alone.
    area_override : mapping of str to Figure, optional
        Part -> area replacing the components' table area of that part (synthesis).

    Returns
    -------
    (EnergyBreakdown, AreaBreakdown)
    """
    comps = tuple(components)
    check_int("cycles", cycles, 0)
    _positive("freq_mhz", freq_mhz)
    by_name = {c.name: c for c in comps}
    for name in counts:
        if name not in by_name:
            raise ConfigError("counts", f"names component {name!r}, which is not declared "
                              f"(components: {', '.join(by_name)})")
    lines = []
    for c in comps:
        for action, n in counts.get(c.name, {}).items():
            n = _count(f"{c.name}.{action}", n)
            lines.append(EnergyLine(c.bucket, f"{c.name}.{action}", n, c.action_energy(action, tech)))
        stalled = _count(f"{c.name}.{c.STALL}", counts.get(c.name, {}).get(c.STALL, 0.0)) if c.STALL else 0.0
        if stalled > cycles:
            raise ConfigError(f"counts[{c.name}]", f"{stalled:g} stalled cycles in a run of {cycles} cycles")
        for action in c.PER_CYCLE:
            if cycles - stalled:
                lines.append(EnergyLine(c.bucket, f"{c.name}.{action}", float(cycles - stalled),
                                        c.action_energy(action, tech)))
    runtime_s = cycles / (freq_mhz * 1e6)
    leak = [LeakageLine(c.bucket, lk, runtime_s) for c in comps if (lk := c.leakage(tech)) is not None]
    cal = {}
    for part, fig in (calibration or {}).items():
        if not isinstance(fig, Figure) or fig.unit != "x" or not fig.value > 0:
            raise ConfigError(f"calibration[{part}]", f"must be a positive factor with unit 'x', not {fig!r}")
        cal[part] = fig
    parts: dict[str, Figure] = {}
    override = dict(area_override or {})
    for c in comps:
        if c.bucket in override:
            continue
        a = c.area(tech)
        if a is None:
            continue
        if c.bucket in parts:
            old = parts[c.bucket]
            parts[c.bucket] = Figure(old.value + a.value, "um2", f"{old.source} + {c.name}[{a.source}]")
        else:
            parts[c.bucket] = a
    parts.update(override)
    log.debug("priced %d components, %d energy lines", len(comps), len(lines))
    return EnergyBreakdown(tuple(lines), tuple(leak), runtime_s, cal), AreaBreakdown(parts)
