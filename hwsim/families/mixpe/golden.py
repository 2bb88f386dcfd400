"""Bit-exact NumPy golden model of a MixPE GEMM, ``C[M, N] = A[M, K] @ W[K, N]``.

Weights are ``w_bits`` codes ``Wq`` in groups of ``group_size`` along K, with one FP16
scale ``s[g, n]`` per group and output column and, when ``cfg.zero_point``, an integer
zero point ``z[g, n]``: ``W[k, n] = s[g, n] * (Wq[k, n] - z[g, n])``. Codes are unsigned
``0..2**w - 1`` with a zero point, or signed two's complement ``-2**(w-1)..2**(w-1) - 1``
(``z = 0``) without one. Scales are rounded to binary16 on entry (the stored format).

A weight is never multiplied: for every set bit ``i`` of its ``w``-bit pattern the
processing element adds the activation times ``2**i`` -- a left shift on the INT path,
an exponent addition (:func:`hwsim.blocks.fp16.fp16_shift`) on the FP16 path. For a
signed code the MSB term is subtracted (``-a * 2**(w-1)``, the two's complement weight).

Order of operations (what the hardware must reproduce)
------------------------------------------------------
Per output ``(m, n)`` and group ``g`` (K indices ``k`` of the group in ascending order):

INT path (``act_format="int8"``, ``A`` integers in ``-128..127``)
    ``P = sum_k sum_i (+/-) a[m, k] << i`` in an ``acc_bits`` two's complement register
    (wrapping); ``S = sum_k a[m, k]`` likewise when there is a zero point. Two's
    complement addition is associative modulo ``2**acc_bits``, so the order within the
    group does not change ``P`` or ``S``; with ``acc_bits >= cfg.min_acc_bits`` (checked by
    the config) nothing wraps and both are exact.
FP16 path (``act_format="fp16"``, ``A`` binary16)
    ``P`` starts at ``+0``; for ``k`` ascending, then bit ``i`` ascending, every *set*
    bit does ``P = fp16_add(P, t)`` with ``t = fp16_shift(a[m, k], i)`` (sign flipped for
    the MSB of a signed code). ``S`` starts at ``+0`` and does ``S = fp16_add(S, a[m, k])``
    for ``k`` ascending (zero point only). Clear bits add nothing (so a ``-0`` sum is kept).
Group dequantisation (both paths, IEEE binary32, numpy ``float32``, each step rounded)
    ``y = f32(s) * f32(P)``; with a zero point ``y = y - (f32(s) * f32(z)) * f32(S)``
    (``f32(s) * f32(z)`` is exact: 11 x 4 significant bits). Conversions of ``s``, ``z``,
    ``P`` and ``S`` to binary32 are exact (``|P| < 2**22`` on the INT path).
Across groups (binary32)
    ``C = y_0``, then ``C = C + y_g`` for ``g = 1, 2, ...`` ascending.

Dequantise-then-MAC baseline (``datapath="dequant_mac"``, binary16 activations)
    Each weight is dequantised on its own: ``w = fp16_mul(s, fp16(q - z))`` (``q - z``,
    at most 15 in magnitude, is exact in binary16; the product rounds once). Then
    ``c = +0`` and ``c = fp16_add(c, fp16_mul(a[m, k], w[k, n]))`` for ``k`` ascending over
    all of K (the systolic family's binary16 ``os`` order,
    :func:`hwsim.families.systolic.golden.fp16_gemm`); the result is ``f32(c)``, exact.
    There is no per-group stage.

The result is ``float32``. :func:`reference_gemm` is the float64 ``A @ W`` with the same
binary16 scales; :func:`error_bound` bounds ``|mixpe_gemm - reference_gemm|``.

Examples
--------
>>> import numpy as np
>>> from hwsim.families.mixpe.config import MixpeConfig
>>> cfg = MixpeConfig(group_size=16)
>>> a = np.full((1, 16), -3)
>>> wq = np.full((16, 1), 5)
>>> c = mixpe_gemm(cfg, a, wq, np.full((1, 1), 0.5), np.full((1, 1), 2))
>>> c.tolist(), reference_gemm(cfg, a, wq, np.full((1, 1), 0.5), np.full((1, 1), 2)).tolist()
([[-72.0]], [[-72.0]])
"""

