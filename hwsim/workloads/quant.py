"""Quantisers for GEMM operands, with the hardware compute path used as golden.

Layout
------
A GEMM is ``Y[M, N] = X[M, K] @ W[K, N]``: ``X`` holds activations (one row per token),
``W`` weights (one column per output feature). Every scale, zero point or shared
exponent applies to a *group* of consecutive elements along K, so that an accelerator
can form exact integer partial sums over a group and rescale once per group:

* per-tensor: one group of K, one scale;
* per-channel (weights) / per-token (activations): one group of K per column / row;
* group-wise: groups of ``group_size`` along K (the GPTQ / LUT-GEMM storage format).

A :class:`QTensor` holds the integer codes and their scales (``(K/g, N)`` for weights,
``(M, K/g)`` for activations, or ``(1, 1)`` per tensor), zero points for asymmetric
formats and exponents for block floating point; :meth:`QTensor.dequantize` gives the
float values the codes stand for.

Schemes
-------
A scheme (:class:`Scheme` subclasses, frozen and validated configs) turns float ``X``
and ``W`` into a :class:`QGemm`: one or more parts, each a pair of operands (integer
:class:`QTensor` or float16 values) plus the output columns it writes. Two evaluations
of a :class:`QGemm` exist:

* :meth:`QGemm.hardware` -- what an accelerator computes: the integer GEMM of each
  group (exact, int64), zero-point corrections from integer row/column sums, then one
  rescale per group with the product of the two operands' scales, accumulated in float;
  16-bit parts are float products summed per weight group and rescaled;
* :meth:`QGemm.dequantized` -- dequantise every operand, then a float matmul.

The two agree to float rounding (exactly for block floating point, whose scales are
powers of two); the families use :meth:`QGemm.hardware` as their golden result.

The integer step is exact: integer codes are multiplied in float64 BLAS only when the
largest possible sum, ``K * max|a| * max|b|``, is below 2**53 (so every partial sum
is an exactly representable integer) and converted to int64; otherwise int64 matmul is
used.
"""

from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from hwsim.errors import ConfigError, check_int
from hwsim.workloads.error import GemmError, float32_gemm, gemm_error
from hwsim.workloads.ops import IntFormat

log = logging.getLogger(__name__)

SCALE_BITS = 16  # scales are stored as fp16
EXPONENT_BITS = 8  # shared exponents of block floating point


