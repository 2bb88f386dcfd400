"""The binary32 units of :mod:`hwsim.blocks.float_rtl` and MixPE's per-group
dequantisation stage in RTL (:mod:`hwsim.families.mixpe.dequant_rtl`), under Verilator.

The units are checked bit for bit against numpy ``float32`` (and, at the binary16
format, against :mod:`hwsim.blocks.fp16`) on 2 x 10**5 vectors weighted towards
cancellation and subnormals; the stage, fed the cycle-level model's per-group sums
group after group, must give :func:`~hwsim.families.mixpe.golden.mixpe_gemm`'s result
bit for bit.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from hwsim.families.mixpe.config import MixpeConfig

pytestmark = [pytest.mark.rtl]

N_VECTORS = 200_000


@functools.lru_cache(maxsize=1)
def _bench():
    from amaranth import Module, signed
    from amaranth.back import verilog
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    from hwsim.blocks.float_rtl import FloatAdder, FloatMultiplier, Fp16ToFp32, IntToFp32
    from hwsim.blocks.verilate import build_vector_sim

    class Bench(wiring.Component):
        def __init__(self):
            super().__init__({"a": In(32), "b": In(32), "h": In(16), "i": In(signed(25)), "h2": In(16),
                              "sum": Out(32), "prod": Out(32), "cvt": Out(32), "icvt": Out(32),
                              "s16": Out(16), "p16": Out(16)})

        def elaborate(self, platform):
            m = Module()
            m.submodules.add = add = FloatAdder(8, 23)
            m.submodules.mul = mul = FloatMultiplier(8, 23)
            m.submodules.cvt = cvt = Fp16ToFp32()
            m.submodules.icvt = icvt = IntToFp32(25)
            m.submodules.add16 = a16 = FloatAdder(5, 10)
            m.submodules.mul16 = m16 = FloatMultiplier(5, 10)
            m.d.comb += [add.a.eq(self.a), add.b.eq(self.b), self.sum.eq(add.o),
                         mul.a.eq(self.a), mul.b.eq(self.b), self.prod.eq(mul.o),
                         cvt.x.eq(self.h), self.cvt.eq(cvt.o), icvt.x.eq(self.i), self.icvt.eq(icvt.o),
                         a16.a.eq(self.h), a16.b.eq(self.h2), self.s16.eq(a16.o),
                         m16.a.eq(self.h), m16.b.eq(self.h2), self.p16.eq(m16.o)]
            return m

    v = verilog.convert(Bench(), name="float_units_bench", emit_src=False)
    return build_vector_sim(v, "float_units_bench", {"a": 32, "b": 32, "h": 16, "i": 25, "h2": 16},
                            {"sum": 32, "prod": 32, "cvt": 32, "icvt": 32, "s16": 16, "p16": 16},
                            name="float_units_bench")


def _vectors(rng, n):
    def f32(k):
        x = rng.integers(0, 1 << 32, k, dtype=np.uint64)
        q = k // 4  # a quarter with tiny exponents: subnormal inputs and results
        x[q:2 * q] = (x[q:2 * q] & 0x80FFFFFF) | (rng.integers(0, 3, q, dtype=np.uint64) << 23)
        return x
    a, b = f32(n), f32(n)
    h = n // 2  # a quarter of close pairs: cancellation, ties, carries
    b[h:h + n // 4] = (a[h:h + n // 4] ^ rng.integers(0, 1 << 26, n // 4, dtype=np.uint64)
                       ^ (rng.integers(0, 2, n // 4, dtype=np.uint64) << 31))
    specials = np.array([0, 0x80000000, 1, 0x807FFFFF, 0x00800000, 0x3F800000, 0x7F7FFFFF, 0xFF7FFFFF,
                         0x7F800000, 0xFF800000, 0x7FC00000, 0x7F800001], dtype=np.uint64)
    sa, sb = np.meshgrid(specials, specials)
    a[:sa.size], b[:sb.size] = sa.ravel(), sb.ravel()
    return a.astype(np.int64), b.astype(np.int64)


def _same(got, ref_bits, nan_ref):
    got = np.asarray(got).astype(np.uint32)
    return (got == ref_bits) | (nan_ref & (got == 0x7FC00000))


@pytest.mark.slow
def test_float_units_bit_exact():
    from hwsim.blocks.fp16 import fp16_add, fp16_mul
    from hwsim.blocks.verilate import run_vectors

    rng = np.random.default_rng(0)
    a, b = _vectors(rng, N_VECTORS)
    h, h2 = rng.integers(0, 1 << 16, N_VECTORS), rng.integers(0, 1 << 16, N_VECTORS)
    i = rng.integers(-(1 << 24), 1 << 24, N_VECTORS)
    i[:4] = [0, -(1 << 24), (1 << 24) - 1, -1]
    s, p, cvt, icvt, s16, p16 = run_vectors(_bench(), [a, b, h, i, h2], 6)
    af, bf = a.astype(np.uint32).view(np.float32), b.astype(np.uint32).view(np.float32)
    with np.errstate(all="ignore"):
        rs, rp = af + bf, af * bf
    assert _same(s, rs.view(np.uint32), np.isnan(rs)).all()
    assert _same(p, rp.view(np.uint32), np.isnan(rp)).all()
    hv = h.astype(np.uint16).view(np.float16).astype(np.float32)
    assert _same(cvt, hv.view(np.uint32), np.isnan(hv)).all()
    assert (np.asarray(icvt).astype(np.uint32) == i.astype(np.float32).view(np.uint32)).all()
    assert (np.asarray(s16) == fp16_add(h, h2)).all()
    assert (np.asarray(p16) == fp16_mul(h, h2)).all()


@pytest.mark.slow
@pytest.mark.parametrize("design", [
    dict(act_format="int8", w_bits=4, zero_point=True, acc_bits=20),
    dict(act_format="int8", w_bits=3, zero_point=False, acc_bits=20),
    dict(act_format="int8", w_bits=4, zero_point=True, acc_bits=32),  # lane wider than the stage's 25 bits
    dict(act_format="fp16", w_bits=4, zero_point=True),
    dict(act_format="fp16", w_bits=2, zero_point=False),
])
def test_stage_equals_golden(design):
    from hwsim.families.mixpe.cyclesim import simulate_partials
    from hwsim.families.mixpe.dequant_rtl import run_stage
    from hwsim.families.mixpe.family import FAMILY, padded_job, stimulus

    cfg = MixpeConfig(group_size=16, rows=3, cols=4, **design)
    rng = np.random.default_rng(5)
    for shape in [(5, 61, 7), (1, 16, 1)]:
        job = stimulus(cfg, shape, rng)
        a, wq, s16, z = padded_job(cfg, job)
        p, s, _ = simulate_partials(cfg, a, wq)
        c = run_stage(cfg, p, s, s16, z)
        assert np.array_equal(c.view(np.uint32), FAMILY.golden(cfg, job))
