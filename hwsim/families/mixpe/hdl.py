"""Amaranth RTL of the MixPE INT path: a shift-and-add PE in the systolic array generator.

:class:`MixpePE` has the ports of the output-stationary
:class:`~hwsim.families.systolic.hdl.SystolicPE` (activation and ``last`` passed east,
weight code passed south, a result register) and plugs into
:class:`~hwsim.families.systolic.hdl.SystolicArray` through its ``pe`` argument; the array,
its skew registers, sequencer and drain are the systolic family's, unchanged.

Instead of a multiplier the PE adds ``a << i`` for every set bit ``i`` of the weight code.
The weight lane is :data:`CODE_BITS` wide whatever ``w_bits`` is, so weight precision is a
property of the data, not of the build: unsigned codes (with a zero point) arrive
zero-extended, signed codes sign-extended. The run-time input ``msb_negative`` (one for
every PE) makes the lane's top bit count ``-2**(CODE_BITS - 1)``: a ``w``-bit two's
complement code sign-extended to the lane then adds exactly ``code * a``, the same integer
as golden's sum over the ``w``-bit pattern (:mod:`hwsim.families.mixpe.golden`). The
accumulator wraps at ``acc_bits`` as golden's does.
"""

from __future__ import annotations

from functools import reduce

from amaranth import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwsim.blocks.fp16 import Fp16Dequantiser
from hwsim.families.systolic.config import SystolicConfig
from hwsim.families.systolic.hdl import os_pe_step, port_shapes

__all__ = ["CODE_BITS", "FP16_LANE_BITS", "DequantMacArray", "Fp16Dequantiser", "MixpeFp16PE", "MixpePE"]

#: Width of the PE's weight lane: the largest ``w_bits`` of :class:`MixpeConfig`.
CODE_BITS = 4


class MixpePE(wiring.Component):
    """One shift-and-add PE (output stationary), built from the array's edge config.

    Parameters
    ----------
    cfg : SystolicConfig
        The array edges (:func:`hwsim.families.mixpe.rtl.array_config`): ``a_bits`` (the
        INT8 activation), ``b_bits`` (:data:`CODE_BITS`), ``acc_bits``; ``os`` only.
    """

    @staticmethod
    def static_ports(cfg: SystolicConfig) -> dict:
        """``msb_negative``: the weight lane's top bit weighs ``-2**(CODE_BITS-1)`` (signed codes)."""
        return {"msb_negative": 1}

    def __init__(self, cfg: SystolicConfig):
        if not isinstance(cfg, SystolicConfig) or cfg.dataflow != "os" or cfg.b_bits != CODE_BITS:
            raise ValueError(f"MixpePE needs an 'os' array config with b_bits = {CODE_BITS}")
        self.cfg = cfg
        sh = port_shapes(cfg)
        super().__init__({
            "en": In(1), "msb_negative": In(1),
            "a_in": In(sh["west"]), "last_in": In(1), "b_in": In(sh["north"]),
            "a_out": Out(sh["west"]), "last_out": Out(1), "b_out": Out(sh["north"]),
            "result": Out(sh["acc"]),
        })
        self.west_links = ("a", "last")
        self.north_links = ("b",)

    def elaborate(self, platform):
        m = Module()
        acc = Signal.like(self.result, name="acc")
        total = Signal.like(self.result, name="total")
        a = self.a_in.as_signed()
        terms = []
        for i in range(CODE_BITS):
            t = Signal(a.shape().width + i + 1, name=f"term_{i}")
            shifted = a << i
            if i == CODE_BITS - 1:
                shifted = Mux(self.msb_negative, -shifted, shifted)
            m.d.comb += t.eq(Mux(self.b_in[i], shifted, 0))
            terms.append(t.as_signed())
        m.d.comb += total.eq(acc + reduce(lambda x, y: x + y, terms))
        os_pe_step(m, self, acc, total)
        return m


#: Width of the FP16 array's accumulator lanes: the systolic generator needs at least
#: ``a_bits + b_bits`` = 20; the PE uses the low 16 (a binary16 pattern), the rest stay 0.
FP16_LANE_BITS = 20


