"""Bit-exact result of a low-bit-weight GEMM as the LUT tensor core computes it.

The hardware, for every row ``m`` of A and every group ``j`` of ``k_group`` consecutive
activations ``a_0 .. a_{k-1}``, builds the table

    ``T[p] = sum_i (2 p_i - 1) a_i``    for every ``k_group``-bit pattern ``p``,

i.e. each weight bit ``q_b`` in {0, 1} is reinterpreted as ``2 q_b - 1`` in {-1, +1}.
Because ``T[~p] == -T[p]`` the symmetric table stores only the patterns whose top bit is
0 and negates on lookup. Table entries keep ``cfg.stored_table_bits`` bits: when that is
below exact, the low ``cfg.table_shift`` bits are dropped with an arithmetic right shift
(floor) and the negation is applied to the stored, shifted entry. Weights are read one
bit plane ``b`` at a time; the looked-up entry is shifted left by ``b`` and accumulated,
so after all planes the accumulator holds (in units of ``2**table_shift``)

    ``acc = sum_k a_k (2 q_k - (2**w_bits - 1)) = A @ W_sym``.

The activation row sum comes free from the table: entry 0 (all bits 0) is ``-sum a``.
The output stage converts to the requested weight mode (exact, since the sum is even):

* ``symmetric``: ``out = wrap(acc << s)``
* ``signed`` (``w = q - 2**(B-1)``): ``out = wrap((acc - rowsum) << s) >> 1``
* ``unsigned`` (``w = q``): ``out = wrap((acc + (2**B - 1) rowsum) << s) >> 1``

where ``wrap`` reduces modulo ``2**acc_bits`` to two's complement and ``>> 1`` is
arithmetic. With an exact table and no overflow this equals the plain ``A @ W``.

Per-group scales (:func:`golden_lut_gemm_scaled`): each quantisation group of
``group_size`` K elements gives an exact integer partial sum ``p_g`` (computed as above
on that slice of K); the rescale stage multiplies by a signed fixed-point scale with
``frac_bits`` fractional bits, adds over groups exactly, and rounds once at the end:
``out = saturate((sum_g p_g * s_g + 2**(frac_bits-1)) >> frac_bits)`` (round half up,
i.e. towards +infinity on ties; saturation to ``out_bits``).
"""

from __future__ import annotations

import numpy as np

from hwsim.families.lut.config import LutConfig
from hwsim.errors import ConfigError


def wrap(x, bits: int) -> np.ndarray:
    """Reduce integers modulo ``2**bits`` into the two's-complement range.

    >>> wrap(np.array([127, 128, -129]), 8).tolist()
    [127, -128, 127]
    """
    x = np.asarray(x, dtype=np.int64)
    if bits >= 64:
        return x
    u = x & ((1 << bits) - 1)
    return np.where(u >= (1 << (bits - 1)), u - (1 << bits), u).astype(np.int64)


# --- weight encodings -------------------------------------------------------------------
def weight_values(cfg: LutConfig, q) -> np.ndarray:
    """Weight values of the ``w_bits``-bit codes ``q`` under ``cfg.weight_mode``.

    >>> weight_values(LutConfig(w_bits=2, weight_mode="symmetric"), [0, 1, 2, 3]).tolist()
    [-3, -1, 1, 3]
    >>> weight_values(LutConfig(w_bits=2, weight_mode="signed"), [0, 1, 2, 3]).tolist()
    [-2, -1, 0, 1]
    """
    q = np.asarray(q, dtype=np.int64)
    b = cfg.w_bits
    if q.size and (q.min() < 0 or q.max() >= (1 << b)):
        raise ConfigError("weights", f"codes [{q.min()}, {q.max()}] do not fit {b} bits")
    if cfg.weight_mode == "symmetric":
        return 2 * q - ((1 << b) - 1)
    if cfg.weight_mode == "signed":
        return q - (1 << (b - 1))
    return q.copy()


def weight_codes(cfg: LutConfig, w) -> np.ndarray:
    """Inverse of :func:`weight_values`: the codes of integer weights ``w``.

    >>> weight_codes(LutConfig(w_bits=2, weight_mode="signed"), [-1, 0, 1]).tolist()
    [1, 2, 3]
    """
    w = np.asarray(w, dtype=np.int64)
    lo, hi = cfg.w_range
    if w.size and (w.min() < lo or w.max() > hi):
        raise ConfigError("weights", f"values [{w.min()}, {w.max()}] outside the "
                          f"{cfg.w_bits}-bit {cfg.weight_mode} range [{lo}, {hi}]")
    b = cfg.w_bits
    if cfg.weight_mode == "symmetric":
        if w.size and np.any(w % 2 == 0):
            raise ConfigError("weights", "symmetric weights must be odd")
        return (w + ((1 << b) - 1)) // 2
    if cfg.weight_mode == "signed":
        return w + (1 << (b - 1))
    return w.copy()


def bit_planes(cfg: LutConfig, q) -> np.ndarray:
    """Bit planes of the codes: ``planes[b] = (q >> b) & 1``, shape ``(w_bits,) + q.shape``."""
    q = np.asarray(q, dtype=np.int64)
    return np.stack([(q >> b) & 1 for b in range(cfg.w_bits)])


