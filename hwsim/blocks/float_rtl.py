"""IEEE-754 binary floating-point units of any format (Amaranth, combinational).

:class:`FloatAdder` and :class:`FloatMultiplier` take the exponent and fraction widths as
parameters: ``(5, 10)`` is binary16 (the same datapaths as
:class:`~hwsim.blocks.fp16.Fp16Adder` and :class:`~hwsim.blocks.fp16.Fp16Multiplier`,
generalised), ``(8, 23)`` binary32. Behaviour is that of :mod:`hwsim.blocks.fp16`: round
to nearest even once, subnormal inputs and results kept, overflow to infinity, and every
NaN result the canonical quiet NaN (exponent all ones, top fraction bit set, sign 0).

Conversions to binary32, exact by construction: :class:`Fp16ToFp32` (binary16 pattern)
and :class:`IntToFp32` (a two's complement integer of at most 25 bits, so ``|v| <= 2**24``).

Latency 0 cycles for all; no clock.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwsim.blocks.fp16 import _leading_zeros
from hwsim.errors import check_int

__all__ = ["FloatAdder", "FloatMultiplier", "Fp16ToFp32", "IntToFp32", "canonical_nan"]


def canonical_nan(exp_bits: int, frac_bits: int) -> int:
    """The quiet NaN every unit returns: ``0x7E00`` (binary16), ``0x7FC00000`` (binary32)."""
    return (((1 << exp_bits) - 1) << frac_bits) | (1 << (frac_bits - 1))


class _Fields:
    def __init__(self, m: Module, x, e: int, f: int, name: str):
        w = 1 + e + f
        self.sign = x[w - 1]
        ef = x[f:w - 1]
        frac = x[0:f]
        self.mant = Signal(f + 1, name=f"{name}_mant")
        self.exp = Signal(e, name=f"{name}_exp")
        self.is_nan = Signal(name=f"{name}_nan")
        self.is_inf = Signal(name=f"{name}_inf")
        self.is_zero = Signal(name=f"{name}_zero")
        ones = (1 << e) - 1
        m.d.comb += [
            self.mant.eq(Cat(frac, ef != 0)),
            self.exp.eq(Mux(ef == 0, 1, ef)),
            self.is_nan.eq((ef == ones) & (frac != 0)),
            self.is_inf.eq((ef == ones) & (frac == 0)),
            self.is_zero.eq(x[0:w - 1] == 0),
        ]


class _FloatUnit(wiring.Component):
    def __init__(self, exp_bits: int, frac_bits: int):
        self.e = check_int("exp_bits", exp_bits, 3, 11)
        self.f = check_int("frac_bits", frac_bits, 2, 52)
        self.w = 1 + self.e + self.f
        super().__init__({"a": In(self.w), "b": In(self.w), "o": Out(self.w)})

    @property
    def _inf(self) -> int:
        return ((1 << self.e) - 1) << self.f


class FloatAdder(_FloatUnit):
    """``o = a + b`` (combinational): order by magnitude, align with guard, round and
    sticky bits, add or subtract, normalise (limited so the exponent stays >= 1, giving
    subnormals), round to nearest even, pack; exact zero sums are ``+0`` unless both
    operands are ``-0``.

    Examples
    --------
    >>> from amaranth.back import verilog
    >>> "module fadd32" in verilog.convert(FloatAdder(8, 23), name="fadd32")
    True
    """

    def elaborate(self, platform):
        m = Module()
        e, f, w = self.e, self.f, self.w
        mw = f + 1  # significand with the hidden bit
        ua, ub = _Fields(m, self.a, e, f, "a"), _Fields(m, self.b, e, f, "b")
        swap = Signal()
        m.d.comb += swap.eq(self.a[0:w - 1] < self.b[0:w - 1])
        sign_l = Mux(swap, ub.sign, ua.sign)
        sign_s = Mux(swap, ua.sign, ub.sign)
        exp_l, exp_s = Signal(e, name="exp_l"), Signal(e, name="exp_s")
        mant_l, mant_s = Signal(mw, name="mant_l"), Signal(mw, name="mant_s")
        m.d.comb += [
            exp_l.eq(Mux(swap, ub.exp, ua.exp)), mant_l.eq(Mux(swap, ub.mant, ua.mant)),
            exp_s.eq(Mux(swap, ua.exp, ub.exp)), mant_s.eq(Mux(swap, ua.mant, ub.mant)),
        ]
        diff = Signal(e)
        m.d.comb += diff.eq(exp_l - exp_s)
        lim = mw + 3
        dclamp = Signal(range(lim + 1))
        m.d.comb += dclamp.eq(Mux(diff > lim, lim, diff))
        wide = Signal(2 * mw + 6)
        m.d.comb += wide.eq(Cat(Const(0, mw + 6), mant_s) >> dclamp)
        aligned = Signal(mw + 3)
        m.d.comb += aligned.eq(wide[mw + 3:2 * mw + 6] | (wide[0:mw + 3] != 0))
        sub = sign_l ^ sign_s
        raw = Signal(mw + 4)
        ext_l = Cat(Const(0, 3), mant_l)
        m.d.comb += raw.eq(Mux(sub, ext_l - aligned, ext_l + aligned))

        lz = _leading_zeros(m, raw, mw + 3, "lz")
        room = Signal(e + 1)
        m.d.comb += room.eq(exp_l - 1)
        lshift = Signal(range(mw + 4))
        m.d.comb += lshift.eq(Mux(lz > room, room, lz))
        norm = Signal(mw + 3)
        exp_n = Signal(e + 1)
        with m.If(raw[mw + 3]):
            m.d.comb += [norm.eq(Cat(raw[0] | raw[1], raw[2:mw + 4])), exp_n.eq(exp_l + 1)]
        with m.Else():
            m.d.comb += [norm.eq(raw << lshift), exp_n.eq(exp_l - lshift)]
        sig = norm[3:mw + 3]
        up = norm[2] & (norm[1] | norm[0] | sig[0])
        packed = Signal(e + f + 2)
        m.d.comb += packed.eq(((exp_n - 1) << f) + sig + up)
        mag = Signal(w - 1)
        m.d.comb += mag.eq(Mux(packed >= self._inf, self._inf, packed))

        with m.If(ua.is_nan | ub.is_nan | (ua.is_inf & ub.is_inf & (ua.sign != ub.sign))):
            m.d.comb += self.o.eq(canonical_nan(e, f))
        with m.Elif(ua.is_inf):
            m.d.comb += self.o.eq(self.a)
        with m.Elif(ub.is_inf):
            m.d.comb += self.o.eq(self.b)
        with m.Elif(raw == 0):
            m.d.comb += self.o.eq(Cat(Const(0, w - 1), ua.sign & ub.sign))
        with m.Else():
            m.d.comb += self.o.eq(Cat(mag, sign_l))
        return m


class FloatMultiplier(_FloatUnit):
    """``o = a * b`` (combinational): significand product normalised by its leading-zero
    count, shifted into the subnormal grid when the exponent is below the normal range,
    rounded to nearest even and packed; zeros carry the XOR of the signs.

    Examples
    --------
    >>> from amaranth.back import verilog
    >>> "module fmul32" in verilog.convert(FloatMultiplier(8, 23), name="fmul32")
    True
    """

    def elaborate(self, platform):
        m = Module()
        e, f, w = self.e, self.f, self.w
        mw = f + 1
        bias = (1 << (e - 1)) - 1
        maxe = (1 << e) - 1
        ua, ub = _Fields(m, self.a, e, f, "a"), _Fields(m, self.b, e, f, "b")
        sign = ua.sign ^ ub.sign
        prod = Signal(2 * mw)
        m.d.comb += prod.eq(ua.mant * ub.mant)
        lz = _leading_zeros(m, prod, 2 * mw, "lz")
        norm = Signal(2 * mw)
        m.d.comb += norm.eq(prod << lz)
        sw = e + 4
        ea, eb, lzs, exp_p = Signal(signed(sw)), Signal(signed(sw)), Signal(signed(sw)), Signal(signed(sw))
        m.d.comb += [ea.eq(ua.exp), eb.eq(ub.exp), lzs.eq(lz), exp_p.eq(ea + eb - (bias - 1) - lzs)]
        rshift = Signal(range(mw + 2))
        m.d.comb += rshift.eq(Mux(exp_p >= 1, 0, Mux(exp_p < -mw, mw + 1, (1 - exp_p)[0:rshift.shape().width])))
        wide = Signal(3 * mw + 1)
        m.d.comb += wide.eq(Cat(Const(0, mw + 1), norm) >> rshift)
        sig = wide[2 * mw + 1:3 * mw + 1]
        up = wide[2 * mw] & ((wide[0:2 * mw] != 0) | sig[0])
        exp_f = Signal(e)
        m.d.comb += exp_f.eq(Mux(exp_p >= maxe, maxe, Mux(exp_p >= 1, exp_p[0:e], 1)))
        packed = Signal(e + f + 2)
        m.d.comb += packed.eq(((exp_f - 1) << f) + sig + up)
        mag = Signal(w - 1)
        m.d.comb += mag.eq(Mux((exp_p >= maxe) | (packed >= self._inf), self._inf, packed))

        with m.If(ua.is_nan | ub.is_nan | (ua.is_inf & ub.is_zero) | (ub.is_inf & ua.is_zero)):
            m.d.comb += self.o.eq(canonical_nan(e, f))
        with m.Elif(ua.is_inf | ub.is_inf):
            m.d.comb += self.o.eq(Cat(Const(self._inf, w - 1), sign))
        with m.Elif(ua.is_zero | ub.is_zero):
            m.d.comb += self.o.eq(Cat(Const(0, w - 1), sign))
        with m.Else():
            m.d.comb += self.o.eq(Cat(mag, sign))
        return m


class Fp16ToFp32(wiring.Component):
    """Binary16 pattern ``x`` to the binary32 pattern ``o`` of the same value (exact;
    subnormals normalised; NaN to the canonical binary32 NaN)."""

    def __init__(self):
        super().__init__({"x": In(16), "o": Out(32)})

    def elaborate(self, platform):
        m = Module()
        sign, ef, frac = self.x[15], self.x[10:15], self.x[0:10]
        lz = _leading_zeros(m, frac, 10, "lz")
        sub_frac = Signal(10)
        m.d.comb += sub_frac.eq(frac << (lz + 1))
        with m.If((ef == 0x1F) & (frac != 0)):
            m.d.comb += self.o.eq(canonical_nan(8, 23))
        with m.Elif(ef == 0x1F):
            m.d.comb += self.o.eq(Cat(Const(0, 23), Const(0xFF, 8), sign))
        with m.Elif(ef != 0):
            m.d.comb += self.o.eq(Cat(Const(0, 13), frac, (ef + 112)[0:8], sign))
        with m.Elif(frac != 0):  # subnormal: 2**-24 * frac, leading one at bit 9 - lz
            m.d.comb += self.o.eq(Cat(Const(0, 13), sub_frac, (112 - lz)[0:8], sign))
        with m.Else():
            m.d.comb += self.o.eq(Cat(Const(0, 31), sign))
        return m


class IntToFp32(wiring.Component):
    """A two's complement integer ``x`` of ``in_bits`` (2..25) to its binary32 pattern
    (exact: every such integer has at most 24 significant bits)."""

    def __init__(self, in_bits: int):
        self.in_bits = check_int("in_bits", in_bits, 2, 25)
        super().__init__({"x": In(signed(in_bits)), "o": Out(32)})

    def elaborate(self, platform):
        m = Module()
        n = self.in_bits
        neg = self.x[n - 1]
        mag = Signal(n)
        m.d.comb += mag.eq(Mux(neg, -self.x, self.x))
        lz = _leading_zeros(m, mag, n, "lz")
        norm = Signal(n)
        m.d.comb += norm.eq(mag << lz)  # leading one at bit n - 1
        frac = Signal(23)
        if n - 1 >= 23:
            m.d.comb += frac.eq(norm[n - 1 - 23:n - 1])
        else:
            m.d.comb += frac.eq(Cat(Const(0, 23 - (n - 1)), norm[0:n - 1]))
        exp = Signal(8)
        m.d.comb += exp.eq(127 + (n - 1) - lz)
        with m.If(mag == 0):
            m.d.comb += self.o.eq(0)
        with m.Else():
            m.d.comb += self.o.eq(Cat(frac, exp, neg))
        return m
