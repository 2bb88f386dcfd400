"""FP16 blocks: golden functions against numpy.float16, RTL against the golden functions.

numpy's binary16 arithmetic is correctly rounded (it computes in float32, whose 24-bit
significand makes the second rounding harmless for + and *; the shift reference rounds an
exact float64 product once), so it is an independent oracle for the golden functions; NaN
is compared as "both NaN" against numpy and bit for bit (canonical NaN) against the RTL.

One Verilator build (:class:`hwsim.blocks.fp16_rtl.Fp16Bench`: adder, shifter and
multiplier side by side) serves every RTL test; it is cached by content hash, so a warm run only executes it.
"""

import numpy as np
import pytest

from hwsim.blocks.fp16 import (
    CANONICAL_NAN,
    Fp16Adder,
    Fp16ExpShift,
    Fp16Multiplier,
    fp16_add,
    fp16_mul,
    fp16_shift,
)
from hwsim.blocks.fp16_rtl import (
    SHIFT_BITS,
    random_vectors,
    run_amaranth,
    run_verilator,
    special_pairs,
)
from hwsim.errors import ConfigError

N_RANDOM = 1_000_000
ALL = np.arange(1 << 16, dtype=np.uint16)


def _f16(bits) -> np.ndarray:
    return np.asarray(bits, dtype=np.uint16).view(np.float16)


def assert_fp16_equal(got, want) -> None:
    """Bit patterns equal, except that any NaN equals any NaN; got's NaNs are canonical."""
    got, want = np.asarray(got, dtype=np.uint16), np.asarray(want, dtype=np.uint16)
    gn, wn = np.isnan(_f16(got)), np.isnan(_f16(want))
    bad = (gn != wn) | (~gn & (got != want))
    if bad.any():
        i = np.flatnonzero(bad)[:5]
        raise AssertionError(f"{bad.sum()} mismatches, e.g. got {[hex(v) for v in got[i]]}, "
                             f"want {[hex(v) for v in want[i]]}")
    assert np.all(got[gn] == CANONICAL_NAN)


def _numpy_add(a, b) -> np.ndarray:
    with np.errstate(all="ignore"):
        return (_f16(a) + _f16(b)).view(np.uint16)


def _numpy_shift(x, s) -> np.ndarray:
    with np.errstate(all="ignore"):
        return (_f16(x).astype(np.float64) * np.exp2(np.asarray(s, dtype=np.float64))).astype(np.float16).view(np.uint16)


@pytest.fixture(scope="module")
def vectors():
    """10**6 random vectors plus every pair of special values (one seed for every level)."""
    a, b, s = random_vectors(np.random.default_rng(16), N_RANDOM)
    sa, sb = special_pairs()
    ss = np.resize(np.arange(-(1 << (SHIFT_BITS - 1)), 1 << (SHIFT_BITS - 1)), sa.size)
    return np.concatenate([a, sa]), np.concatenate([b, sb]), np.concatenate([s, ss])


# --- golden against numpy ----------------------------------------------------------------
def test_golden_add_matches_numpy(vectors):
    a, b, _ = vectors
    assert_fp16_equal(fp16_add(a, b), _numpy_add(a, b))
    assert_fp16_equal(fp16_add(b, a), _numpy_add(a, b))  # commutative, -0 rules included


def test_golden_add_exhaustive_against_one_operand_set():
    """Every value plus a handful of awkward partners, all 65536 patterns each."""
    for partner in (0x0000, 0x8000, 0x0001, 0x83FF, 0x3C00, 0xBC01, 0x7BFF, 0xFC00, 0x1400):
        b = np.full(ALL.size, partner, dtype=np.uint16)
        assert_fp16_equal(fp16_add(ALL, b), _numpy_add(ALL, b))


@pytest.mark.parametrize("s", [-40, -26, -25, -24, -15, -11, -10, -3, -1, 0, 1, 2, 3, 10, 15, 16, 29, 30, 40])
def test_golden_shift_exhaustive(s):
    assert_fp16_equal(fp16_shift(ALL, s), _numpy_shift(ALL, s))