class MixpeFp16PE(wiring.Component):
    """One FP16-path PE (output stationary): binary16 activation in, ``w``-bit code pattern in.

    For every set bit ``i`` of the code, ascending, ``P = fp16_add(P, fp16_shift(a, i))``
    (:class:`~hwsim.blocks.fp16.Fp16ExpShift` + :class:`~hwsim.blocks.fp16.Fp16Adder`, a
    chain of :data:`CODE_BITS` of each, combinational); bit ``w_msb`` is negated when
    ``msb_negative`` (signed codes). Clear bits pass ``P`` unchanged, so ``-0`` is kept.
    This is golden's stated order of the FP16 path. ``P`` restarts at ``+0`` after ``last``.
    The weight lane carries the ``w``-bit pattern zero-extended; ``w_msb = w_bits - 1``
    and ``msb_negative`` are run-time inputs, so one build serves W2/W3/W4.
    """

    @staticmethod
    def static_ports(cfg: SystolicConfig) -> dict:
        return {"msb_negative": 1, "w_msb": 2}

    def __init__(self, cfg: SystolicConfig):
        if (not isinstance(cfg, SystolicConfig) or cfg.dataflow != "os" or cfg.b_bits != CODE_BITS
                or cfg.a_bits != 16 or cfg.acc_bits != FP16_LANE_BITS or cfg.signed):
            raise ValueError("MixpeFp16PE needs an unsigned 'os' array config with a_bits = 16, "
                             f"b_bits = {CODE_BITS}, acc_bits = {FP16_LANE_BITS}")
        self.cfg = cfg
        sh = port_shapes(cfg)
        super().__init__({
            "en": In(1), "msb_negative": In(1), "w_msb": In(2),
            "a_in": In(sh["west"]), "last_in": In(1), "b_in": In(sh["north"]),
            "a_out": Out(sh["west"]), "last_out": Out(1), "b_out": Out(sh["north"]),
            "result": Out(sh["acc"]),
        })
        self.west_links = ("a", "last")
        self.north_links = ("b",)

    def elaborate(self, platform):
        from amaranth import Cat

        from hwsim.blocks.fp16 import Fp16Adder, Fp16ExpShift

        m = Module()
        acc = Signal(16, name="acc")
        p = acc
        for i in range(CODE_BITS):
            shift = Fp16ExpShift(shift_bits=3)
            add = Fp16Adder()
            m.submodules[f"shift_{i}"] = shift
            m.submodules[f"add_{i}"] = add
            neg = Signal(name=f"neg_{i}")
            m.d.comb += [
                shift.x.eq(self.a_in[:16]), shift.s.eq(i),
                neg.eq(self.msb_negative & (self.w_msb == i)),
                add.a.eq(p), add.b.eq(Cat(shift.o[:15], shift.o[15] ^ neg)),
            ]
            nxt = Signal(16, name=f"p_{i + 1}")
            m.d.comb += nxt.eq(Mux(self.b_in[i], add.o, p))
            p = nxt
        os_pe_step(m, self, acc, p)
        return m


class DequantMacArray(wiring.Component):
    """The dequantise-then-MAC baseline: the systolic family's binary16 ``os`` array
    (:class:`~hwsim.families.systolic.hdl.SystolicArray`, default PE, ``operand_format
    fp16``) behind one :class:`Fp16Dequantiser` per column on its ``operands`` stream.

    Ports are the array's (``cmd``, ``operands``, ``results``, ``stall``) except that a
    north lane is a 24-bit packed weight, plus the run-time input ``msb_negative``. The
    dequantisers are combinational between the stream and the array's input registers,
    so cycles and stream behaviour are the array's.
    """

    def __init__(self, cfg: SystolicConfig, dim_bits: int):
        from amaranth.lib import data, stream

        from hwsim.families.systolic.hdl import SystolicArray

        if not (isinstance(cfg, SystolicConfig) and cfg.is_fp16 and cfg.dataflow == "os"):
            raise ValueError("DequantMacArray needs a binary16 'os' array config")
        self.cfg = cfg
        self.array = SystolicArray(cfg, dim_bits=dim_bits)
        ops = data.StructLayout({"west": data.ArrayLayout(16, cfg.rows), "north": data.ArrayLayout(24, cfg.cols)})
        super().__init__({
            "cmd": In(stream.Signature(data.StructLayout({"m": dim_bits, "k": dim_bits, "n": dim_bits}))),
            "operands": In(stream.Signature(ops)),
            "results": Out(stream.Signature(data.ArrayLayout(16, cfg.cols))),
            "stall": Out(1),
            "msb_negative": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        arr = self.array
        m.submodules.array = arr
        wiring.connect(m, wiring.flipped(self.cmd), arr.cmd)
        wiring.connect(m, arr.results, wiring.flipped(self.results))
        m.d.comb += [
            self.stall.eq(arr.stall),
            arr.operands.valid.eq(self.operands.valid),
            self.operands.ready.eq(arr.operands.ready),
            arr.operands.payload.west.eq(self.operands.payload.west),
        ]
        for j in range(self.cfg.cols):
            dq = Fp16Dequantiser()
            m.submodules[f"dequant_{j}"] = dq
            m.d.comb += [dq.lane.eq(self.operands.payload.north[j]), dq.msb_negative.eq(self.msb_negative),
                         arr.operands.payload.north[j].eq(dq.o)]
        return m