# --- tables -----------------------------------------------------------------------------
def pattern_signs(k: int) -> np.ndarray:
    """``(2**k, k)`` matrix of ``2 p_i - 1`` for every pattern ``p`` (bit ``i`` of ``p``)."""
    p = np.arange(1 << k)[:, None]
    return 2 * ((p >> np.arange(k)[None, :]) & 1) - 1


def build_tables(cfg: LutConfig, a_groups) -> np.ndarray:
    """Stored table entries for activation groups ``a_groups[..., k_group]``.

    Returns ``[..., cfg.table_entries]`` int64: entry ``e`` is ``T[e] >> table_shift``
    (for the symmetric table only patterns with top bit 0 are stored).

    >>> build_tables(LutConfig(k_group=2, tile_k=2), np.array([3, 5])).tolist()
    [-8, -2]
    """
    a_groups = np.asarray(a_groups, dtype=np.int64)
    signs = pattern_signs(cfg.k_group)[: cfg.table_entries]
    return (a_groups @ signs.T) >> cfg.table_shift


def lookup(cfg: LutConfig, tables: np.ndarray, patterns: np.ndarray, neg=np.negative) -> np.ndarray:
    """Entry for each ``k_group``-bit pattern, negating (``neg``) through the symmetric
    table: a pattern with its top bit set reads its complement's entry.

    ``tables[..., E]`` and ``patterns`` broadcast against ``tables[..., 0]``.
    """
    patterns = np.asarray(patterns, dtype=np.int64)
    if cfg.symmetric_table:
        half = cfg.k_group - 1
        low_mask = (1 << half) - 1
        msb = (patterns >> half) & 1
        low = patterns & low_mask
        v = _take(tables, np.where(msb == 1, low ^ low_mask, low))
        return np.where(msb == 1, neg(v), v)
    return _take(tables, patterns)


def _take(tables: np.ndarray, idx: np.ndarray) -> np.ndarray:
    shape = np.broadcast_shapes(tables.shape[:-1], idx.shape)
    t = np.broadcast_to(tables, shape + tables.shape[-1:])
    return np.take_along_axis(t, np.broadcast_to(idx, shape)[..., None], axis=-1)[..., 0]


def check_operands(cfg: LutConfig, a: np.ndarray, q: np.ndarray) -> None:
    if not cfg.is_integer:
        raise ConfigError("act_format", f"the golden model supports integer activations only, not {cfg.act_format!r}")
    if a.ndim != 2 or q.ndim != 2:
        raise ConfigError("operands", f"A and W must be 2-D, got {a.ndim}-D and {q.ndim}-D")
    if a.shape[1] != q.shape[0]:
        raise ConfigError("operands", f"inner dimensions differ: A is {a.shape}, W is {q.shape}")
    lo, hi = -(1 << (cfg.a_bits - 1)), (1 << (cfg.a_bits - 1)) - 1
    if a.size and (a.min() < lo or a.max() > hi):
        raise ConfigError("A", f"values [{a.min()}, {a.max()}] do not fit {cfg.act_format}")
    if q.size and (q.min() < 0 or q.max() >= (1 << cfg.w_bits)):
        raise ConfigError("W", f"codes [{q.min()}, {q.max()}] do not fit {cfg.w_bits} bits")


