"""Technology tables with provenance: per-action energies and areas at a process node.

The figures live in ``hwsim/data/tech/tech45.yaml`` (the project's own copy, each entry
naming its source) and are given at 45 nm. :func:`load_tech` returns a :class:`Tech` for
45, 32, 28, 22, 16, 14, 10 or 7 nm: on-chip energies and leakage are multiplied by the
Stillmaker-Baas energy factor of the node, areas by its area factor. Off-chip DRAM/HBM
energy per bit is a property of the memory device and is never node-scaled.

Width scaling of arithmetic follows the rule Accelergy applies to the Aladdin tables: a
multiplier's energy and area are linear in each operand width (so ``a_bits * b_bits``,
anchored at Horowitz's int8 multiply), an adder's are linear in its width (anchored at
Horowitz's int32 add).

SRAM energy, area, leakage and timing against size and port width come from the CACTI 7
table ``hwsim/data/tech/sram_cacti45.csv`` (:mod:`hwsim.cost.sram`: 256 B .. 16 MiB,
8 .. 1024-bit ports, interpolated log-log inside the grid, an error outside it). The ten
Accelergy/CACTI points of ``tech45.yaml`` (``sram_points``) are kept as a cross-check.

Every method returns a :class:`Figure` (value, unit, provenance).

Examples
--------
>>> t = load_tech(45)
>>> round(t.mac_energy(8, 8, 32).value, 3)
0.3
>>> round(load_tech(7).mac_energy(8, 8, 32).value / 0.3, 4)
0.0943
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from importlib import resources

import numpy as np
import yaml

from hwsim.errors import ConfigError, check_choice, check_int

log = logging.getLogger(__name__)

TECH_FILE = "tech45.yaml"
SRAM_MIN_BYTES = 256  # the CACTI table's range (hwsim.cost.sram)
SRAM_MAX_BYTES = 16 << 20


@dataclass(frozen=True)
class Figure:
    """One number with its unit and where it came from.

    Parameters
    ----------
    value : float
    unit : str
        ``"pJ"``, ``"um2"``, ``"mW"``, ``"pJ/bit"``, ...
    source : str
        The table entry and publication (and any derivation) behind the value.
    """

    value: float
    unit: str
    source: str

    def times(self, factor: float, why: str) -> "Figure":
        """This figure multiplied by ``factor``, the reason appended to the source."""
        return Figure(self.value * factor, self.unit, f"{self.source}; x{factor:.4g} ({why})")

    def to_dict(self) -> dict:
        return {"value": float(self.value), "unit": self.unit, "source": self.source}


@dataclass(frozen=True)
class SramCost:
    """Per-access energies, area and leakage of one SRAM macro (see :meth:`Tech.sram`)."""

    size_bytes: int
    width_bits: int
    read: Figure
    write: Figure
    area: Figure
    leakage: Figure
    banks: int = 1
    bank_cycle_ns: float | None = None
    bank_access_ns: float | None = None


@functools.lru_cache(maxsize=1)
def _raw_tables() -> dict:
    text = resources.files("hwsim").joinpath("data", "tech", TECH_FILE).read_text()
    data = yaml.safe_load(text)
    if data.get("version") != 1:
        raise ConfigError("version", f"unsupported tech table version {data.get('version')!r}", TECH_FILE)
    return data


class Tech:
    """Technology figures at one node, each with provenance.

    Build with :func:`load_tech`; the constructor only stores the parsed tables.

    Attributes
    ----------
    node_nm : int
    energy_scale, area_scale : float
        Stillmaker-Baas factors from 45 nm to ``node_nm``.
    """

    def __init__(self, node_nm: int, tables: dict):
        self.node_nm = node_nm
        self._t = tables
        scale = tables["node_scaling"]["nodes"][node_nm]
        self.energy_scale = float(scale["energy"])
        self.area_scale = float(scale["area"])

    # -- provenance helpers -------------------------------------------------------
    def source(self, key: str) -> str:
        """Full citation of a source key of the table file."""
        return " ".join(str(self._t["sources"][key]).split())

    def _cite(self, entry: str, key: str) -> str:
        return f"{TECH_FILE}:{entry} [{key}: {self.source(key)}]"

    def _node(self, fig: Figure, kind: str) -> Figure:
        if self.node_nm == 45:
            return fig
        f = self.energy_scale if kind == "energy" else self.area_scale
        return fig.times(f, f"Stillmaker-Baas {kind} 45->{self.node_nm} nm")

    @property
    def scaling_source(self) -> str:
        return self.source("stillmaker2017")

    def provenance(self) -> dict:
        """The table file, node, scaling factors and every source cited by the tables."""
        return {
            "tech_table": f"hwsim/data/tech/{TECH_FILE} v{self._t['version']}",
            "node_nm": self.node_nm,
            "energy_scale": self.energy_scale,
            "area_scale": self.area_scale,
            "sources": {k: self.source(k) for k in self._t["sources"]},
        }

    # -- arithmetic ---------------------------------------------------------------
    def op(self, name: str) -> tuple[Figure, Figure]:
        """(energy, area) of a Horowitz operation such as ``"int8_mult"`` at this node."""
        ops = self._t["ops"]
        check_choice("op", name, tuple(ops))
        e = ops[name]
        cite = self._cite(f"ops.{name}", e["source"])
        return (self._node(Figure(e["energy_pj"], "pJ", cite), "energy"),
                self._node(Figure(e["area_um2"], "um2", cite), "area"))

    def mult_energy(self, a_bits: int, b_bits: int) -> Figure:
        """Integer multiply energy: int8 multiply x ``a_bits*b_bits/64``."""
        check_int("a_bits", a_bits, 1)
        check_int("b_bits", b_bits, 1)
        e, _ = self.op("int8_mult")
        return e.times(a_bits * b_bits / 64, f"{a_bits}x{b_bits} bits, linear in each operand")

    def mult_area(self, a_bits: int, b_bits: int) -> Figure:
        check_int("a_bits", a_bits, 1)
        check_int("b_bits", b_bits, 1)
        _, a = self.op("int8_mult")
        return a.times(a_bits * b_bits / 64, f"{a_bits}x{b_bits} bits, linear in each operand")

    def add_energy(self, bits: int) -> Figure:
        """Integer add energy: int32 add x ``bits/32``."""
        check_int("bits", bits, 1)
        e, _ = self.op("int32_add")
        return e.times(bits / 32, f"{bits}-bit, linear in width")

    def add_area(self, bits: int) -> Figure:
        check_int("bits", bits, 1)
        _, a = self.op("int32_add")
        return a.times(bits / 32, f"{bits}-bit, linear in width")

    def mac_energy(self, a_bits: int, b_bits: int, acc_bits: int) -> Figure:
        """One integer multiply-accumulate: multiply plus an ``acc_bits`` add."""
        m, a = self.mult_energy(a_bits, b_bits), self.add_energy(acc_bits)
        return Figure(m.value + a.value, "pJ", f"mult[{m.source}] + add[{a.source}]")

    def mac_area(self, a_bits: int, b_bits: int, acc_bits: int) -> Figure:
        m, a = self.mult_area(a_bits, b_bits), self.add_area(acc_bits)
        return Figure(m.value + a.value, "um2", f"mult[{m.source}] + add[{a.source}]")

    # -- storage ------------------------------------------------------------------
    def reg_bit_energy(self) -> Figure:
        """Energy of writing one register bit."""
        r = self._t["registers"]["reg_bit"]
        return self._node(Figure(r["energy_pj"], "pJ", self._cite("registers.reg_bit", r["source"])), "energy")

    def reg_bit_area(self) -> Figure:
        r = self._t["registers"]["reg_bit"]
        return self._node(Figure(r["area_um2"], "um2", self._cite("registers.reg_bit", r["source"])), "area")

    def rf_bit_energy(self) -> Figure:
        """Register-file access energy per bit (32-bit access / 32)."""
        r = self._t["registers"]["rf_32b_access"]
        f = Figure(r["energy_pj"], "pJ", self._cite("registers.rf_32b_access", r["source"]))
        return self._node(f.times(1 / 32, "per bit of a 32-bit access"), "energy")

    def shift_energy(self, bits: int) -> Figure:
        """A ``bits``-wide barrel shift: Aladdin 32-bit shifter x ``bits/32``."""
        check_int("bits", bits, 1)
        r = self._t["registers"]["shifter_32b"]
        f = Figure(r["energy_pj"], "pJ", self._cite("registers.shifter_32b", r["source"]))
        return self._node(f.times(bits / 32, f"{bits}-bit, linear in width"), "energy")

    def lut_lookup_energy(self, entry_bits: int) -> Figure:
        """Reading one ``entry_bits``-wide entry of a small register-held table.

        Modelled as one register-bit energy per entry bit (the read mux of a table held in
        flip-flops); approximate until calibrated against activity.
        """
        check_int("entry_bits", entry_bits, 1)
        return self.reg_bit_energy().times(entry_bits, f"{entry_bits}-bit table entry")

    def sram(self, size_bytes: int, width_bits: int, *, freq_mhz: float | None = None,
             banks: int | None = None) -> SramCost:
        """Read/write energy per access, area and leakage of an SRAM buffer at this node.

        From the CACTI 7 table (:func:`hwsim.cost.sram.sram_macro`, 45 nm), node-scaled
        like the other on-chip figures. The bank count is chosen for ``freq_mhz`` from
        the 45 nm cycle time (one bank when no clock is given).

        Parameters
        ----------
        size_bytes : int
            Capacity (within the table: 256 B .. 16 MiB).
        width_bits : int
            Bits per access (the port width, 8 .. 1024).
        freq_mhz : float, optional
            Clock the buffer serves one access per cycle at.
        banks : int, optional
            Force the bank count.
        """
        from hwsim.cost.sram import sram_macro

        m = sram_macro(size_bytes, width_bits, freq_mhz=freq_mhz, banks=banks)
        return SramCost(size_bytes, width_bits, self._node(m.read, "energy"), self._node(m.write, "energy"),
                        self._node(m.area, "area"), self._node(m.leakage, "energy"), banks=m.banks,
                        bank_cycle_ns=m.bank_cycle_ns, bank_access_ns=m.bank_access_ns)

    def dram_energy_per_bit(self, kind: str) -> Figure:
        """Off-chip energy per bit transferred (device property: not node-scaled)."""
        table = self._t["dram_pj_per_bit"]
        check_choice("dram", kind, tuple(table))
        e = table[kind]
        src = self._cite(f"dram_pj_per_bit.{kind}", e["source"])
        if e.get("how"):
            src += f"; derived: {e['how']}"
        return Figure(e["value"], "pJ/bit", src)

    @property
    def dram_kinds(self) -> tuple[str, ...]:
        return tuple(self._t["dram_pj_per_bit"])

    # -- leakage ------------------------------------------------------------------
    def _leak(self, key: str) -> Figure:
        e = self._t["leakage"][key]
        return self._node(Figure(e["value"], "mW", self._cite(f"leakage.{key}", e["source"])), "energy")

    def mac_leakage(self, a_bits: int, b_bits: int, acc_bits: int) -> Figure:
        """Leakage power of a MAC: Aladdin 32-bit multiplier and adder scaled like energy."""
        m = self._leak("int32_mult_mw").times(a_bits * b_bits / 1024, f"{a_bits}x{b_bits} of 32x32")
        a = self._leak("int32_add_mw").times(acc_bits / 32, f"{acc_bits} of 32 bits")
        return Figure(m.value + a.value, "mW", f"mult[{m.source}] + add[{a.source}]")

    def reg_bit_leakage(self) -> Figure:
        return self._leak("register_bit_mw")


@functools.lru_cache(maxsize=None)
def load_tech(node_nm: int = 45) -> Tech:
    """Technology figures at ``node_nm`` (45, 32, 28, 22, 16, 14, 10 or 7).

    Examples
    --------
    >>> load_tech(28).area_scale
    0.3767
    >>> load_tech(40)
    Traceback (most recent call last):
    ...
    hwsim.errors.ConfigError: node_nm: must be one of 45, 32, 28, 22, 16, 14, 10, 7, not 40
    """
    tables = _raw_tables()
    nodes = tuple(tables["node_scaling"]["nodes"])
    if isinstance(node_nm, bool) or not isinstance(node_nm, (int, np.integer)):
        raise ConfigError("node_nm", f"must be an integer, not {node_nm!r}")
    check_choice("node_nm", int(node_nm), nodes)
    return Tech(int(node_nm), tables)
