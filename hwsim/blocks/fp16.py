"""IEEE-754 binary16 (FP16) arithmetic: bit-exact NumPy golden functions and Amaranth units.

Every function and component works on 16-bit patterns (``uint16``): sign in bit 15, a
5-bit biased exponent (bias 15) in bits 14..10 and a 10-bit fraction in bits 9..0.

Behaviour shared by all units
-----------------------------
* Rounding is to nearest, ties to even, and is applied once to the exact result.
* Subnormal inputs are used at their value; subnormal results are produced (no flush to
  zero). A rounded magnitude of ``2**16`` or more (at or past the largest finite value
  65504 plus half an ulp) becomes infinity of the result's sign.
* NaN policy: any NaN input, ``inf - inf`` in the adder and ``0 * inf`` in the multiplier
  return the single canonical quiet NaN :data:`CANONICAL_NAN` = ``0x7E00`` (sign 0,
  quiet bit set, no payload). NaN payloads and signs are not propagated.
* Exact zero sums are ``+0`` except ``(-0) + (-0) = -0`` (round-to-nearest rule of IEEE
  754 section 6.3); products of zero carry the XOR of the signs; a shifted zero keeps its
  sign.

Golden functions (results equal ``numpy.float16`` arithmetic bit for bit, NaN aside):

* :func:`fp16_add` -- ``a + b``;
* :func:`fp16_shift` -- ``x * 2**s`` for an integer ``s`` (the exponent-shift unit);
* :func:`fp16_mul` -- ``a * b``.

Amaranth components, all purely combinational (latency 0 cycles, no clock or reset):

* :class:`Fp16Adder` -- ports ``a``, ``b`` (in, 16) and ``o`` (out, 16);
* :class:`Fp16ExpShift` -- ports ``x`` (in, 16), ``s`` (in, signed ``shift_bits``) and
  ``o`` (out, 16);
* :class:`Fp16Multiplier` -- ports ``a``, ``b`` (in, 16) and ``o`` (out, 16).

The golden functions work on exact integers: each finite operand is ``m * 2**(e - 25)``
with an integer significand ``m`` (hidden bit included, ``0..2047``) and ``e = max(E, 1)``
for the biased exponent field ``E``; the exact result is formed in int64 and rounded once
by :func:`_round_pack`.

Examples
--------
>>> import numpy as np
>>> one = np.float16(1.0).view(np.uint16)
>>> hex(int(fp16_add(one, one)))
'0x4000'
>>> hex(int(fp16_shift(one, -25)))  # 2**-25 is exactly half the smallest subnormal: ties to 0
'0x0'
"""


import numpy as np
from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwsim.errors import ConfigError, check_int

#: The quiet NaN every unit returns for an invalid operation or a NaN input.
CANONICAL_NAN = 0x7E00
#: Positive infinity.
POS_INF = 0x7C00
#: Exponent bias of binary16.
BIAS = 15
#: Fraction bits of binary16.
FRAC_BITS = 10

_EXP_MASK = 0x7C00
_FRAC_MASK = 0x03FF


# --------------------------------------------------------------------------------------
# Golden (NumPy, vectorised, int64 internally)
# --------------------------------------------------------------------------------------
def _bits(x) -> np.ndarray:
    """Bit patterns as int64 (accepts uint16 patterns or float16 values)."""
    x = np.asarray(x)
    if x.dtype == np.float16:
        x = x.view(np.uint16)
    if not np.issubdtype(x.dtype, np.integer):
        raise TypeError(f"FP16 operands must be uint16 bit patterns or float16, not {x.dtype}")
    return x.astype(np.int64) & 0xFFFF


def _is_nan(x: np.ndarray) -> np.ndarray:
    return ((x & _EXP_MASK) == _EXP_MASK) & ((x & _FRAC_MASK) != 0)


def _is_inf(x: np.ndarray) -> np.ndarray:
    return (x & 0x7FFF) == POS_INF


