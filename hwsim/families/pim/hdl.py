"""Amaranth RTL of one channel's PIM banks: global buffer, lanes, adder trees, accumulators.

The unit is the datapath the PIM commands drive; the DRAM array and its timing stay in
the models (the bench presents each bank's row-buffer slice with the COMP that reads it,
at the cycle the event-driven command model issued it).

Ports (all inputs sampled on the rising clock edge):

* ``gw_en``, ``gw_addr``, ``gw_data`` -- GWRITE beat: ``mac_lanes`` input elements into
  global-buffer word ``gw_addr`` (a GWRITE of one chunk is ``chunk_elems / mac_lanes``
  beats inside its ``t_gwrite`` window);
* ``comp_en``, ``comp_addr``, ``row`` -- COMP: global-buffer word ``comp_addr`` times the
  row-buffer slice of every bank (``row``: bank ``b``, lane ``i`` at bits
  ``(b * lanes + i) * elem_bits``). Products and the adder tree are combinational and
  registered (stage 1); the accumulator adds the registered tree sum (stage 2). A COMP's
  sum is therefore in the accumulator 2 cycles after its issue, which the command model's
  rules guarantee before any READRES when ``t_comp >= 2`` (READRES waits ``t_comp`` after
  the last COMP at least);
* ``rr_en`` -- READRES: ``res`` (bank ``b`` at bits ``b * acc_width``) takes the
  accumulators and ``res_valid`` rises for one cycle; the accumulators clear to ``+0`` / 0.

FP16 uses :class:`hwsim.blocks.fp16.Fp16Multiplier` / :class:`~hwsim.blocks.fp16.Fp16Adder`
(tree neighbours first, as :mod:`.golden` states); INT8 multiplies signed 8 x 8 bits, sums
exactly and wraps the accumulator at ``acc_bits``.
"""

from __future__ import annotations

from amaranth.hdl import Array, Module, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwsim.blocks.fp16 import Fp16Adder, Fp16Multiplier
from hwsim.families.pim.config import PimConfig

TOP = "pim_unit"


def acc_width(cfg: PimConfig) -> int:
    return 16 if cfg.operand_format == "fp16" else cfg.acc_bits


def buffer_words(cfg: PimConfig) -> int:
    return cfg.chunk_elems // cfg.mac_lanes


class PimUnit(wiring.Component):
    """The banks of one channel (see the module docstring)."""

    def __init__(self, cfg: PimConfig):
        self.cfg = cfg
        self.banks, self.lanes, self.ew = cfg.banks_per_channel, cfg.mac_lanes, cfg.elem_bits
        self.aw = acc_width(cfg)
        self.depth = buffer_words(cfg)
        abits = max(1, (self.depth - 1).bit_length())
        super().__init__({
            "gw_en": In(1), "gw_addr": In(abits), "gw_data": In(self.lanes * self.ew),
            "comp_en": In(1), "comp_addr": In(abits), "row": In(self.banks * self.lanes * self.ew),
            "rr_en": In(1), "res": Out(self.banks * self.aw), "res_valid": Out(1),
        })

    def _mul(self, m, a, b, name):
        if self.cfg.operand_format == "fp16":
            u = Fp16Multiplier()
            m.submodules[name] = u
            m.d.comb += [u.a.eq(a), u.b.eq(b)]
            return u.o
        p = Signal(signed(16), name=name)
        m.d.comb += p.eq(a.as_signed() * b.as_signed())
        return p

    def _add(self, m, a, b, name):
        if self.cfg.operand_format == "fp16":
            u = Fp16Adder()
            m.submodules[name] = u
            m.d.comb += [u.a.eq(a), u.b.eq(b)]
            return u.o
        s = Signal(signed(max(len(a), len(b)) + 1), name=name)
        m.d.comb += s.eq(a + b)
        return s

    def elaborate(self, platform):
        m = Module()
        ew, lanes, aw = self.ew, self.lanes, self.aw
        words = [Signal(lanes * ew, name=f"gbuf{i}") for i in range(self.depth)]
        gbuf = Array(words)
        with m.If(self.gw_en):
            m.d.sync += gbuf[self.gw_addr].eq(self.gw_data)
        x = Signal(lanes * ew)
        m.d.comb += x.eq(gbuf[self.comp_addr])
        tvalid = Signal()
        m.d.sync += [tvalid.eq(self.comp_en), self.res_valid.eq(self.rr_en)]
        for b in range(self.banks):
            level = []
            for i in range(lanes):
                w = self.row[(b * lanes + i) * ew:(b * lanes + i + 1) * ew]
                level.append(self._mul(m, x[i * ew:(i + 1) * ew], w, f"mul_b{b}_l{i}"))
            d = 0
            while len(level) > 1:
                level = [self._add(m, level[j], level[j + 1], f"add_b{b}_d{d}_{j // 2}")
                         for j in range(0, len(level), 2)]
                d += 1
            tree = Signal(unsigned(16) if self.cfg.operand_format == "fp16" else signed(16 + d + 1),
                          name=f"tree_b{b}")
            m.d.sync += tree.eq(level[0])
            acc = Signal(aw, name=f"acc_b{b}")
            nxt = self._add(m, acc, tree, f"acc_add_b{b}") if self.cfg.operand_format == "fp16" \
                else (acc.as_signed() + tree)
            with m.If(self.rr_en):
                m.d.sync += [self.res[b * aw:(b + 1) * aw].eq(acc), acc.eq(0)]
            with m.Elif(tvalid):
                m.d.sync += acc.eq(nxt)
        return m