import numpy as np

from hwsim.blocks.fp16 import fp16_add, fp16_shift
from hwsim.errors import ConfigError
from hwsim.families.mixpe.config import INT8_MAX_ABS, MixpeConfig

#: Unit roundoff of binary16 and binary32 (round to nearest).
U_FP16 = 2.0**-11
U_FP32 = 2.0**-24


def wrap(x: np.ndarray, bits: int) -> np.ndarray:
    """Two's complement wrap of int64 values to ``bits`` (1..64).

    >>> wrap(np.array([2**31, -2**31 - 1, 5]), 32).tolist()
    [-2147483648, 2147483647, 5]
    """
    x = np.asarray(x, dtype=np.int64)
    if bits >= 64:
        return x
    half = np.int64(1) << (bits - 1)
    return ((x + half) & ((half << 1) - 1)) - half


# --------------------------------------------------------------------------------------
# operand checks
# --------------------------------------------------------------------------------------
def _int_array(key: str, x, lo: int, hi: int) -> np.ndarray:
    x = np.asarray(x)
    if x.size and not np.issubdtype(x.dtype, np.integer):
        raise ConfigError(key, f"must hold integers, not {x.dtype}")
    x = x.astype(np.int64)
    if x.size and (x.min() < lo or x.max() > hi):
        raise ConfigError(key, f"values [{x.min()}, {x.max()}] lie outside [{lo}, {hi}]")
    return x


def _activations(cfg: MixpeConfig, a) -> np.ndarray:
    """INT path: int64 values; FP16 path: int64 binary16 bit patterns."""
    a = np.asarray(a)
    if a.ndim != 2:
        raise ConfigError("A", f"must be a 2-D (M, K) array, not shape {a.shape}")
    if cfg.act_format == "int8":
        return _int_array("A", a, -INT8_MAX_ABS, INT8_MAX_ABS - 1)
    if a.dtype == np.float16:
        return a.view(np.uint16).astype(np.int64)
    if a.dtype == np.uint16:
        return a.astype(np.int64)
    raise ConfigError("A", f"must be float16 values or uint16 bit patterns for act_format 'fp16', not {a.dtype}")


def _operands(cfg: MixpeConfig, a, wq, scales, zeros):
    if not isinstance(cfg, MixpeConfig):
        raise ConfigError("cfg", f"must be a MixpeConfig, not {cfg!r}")
    a = _activations(cfg, a)
    m, k = a.shape
    wq = np.asarray(wq)
    if wq.ndim != 2 or wq.shape[0] != k:
        raise ConfigError("Wq", f"must have shape (K={k}, N), not {wq.shape}")
    wq = _int_array("Wq", wq, *cfg.code_range)
    n = wq.shape[1]
    if k % cfg.group_size:
        raise ConfigError("K", f"must be a multiple of group_size = {cfg.group_size}, not {k}")
    groups = k // cfg.group_size
    s = np.asarray(scales)
    if s.shape != (groups, n):
        raise ConfigError("scales", f"must have shape {(groups, n)}, not {s.shape}")
    if s.size and not np.all(np.isfinite(s.astype(np.float64))):
        raise ConfigError("scales", "must be finite")
    s16 = s.astype(np.float16)
    if cfg.zero_point:
        if zeros is None:
            raise ConfigError("zeros", "are required when zero_point is true")
        z = np.asarray(zeros)
        if z.shape != (groups, n):
            raise ConfigError("zeros", f"must have shape {(groups, n)}, not {z.shape}")
        z = _int_array("zeros", z, *cfg.code_range)
    else:
        if zeros is not None:
            raise ConfigError("zeros", "must be None when zero_point is false (signed codes)")
        z = np.zeros((groups, n), dtype=np.int64)
    return a, wq, s16, z