def _decode(x: np.ndarray):
    """``(sign, m, e)`` with the finite value ``(-1)**sign * m * 2**(e - 25)``."""
    sign = x >> 15
    ef = (x >> FRAC_BITS) & 0x1F
    frac = x & _FRAC_MASK
    m = np.where(ef > 0, frac | (1 << FRAC_BITS), frac)
    e = np.maximum(ef, 1)
    return sign, m, e


def _bit_length(v: np.ndarray) -> np.ndarray:
    """Bit length of non-negative int64 values below 2**53 (exact through float64)."""
    return np.frexp(v.astype(np.float64))[1].astype(np.int64)


def _round_pack(sign: np.ndarray, mag: np.ndarray, exp: np.ndarray) -> np.ndarray:
    """Round ``(-1)**sign * mag * 2**(exp - 25)`` to binary16 (nearest, ties to even).

    ``mag`` is a non-negative int64 below 2**53, ``exp`` any int64. Zero gives a zero of
    ``sign``; too large a magnitude gives infinity.
    """
    length = _bit_length(mag)
    # biased exponent of the result: leading bit at position 10 of the significand,
    # clamped to 1 where the result is subnormal
    eb = np.maximum(exp + length - (FRAC_BITS + 1), 1)
    sh = eb - exp  # right shift of mag onto the result's grid (negative: exact left shift)
    rsh = np.clip(sh, 1, 62)
    q = mag >> rsh
    rem = mag & ((np.int64(1) << rsh) - 1)
    half = np.int64(1) << (rsh - 1)
    up = (rem > half) | ((rem == half) & ((q & 1) == 1))
    q_right = q + up
    q_left = mag << np.clip(-sh, 0, 62)
    sig = np.where(sh > 0, q_right, q_left)
    # (eb - 1) * 1024 + sig: the hidden bit carries into the exponent field, and so does
    # a rounding overflow of the significand (2047 + 1) or a subnormal rounding up to 1024
    packed = (eb - 1) * (1 << FRAC_BITS) + sig
    packed = np.where(mag == 0, 0, np.minimum(packed, POS_INF))
    return (sign << 15) | packed


def _finish(out: np.ndarray, shape) -> np.ndarray:
    return out.astype(np.uint16).reshape(shape)


def fp16_add(a, b) -> np.ndarray:
    """Bit-exact binary16 ``a + b`` (round to nearest even) on bit patterns.

    Parameters
    ----------
    a, b : array_like of uint16 (bit patterns) or float16
        Broadcast against each other.

    Returns
    -------
    ndarray of uint16
        Sum bit patterns; NaN results are :data:`CANONICAL_NAN`.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.float16([1.0, 65504.0, -0.0]).view(np.uint16)
    >>> b = np.float16([2.0**-11, 16.0, -0.0]).view(np.uint16)
    >>> fp16_add(a, b).view(np.float16).tolist()  # tie to even; 65504+16 rounds to inf
    [1.0, inf, -0.0]
    """
    a, b = np.broadcast_arrays(_bits(a), _bits(b))
    shape = a.shape
    a, b = a.ravel(), b.ravel()
    sa, ma, ea = _decode(a)
    sb, mb, eb = _decode(b)
    emin = np.minimum(ea, eb)
    va = np.where(sa == 1, -1, 1) * (ma << (ea - emin))
    vb = np.where(sb == 1, -1, 1) * (mb << (eb - emin))
    total = va + vb
    out = _round_pack((total < 0).astype(np.int64), np.abs(total), emin)
    out = np.where(total == 0, (sa & sb) << 15, out)
    ia, ib = _is_inf(a), _is_inf(b)
    out = np.where(ia, a, np.where(ib, b, out))
    nan = _is_nan(a) | _is_nan(b) | (ia & ib & (sa != sb))
    return _finish(np.where(nan, CANONICAL_NAN, out), shape)


