"""Check the FP16 units in RTL: one combinational test top, two simulators.

:class:`Fp16Bench` puts an :class:`~hwsim.blocks.fp16.Fp16Adder`, an
:class:`~hwsim.blocks.fp16.Fp16ExpShift` and an :class:`~hwsim.blocks.fp16.Fp16Multiplier`
side by side on shared inputs (``a``, ``b``, ``s``), so one Verilator build and one pass
over a vector file checks all three: ``sum = a + b``, ``shifted = a * 2**s`` and
``prod = a * b``.

* :func:`run_verilator` -- the Verilog from ``amaranth.back.verilog``, built once per
  content hash with a vector-file driver (:mod:`hwsim.blocks.verilate`); about a
  microsecond per vector.
* :func:`run_amaranth` -- Amaranth's simulator, no build, for a few hundred vectors.

Both return ``{"sum": ..., "shifted": ..., "prod": ...}`` (uint16 arrays).
"""

import functools

import numpy as np
from amaranth.hdl import Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwsim.blocks.fp16 import Fp16Adder, Fp16ExpShift, Fp16Multiplier

TOP = "fp16_bench"
#: Width of the bench's shift port (shifts -32..31).
SHIFT_BITS = 6
OUTPUTS = ("sum", "shifted", "prod")


class Fp16Bench(wiring.Component):
    """Test top: ``sum = a + b``, ``shifted = a * 2**s``, ``prod = a * b`` (combinational).

    Parameters
    ----------
    shift_bits : int
        Width of the signed shift port.
    """

    def __init__(self, shift_bits: int = SHIFT_BITS):
        self.shift_bits = shift_bits
        super().__init__({"a": In(16), "b": In(16), "s": In(signed(shift_bits)),
                          "sum": Out(16), "shifted": Out(16), "prod": Out(16)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.add = add = Fp16Adder()
        m.submodules.shift = shift = Fp16ExpShift(self.shift_bits)
        m.submodules.mul = mul = Fp16Multiplier()
        m.d.comb += [
            add.a.eq(self.a), add.b.eq(self.b), self.sum.eq(add.o),
            shift.x.eq(self.a), shift.s.eq(self.s), self.shifted.eq(shift.o),
            mul.a.eq(self.a), mul.b.eq(self.b), self.prod.eq(mul.o),
        ]
        return m


@functools.lru_cache(maxsize=4)
def verilog_text(shift_bits: int = SHIFT_BITS) -> str:
    """Verilog of :class:`Fp16Bench` (converted once per process)."""
    from amaranth.back import verilog

    return verilog.convert(Fp16Bench(shift_bits), name=TOP)


def _check(a, b, s, shift_bits: int):
    a, b, s = (np.asarray(v).ravel() for v in (a, b, s))
    if not (a.size == b.size == s.size):
        raise ValueError(f"a, b and s need one length, not {a.size}, {b.size}, {s.size}")
    lo, hi = -(1 << (shift_bits - 1)), (1 << (shift_bits - 1)) - 1
    if s.size and (s.min() < lo or s.max() > hi):
        raise ValueError(f"shifts must lie in [{lo}, {hi}]")
    return a.astype(np.int64) & 0xFFFF, b.astype(np.int64) & 0xFFFF, s.astype(np.int64)


def run_verilator(a, b, s, shift_bits: int = SHIFT_BITS) -> dict:
    """Evaluate the Verilated :class:`Fp16Bench` on vectors ``(a[i], b[i], s[i])``."""
    from hwsim.blocks.verilate import build_vector_sim, run_vectors

    a, b, s = _check(a, b, s, shift_bits)
    exe = build_vector_sim(verilog_text(shift_bits), TOP, {"a": 16, "b": 16, "s": shift_bits},
                           {name: 16 for name in OUTPUTS}, name=TOP)
    outs = run_vectors(exe, [a, b, s], len(OUTPUTS))
    return {name: o.astype(np.uint16) for name, o in zip(OUTPUTS, outs)}


def run_amaranth(a, b, s, shift_bits: int = SHIFT_BITS) -> dict:
    """Evaluate :class:`Fp16Bench` in Amaranth's simulator (slow: keep to hundreds)."""
    from amaranth.sim import Simulator

    a, b, s = _check(a, b, s, shift_bits)
    dut = Fp16Bench(shift_bits)
    res = {name: np.zeros(a.size, dtype=np.uint16) for name in OUTPUTS}

    async def bench(ctx):
        for i in range(a.size):
            ctx.set(dut.a, int(a[i]))
            ctx.set(dut.b, int(b[i]))
            ctx.set(dut.s, int(s[i]))
            res["sum"][i] = ctx.get(dut.sum)
            res["shifted"][i] = ctx.get(dut.shifted)
            res["prod"][i] = ctx.get(dut.prod)

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    return res


#: Bit patterns every check includes, all pairs of them: zeros of both signs, the
#: smallest and largest subnormals, the smallest normal, one, the largest finite value,
#: infinities and NaNs (quiet, signalling, negative, with payload).
SPECIAL_VALUES = (0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x83FF, 0x0400, 0x8400, 0x3C00,
                  0xBC00, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x7E00, 0x7C01, 0xFE00, 0xFFFF)


def special_pairs() -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair of :data:`SPECIAL_VALUES`, as ``(a, b)`` uint16 arrays."""
    v = np.array(SPECIAL_VALUES, dtype=np.uint16)
    a, b = np.meshgrid(v, v, indexing="ij")
    return a.ravel(), b.ravel()


def random_vectors(rng: np.random.Generator, n: int, shift_bits: int = SHIFT_BITS):
    """``n`` vectors ``(a, b, s)`` mixing the cases that stress a binary16 adder.

    A quarter each: uniform bit patterns; operands of nearby exponents (``b`` is ``a``
    with its low 12 bits and sign scrambled: cancellation, ties, carries); small
    operands (exponent field 0..2: subnormal inputs and results); one uniform and one
    small operand. Shifts are uniform over the port's range.
    """
    q = n // 4
    a = rng.integers(0, 1 << 16, n)
    b = rng.integers(0, 1 << 16, n)
    b[q:2 * q] = a[q:2 * q] ^ rng.integers(0, 1 << 12, q) ^ (rng.integers(0, 2, q) << 15)
    small = lambda k: rng.integers(0, 3 << 10, k) | (rng.integers(0, 2, k) << 15)  # noqa: E731
    a[2 * q:3 * q] = small(q)
    b[2 * q:] = small(n - 2 * q)
    s = rng.integers(-(1 << (shift_bits - 1)), 1 << (shift_bits - 1), n)
    return a.astype(np.uint16), b.astype(np.uint16), s


__all__ = ["Fp16Bench", "OUTPUTS", "SHIFT_BITS", "SPECIAL_VALUES", "TOP", "random_vectors",
           "run_amaranth", "run_verilator", "special_pairs", "verilog_text"]
