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

from hwsim.families.systolic.config import SystolicConfig
from hwsim.families.systolic.hdl import port_shapes

__all__ = ["CODE_BITS", "MixpePE"]

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
        with m.If(self.en):
            m.d.sync += [
                self.a_out.eq(self.a_in),
                self.b_out.eq(self.b_in),
                self.last_out.eq(self.last_in),
            ]
            with m.If(self.last_in):
                m.d.sync += [self.result.eq(total), acc.eq(0)]
            with m.Else():
                m.d.sync += acc.eq(total)
        return m