def _bit_planes(cfg: MixpeConfig, wq: np.ndarray):
    """``(i, sign, plane)``: bit ``i`` of each code's ``w``-bit pattern, +1 or -1 (MSB of
    a signed code), in ascending ``i``."""
    pattern = wq & ((1 << cfg.w_bits) - 1)
    for i in range(cfg.w_bits):
        sign = -1 if (not cfg.zero_point and i == cfg.w_bits - 1) else 1
        yield i, sign, (pattern >> i) & 1


# --------------------------------------------------------------------------------------
# the two PE paths: per-group partial sums P[g, M, N] and activation sums S[g, M, 1]
# --------------------------------------------------------------------------------------
def _int_partials(cfg: MixpeConfig, a: np.ndarray, wq: np.ndarray):
    m, k = a.shape
    gs, groups = cfg.group_size, k // cfg.group_size
    ag = a.reshape(m, groups, gs).transpose(1, 0, 2)  # (G, M, gs)
    wg = wq.reshape(groups, gs, -1)  # (G, gs, N)
    p = np.zeros((groups, m, wq.shape[1]), dtype=np.int64)
    for i, sign, plane in _bit_planes(cfg, wg):
        # sum over the group of a << i where bit i is set; int64 is exact here and the
        # register's wrap is applied once below (wrapping commutes with addition)
        p += sign * (np.matmul(ag, plane) << i)
    s = ag.sum(axis=2, keepdims=True)
    return wrap(p, cfg.acc_bits), wrap(s, cfg.acc_bits)


def _fp16_partials(cfg: MixpeConfig, a: np.ndarray, wq: np.ndarray):
    m, k = a.shape
    n = wq.shape[1]
    gs, groups = cfg.group_size, k // cfg.group_size
    ag = a.reshape(m, groups, gs).transpose(1, 0, 2)  # (G, M, gs) bit patterns
    wg = wq.reshape(groups, gs, n)  # (G, gs, N)
    planes = list(_bit_planes(cfg, wg))
    shifted = {i: fp16_shift(ag, i).astype(np.int64) for i, _, _ in planes}
    p = np.zeros((groups, m, n), dtype=np.int64)  # +0
    s = np.zeros((groups, m, 1), dtype=np.int64)
    for kk in range(gs):
        for i, sign, plane in planes:
            term = shifted[i][:, :, kk:kk + 1]  # (G, M, 1)
            if sign < 0:
                term = term ^ 0x8000
            bit = plane[:, kk:kk + 1, :] == 1  # (G, 1, N)
            p = np.where(bit, fp16_add(p, term), p).astype(np.int64)
        if cfg.zero_point:
            s = fp16_add(s, ag[:, :, kk:kk + 1]).astype(np.int64)
    as_f32 = lambda x: x.astype(np.uint16).view(np.float16).astype(np.float32)  # noqa: E731 - exact
    return as_f32(p), as_f32(s)


