"""Cost components of the SRAM LUT-GEMV units and their host path.

Per unit (times ``units``, :class:`Replicated`): the C-SRAM array (``carray``, a CACTI
macro of ``rows x cols`` bits read and written a row at a time), the build adders (one
``entry_bits`` adder per lane), the accumulate adders and accumulator registers (``batch x
lanes`` of ``acc_bits``), the operand registers of one GROUP command, the sequencer. Host:
the LLC slices (one CACTI macro per slice, read a line at a time), the dequantisation
(two binary32 multiplies per output, priced as 24 x 24-bit multiply-adds) and DRAM.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.cost.components import (AdderTree, Component, ComponentDesign, DramInterface, PeArray, Registers,
                                   Route, Sequencer, SramBuffer)
from hwsim.cost.report import CostInputs
from hwsim.cost.tech import Figure
from hwsim.errors import check_int
from hwsim.families.sram_gemv.config import SramGemvConfig


@dataclass(frozen=True)
class Replicated(Component):
    """``count`` identical copies of ``inner``: an action is one copy's; area and leakage
    are ``count`` times one copy's."""

    inner: Component | None = None
    count: int = 1

    def __post_init__(self):
        super().__post_init__()
        check_int("count", self.count, 1)

    @property
    def ACTIONS(self):  # noqa: N802 - mirrors the class attribute of components
        return self.inner.ACTIONS

    @property
    def PER_CYCLE(self):  # noqa: N802
        return self.inner.PER_CYCLE

    def action_energy(self, action, tech):
        return self.inner.action_energy(action, tech)

    def area(self, tech):
        a = self.inner.area(tech)
        return None if a is None else a.times(self.count, f"{self.count} copies")

    def leakage(self, tech):
        lk = self.inner.leakage(tech)
        return None if lk is None else lk.times(self.count, f"{self.count} copies")


def control_bits(cfg: SramGemvConfig) -> int:
    """Register bits of the sequencer of :class:`~.hdl.LutGemvCore` (state, build counter,
    running entries, plane, issue mask, item, pipeline stage)."""
    w = lambda n: max(1, (n - 1).bit_length())  # noqa: E731
    return (2 + cfg.group_size + 1 + cfg.lanes * cfg.entry_bits + 2 * w(cfg.a_bits) + 1 + 2 * cfg.vectors
            + w(cfg.vectors) + 2)


def operand_bits(cfg: SramGemvConfig) -> int:
    return cfg.lanes * cfg.group_size * cfg.w_bits + cfg.vectors * cfg.group_size * cfg.a_bits


def cost_design(cfg: SramGemvConfig, dram: str = "lpddr4") -> ComponentDesign:
    u, f = cfg.units, float(cfg.freq_mhz)
    acc_reg_bits = cfg.vectors * cfg.lanes * cfg.acc_bits
    rep = lambda c: Replicated(c.name, part=c.part, inner=c, count=u)  # noqa: E731
    ctrl = control_bits(cfg)
    comps = (
        rep(SramBuffer("carray", part="sram:carray", size_bytes=cfg.array_bytes, width_bits=cfg.cols, freq_mhz=f,
                       origin="rows")),
        rep(AdderTree("build_add", part="pe_array", inputs=2, bits=cfg.entry_bits, trees=cfg.lanes)),
        rep(AdderTree("acc_add", part="pe_array", inputs=2, bits=cfg.acc_bits, trees=cfg.lanes * cfg.vectors)),
        rep(Registers("acc_regs", part="pe_array", bits=acc_reg_bits)),
        rep(Registers("operand_regs", part="pe_array", bits=operand_bits(cfg))),
        rep(Sequencer("control", bits=ctrl, source=f"{ctrl} register bits of the unit's sequencer "
                      "(hwsim.families.sram_gemv.cost.control_bits) written per cycle")),
        Replicated("llc", part="sram:llc", count=cfg.slices,
                   inner=SramBuffer("llc", part="sram:llc", size_bytes=cfg.llc_slice_kib * 1024,
                                    width_bits=cfg.llc_line_bytes * 8, origin="llc_slice_kib")),
        PeArray("convert", part="convert", n_pes=1, a_bits=24, b_bits=24, acc_bits=32),
        DramInterface("dram", kind=dram),
    )
    routes = {
        "operand_load": (Route("operand_regs", "write_bits", operand_bits(cfg), "one GROUP command's operands"),),
        "sram_write:carray": (Route("carray", "write"),),
        "build_add": (Route("build_add", "reduce"),),
        "sram_read:carray": (Route("carray", "read"),),
        "acc_add": (Route("acc_add", "reduce"), Route("acc_regs", "write_bits", cfg.acc_bits, "accumulator")),
        "drain": (Route("acc_regs", "write_bits", cfg.lanes * cfg.acc_bits, "clear on read-out"),),
        "convert": (Route("convert", "mac", 2, "two binary32 multiplies (24-bit significands)"),),
        "sram_read:llc": (Route("llc", "read"),),
        "dram_read_bytes": (Route("dram", "read_bytes"),),
        "dram_write_bytes": (Route("dram", "write_bytes"),),
    }
    return ComponentDesign(comps, routes)


def cost_inputs(cfg: SramGemvConfig, dram: str = "lpddr4") -> CostInputs:
    """Components priced with ``dram``'s energy per bit (default ``lpddr4``: the table has no
    DDR4)."""
    return CostInputs(freq_mhz=float(cfg.freq_mhz), n_pes=cfg.units * cfg.lanes, dram=dram,
                      design=cost_design(cfg, dram))


def array_area(cfg: SramGemvConfig, tech=None) -> Figure:
    """CACTI area of one C-SRAM array (the table's macro of ``rows x cols`` bits)."""
    from hwsim.cost.tech import load_tech

    tech = tech or load_tech(45)
    return SramBuffer("carray", size_bytes=cfg.array_bytes, width_bits=cfg.cols,
                      freq_mhz=float(cfg.freq_mhz)).area(tech)