def test_golden_mul_matches_numpy(vectors):
    a, b, _ = vectors
    with np.errstate(all="ignore"):
        want = (_f16(a) * _f16(b)).view(np.uint16)
    assert_fp16_equal(fp16_mul(a, b), want)


@pytest.mark.parametrize(
    ("a", "b", "want"),
    [
        (0x7C00, 0xFC00, CANONICAL_NAN),  # inf - inf
        (0x7C01, 0x3C00, CANONICAL_NAN),  # signalling NaN in, canonical quiet NaN out
        (0xFFFF, 0x7C00, CANONICAL_NAN),
        (0x8000, 0x8000, 0x8000),  # (-0) + (-0) = -0
        (0x0000, 0x8000, 0x0000),  # (+0) + (-0) = +0
        (0x3C00, 0xBC00, 0x0000),  # x - x = +0
        (0x0001, 0x8001, 0x0000),
        (0x03FF, 0x0001, 0x0400),  # largest subnormal + smallest: smallest normal
        (0x0400, 0x8001, 0x03FF),  # and back into the subnormals, exactly
        (0x7BFF, 0x4C00, 0x7C00),  # 65504 + 16: a tie, to even = inf
        (0x7BFF, 0x4BFF, 0x7BFF),  # 65504 + (16 - 1/128): below the tie, stays finite
        (0x3C00, 0x1000, 0x3C00),  # 1 + 2**-11: tie, to even (down)
        (0x3C01, 0x1000, 0x3C02),  # (1 + 2**-10) + 2**-11: tie, to even (up)
        (0x3C00, 0x8001, 0x3C00),  # 1 - 2**-24 rounds back to 1 (the gap below 1 is 2**-11)
        (0x3C00, 0x8C00, 0x3C00),  # 1 - 2**-12: a tie between 1 - 2**-11 (odd) and 1 (even)
        (0x3C00, 0x8C01, 0x3BFF),  # 1 - 2**-12 - 2**-22: just below the tie (sticky bit)
    ],
)
def test_add_special_cases(a, b, want):
    """Hand-derived results, checked on the golden function and in Amaranth simulation."""
    assert int(fp16_add(np.uint16(a), np.uint16(b))) == want
    assert int(run_amaranth([a], [b], [0])["sum"][0]) == want


@pytest.mark.parametrize(
    ("x", "s", "want"),
    [
        (0x0001, -1, 0x0000),  # 2**-25: a tie, to even = +0
        (0x8003, -1, 0x8002),  # -1.5 * 2**-24: a tie, to even (-2 * 2**-24)
        (0x0003, -2, 0x0001),  # 0.75 * 2**-24: above half, rounds up
        (0x0001, 24, 0x3C00),  # smallest subnormal to one
        (0x3C00, -24, 0x0001),
        (0x3C00, 16, 0x7C00),  # overflow to inf
        (0xBC00, 15, 0xF800),  # -32768, the largest power of two
        (0x07FF, -1, 0x0400),  # subnormal result that rounds up to the smallest normal
        (0x8000, 5, 0x8000),  # zero keeps its sign
        (0xFC00, -31, 0xFC00),  # infinity stays
        (0x7D00, 1, CANONICAL_NAN),
    ],
)
def test_shift_special_cases(x, s, want):
    assert int(fp16_shift(np.uint16(x), s)) == want
    assert int(run_amaranth([x], [0], [s])["shifted"][0]) == want