def _dequant_accumulate(cfg: MixpeConfig, p, s, s16: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Group dequantisation and the cross-group sum in binary32 (module docstring order)."""
    p = np.asarray(p).astype(np.float32)  # exact: |P| < 2**24 (INT) or binary16 values
    sa = np.asarray(s).astype(np.float32)
    sc = s16.astype(np.float32)[:, None, :]  # (G, 1, N)
    y = sc * p
    if cfg.zero_point:
        sz = sc * z.astype(np.float32)[:, None, :]  # exact
        y = y - sz * sa
    c = y[0].copy()
    for g in range(1, y.shape[0]):
        c = c + y[g]
    return c.astype(np.float32)


def mixpe_gemm(cfg: MixpeConfig, a, wq, scales, zeros=None) -> np.ndarray:
    """The MixPE array's result for ``A @ W``, bit for bit (see the module docstring).

    Parameters
    ----------
    cfg : MixpeConfig
        ``w_bits``, ``act_format``, ``group_size``, ``zero_point`` and ``acc_bits`` matter.
    a : array_like, shape (M, K)
        INT path: integers in ``-128..127``. FP16 path: ``float16`` values or ``uint16``
        bit patterns.
    wq : array_like of int, shape (K, N)
        Weight codes in :attr:`MixpeConfig.code_range`.
    scales : array_like of float, shape (K // group_size, N)
        Per-group scales, rounded to binary16.
    zeros : array_like of int, shape (K // group_size, N), or None
        Per-group zero points (codes) when ``cfg.zero_point``; ``None`` otherwise.

    Returns
    -------
    ndarray of float32, shape (M, N)
    """
    a, wq, s16, z = _operands(cfg, a, wq, scales, zeros)
    if cfg.datapath == "dequant_mac":
        return dequant_mac_gemm(cfg, a, dequantized_fp16(cfg, wq, s16, z))
    if cfg.act_format == "int8":
        p, s = _int_partials(cfg, a, wq)
    else:
        p, s = _fp16_partials(cfg, a, wq)
    return _dequant_accumulate(cfg, p, s, s16, z)


def dequantized_fp16(cfg: MixpeConfig, wq: np.ndarray, s16: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The dequantiser of the ``dequant_mac`` baseline: ``fp16_mul(s, fp16(q - z))`` per
    weight, as int64 binary16 patterns (K x N); ``s16`` float16 (G x N), ``z`` codes."""
    from hwsim.blocks.fp16 import fp16_mul

    g = cfg.group_size
    diff = (np.asarray(wq, dtype=np.int64) - np.repeat(z, g, axis=0)).astype(np.float16)  # exact
    scale = np.repeat(s16.astype(np.float16), g, axis=0)
    return fp16_mul(scale.view(np.uint16), diff.view(np.uint16)).astype(np.int64)


def dequant_mac_gemm(cfg: MixpeConfig, a_bits: np.ndarray, w16: np.ndarray) -> np.ndarray:
    """Binary16 ``A @ W`` in the FP16 MAC array's order, returned as float32 values."""
    from hwsim.families.systolic.config import SystolicConfig
    from hwsim.families.systolic.golden import fp16_gemm

    os16 = SystolicConfig(rows=1, cols=1, dataflow="os", a_bits=16, b_bits=16, acc_bits=16, operand_format="fp16")
    c = fp16_gemm(os16, a_bits, w16)  # the os order does not depend on the array's size
    return c.astype(np.uint16).view(np.float16).astype(np.float32)


def dequantized_weights(cfg: MixpeConfig, wq, scales, zeros=None) -> np.ndarray:
    """``W = s16 * (Wq - z)`` in float64 (exact), shape (K, N)."""
    k = np.asarray(wq).shape[0]
    dummy = np.zeros((1, k), dtype=np.int64 if cfg.act_format == "int8" else np.float16)
    _, wq, s16, z = _operands(cfg, dummy, wq, scales, zeros)
    g = cfg.group_size
    return np.repeat(s16.astype(np.float64), g, axis=0) * (wq - np.repeat(z, g, axis=0))


def _act_values(cfg: MixpeConfig, a: np.ndarray) -> np.ndarray:
    if cfg.act_format == "int8":
        return a.astype(np.float64)
    return a.astype(np.uint16).view(np.float16).astype(np.float64)


def reference_gemm(cfg: MixpeConfig, a, wq, scales, zeros=None) -> np.ndarray:
    """Plain ``A @ W`` in float64 with the dequantised weights (:func:`dequantized_weights`)."""
    a_bits, _, _, _ = _operands(cfg, a, wq, scales, zeros)
    return _act_values(cfg, a_bits) @ dequantized_weights(cfg, wq, scales, zeros)


def _gamma(n, u: float) -> np.ndarray:
    n = np.asarray(n, dtype=np.float64)
    if np.any(n * u >= 1):
        raise ValueError(f"error bound needs n * u < 1; {int(n.max())} operations at u = {u}")
    return n * u / (1 - n * u)


def error_bound(cfg: MixpeConfig, a, wq, scales, zeros=None) -> np.ndarray:
    """Elementwise bound on ``|mixpe_gemm - reference_gemm|`` for finite results.

    Standard rounding-error analysis with ``gamma_n(u) = n u / (1 - n u)``, ``u16 = 2**-11``,
    ``u32 = 2**-24``; ``s``, ``z`` per group and column, ``|a|`` and the unsigned bit
    pattern ``c(q)`` of a code (``sum 2**i`` over its set bits):

    * binary16 terms ``a * 2**i`` and their negations are exact (no overflow assumed), and
      so are sums that fall into the subnormal range, so each FP16 add has relative error
      ``<= u16``; recursive summation of ``n`` set bits gives
      ``|P^ - P| <= E_P = gamma_{n}(u16) * sum_k |a_k| c(q_k)`` and
      ``|S^ - S| <= E_S = gamma_{G}(u16) * sum_k |a_k|`` (``E_P = E_S = 0`` on the INT path);
    * the binary32 dequantisation rounds twice on each branch:
      ``|y^ - s (P^ - z S^)| <= gamma_2(u32) * s (|P^| + z |S^|)`` with
      ``|P^| <= sum |a| c(q) + E_P`` and ``|S^| <= sum |a| + E_S``;
    * the cross-group sum of ``groups`` terms adds ``gamma_{groups-1}(u32) * sum_g |y^_g|``.

    The bound is the sum of the three, each summed over the groups. It needs
    ``n * u16 < 1`` (at most 2047 set bits per group and column; W4 with groups of 128
    has at most 512) and raises ``ValueError`` otherwise. The ``dequant_mac`` baseline is
    not covered (ConfigError).
    """
    if cfg.datapath != "shift_add":
        raise ConfigError("datapath", "the error bound covers the shift-and-add datapath only")
    a, wq, s16, z = _operands(cfg, a, wq, scales, zeros)
    m, k = a.shape
    n = wq.shape[1]
    gs, groups = cfg.group_size, k // cfg.group_size
    absa = np.abs(_act_values(cfg, a)).reshape(m, groups, gs).transpose(1, 0, 2)  # (G, M, gs)
    pattern = (wq & ((1 << cfg.w_bits) - 1)).reshape(groups, gs, n)
    abs_p = np.matmul(absa, pattern.astype(np.float64))  # (G, M, N): sum |a| c(q)
    abs_s = absa.sum(axis=2, keepdims=True)  # (G, M, 1)
    if cfg.act_format == "fp16":
        set_bits = sum(((pattern >> i) & 1) for i in range(cfg.w_bits)).sum(axis=1)  # (G, N)
        e_p = _gamma(set_bits, U_FP16)[:, None, :] * abs_p
        e_s = _gamma(gs, U_FP16) * abs_s if cfg.zero_point else 0.0 * abs_s
    else:
        e_p, e_s = 0.0 * abs_p, 0.0 * abs_s
    sc = s16.astype(np.float64)[:, None, :]
    zz = z.astype(np.float64)[:, None, :] if cfg.zero_point else 0.0 * sc
    y_abs = sc * ((abs_p + e_p) + zz * (abs_s + e_s))
    g2 = _gamma(2, U_FP32)
    bound = (sc * (e_p + zz * e_s) + g2 * y_abs).sum(axis=0)
    bound += _gamma(groups - 1, U_FP32) * ((1 + g2) * y_abs).sum(axis=0)
    return bound * (1 + 1e-12)  # margin for evaluating the bound itself in float64


__all__ = ["U_FP16", "U_FP32", "dequant_mac_gemm", "dequantized_fp16", "dequantized_weights", "error_bound", "mixpe_gemm", "reference_gemm", "wrap"]
