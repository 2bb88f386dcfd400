"""Bit-exact result of the LUT tile and of its MAC baseline on FP16 (IEEE binary16) activations.

Every value is a binary16 bit pattern (int64 holding ``0..0xFFFF``); every addition is
:func:`hwsim.blocks.fp16.fp16_add` (round to nearest even, once per add), every multiply
:func:`~hwsim.blocks.fp16.fp16_mul`, every power-of-two scaling
:func:`~hwsim.blocks.fp16.fp16_shift` (an exponent add: exact unless the result leaves the
normal range). A negation flips the sign bit (exact). These are the functions the
Amaranth units :class:`~hwsim.blocks.fp16.Fp16Adder`, :class:`~hwsim.blocks.fp16.Fp16Multiplier`
and :class:`~hwsim.blocks.fp16.Fp16ExpShift` are verified against, and the RTL
(:mod:`hwsim.families.lut.hdl_fp16`) applies them in exactly this order.

The GEMM is computed on the feeder's padded operands: K padded with ``+0`` activations (and
weight code 0, or an all-zero dequantiser lane for the MAC tile) up to a multiple of
``tile_k``, in K steps of ``tile_k``. Padding is not neutral in floating point only through
the sign of zero (``-0 + +0 = +0``), which is why it is modelled.

LUT tile, order of operations
-----------------------------
Per row ``m`` and K step ``s``, for every group ``j`` of ``k_group`` activations
``a_0 .. a_{k-1}`` and every stored pattern ``p`` (``p < 2**(k-1)`` for the symmetric
table), the **table entry** is the left-to-right chain

    ``T[p] = (((+/-a_0) + (+/-a_1)) + (+/-a_2)) + ...``   (``+a_i`` where bit ``i`` of ``p`` is 1)

with one rounding per add (``k_group - 1`` adds). The symmetric table negates a stored
entry for patterns whose top bit is 1 (``T[~p] = -T[p]`` holds exactly under round to
nearest even, up to the sign of a zero).

Per output ``(m, n)`` the step's weight codes are read one bit plane ``b`` at a time,
``b = 0 .. w_bits - 1``. For plane ``b`` the looked-up entries of the step's groups are
summed left to right (``v = ((v_0 + v_1) + v_2) + ...``), scaled by ``2**b`` with the
exponent-shift unit, and added to the accumulator:

    ``acc = acc + shift(v, b)``        (``acc = +0`` at the start of each output block)

Steps are taken in ascending K, planes in ascending ``b``. After all planes
``acc ~= A @ W_sym`` with ``W_sym = 2q - (2**w_bits - 1)``.

Row sums (signed and unsigned weight modes): entry 0 of a table is ``-(sum of the
group)``, so per step ``r = (-T_0[0]) + (-T_1[0]) + ...`` (groups left to right) and
``rowsum = rowsum + r`` (``rowsum = +0`` at the start of each block). The output stage:

* ``symmetric``: ``out = acc``
* ``signed`` (``w = q - 2**(B-1)``): ``out = shift(acc + (-rowsum), -1)``
* ``unsigned`` (``w = q``): ``c = shift(rowsum, B) + (-rowsum)``; ``out = shift(acc + c, -1)``

MAC baseline (dequantise, then multiply-accumulate)
---------------------------------------------------
Each weight is dequantised on its own by MixPE's dequantiser
(:class:`hwsim.blocks.fp16.Fp16Dequantiser`): ``w = fp16_mul(s, fp16(v))`` where
``v`` is the weight's integer value (exact in binary16) and ``s`` the binary16 scale of its
quantisation group (``1.0`` when the job gives no scales). Then, per output,
``acc = acc + a_k * w_k`` (``fp16_mul`` then ``fp16_add``) for ``k`` ascending over the
padded K, from ``acc = +0``: the order of the systolic family's binary16 ``os`` PE.

The dequantiser's lane holds a 4-bit code and a 4-bit zero point: unsigned codes travel
as they are, signed and symmetric weights as their 4-bit two's complement value, so
symmetric 4-bit weights (odd values up to +/-15) do not fit it and are refused.

Results are ``uint16`` bit patterns (``.view(np.float16)`` gives the values);
:func:`reference_gemm` is the float64 ``A @ W`` they approximate.
"""

from __future__ import annotations

import numpy as np