def fp16_shift(x, s) -> np.ndarray:
    """Bit-exact binary16 ``x * 2**s`` for integer ``s`` (the exponent-shift unit).

    One rounding (nearest even) where the result becomes subnormal or underflows to
    zero; infinity where it overflows. Infinities stay, NaN becomes :data:`CANONICAL_NAN`.

    Parameters
    ----------
    x : array_like of uint16 (bit patterns) or float16
    s : array_like of int
        Power-of-two exponent, broadcast against ``x``; ``|s| < 2**31``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.float16([3.0, 2.0**-24, 40000.0]).view(np.uint16)
    >>> fp16_shift(x, [-1, 3, 1]).view(np.float16).tolist()
    [1.5, 4.76837158203125e-07, inf]
    """
    x = _bits(x)
    s = np.asarray(s)
    if not np.issubdtype(s.dtype, np.integer):
        raise TypeError(f"the shift must be an integer array, not {s.dtype}")
    x, s = np.broadcast_arrays(x, s.astype(np.int64))
    shape = x.shape
    x, s = x.ravel(), s.ravel()
    sign, m, e = _decode(x)
    out = _round_pack(sign, m, e + s)
    out = np.where(_is_inf(x), x, out)
    return _finish(np.where(_is_nan(x), CANONICAL_NAN, out), shape)


def fp16_mul(a, b) -> np.ndarray:
    """Bit-exact binary16 ``a * b`` (round to nearest even) on bit patterns.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.float16([3.0, 0.0, 2.0**-14]).view(np.uint16)
    >>> b = np.float16([-0.5, np.inf, 2.0**-3]).view(np.uint16)
    >>> [hex(int(v)) for v in fp16_mul(a, b)]
    ['0xbe00', '0x7e00', '0x80']
    """
    a, b = np.broadcast_arrays(_bits(a), _bits(b))
    shape = a.shape
    a, b = a.ravel(), b.ravel()
    sa, ma, ea = _decode(a)
    sb, mb, eb = _decode(b)
    sign = sa ^ sb
    # ma*2**(ea-25) * mb*2**(eb-25) = (ma*mb) * 2**((ea+eb-25) - 25)
    out = _round_pack(sign, ma * mb, ea + eb - 25)
    ia, ib = _is_inf(a), _is_inf(b)
    zero_a, zero_b = (a & 0x7FFF) == 0, (b & 0x7FFF) == 0
    out = np.where(ia | ib, (sign << 15) | POS_INF, out)
    nan = _is_nan(a) | _is_nan(b) | (ia & zero_b) | (ib & zero_a)
    return _finish(np.where(nan, CANONICAL_NAN, out), shape)


# --------------------------------------------------------------------------------------
# Amaranth components (combinational)
# --------------------------------------------------------------------------------------
def _leading_zeros(m: Module, v, width: int, name: str) -> Signal:
    """Leading zeros of the low ``width`` bits of ``v`` (``width`` when all are zero)."""
    lz = Signal(range(width + 1), name=name)
    m.d.comb += lz.eq(width)
    # the last assignment wins: scan from the LSB so the highest set bit decides
    for i in range(width):
        with m.If(v[i]):
            m.d.comb += lz.eq(width - 1 - i)
    return lz


class _Unpacked:
    """Fields of one FP16 operand, made combinationally inside ``m``."""

    def __init__(self, m: Module, x, name: str):
        self.sign = x[15]
        ef = x[FRAC_BITS:15]
        frac = x[0:FRAC_BITS]
        self.mant = Signal(11, name=f"{name}_mant")  # significand with the hidden bit
        self.exp = Signal(5, name=f"{name}_exp")  # max(E, 1)
        self.is_nan = Signal(name=f"{name}_nan")
        self.is_inf = Signal(name=f"{name}_inf")
        self.is_zero = Signal(name=f"{name}_zero")
        m.d.comb += [
            self.mant.eq(Cat(frac, ef != 0)),
            self.exp.eq(Mux(ef == 0, 1, ef)),
            self.is_nan.eq((ef == 0x1F) & (frac != 0)),
            self.is_inf.eq((ef == 0x1F) & (frac == 0)),
            self.is_zero.eq(x[0:15] == 0),
        ]