# --------------------------------------------------------------------------------------
# Quantised tensors
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class QTensor:
    """Integer codes with per-group scales along K.

    Parameters
    ----------
    q : ndarray of int64
        Codes, same shape as the float tensor (``(K, N)`` or ``(M, K)``).
    scale : ndarray of float64
        One scale per group: ``(K // group_size, N)`` or ``(1, N)`` / ``(1, 1)`` for
        ``k_axis=0``; ``(M, K // group_size)`` or ``(M, 1)`` / ``(1, 1)`` for ``k_axis=1``.
    zero : ndarray of int64 or None
        Zero points, same shape as ``scale`` (asymmetric formats); value = scale * (q - zero).
    group_size : int
        Elements along K sharing one scale.
    k_axis : {0, 1}
        Axis of K: 0 for weights ``(K, N)``, 1 for activations ``(M, K)``.
    fmt : IntFormat
        Format of the codes.
    exponent : ndarray of int64 or None
        Shared exponents of block floating point (``scale == 2.0**exponent``).
    """

    q: np.ndarray
    scale: np.ndarray
    zero: np.ndarray | None
    group_size: int
    k_axis: int
    fmt: IntFormat
    exponent: np.ndarray | None = None

    def __post_init__(self):
        if self.q.ndim != 2 or self.q.dtype != np.int64:
            raise ConfigError("q", f"must be a 2-D int64 array, not {self.q.dtype} {self.q.shape}")
        k = self.q.shape[self.k_axis]
        if k % self.group_size:
            raise ConfigError("group_size", f"must divide K = {k}, not {self.group_size}")
        self.fmt.check("q", self.q)

    @property
    def k(self) -> int:
        return self.q.shape[self.k_axis]

    @property
    def n_groups(self) -> int:
        return self.k // self.group_size

    def expand(self, a: np.ndarray) -> np.ndarray:
        """Broadcast a per-group array to the shape of ``q``."""
        rep = self.k // a.shape[self.k_axis]
        return np.broadcast_to(np.repeat(a, rep, axis=self.k_axis), self.q.shape)

    def fine(self, a: np.ndarray, groups: int) -> np.ndarray:
        """A per-group array repeated to ``groups`` finer groups along K."""
        return np.repeat(a, groups // a.shape[self.k_axis], axis=self.k_axis)

    def dequantize(self) -> np.ndarray:
        """The float64 values the codes stand for."""
        q = self.q.astype(np.float64)
        if self.zero is not None:
            q = q - self.expand(self.zero)
        return q * self.expand(self.scale)

    @property
    def storage_bits(self) -> int:
        """Bits to store codes plus metadata (fp16 scales or 8-bit exponents, zeros)."""
        bits = self.q.size * self.fmt.bits
        if self.exponent is not None:
            bits += self.exponent.size * EXPONENT_BITS
        else:
            bits += self.scale.size * SCALE_BITS
        if self.zero is not None:
            bits += self.zero.size * self.fmt.bits
        return bits

    @property
    def bits_per_element(self) -> float:
        return self.storage_bits / self.q.size


def _grouped(x: np.ndarray, k_axis: int, group_size: int) -> np.ndarray:
    """View with the K axis split into (groups, group_size); reduce over the last group axis."""
    if k_axis == 0:
        k, n = x.shape
        return x.reshape(k // group_size, group_size, n)  # reduce axis 1
    m, k = x.shape
    return x.reshape(m, k // group_size, group_size)  # reduce axis 2


def _check_group(k: int, group_size: int | None, key="group_size") -> int:
    if group_size is None:
        return k
    if k % group_size:
        raise ConfigError(key, f"must divide K = {k}, not {group_size}")
    return group_size


def _group_reduce(x: np.ndarray, k_axis: int, group_size: int | None, per_tensor: bool, fn):
    """Reduce |x| (or x) with ``fn`` per group -> scale-shaped array."""
    if per_tensor:
        return np.full((1, 1), fn(x) if x.size else 0.0)
    g = _check_group(x.shape[k_axis], group_size)
    return fn(_grouped(x, k_axis, g), axis=1 if k_axis == 0 else 2)


def quantize_symmetric(
    x: np.ndarray, bits: int, k_axis: int, group_size: int | None = None,
    per_tensor: bool = False,
) -> QTensor:
    """Symmetric round-to-nearest: ``q = clip(round(x / s), -qmax, qmax)``, ``s = absmax / qmax``.

    ``group_size=None`` means one group spanning K (per-channel for weights, per-token for
    activations); ``per_tensor`` uses one scale for the whole tensor.

    >>> t = quantize_symmetric(np.array([[0.5, -1.0]]), 8, k_axis=1)
    >>> t.q.tolist(), float(t.scale[0, 0]) == 1 / 127
    ([[64, -127]], True)
    """
    x = np.asarray(x, dtype=np.float64)
    check_int("bits", bits, 2, 16)
    qmax = (1 << (bits - 1)) - 1
    amax = _group_reduce(np.abs(x), k_axis, group_size, per_tensor, np.max)
    scale = np.where(amax > 0, amax / qmax, 1.0)
    g = x.shape[k_axis] if (per_tensor or group_size is None) else group_size
    tmp = QTensor(np.zeros(x.shape, np.int64), scale, None, g, k_axis, IntFormat(bits))
    q = np.clip(np.rint(x / tmp.expand(scale)), -qmax, qmax).astype(np.int64)
    return QTensor(q, scale, None, g, k_axis, IntFormat(bits))


def quantize_asymmetric(
    x: np.ndarray, bits: int, k_axis: int, group_size: int | None = None,
) -> QTensor:
    """Asymmetric (min/max) round-to-nearest with unsigned codes and integer zero points.

    The range always contains 0 (``lo = min(x_min, 0)``, ``hi = max(x_max, 0)``), so zero
    is exact; ``s = (hi - lo) / (2**bits - 1)``, ``z = round(-lo / s)``,
    ``q = clip(round(x / s) + z, 0, 2**bits - 1)``.
    """
    x = np.asarray(x, dtype=np.float64)
    check_int("bits", bits, 1, 16)
    levels = (1 << bits) - 1
    lo = np.minimum(_group_reduce(x, k_axis, group_size, False, np.min), 0.0)
    hi = np.maximum(_group_reduce(x, k_axis, group_size, False, np.max), 0.0)
    scale = np.where(hi > lo, (hi - lo) / levels, 1.0)
    zero = np.clip(np.rint(-lo / scale), 0, levels).astype(np.int64)
    g = x.shape[k_axis] if group_size is None else group_size
    fmt = IntFormat(bits, signed=False)
    tmp = QTensor(np.zeros(x.shape, np.int64), scale, zero, g, k_axis, fmt)
    q = np.clip(np.rint(x / tmp.expand(scale)) + tmp.expand(zero), 0, levels).astype(np.int64)
    return QTensor(q, scale, zero, g, k_axis, fmt)


def quantize_ternary(w: np.ndarray, eps: float = 1e-5) -> QTensor:
    """BitNet b1.58 absmean ternary weights: ``q = clip(round(W / (gamma + eps)), -1, 1)``.

    ``gamma = mean |W|`` over the whole tensor; the dequantised value is ``gamma * q``.
    """
    w = np.asarray(w, dtype=np.float64)
    gamma = float(np.mean(np.abs(w))) if w.size else 0.0
    q = np.clip(np.rint(w / (gamma + eps)), -1, 1).astype(np.int64)
    scale = np.full((1, 1), gamma if gamma > 0 else 1.0)
    return QTensor(q, scale, None, w.shape[0], 0, IntFormat(2))


def quantize_bfp(x: np.ndarray, mantissa_bits: int, block_size: int, k_axis: int) -> QTensor:
    """Block floating point: one shared exponent per block of ``block_size`` along K.

    With ``m`` mantissa bits (sign included) and block maximum ``a``, the exponent ``e``
    satisfies ``a < 2**e`` (``frexp``); elements become ``q = clip(round(x / 2**(e-m+1)),
    -(2**(m-1) - 1), 2**(m-1) - 1)`` with the power-of-two scale ``2**(e-m+1)``.
    """
    x = np.asarray(x, dtype=np.float64)
    check_int("mantissa_bits", mantissa_bits, 2, 16)
    g = _check_group(x.shape[k_axis], block_size, "block_size")
    amax = _group_reduce(np.abs(x), k_axis, g, False, np.max)
    _, e = np.frexp(amax)  # amax = f * 2**e with 0.5 <= f < 1, so amax < 2**e
    exp = np.where(amax > 0, e - (mantissa_bits - 1), 0).astype(np.int64)
    scale = np.ldexp(1.0, exp)
    qmax = (1 << (mantissa_bits - 1)) - 1
    tmp = QTensor(np.zeros(x.shape, np.int64), scale, None, g, k_axis, IntFormat(mantissa_bits))
    q = np.clip(np.rint(x / tmp.expand(scale)), -qmax, qmax).astype(np.int64)
    return QTensor(q, scale, None, g, k_axis, IntFormat(mantissa_bits), exponent=exp)


# --------------------------------------------------------------------------------------
# Hardware compute path
# --------------------------------------------------------------------------------------
def exact_int_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact ``a @ b`` of int64 arrays, returned as int64.

    Uses float64 BLAS when every partial sum is an integer below 2**53 in magnitude
    (then the float result is exact), int64 matmul otherwise.
    """
    k = a.shape[-1]
    amax = int(np.max(np.abs(a))) if a.size else 0
    bmax = int(np.max(np.abs(b))) if b.size else 0
    if k * amax * bmax < (1 << 53):
        return (a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
    return a @ b


def _int_int_gemm(a: QTensor, b: QTensor) -> np.ndarray:
    """Integer GEMM per common group, zero-point correction, then per-group rescale."""
    k = a.k
    if b.k != k:
        raise ConfigError("operands", f"inner dimensions differ: {a.q.shape} x {b.q.shape}")
    g = min(a.group_size, b.group_size)
    if max(a.group_size, b.group_size) % g:
        raise ConfigError("group_size", f"groups of {a.group_size} and {b.group_size} do not nest")
    n_groups = k // g
    m, n = a.q.shape[0], b.q.shape[1]
    sa, sb = a.fine(a.scale, n_groups), b.fine(b.scale, n_groups)  # (M|1, G), (G, N|1)
    za = None if a.zero is None else a.fine(a.zero, n_groups)
    zb = None if b.zero is None else b.fine(b.zero, n_groups)
    out = np.zeros((m, n), dtype=np.float64)
    for gi in range(n_groups):
        sl = slice(gi * g, (gi + 1) * g)
        qa, qb = a.q[:, sl], b.q[sl, :]
        acc = exact_int_matmul(qa, qb)  # exact int64 partial sums of this group
        if zb is not None:
            acc = acc - zb[gi:gi + 1, :] * qa.sum(axis=1, keepdims=True)
        if za is not None:
            acc = acc - za[:, gi:gi + 1] * qb.sum(axis=0, keepdims=True)
            if zb is not None:
                acc = acc + g * za[:, gi:gi + 1] * zb[gi:gi + 1, :]
        out += (sa[:, gi:gi + 1] * sb[gi:gi + 1, :]) * acc
    return out


def _float_int_gemm(x: np.ndarray, b: QTensor) -> np.ndarray:
    """16-bit activations x integer weights: float partial sum per weight group, then rescale."""
    g = b.group_size
    n_groups = b.k // g
    sb = b.fine(b.scale, n_groups)
    zb = None if b.zero is None else b.fine(b.zero, n_groups)
    out = np.zeros((x.shape[0], b.q.shape[1]), dtype=np.float64)
    for gi in range(n_groups):
        sl = slice(gi * g, (gi + 1) * g)
        xs = x[:, sl]
        acc = xs @ b.q[sl, :].astype(np.float64)
        if zb is not None:
            acc = acc - xs.sum(axis=1, keepdims=True) * zb[gi:gi + 1, :]
        out += acc * sb[gi:gi + 1, :]
    return out


def _value(op) -> np.ndarray:
    return op.dequantize() if isinstance(op, QTensor) else np.asarray(op, np.float64)


@dataclass(frozen=True, eq=False)
class QPart:
    """One product of a quantised GEMM.

    Parameters
    ----------
    a, b : QTensor or ndarray
        Operands; an ndarray is a 16-bit float operand (already rounded to float16,
        held as float64).
    cols : ndarray of int or None
        Output columns this part writes; ``None`` means all columns, summed with the
        other such parts.
    label : str
        What the part is (``"int8"``, ``"outliers-fp16"``, ...).
    """

    a: object
    b: object
    cols: np.ndarray | None = None
    label: str = ""

    def hardware(self) -> np.ndarray:
        a, b = self.a, self.b
        if isinstance(a, QTensor) and isinstance(b, QTensor):
            return _int_int_gemm(a, b)
        if isinstance(b, QTensor):
            return _float_int_gemm(np.asarray(a, np.float64), b)
        return np.asarray(a, np.float64) @ _value(b)

    def dequantized(self) -> np.ndarray:
        return _value(self.a) @ _value(self.b)


@dataclass(frozen=True, eq=False)
class QGemm:
    """A quantised GEMM: parts whose outputs add up (or fill disjoint columns).

    ``info`` carries scheme-specific facts (e.g. ``outlier_dims`` for LLM.int8(), the
    channel permutation of block floating point, the 8-bit columns of MixLLM).
    """

    m: int
    n: int
    parts: tuple[QPart, ...]
    info: dict = field(default_factory=dict)

    def _combine(self, method: str) -> np.ndarray:
        out = np.zeros((self.m, self.n), dtype=np.float64)
        for p in self.parts:
            y = getattr(p, method)()
            if p.cols is None:
                out += y
            else:
                out[:, p.cols] += y
        return out

    def hardware(self) -> np.ndarray:
        """The accelerator's result: integer GEMMs then per-group rescale (golden)."""
        return self._combine("hardware")

    def dequantized(self) -> np.ndarray:
        """Dequantise the operands, then a float matmul (reference for the hardware path)."""
        return self._combine("dequantized")

    @property
    def weight_storage_bits(self) -> int:
        """Bits to store the weights (codes + metadata), float16 parts at 16 bits."""
        bits = 0
        for p in self.parts:
            b = p.b
            bits += b.storage_bits if isinstance(b, QTensor) else np.asarray(b).size * 16
        return bits


def _fp16(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, np.float64).astype(np.float16).astype(np.float64)


def _check_operands(x, w) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if x.ndim != 2 or w.ndim != 2:
        raise ConfigError("operands", f"X and W must be 2-D, got {x.ndim}-D and {w.ndim}-D")
    if x.shape[1] != w.shape[0]:
        raise ConfigError("operands", f"inner dimensions differ: X is {x.shape}, W is {w.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(w))):
        raise ConfigError("operands", "X and W must be finite")
    return x, w


# --------------------------------------------------------------------------------------
# Schemes
# --------------------------------------------------------------------------------------
class Scheme(ABC):
    """A quantisation scheme for ``Y = X @ W`` (subclasses are frozen, validated configs)."""

    @property
    @abstractmethod
    def name(self) -> str: ...

    @abstractmethod
    def _quantize(self, x: np.ndarray, w: np.ndarray) -> QGemm: ...

    def quantize(self, x, w) -> QGemm:
        """Quantise activations ``x`` (M x K) and weights ``w`` (K x N)."""
        x, w = _check_operands(x, w)
        return self._quantize(x, w)

    def matmul(self, x, w) -> np.ndarray:
        """The hardware result of ``x @ w`` under this scheme."""
        return self.quantize(x, w).hardware()

    def error(self, x, w) -> GemmError:
        """Error of the hardware result against the float32 product."""
        return gemm_error(float32_gemm(x, w), self.matmul(x, w))


def _bits(key, v, lo, hi):
    return check_int(key, v, lo, hi)


@dataclass(frozen=True)
class NoQuant(Scheme):
    """16-bit floating-point operands (the FP16 baseline)."""

    @property
    def name(self) -> str:
        return "fp16"

    def _quantize(self, x, w):
        return QGemm(x.shape[0], w.shape[1], (QPart(_fp16(x), _fp16(w), label="fp16"),))


@dataclass(frozen=True)
class Int8Symmetric(Scheme):
    """Symmetric INT-b for both operands: per-tensor, per-channel weights, per-token activations.

    Parameters
    ----------
    weight : {"tensor", "channel"}
        One weight scale, or one per output feature (column of W).
    act : {"tensor", "token"}
        One activation scale, or one per token (row of X).
    bits : int
        Width of both operands (default 8).
    """

    weight: str = "channel"
    act: str = "token"
    bits: int = 8

    def __post_init__(self):
        if self.weight not in ("tensor", "channel"):
            raise ConfigError("weight", f"must be 'tensor' or 'channel', not {self.weight!r}")
        if self.act not in ("tensor", "token"):
            raise ConfigError("act", f"must be 'tensor' or 'token', not {self.act!r}")
        _bits("bits", self.bits, 2, 16)

    @property
    def name(self) -> str:
        if self.weight == "tensor" and self.act == "tensor":
            return f"int{self.bits}-per-tensor"
        if self.act == "tensor":
            return f"int{self.bits}-per-channel"
        if self.weight == "channel":
            return f"int{self.bits}-per-token"
        return f"int{self.bits}-w{self.weight}-a{self.act}"

    def _quantize(self, x, w):
        qa = quantize_symmetric(x, self.bits, 1, per_tensor=self.act == "tensor")
        qb = quantize_symmetric(w, self.bits, 0, per_tensor=self.weight == "tensor")
        return QGemm(x.shape[0], w.shape[1], (QPart(qa, qb, label=f"int{self.bits}"),))


@dataclass(frozen=True)
class LLMInt8(Scheme):
    """LLM.int8(): vector-wise INT8 with mixed-precision decomposition of outliers.

    Feature dimensions (columns of X, rows of W) where any activation reaches
    ``threshold`` in magnitude are multiplied in 16-bit float; the rest use INT8 with
    one scale per row of X and per column of W, the integer product being rescaled by
    the outer product of the two scale vectors. ``info["outlier_dims"]`` is the number
    of dimensions sent to 16 bits, ``info["outlier_index"]`` their indices.
    """

    threshold: float = 6.0

    def __post_init__(self):
        t = self.threshold
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not t > 0:
            raise ConfigError("threshold", f"must be a positive number, not {t!r}")

    @property
    def name(self) -> str:
        return "llm-int8" if self.threshold == 6.0 else f"llm-int8-t{self.threshold:g}"

    def _quantize(self, x, w):
        x16, w16 = _fp16(x), _fp16(w)
        outl = np.flatnonzero(np.any(np.abs(x16) >= self.threshold, axis=0))
        keep = np.setdiff1d(np.arange(x.shape[1]), outl)
        parts = []
        if keep.size:
            qa = quantize_symmetric(x16[:, keep], 8, 1)
            qb = quantize_symmetric(w16[keep, :], 8, 0)
            parts.append(QPart(qa, qb, label="int8"))
        if outl.size:
            parts.append(QPart(x16[:, outl], w16[outl, :], label="outliers-fp16"))
        log.debug("llm-int8: %d of %d dims to fp16", outl.size, x.shape[1])
        return QGemm(x.shape[0], w.shape[1], tuple(parts),
                     {"outlier_dims": int(outl.size), "outlier_index": outl})


@dataclass(frozen=True)
class WeightOnly(Scheme):
    """Group-wise weight-only INT-b (W-b A16), round-to-nearest.

    Weights are quantised in groups of ``group_size`` consecutive K elements per output
    column (symmetric: signed codes and one scale; asymmetric: unsigned codes, a scale
    and an integer zero point per group), the storage of GPTQ / LUT-GEMM. Activations
    stay 16-bit floats; the hardware sums activation x code products per group and
    rescales once per group.
    """

    bits: int = 4
    group_size: int = 128
    symmetric: bool = False

    def __post_init__(self):
        _bits("bits", self.bits, 2, 8)
        check_int("group_size", self.group_size, 1)
        if not isinstance(self.symmetric, bool):
            raise ConfigError("symmetric", f"must be true or false, not {self.symmetric!r}")

    @property
    def name(self) -> str:
        return f"int{self.bits}-g{self.group_size}-{'sym' if self.symmetric else 'asym'}"

    def quantize_weight(self, w) -> QTensor:
        w = np.asarray(w, np.float64)
        if self.symmetric:
            return quantize_symmetric(w, self.bits, 0, self.group_size)
        return quantize_asymmetric(w, self.bits, 0, self.group_size)

    def _quantize(self, x, w):
        return QGemm(x.shape[0], w.shape[1],
                     (QPart(_fp16(x), self.quantize_weight(w), label=self.name),))


@dataclass(frozen=True)
class Ternary(Scheme):
    """BitNet b1.58: absmean ternary weights {-1, 0, +1} x per-token INT8 activations."""

    act_bits: int = 8

    def __post_init__(self):
        _bits("act_bits", self.act_bits, 2, 16)

    @property
    def name(self) -> str:
        return "ternary" if self.act_bits == 8 else f"ternary-a{self.act_bits}"

    def _quantize(self, x, w):
        qa = quantize_symmetric(x, self.act_bits, 1)
        return QGemm(x.shape[0], w.shape[1], (QPart(qa, quantize_ternary(w), label="ternary"),))


@dataclass(frozen=True)
class BlockFloat(Scheme):
    """Block floating point for both operands, optionally after outlier-channel reordering.

    With ``reorder``, the K channels are sorted by their largest activation magnitude
    (descending) and the same permutation is applied to the rows of W, so outlier
    channels share blocks with each other instead of inflating the exponent of blocks
    of ordinary channels. The permutation leaves the exact product unchanged; it is
    stored in ``info["perm"]`` (the hardware applies it offline to the weights and to
    the output channels of the producing layer).
    """

    mantissa_bits: int = 8
    block_size: int = 32
    reorder: bool = False

    def __post_init__(self):
        _bits("mantissa_bits", self.mantissa_bits, 2, 16)
        check_int("block_size", self.block_size, 1)
        if not isinstance(self.reorder, bool):
            raise ConfigError("reorder", f"must be true or false, not {self.reorder!r}")

    @property
    def name(self) -> str:
        return f"bfp{self.mantissa_bits}-b{self.block_size}" + ("-reorder" if self.reorder else "")

    def _quantize(self, x, w):
        info = {}
        if self.reorder:
            perm = np.argsort(-np.max(np.abs(x), axis=0), kind="stable")
            x, w = x[:, perm], w[perm, :]
            info["perm"] = perm
        qa = quantize_bfp(x, self.mantissa_bits, self.block_size, 1)
        qb = quantize_bfp(w, self.mantissa_bits, self.block_size, 0)
        return QGemm(x.shape[0], w.shape[1], (QPart(qa, qb, label=self.name),), info)


@dataclass(frozen=True)
class WxAy(Scheme):
    """W4A4 / W4A8 (COMET-style): per-token INT activations x per-group INT weights.

    Activations: symmetric, one scale per token. Weights: symmetric, one scale per group
    of ``group_size`` along K per output column. The integer partial sum of each group
    is rescaled by ``s_token * s_group``.
    """

    w_bits: int = 4
    a_bits: int = 8
    group_size: int = 128

    def __post_init__(self):
        _bits("w_bits", self.w_bits, 2, 8)
        _bits("a_bits", self.a_bits, 2, 16)
        check_int("group_size", self.group_size, 1)

    @property
    def name(self) -> str:
        return f"w{self.w_bits}a{self.a_bits}-g{self.group_size}"

    def _quantize(self, x, w):
        qa = quantize_symmetric(x, self.a_bits, 1)
        qb = quantize_symmetric(w, self.w_bits, 0, self.group_size)
        return QGemm(x.shape[0], w.shape[1], (QPart(qa, qb, label=self.name),))


@dataclass(frozen=True)
class MixedOutput(Scheme):
    """Output-feature mixed precision (MixLLM-style): salient output features at high bits.

    Each output feature (column of W) is scored by the output error its low-bit
    quantisation causes on the given activations, ``||X (W[:, n] - Q_low(W[:, n]))||^2``;
    the ``ceil(fraction * N)`` highest-scoring columns use ``high_bits`` and the rest
    ``low_bits`` (both symmetric, groups of ``group_size`` along K). Activations are
    per-token INT-``act_bits``. The two column sets are two integer GEMMs writing
    disjoint output columns; ``info["high_cols"]`` lists the high-precision columns.
    """

    fraction: float = 0.1
    high_bits: int = 8
    low_bits: int = 4
    act_bits: int = 8
    group_size: int = 128

    def __post_init__(self):
        f = self.fraction
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 <= f <= 1:
            raise ConfigError("fraction", f"must be a number in [0, 1], not {f!r}")
        _bits("high_bits", self.high_bits, 2, 16)
        _bits("low_bits", self.low_bits, 2, 16)
        if self.low_bits > self.high_bits:
            raise ConfigError("low_bits", f"must be <= high_bits {self.high_bits}, not {self.low_bits}")
        _bits("act_bits", self.act_bits, 2, 16)
        check_int("group_size", self.group_size, 1)

    @property
    def name(self) -> str:
        return f"mixllm-w{self.low_bits}w{self.high_bits}-f{self.fraction:g}"

    def _quantize(self, x, w):
        n = w.shape[1]
        low = quantize_symmetric(w, self.low_bits, 0, self.group_size)
        err = x @ (w - low.dequantize())
        salience = np.sum(err * err, axis=0)
        n_high = math.ceil(self.fraction * n)
        order = np.argsort(-salience, kind="stable")
        hi_cols = np.sort(order[:n_high])
        lo_cols = np.sort(order[n_high:])
        qa = quantize_symmetric(x, self.act_bits, 1)
        parts = []
        if hi_cols.size:
            parts.append(QPart(qa, quantize_symmetric(w[:, hi_cols], self.high_bits, 0, self.group_size),
                               cols=hi_cols, label=f"int{self.high_bits}"))
        if lo_cols.size:
            parts.append(QPart(qa, quantize_symmetric(w[:, lo_cols], self.low_bits, 0, self.group_size),
                               cols=lo_cols, label=f"int{self.low_bits}"))
        return QGemm(x.shape[0], n, tuple(parts), {"high_cols": hi_cols, "high_fraction": n_high / n})


# --------------------------------------------------------------------------------------
# Registry of named presets
# --------------------------------------------------------------------------------------
def _presets() -> dict[str, Scheme]:
    schemes: list[Scheme] = [
        NoQuant(),
        Int8Symmetric("tensor", "tensor"),
        Int8Symmetric("channel", "tensor"),
        Int8Symmetric("channel", "token"),
        LLMInt8(),
    ]
    for bits in (4, 3, 2):
        for g in (32, 64, 128):
            for sym in (True, False):
                schemes.append(WeightOnly(bits, g, sym))
    schemes += [
        Ternary(),
        BlockFloat(8, 32, False), BlockFloat(8, 32, True),
        BlockFloat(6, 32, False), BlockFloat(6, 32, True),
        BlockFloat(4, 32, False), BlockFloat(4, 32, True),
        WxAy(4, 8, 128), WxAy(4, 4, 128),
        MixedOutput(0.1), MixedOutput(0.25),
    ]
    return {s.name: s for s in schemes}


SCHEMES: dict[str, Scheme] = _presets()


def get_scheme(name: str) -> Scheme:
    """A preset scheme by name; :class:`ConfigError` (key ``scheme``) if unknown.

    >>> get_scheme("int4-g128-asym")
    WeightOnly(bits=4, group_size=128, symmetric=False)
    """
    if name not in SCHEMES:
        raise ConfigError("scheme", f"unknown scheme {name!r} (known: {', '.join(SCHEMES)})")
    return SCHEMES[name]
