"""A serialising wrapper that fits any component's ports onto a few FPGA pins.

An array's operand and result buses are hundreds of bits wide: more than any FPGA
package has pins. To measure the array itself (LUTs, flip-flops, DSPs, Fmax) the
wrapper keeps every input behind a register loaded from a serial shift chain and every
output in a register read out through another, so no logic of the wrapped design can be
optimised away and its timing paths stay register to register. Its own cost (two shift
chains, one flip-flop per port bit) is reported with the result; it is the same for
two designs with the same port widths.

Ports: ``sin`` (serial data in), ``shift`` (shift ``sin`` into the input chain),
``load`` (copy the input chain into the design's inputs), ``capture`` (copy the
design's outputs into the output chain), ``sout`` (serial data out, shifting with
``shift`` when ``capture`` is low).
"""

# No `from __future__ import annotations`: Amaranth reads the port annotations.
from amaranth.hdl import Cat, Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class SerialWrapper(wiring.Component):
    """Wrap ``dut`` (a :class:`wiring.Component`) behind serial shift chains.

    Parameters
    ----------
    dut : wiring.Component
        The design; all of its signature's ports are wrapped.
    """

    sin: In(1)
    shift: In(1)
    load: In(1)
    capture: In(1)
    sout: Out(1)

    def __init__(self, dut: wiring.Component):
        if not isinstance(dut, wiring.Component):
            raise TypeError(f"dut must be an amaranth wiring.Component, not {type(dut).__name__}")
        self.dut = dut
        super().__init__()
        ins, outs = [], []
        for _path, member, value in dut.signature.flatten(dut):
            (ins if member.flow == In else outs).append(Value.cast(value))
        self._ins, self._outs = ins, outs
        self.in_bits = sum(len(v) for v in ins)
        self.out_bits = sum(len(v) for v in outs)

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.dut = self.dut
        in_chain = Signal(max(1, self.in_bits))
        in_reg = Signal(max(1, self.in_bits))
        out_chain = Signal(max(1, self.out_bits))
        with m.If(self.shift):
            m.d.sync += in_chain.eq(Cat(self.sin, in_chain[:-1]) if self.in_bits > 1 else self.sin)
        with m.If(self.load):
            m.d.sync += in_reg.eq(in_chain)
        if self._ins:
            m.d.comb += Cat(*self._ins).eq(in_reg)
        with m.If(self.capture):
            m.d.sync += out_chain.eq(Cat(*self._outs))
        with m.Elif(self.shift):
            m.d.sync += out_chain.eq(out_chain >> 1)
        m.d.comb += self.sout.eq(out_chain[0])
        return m


__all__ = ["SerialWrapper"]