class Fp16Adder(wiring.Component):
    """Combinational IEEE-754 binary16 adder, ``o = a + b`` (see the module docstring).

    Latency 0 cycles. Datapath: order the operands by magnitude, align the smaller
    significand with three extra bits (guard, round and a sticky bit that ORs everything
    shifted past them), add or subtract, normalise (one right shift on carry, or a left
    shift by the leading-zero count limited so the exponent stays >= 1, which produces
    subnormals), round to nearest even and pack; the rounding carry ripples into the
    exponent field and an exponent of 31 becomes infinity.

    Checked bit for bit against :func:`fp16_add` (``tests/test_fp16.py``: 10**6 random
    pairs weighted towards cancellation and subnormals, plus all special-value pairs).

    Examples
    --------
    >>> from amaranth.back import verilog
    >>> "module fp16_add" in verilog.convert(Fp16Adder(), name="fp16_add")
    True
    """

    a: In(16)
    b: In(16)
    o: Out(16)

    def elaborate(self, platform):
        m = Module()
        ua = _Unpacked(m, self.a, "a")
        ub = _Unpacked(m, self.b, "b")

        swap = Signal()
        m.d.comb += swap.eq(self.a[0:15] < self.b[0:15])
        sign_l = Mux(swap, ub.sign, ua.sign)
        sign_s = Mux(swap, ua.sign, ub.sign)
        exp_l, mant_l, exp_s, mant_s = (Signal(5, name="exp_l"), Signal(11, name="mant_l"),
                                        Signal(5, name="exp_s"), Signal(11, name="mant_s"))
        m.d.comb += [
            exp_l.eq(Mux(swap, ub.exp, ua.exp)), mant_l.eq(Mux(swap, ub.mant, ua.mant)),
            exp_s.eq(Mux(swap, ua.exp, ub.exp)), mant_s.eq(Mux(swap, ua.mant, ub.mant)),
        ]

        # align the smaller operand: 11-bit significand + guard, round, sticky
        diff = Signal(5)
        m.d.comb += diff.eq(exp_l - exp_s)  # exp_l >= exp_s since |large| >= |small|
        dclamp = Signal(4)
        m.d.comb += dclamp.eq(Mux(diff > 14, 14, diff))
        wide = Signal(28)
        m.d.comb += wide.eq(Cat(Const(0, 17), mant_s) >> dclamp)  # mant_s << 3, then >> d
        aligned = Signal(14)
        m.d.comb += aligned.eq(wide[14:28] | (wide[0:14] != 0))

        sub = sign_l ^ sign_s
        raw = Signal(15)
        ext_l = Cat(Const(0, 3), mant_l)
        m.d.comb += raw.eq(Mux(sub, ext_l - aligned, ext_l + aligned))

        # normalise to 14 bits (11 significand + 3) and an exponent >= 1
        lz = _leading_zeros(m, raw, 14, "lz")
        lshift = Signal(4)
        m.d.comb += lshift.eq(Mux(lz > exp_l - 1, exp_l - 1, lz))
        norm = Signal(14)
        exp_n = Signal(6)
        with m.If(raw[14]):
            m.d.comb += [norm.eq(Cat(raw[0] | raw[1], raw[2:15])), exp_n.eq(exp_l + 1)]
        with m.Else():
            m.d.comb += [norm.eq(raw << lshift), exp_n.eq(exp_l - lshift)]

        # round to nearest even, then pack: (exp - 1) * 1024 + significand
        sig = norm[3:14]
        up = norm[2] & (norm[1] | norm[0] | sig[0])
        packed = Signal(17)
        m.d.comb += packed.eq(((exp_n - 1) << FRAC_BITS) + sig + up)
        mag = Signal(15)
        m.d.comb += mag.eq(Mux(packed >= POS_INF, POS_INF, packed))

        with m.If(ua.is_nan | ub.is_nan | (ua.is_inf & ub.is_inf & (ua.sign != ub.sign))):
            m.d.comb += self.o.eq(CANONICAL_NAN)
        with m.Elif(ua.is_inf):
            m.d.comb += self.o.eq(self.a)
        with m.Elif(ub.is_inf):
            m.d.comb += self.o.eq(self.b)
        with m.Elif(raw == 0):
            m.d.comb += self.o.eq(Cat(Const(0, 15), ua.sign & ub.sign))
        with m.Else():
            m.d.comb += self.o.eq(Cat(mag, sign_l))
        return m


