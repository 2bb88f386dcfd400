"""The per-group dequantisation stage of MixPE in RTL, verified bit for bit.

:class:`GroupDequant` is the arithmetic that follows the array for every output element
and quantisation group, in golden's order (:mod:`hwsim.families.mixpe.golden`), all in
IEEE binary32 with the units of :mod:`hwsim.blocks.float_rtl`::

    y = f32(s) * f32(P)
    y = y - (f32(s) * f32(z)) * f32(S)        (with a zero point; run-time input zp)
    C = y                       (first group) or C = C + y   (later groups)

``P`` and ``S`` are the array's per-group sums (two's complement integers of
``lane_bits`` on the INT path, converted exactly; binary16 patterns on the FP16 path),
``s`` the binary16 scale, ``z`` the 4-bit zero point. It is combinational (latency 0)
and a separate stage: it is not wired to the array's result stream, but the family's
Verilator fidelity runs it, Verilated, on the sums the Verilated array drains.

:func:`run_stage` runs it under Verilator (a vector-file driver,
:mod:`hwsim.blocks.verilate`) on the partial sums of a whole GEMM, one group after the
other with ``C`` fed back, and returns the binary32 result, which equals
:func:`~hwsim.families.mixpe.golden.mixpe_gemm` bit for bit (``tests/test_mixpe_dequant_rtl.py``).
"""

from __future__ import annotations

import functools

import numpy as np
from amaranth import Cat, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwsim.blocks.float_rtl import FloatAdder, FloatMultiplier, Fp16ToFp32, IntToFp32
from hwsim.errors import ConfigError, check_choice, check_int

__all__ = ["GroupDequant", "run_stage", "stage_params", "verilog_text"]


class GroupDequant(wiring.Component):
    """One output element's group step (see the module docstring).

    Parameters
    ----------
    act_format : {"int8", "fp16"}
        INT path (``P``, ``S`` are ``lane_bits`` two's complement integers) or FP16 path
        (binary16 patterns in the low 16 bits).
    lane_bits : int
        Width of the ``p`` and ``s_sum`` ports: the INT accumulator (2..25, so that the
        conversion to binary32 is exact) or 16.

    Ports: ``p``, ``s_sum`` (in, ``lane_bits``), ``scale`` (in, 16), ``zero`` (in, 4), ``zp``
    and ``first`` (in, 1), ``c_in`` (in, 32), ``o`` (out, 32).
    """

    def __init__(self, act_format: str, lane_bits: int):
        check_choice("act_format", act_format, ("int8", "fp16"))
        if act_format == "fp16":
            lane_bits = 16
        self.act_format = act_format
        self.lane_bits = check_int("lane_bits", lane_bits, 2, 25)
        super().__init__({"p": In(self.lane_bits), "s_sum": In(self.lane_bits), "scale": In(16), "zero": In(4),
                          "zp": In(1), "first": In(1), "c_in": In(32), "o": Out(32)})

    def _to_f32(self, m, x, name):
        cv = IntToFp32(self.lane_bits) if self.act_format == "int8" else Fp16ToFp32()
        m.submodules[name] = cv
        m.d.comb += cv.x.eq(x)
        return cv.o

    def elaborate(self, platform):
        m = Module()
        p32 = self._to_f32(m, self.p, "cvt_p")
        s32 = self._to_f32(m, self.s_sum, "cvt_s")
        m.submodules.cvt_scale = cs = Fp16ToFp32()
        m.submodules.cvt_zero = cz = IntToFp32(6)
        zero6 = Signal(signed(6))
        m.d.comb += [cs.x.eq(self.scale), zero6.eq(self.zero), cz.x.eq(zero6)]

        def mul(a, b, name):
            u = FloatMultiplier(8, 23)
            m.submodules[name] = u
            m.d.comb += [u.a.eq(a), u.b.eq(b)]
            return u.o

        def add(a, b, name):
            u = FloatAdder(8, 23)
            m.submodules[name] = u
            m.d.comb += [u.a.eq(a), u.b.eq(b)]
            return u.o

        y1 = mul(cs.o, p32, "mul_sp")
        sz = mul(cs.o, cz.o, "mul_sz")  # exact: 11 x 4 significant bits
        t = mul(sz, s32, "mul_szs")
        y2 = add(y1, Cat(t[0:31], ~t[31]), "sub_zs")  # y1 - t
        y = Signal(32)
        m.d.comb += y.eq(Mux(self.zp, y2, y1))
        acc = add(self.c_in, y, "add_c")
        m.d.comb += self.o.eq(Mux(self.first, y, acc))
        return m


def stage_params(cfg) -> tuple[str, int]:
    """``(act_format, lane_bits)`` of the stage that follows ``cfg``'s array."""
    if cfg.datapath != "shift_add":
        raise ConfigError("datapath", "the per-group dequantisation stage follows the shift-and-add array only")
    if cfg.act_format == "fp16":
        return "fp16", 16
    # a group's sums never exceed min_acc_bits (<= 23 bits for groups of up to 1024), so
    # the low 25 bits of a wider lane carry the value exactly
    return "int8", min(cfg.acc_bits, 25)


@functools.lru_cache(maxsize=8)
def verilog_text(act_format: str, lane_bits: int) -> str:
    from amaranth.back import verilog

    return verilog.convert(GroupDequant(act_format, lane_bits), name=_top(act_format, lane_bits), emit_src=False)


def _top(act_format: str, lane_bits: int) -> str:
    return f"mixpe_dequant_{act_format}_{lane_bits}"


def run_stage(cfg, p, s, s16, z) -> np.ndarray:
    """Run the Verilated stage over every group of a GEMM's partial sums.

    ``p`` (``G x M x N``) and ``s`` (``G x M x 1``): the array's sums (integers, or binary16
    patterns); ``s16`` (``G x N``) binary16 scales; ``z`` (``G x N``) zero points (zeros
    without a zero point). Returns the ``M x N`` binary32 result as ``float32``.
    """
    from hwsim.blocks.verilate import build_vector_sim, run_vectors

    fmt, lane = stage_params(cfg)
    top = _top(fmt, lane)
    exe = build_vector_sim(verilog_text(fmt, lane), top,
                           {"p": lane, "s_sum": lane, "scale": 16, "zero": 4, "zp": 1, "first": 1, "c_in": 32},
                           {"o": 32}, name=top)
    p = np.asarray(p, dtype=np.int64)
    s = np.asarray(s, dtype=np.int64)
    if fmt == "int8" and p.size and max(np.abs(p).max(), np.abs(s).max()) >= 1 << 24:
        raise ConfigError("P", "a group's sum exceeds 24 bits: the stage converts it exactly only below that")
    g_n, m, n = p.shape
    scale = np.asarray(s16, dtype=np.float16).view(np.uint16).astype(np.int64)
    z = np.asarray(z, dtype=np.int64)
    c = np.zeros(m * n, dtype=np.int64)
    ones = np.ones(m * n, dtype=np.int64)
    for g in range(g_n):
        ins = [p[g].ravel(), np.broadcast_to(s[g], (m, n)).ravel(), np.broadcast_to(scale[g], (m, n)).ravel(),
               np.broadcast_to(z[g], (m, n)).ravel(), ones * int(cfg.zero_point), ones * int(g == 0), c]
        (c,) = run_vectors(exe, ins, 1)
        c = np.asarray(c, dtype=np.int64)
    return c.astype(np.uint32).view(np.float32).reshape(m, n)