@pytest.mark.parametrize(
    ("a", "b", "want"),
    [
        (0x7C00, 0x0000, CANONICAL_NAN),  # inf * 0
        (0x8000, 0xFC00, CANONICAL_NAN),
        (0xFC00, 0xBC00, 0x7C00),  # -inf * -1
        (0x8000, 0x3C00, 0x8000),  # -0 * 1 = -0
        (0x0001, 0x0001, 0x0000),  # 2**-48 underflows to +0
        (0x8001, 0x3800, 0x8000),  # -2**-25: a tie, to even = -0
        (0x0003, 0x3800, 0x0002),  # 1.5 * 2**-24: a tie, to even
        (0x0001, 0x6C00, 0x0C00),  # subnormal * 2**12 = 2**-12, normal again
        (0x03FF, 0x3C01, 0x0400),  # a subnormal product rounding up to the smallest normal
        (0x5C00, 0x5C00, 0x7C00),  # 256**2 overflows
        (0x5BFF, 0x5BFF, 0x7BFE),  # 255.875**2 = 65472.02 does not
        (0x3E00, 0x3E00, 0x4080),  # 1.5 * 1.5 = 2.25, exact
    ],
)
def test_mul_special_cases(a, b, want):
    assert int(fp16_mul(np.uint16(a), np.uint16(b))) == want
    assert int(run_amaranth([a], [b], [0])["prod"][0]) == want


def test_golden_rejects_float_operands():
    with pytest.raises(TypeError, match="uint16 bit patterns or float16"):
        fp16_add(np.array([1.0]), np.array([2.0]))
    with pytest.raises(TypeError, match="shift must be an integer"):
        fp16_shift(np.uint16(0x3C00), 1.0)


def test_shift_bits_checked():
    with pytest.raises(ConfigError, match="shift_bits: must be >= 2, not 1"):
        Fp16ExpShift(shift_bits=1)


# --- RTL ---------------------------------------------------------------------------------
def test_amaranth_matches_golden(vectors):
    """A few hundred vectors of every kind in Amaranth's simulator (no build)."""
    a, b, s = vectors
    idx = np.concatenate([np.arange(0, N_RANDOM, N_RANDOM // 200), np.arange(N_RANDOM, a.size, 5)])
    got = run_amaranth(a[idx], b[idx], s[idx])
    np.testing.assert_array_equal(got["sum"], fp16_add(a[idx], b[idx]))
    np.testing.assert_array_equal(got["shifted"], fp16_shift(a[idx], s[idx]))
    np.testing.assert_array_equal(got["prod"], fp16_mul(a[idx], b[idx]))


def test_components_have_documented_ports():
    add, shift, mul = Fp16Adder(), Fp16ExpShift(4), Fp16Multiplier()
    assert set(add.signature.members) == set(mul.signature.members) == {"a", "b", "o"}
    assert set(shift.signature.members) == {"x", "s", "o"}
    assert shift.s.shape().signed and shift.s.shape().width == 4
    from amaranth.back import verilog  # elaborating them also uses them

    assert "module fp16_add" in verilog.convert(add, name="fp16_add")
    assert "module fp16_shift" in verilog.convert(shift, name="fp16_shift")
    assert "module fp16_mul" in verilog.convert(mul, name="fp16_mul")


@pytest.mark.rtl
def test_verilator_matches_golden(vectors):
    """10**6 random vectors plus every special pair, bit for bit (NaNs canonical)."""
    a, b, s = vectors
    got = run_verilator(a, b, s)
    np.testing.assert_array_equal(got["sum"], fp16_add(a, b))
    np.testing.assert_array_equal(got["shifted"], fp16_shift(a, s))
    np.testing.assert_array_equal(got["prod"], fp16_mul(a, b))


@pytest.mark.rtl
def test_verilator_shift_exhaustive():
    """Every input value under every shift the port holds (2**16 x 64 vectors)."""
    shifts = np.arange(-(1 << (SHIFT_BITS - 1)), 1 << (SHIFT_BITS - 1))
    x = np.tile(ALL, shifts.size)
    s = np.repeat(shifts, ALL.size)
    got = run_verilator(x, x, s)
    np.testing.assert_array_equal(got["shifted"], fp16_shift(x, s))
    assert_fp16_equal(got["shifted"], _numpy_shift(x, s))