class Fp16ExpShift(wiring.Component):
    """Combinational binary16 exponent-shift unit, ``o = x * 2**s`` (see the module docstring).

    Latency 0 cycles. A subnormal input is first normalised (leading-zero count), the
    shift is added to the exponent, and a result below the normal range is shifted right
    into the subnormal grid and rounded to nearest even (a shift past 12 places always
    rounds to zero). Exponents of 31 or more give infinity.

    Checked bit for bit against :func:`fp16_shift` for every input and every shift of a
    6-bit port (``tests/test_fp16.py``).

    Parameters
    ----------
    shift_bits : int
        Width of the signed shift port ``s`` (2..8; the default 6 covers -32..31, which
        already reaches from the largest value to zero and from the smallest subnormal to
        infinity).

    Examples
    --------
    >>> Fp16ExpShift(shift_bits=1)
    Traceback (most recent call last):
    ...
    hwsim.errors.ConfigError: shift_bits: must be >= 2, not 1
    """

    def __init__(self, shift_bits: int = 6):
        try:
            self.shift_bits = check_int("shift_bits", shift_bits, 2, 8)
        except ConfigError:
            self._MustUse__used = True  # a rejected component is not an unused design
            raise
        super().__init__({"x": In(16), "s": In(signed(shift_bits)), "o": Out(16)})

    def elaborate(self, platform):
        m = Module()
        ux = _Unpacked(m, self.x, "x")
        lz = _leading_zeros(m, ux.mant, 11, "lz")
        mant_n = Signal(11)
        m.d.comb += mant_n.eq(ux.mant << lz)
        # exponent after normalisation and shift, as a signed number (always wide enough)
        exp_x, lz_x = Signal(signed(7)), Signal(signed(7))
        exp_t = Signal(signed(self.shift_bits + 6))
        m.d.comb += [exp_x.eq(ux.exp), lz_x.eq(lz), exp_t.eq(exp_x - lz_x + self.s)]

        mag = Signal(15)
        with m.If(exp_t >= 31):
            m.d.comb += mag.eq(POS_INF)
        with m.Elif(exp_t >= 1):
            m.d.comb += mag.eq(Cat(mant_n[0:FRAC_BITS], exp_t[0:5]))
        with m.Else():
            rshift = Signal(signed(self.shift_bits + 7))
            m.d.comb += rshift.eq(1 - exp_t)
            rclamp = Signal(4)
            m.d.comb += rclamp.eq(Mux(rshift > 12, 12, rshift[0:4]))
            wide = Signal(23)
            m.d.comb += wide.eq(Cat(Const(0, 12), mant_n) >> rclamp)
            q = wide[12:23]
            up = wide[11] & ((wide[0:11] != 0) | q[0])
            m.d.comb += mag.eq(q + up)

        with m.If(ux.is_nan):
            m.d.comb += self.o.eq(CANONICAL_NAN)
        with m.Elif(ux.is_inf | ux.is_zero):
            m.d.comb += self.o.eq(self.x)
        with m.Else():
            m.d.comb += self.o.eq(Cat(mag, ux.sign))
        return m