def lut_accumulate(cfg: LutConfig, a: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw accumulator ``acc[M, N]`` and row sums ``rowsum[M]`` (units of ``2**table_shift``).

    K is padded with zero activations to a multiple of ``k_group`` (zero activations
    make a zero table, exactly as the feeder's padding does in the RTL).
    """
    a = np.asarray(a, dtype=np.int64)
    q = np.asarray(q, dtype=np.int64)
    m, kdim = a.shape
    n = q.shape[1]
    k = cfg.k_group
    kp = -(-kdim // k) * k
    a_p = np.zeros((m, kp), dtype=np.int64)
    a_p[:, :kdim] = a
    q_p = np.zeros((kp, n), dtype=np.int64)
    q_p[:kdim] = q
    groups = kp // k
    tables = build_tables(cfg, a_p.reshape(m, groups, k))  # (M, G, E)
    rowsum = -tables[:, :, 0].sum(axis=1)
    weights_of_bit = 1 << np.arange(k)
    acc = np.zeros((m, n), dtype=np.int64)
    for b, plane in enumerate(bit_planes(cfg, q_p)):
        pat = (plane.reshape(groups, k, n) * weights_of_bit[None, :, None]).sum(axis=1)  # (G, N)
        vals = lookup(cfg, tables[:, :, None, :], pat[None, :, :])  # (M, G, N)
        acc += vals.sum(axis=1) << b
    return acc, rowsum


def lut_output(cfg: LutConfig, acc: np.ndarray, rowsum: np.ndarray) -> np.ndarray:
    """The output stage: weight-mode correction, table-shift restore, wrap."""
    s = cfg.table_shift
    c = cfg.w_offset_coeff
    if c is None:
        return wrap(acc << s, cfg.acc_bits)
    with np.errstate(over="ignore"):
        t = wrap((acc + c * rowsum[:, None]) << s, cfg.acc_bits)
    return t >> 1


def golden_lut_gemm(cfg: LutConfig, a, q) -> np.ndarray:
    """``A @ W`` as the LUT tile computes it, from activations ``a`` and weight codes ``q``.

    Parameters
    ----------
    cfg : LutConfig
    a : array (M, K) of integers in the activation format
    q : array (K, N) of ``w_bits``-bit weight codes (see :func:`weight_codes`)

    Examples
    --------
    >>> cfg = LutConfig(w_bits=2, weight_mode="signed", tile_n=8)
    >>> a = np.array([[1, 2, 3, 4]]); w = np.array([[1], [-2], [0], [1]])
    >>> golden_lut_gemm(cfg, a, weight_codes(cfg, w)).tolist()
    [[1]]
    """
    a = np.asarray(a, dtype=np.int64)
    q = np.asarray(q, dtype=np.int64)
    check_operands(cfg, a, q)
    acc, rowsum = lut_accumulate(cfg, a, q)
    return lut_output(cfg, acc, rowsum)


def golden_mac_gemm(cfg: LutConfig, a, q) -> np.ndarray:
    """``A @ W`` as the MAC baseline tile computes it: dequantised weights, exact products,
    sums wrapping at ``acc_bits``."""
    a = np.asarray(a, dtype=np.int64)
    q = np.asarray(q, dtype=np.int64)
    check_operands(cfg, a, q)
    with np.errstate(over="ignore"):
        return wrap(a @ weight_values(cfg, q), cfg.acc_bits)


def rescale(partials: np.ndarray, scales: np.ndarray, frac_bits: int, out_bits: int) -> np.ndarray:
    """Fixed-point rescale of per-group integer partial sums.

    ``partials[G, M, N]`` and ``scales[G, N]`` (signed integers, value ``s / 2**frac_bits``)
    give ``saturate((sum_g partials[g] * scales[g] + 2**(frac_bits-1)) >> frac_bits)``.

    >>> rescale(np.array([[[3]]]), np.array([[1]]), 1, 8).tolist()  # 1.5 rounds up
    [[2]]
    >>> rescale(np.array([[[-3]]]), np.array([[1]]), 1, 8).tolist()  # -1.5 rounds up
    [[-1]]
    """
    partials = np.asarray(partials, dtype=np.int64)
    scales = np.asarray(scales, dtype=np.int64)
    y = (partials * scales[:, None, :]).sum(axis=0)
    if frac_bits:
        y = (y + (1 << (frac_bits - 1))) >> frac_bits
    lo, hi = -(1 << (out_bits - 1)), (1 << (out_bits - 1)) - 1
    return np.clip(y, lo, hi)


def golden_lut_gemm_scaled(cfg: LutConfig, a, q, scales, group_size: int,
                           frac_bits: int = 15, scale_bits: int = 16,
                           out_bits: int | None = None) -> np.ndarray:
    """Group-wise dequantised ``A @ (scale * W)`` as the LUT core with rescale computes it.

    Parameters
    ----------
    a : (M, K) activations; q : (K, N) weight codes
    scales : (ceil(K / group_size), N) signed fixed-point scales, ``scale_bits`` wide
    group_size : int
        K elements per quantisation group (a multiple of ``cfg.k_group``).
    frac_bits : int
        Fractional bits of the scales.
    out_bits : int, optional
        Saturating output width (default ``cfg.acc_bits``).
    """
    a = np.asarray(a, dtype=np.int64)
    q = np.asarray(q, dtype=np.int64)
    check_operands(cfg, a, q)
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 1 \
            or group_size % cfg.k_group:
        raise ConfigError("group_size", f"must be a positive multiple of k_group = {cfg.k_group}, not {group_size!r}")
    scales = np.asarray(scales, dtype=np.int64)
    groups = -(-a.shape[1] // group_size)
    if scales.shape != (groups, q.shape[1]):
        raise ConfigError("scales", f"shape must be {(groups, q.shape[1])}, not {scales.shape}")
    lo, hi = -(1 << (scale_bits - 1)), (1 << (scale_bits - 1)) - 1
    if scales.size and (scales.min() < lo or scales.max() > hi):
        raise ConfigError("scales", f"values [{scales.min()}, {scales.max()}] do not fit {scale_bits} bits")
    partials = np.stack([
        lut_output(cfg, *lut_accumulate(cfg, a[:, g * group_size:(g + 1) * group_size],
                                        q[g * group_size:(g + 1) * group_size]))
        for g in range(groups)
    ])
    return rescale(partials, scales, frac_bits, cfg.acc_bits if out_bits is None else out_bits)


__all__ = [
    "bit_planes",
    "build_tables",
    "golden_lut_gemm",
    "golden_lut_gemm_scaled",
    "golden_mac_gemm",
    "lookup",
    "lut_accumulate",
    "lut_output",
    "pattern_signs",
    "rescale",
    "weight_codes",
    "weight_values",
    "wrap",
]