from hwsim.blocks.fp16 import fp16_add, fp16_mul, fp16_shift
from hwsim.errors import ConfigError
from hwsim.families.lut.config import LutConfig
from hwsim.families.lut.golden import bit_planes, lookup, pattern_signs, weight_values

SIGN = 0x8000
#: Unit roundoff of binary16 (round to nearest).
U_FP16 = 2.0**-11
#: Largest absolute error of one rounding in the subnormal range (half its spacing).
SUBNORMAL_HALF_ULP = 2.0**-25
#: binary16 ``1.0``: the MAC tile's scale when a job gives none.
ONE = 0x3C00

__all__ = ["ONE", "U_FP16", "error_bound", "error_stats", "fp16_patterns", "golden_fp16_gemm", "lookup_fp16", "mac_fp16_gemm", "mac_lanes",
           "lut_fp16_gemm", "reference_gemm", "step_tables", "values"]


# --- operands -----------------------------------------------------------------------------
def fp16_patterns(key: str, x) -> np.ndarray:
    """Binary16 bit patterns (int64) of ``x``: floating-point values (rounded to binary16)
    or ``uint16`` bit patterns."""
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.floating) and x.dtype != np.float16:
        x = x.astype(np.float16)  # rounded to binary16 on entry (the stored format)
    if x.dtype == np.float16:
        return x.view(np.uint16).astype(np.int64)
    if x.dtype == np.uint16:
        return x.astype(np.int64)
    if x.size == 0 or (np.issubdtype(x.dtype, np.integer) and x.min() >= 0 and x.max() <= 0xFFFF):
        return x.astype(np.int64)
    raise ConfigError(key, f"must be float16 values or binary16 bit patterns (uint16), not {x.dtype}")


def values(c) -> np.ndarray:
    """float64 values of binary16 patterns."""
    return np.asarray(c).astype(np.uint16).view(np.float16).astype(np.float64)


def _check(cfg: LutConfig, a, q):
    if cfg.act_format != "fp16":
        raise ConfigError("act_format", f"the FP16 golden model needs act_format 'fp16', not {cfg.act_format!r}")
    a = fp16_patterns("A", a)
    q = np.asarray(q, dtype=np.int64)
    if a.ndim != 2 or q.ndim != 2:
        raise ConfigError("operands", f"A and W must be 2-D, got {a.ndim}-D and {q.ndim}-D")
    if a.shape[1] != q.shape[0]:
        raise ConfigError("operands", f"inner dimensions differ: A is {a.shape}, W is {q.shape}")
    if q.size and (q.min() < 0 or q.max() >= (1 << cfg.w_bits)):
        raise ConfigError("W", f"codes [{q.min()}, {q.max()}] do not fit {cfg.w_bits} bits")
    return a, q