class Fp16Multiplier(wiring.Component):
    """Combinational IEEE-754 binary16 multiplier, ``o = a * b`` (see the module docstring).

    Latency 0 cycles. The 11 x 11-bit significand product (22 bits) is normalised by its
    leading-zero count (which also normalises subnormal inputs); a result below the normal
    range is shifted right into the subnormal grid (at most 12 places: further always
    rounds to zero); then round to nearest even and pack as in :class:`Fp16Adder`.

    Checked bit for bit against :func:`fp16_mul` on the adder's test vectors.

    Examples
    --------
    >>> from amaranth.back import verilog
    >>> "module fp16_mul" in verilog.convert(Fp16Multiplier(), name="fp16_mul")
    True
    """

    a: In(16)
    b: In(16)
    o: Out(16)

    def elaborate(self, platform):
        m = Module()
        ua = _Unpacked(m, self.a, "a")
        ub = _Unpacked(m, self.b, "b")
        sign = ua.sign ^ ub.sign

        prod = Signal(22)
        m.d.comb += prod.eq(ua.mant * ub.mant)
        lz = _leading_zeros(m, prod, 22, "lz")
        norm = Signal(22)
        m.d.comb += norm.eq(prod << lz)  # leading one at bit 21
        # biased exponent of the normalised product: ea + eb - 15 + 1 - lz
        ea, eb, lzs = Signal(signed(8)), Signal(signed(8)), Signal(signed(8))
        exp_p = Signal(signed(8))
        m.d.comb += [ea.eq(ua.exp), eb.eq(ub.exp), lzs.eq(lz), exp_p.eq(ea + eb - (BIAS - 1) - lzs)]

        rshift = Signal(4)  # extra right shift into the subnormal grid
        m.d.comb += rshift.eq(Mux(exp_p >= 1, 0, Mux(exp_p < -11, 12, (1 - exp_p)[0:4])))
        wide = Signal(34)
        m.d.comb += wide.eq(Cat(Const(0, 12), norm) >> rshift)
        sig = wide[23:34]
        up = wide[22] & ((wide[0:22] != 0) | sig[0])
        exp_f = Signal(5)
        m.d.comb += exp_f.eq(Mux(exp_p >= 31, 31, Mux(exp_p >= 1, exp_p[0:5], 1)))
        packed = Signal(17)
        m.d.comb += packed.eq(((exp_f - 1) << FRAC_BITS) + sig + up)
        mag = Signal(15)
        m.d.comb += mag.eq(Mux((exp_p >= 31) | (packed >= POS_INF), POS_INF, packed))

        with m.If(ua.is_nan | ub.is_nan | (ua.is_inf & ub.is_zero) | (ub.is_inf & ua.is_zero)):
            m.d.comb += self.o.eq(CANONICAL_NAN)
        with m.Elif(ua.is_inf | ub.is_inf):
            m.d.comb += self.o.eq(Cat(Const(POS_INF, 15), sign))
        with m.Elif(ua.is_zero | ub.is_zero):
            m.d.comb += self.o.eq(Cat(Const(0, 15), sign))
        with m.Else():
            m.d.comb += self.o.eq(Cat(mag, sign))
        return m


class Fp16Dequantiser(wiring.Component):
    """One weight's dequantisation to binary16 (combinational): ``o = fp16_mul(s, fp16(q - z))``.

    Ports: ``lane`` (in, 24: code pattern in bits 0..3, zero point in 4..7, binary16 scale
    in 8..23),
    ``msb_negative`` (in: the code is 4-bit two's complement; zero points are then 0),
    ``o`` (out, 16). ``q - z`` (-15..15) becomes its exact binary16 pattern through a
    31-entry table, then one :class:`Fp16Multiplier` rounds the product.
    """

    def __init__(self):
        super().__init__({"lane": In(24), "msb_negative": In(1), "o": Out(16)})

    def elaborate(self, platform):
        m = Module()
        code = Signal(signed(6))
        diff = Signal(signed(6))
        m.d.comb += [
            code.eq(Mux(self.msb_negative, self.lane[:4].as_signed(), self.lane[:4])),
            diff.eq(code - self.lane[4:8]),
        ]
        as_fp16 = Signal(16)
        with m.Switch(diff):
            for v in range(-15, 16):
                with m.Case(v):
                    m.d.comb += as_fp16.eq(int(np.float16(v).view(np.uint16)))
        m.submodules.mul = mul = Fp16Multiplier()
        m.d.comb += [mul.a.eq(self.lane[8:24]), mul.b.eq(as_fp16), self.o.eq(mul.o)]
        return m


__all__ = [
    "BIAS",
    "CANONICAL_NAN",
    "FRAC_BITS",
    "POS_INF",
    "Fp16Adder",
    "Fp16Dequantiser",
    "Fp16ExpShift",
    "Fp16Multiplier",
    "fp16_add",
    "fp16_mul",
    "fp16_shift",
]