def _pad_k(cfg: LutConfig, a: np.ndarray, w: np.ndarray):
    """Pad K with ``+0`` activations and zero weight entries to a multiple of ``tile_k``."""
    k = a.shape[1]
    kp = -(-k // cfg.tile_k) * cfg.tile_k
    a_p = np.zeros((a.shape[0], kp), dtype=np.int64)
    a_p[:, :k] = a
    w_p = np.zeros((kp, w.shape[1]), dtype=np.int64)
    w_p[:k] = w
    return a_p, w_p


def _chain(x: np.ndarray, axis: int) -> np.ndarray:
    """Left-to-right binary16 sum along ``axis`` (one rounding per add)."""
    x = np.moveaxis(x, axis, 0)
    out = x[0].astype(np.int64)
    for t in x[1:]:
        out = fp16_add(out, t).astype(np.int64)
    return out


# --- LUT tile ------------------------------------------------------------------------------
def step_tables(cfg: LutConfig, a_groups: np.ndarray) -> np.ndarray:
    """Stored table entries ``[..., table_entries]`` of activation groups ``[..., k_group]``
    (binary16 patterns), each the left-to-right chain of the signed activations."""
    a_groups = np.asarray(a_groups, dtype=np.int64)
    signs = pattern_signs(cfg.k_group)[: cfg.table_entries]  # (E, k) of +/-1
    terms = np.where(signs > 0, a_groups[..., None, :], a_groups[..., None, :] ^ SIGN)  # (..., E, k)
    return _chain(terms, -1)


def lookup_fp16(cfg: LutConfig, tables: np.ndarray, patterns: np.ndarray) -> np.ndarray:
    """Entry of each ``k_group``-bit pattern; the symmetric table flips the sign bit for
    patterns whose top bit is 1. ``tables[..., E]`` broadcasts against ``patterns``."""
    return lookup(cfg, tables, patterns, neg=lambda v: v ^ SIGN)


def step_rowsum(tables: np.ndarray) -> np.ndarray:
    """A step's row sum from its tables ``[tile_m, groups, E]``: ``(-T_0[0]) + (-T_1[0]) + ...``."""
    return _chain(tables[:, :, 0] ^ SIGN, 1)


def plane_contribution(cfg: LutConfig, tables: np.ndarray, patterns: np.ndarray, plane: int) -> np.ndarray:
    """``shift(v_0 + v_1 + ..., plane)`` for every output of the tile: ``tables[tm, G, E]``,
    ``patterns[G, tn]`` (the plane's ``k_group``-bit patterns of each group and column)."""
    vals = lookup_fp16(cfg, tables[:, :, None, :], patterns[None, :, :])  # (tm, G, tn)
    return fp16_shift(_chain(vals, 1), plane).astype(np.int64)


def finalize(cfg: LutConfig, acc: np.ndarray, rowsum: np.ndarray) -> np.ndarray:
    """The output stage (weight-mode correction and the halving shift)."""
    if cfg.weight_mode == "symmetric":
        return acc
    rs = np.asarray(rowsum, dtype=np.int64)[:, None]
    if cfg.weight_mode == "signed":
        corr = rs ^ SIGN
    else:
        corr = fp16_add(fp16_shift(rs, cfg.w_bits), rs ^ SIGN).astype(np.int64)
    return fp16_shift(fp16_add(acc, corr), -1).astype(np.int64)


def plane_patterns(cfg: LutConfig, q_step: np.ndarray) -> list[np.ndarray]:
    """Per bit plane, the ``k_group``-bit pattern of each group and column of one step's
    codes ``q_step[tile_k, tile_n]``: a list of ``[groups, tile_n]`` arrays."""
    pw = 1 << np.arange(cfg.k_group)
    g = cfg.tables_per_row
    return [(pl.reshape(g, cfg.k_group, -1) * pw[None, :, None]).sum(axis=1) for pl in bit_planes(cfg, q_step)]


def lut_fp16_gemm(cfg: LutConfig, a, q) -> np.ndarray:
    """``A @ W`` as the LUT tile computes it on binary16 activations ``a`` (M, K) and weight
    codes ``q`` (K, N); ``uint16`` patterns (M, N). See the module docstring for the order.

    Examples
    --------
    >>> cfg = LutConfig(act_format="fp16", w_bits=2, weight_mode="signed", tile_n=8)
    >>> a = np.float16([[1.5, -2.0, 0.25, 4.0]])
    >>> q = np.array([[3], [0], [1], [2]])  # weights 1, -2, -1, 0
    >>> lut_fp16_gemm(cfg, a, q).view(np.float16).tolist()
    [[5.25]]
    """
    a, q = _check(cfg, a, q)
    m, n = a.shape[0], q.shape[1]
    a_p, q_p = _pad_k(cfg, a, q)
    tk, g, k = cfg.tile_k, cfg.tables_per_row, cfg.k_group
    acc = np.zeros((m, n), dtype=np.int64)
    rowsum = np.zeros(m, dtype=np.int64)
    for s in range(a_p.shape[1] // tk):
        tables = step_tables(cfg, a_p[:, s * tk:(s + 1) * tk].reshape(m, g, k))  # (M, G, E)
        rowsum = fp16_add(rowsum, step_rowsum(tables)).astype(np.int64)
        for b, pat in enumerate(plane_patterns(cfg, q_p[s * tk:(s + 1) * tk])):
            acc = fp16_add(acc, plane_contribution(cfg, tables, pat, b)).astype(np.int64)
    return finalize(cfg, acc, rowsum).astype(np.uint16)


# --- MAC baseline --------------------------------------------------------------------------
def mac_lanes(cfg: LutConfig, q, scales=None, group_size: int | None = None) -> np.ndarray:
    """Dequantiser lanes ``[K, N]`` of weight codes ``q``: bits 0..3 the 4-bit code (the
    weight value's two's complement for signed and symmetric weights, the code itself for
    unsigned), bits 4..7 the zero point (0), bits 8..23 the binary16 scale of the weight's
    group (``scales[k // group_size, n]``; 1.0 without scales)."""
    q = np.asarray(q, dtype=np.int64)
    w = weight_values(cfg, q)
    if cfg.weight_mode == "unsigned":
        code = q
    else:
        if w.size and (w.min() < -8 or w.max() > 7):
            raise ConfigError("weight_mode", f"{cfg.w_bits}-bit {cfg.weight_mode} weights (values "
                              f"{cfg.w_range[0]}..{cfg.w_range[1]}) do not fit the FP16 MAC tile's "
                              "4-bit two's complement dequantiser lane")
        code = w & 0xF
    if scales is None:
        if group_size is not None:
            raise ConfigError("group_size", "is given without scales")
        s = np.full(q.shape, ONE, dtype=np.int64)
    else:
        if isinstance(group_size, bool) or not isinstance(group_size, (int, np.integer)) or group_size < 1:
            raise ConfigError("group_size", f"must be a positive integer with scales, not {group_size!r}")
        sc = fp16_patterns("scales", scales)
        groups = -(-q.shape[0] // int(group_size))
        if sc.shape != (groups, q.shape[1]):
            raise ConfigError("scales", f"shape must be {(groups, q.shape[1])}, not {sc.shape}")
        s = sc[np.arange(q.shape[0]) // int(group_size)]
    return code | (s << 8)


def dequantise(lanes: np.ndarray, signed_codes: bool) -> np.ndarray:
    """``fp16_mul(scale, fp16(code - zero))`` of each lane (the dequantiser's arithmetic)."""
    lanes = np.asarray(lanes, dtype=np.int64)
    code = lanes & 0xF
    if signed_codes:
        code = np.where(code >= 8, code - 16, code)
    v = (code - ((lanes >> 4) & 0xF)).astype(np.float16).view(np.uint16).astype(np.int64)
    return fp16_mul(lanes >> 8, v).astype(np.int64)


def mac_step(acc: np.ndarray, a_step: np.ndarray, w_step: np.ndarray) -> np.ndarray:
    """``acc[tm, tn]`` after one K step: ``acc = acc + a_i * w_i`` for ``i`` ascending."""
    for i in range(a_step.shape[1]):
        acc = fp16_add(acc, fp16_mul(a_step[:, i:i + 1], w_step[i][None, :])).astype(np.int64)
    return acc


def mac_fp16_gemm(cfg: LutConfig, a, q, scales=None, group_size: int | None = None) -> np.ndarray:
    """``A @ (s * W)`` as the FP16 MAC baseline tile computes it (``uint16`` patterns)."""
    a, q = _check(cfg, a, q)
    lanes = mac_lanes(cfg, q, scales, group_size)
    a_p, l_p = _pad_k(cfg, a, lanes)
    w = dequantise(l_p, cfg.weight_mode != "unsigned")
    return mac_step(np.zeros((a.shape[0], q.shape[1]), dtype=np.int64), a_p, w).astype(np.uint16)


def golden_fp16_gemm(cfg: LutConfig, a, q, scales=None, group_size: int | None = None) -> np.ndarray:
    """:func:`lut_fp16_gemm` or :func:`mac_fp16_gemm` by ``cfg.core`` (the LUT tile takes no
    scales: it computes the unscaled sums a per-group rescale stage would take)."""
    if cfg.core == "lut":
        if scales is not None or group_size is not None:
            raise ConfigError("scales", "the LUT tile computes unscaled sums; only the MAC baseline takes "
                              "per-group scales")
        return lut_fp16_gemm(cfg, a, q)
    return mac_fp16_gemm(cfg, a, q, scales, group_size)


def reference_gemm(cfg: LutConfig, a, q, scales=None, group_size: int | None = None) -> np.ndarray:
    """float64 ``A @ (s * W)`` of the same operands (binary16 activations and scales)."""
    a, q = _check(cfg, a, q)
    w = weight_values(cfg, q).astype(np.float64)
    if scales is not None:
        s = values(fp16_patterns("scales", scales))
        w = w * s[np.arange(q.shape[0]) // int(group_size)]
    return values(a) @ w


def _gamma(n) -> np.ndarray:
    """``n u / (1 - n u)``; infinite (no bound) once ``n u >= 1``, i.e. past 2048 roundings."""
    nu = np.asarray(n, dtype=np.float64) * U_FP16
    return np.where(nu < 1, nu / np.maximum(1 - nu, 1e-300), np.inf)


def error_bound(cfg: LutConfig, a, q, scales=None, group_size: int | None = None) -> np.ndarray:
    """A bound ``[M, N]`` on ``|golden - reference_gemm|`` from the order of operations,
    for results without overflow.

    A sum computed by additions that each round to nearest (relative error at most
    ``u = 2**-11``) differs from the exact sum by at most ``gamma_d * sum |terms|``, with
    ``gamma_d = d u / (1 - d u)`` and ``d`` the most roundings any term passes through
    (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., section 4.2);
    exact scalings by powers of two do not count. Each rounding in the subnormal range
    may add up to ``2**-25`` absolutely, counted once per operation. The bound is infinite
    (says nothing) once a term can pass through 2048 roundings or more, as in a binary16
    accumulation over K of about 2048 per bit plane.

    LUT tile: the terms are ``+/-a_k 2**b`` (sum of magnitudes ``(2**B - 1) sum |a|``)
    through ``k_group - 1`` table adds, ``groups - 1`` group adds, up to ``steps * B``
    accumulator adds and the output add; the row sum's terms ``a_k`` (times ``2**B + 1``
    for unsigned weights, whose correction is ``2**B rowsum - rowsum``) through the table,
    group and row-sum adds, the correction and the output add. The halving is exact (a
    subnormal result is counted). MAC tile: the terms are ``a_k w_k`` with ``w_k`` and the
    product each rounded once, through up to ``K_padded`` accumulator adds.
    """
    a, q = _check(cfg, a, q)
    av = np.abs(values(a))
    kp = -(-a.shape[1] // cfg.tile_k) * cfg.tile_k
    steps = kp // cfg.tile_k
    b = cfg.w_bits
    if cfg.core == "mac":
        w = np.abs(weight_values(cfg, q)).astype(np.float64)
        if scales is not None:
            w = w * values(fp16_patterns("scales", scales))[np.arange(q.shape[0]) // int(group_size)]
        d = kp + 2
        return _gamma(d) * (av @ w) + (kp + 2 * a.shape[1]) * SUBNORMAL_HALF_ULP * (1 + w.max(initial=0))
    g = cfg.tables_per_row
    row = av.sum(axis=1, keepdims=True)
    d_acc = (cfg.k_group - 1) + (g - 1) + steps * b + 1
    bound = _gamma(d_acc) * ((1 << b) - 1) * row
    ops = kp * (1 << b) + steps * b * (g + 1) + 2
    if cfg.weight_mode != "symmetric":
        d_rs = (cfg.k_group - 1) + (g - 1) + steps + 2
        coeff = 1 if cfg.weight_mode == "signed" else (1 << b) + 1
        bound = bound + _gamma(d_rs) * coeff * row
        ops += steps * (g + 1) + 3
    return np.broadcast_to(bound + ops * SUBNORMAL_HALF_ULP * (1 << b), (a.shape[0], q.shape[1]))


def error_stats(cfg: LutConfig, shape=(16, 4096, 64), seed: int = 0) -> dict:
    """Measured error of ``cfg.core``'s binary16 result against float64 ``A @ W`` on seeded
    standard normal activations (rounded to binary16) and uniform weight codes:
    ``rel_rms`` (RMS error over RMS result), ``max_abs``, ``max_over_bound`` (the largest
    error as a fraction of :func:`error_bound`; 0 where the bound is infinite)."""
    rng = np.random.default_rng(seed)
    m, k, n = shape
    a = rng.standard_normal((m, k)).astype(np.float16)
    q = rng.integers(0, 1 << cfg.w_bits, (k, n))
    ref = reference_gemm(cfg, a, q)
    err = np.abs(values(golden_fp16_gemm(cfg, a, q)) - ref)
    return {"rel_rms": float(np.sqrt(np.mean(err**2)) / np.sqrt(np.mean(ref**2))), "max_abs": float(err.max()),
            "max_over_bound": float((err / error_bound(cfg, a, q)).max()), "shape": list(shape), "seed": seed}
