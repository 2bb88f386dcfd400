"""Bit-exact result of the SRAM LUT-GEMV units.

For ``y[m, n] = sum_k a[m, k] * w[k, n]`` (``a``: activation codes, ``w``: signed weight
codes), with K padded by zeros to whole groups of ``N = cfg.group_size``:

1. **Table build.** For group ``g`` and output column ``n`` the table holds
   ``T[p] = sum_{i : bit i of p set} w[g N + i, n]`` for every pattern ``p < 2**N``. The
   hardware writes the entries in Gray-code order, each one add (or subtract) from the
   previous entry (:func:`build_tables`); the result equals the direct sums.
2. **Lookups by bit plane.** Activation bit ``j`` of the group's ``N`` activations forms the
   pattern ``p_j = sum_i bit_j(a[m, g N + i]) << i`` (two's complement bits for signed
   activations).
3. **Shift-accumulate.** ``acc += T[p_j] << j`` for ``j = 0 .. a_bits - 1`` (LSB first); the
   top plane of signed activations subtracts. The accumulator wraps at ``acc_bits``.
4. **Dequantisation.** With per-vector activation scales ``sa[m]`` and per-column weight
   scales ``sw[n]`` (binary32), ``out = (float32(acc) * sw[n]) * sa[m]``, each step one
   binary32 operation rounded to nearest even; the result is returned as IEEE bit patterns
   (``uint32``). Without scales the integers are returned.

Where ``acc_bits`` does not overflow this is the integer GEMV ``a @ w`` exactly
(:func:`integer_gemv`; tested).
"""

from __future__ import annotations

import numpy as np

from hwsim.errors import ConfigError
from hwsim.families.sram_gemv.config import SramGemvConfig


def wrap(x, bits: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.int64)
    m = np.int64(1) << bits
    return ((x + (m >> 1)) % m) - (m >> 1)


def gray(i: int) -> int:
    return i ^ (i >> 1)


def act_range(cfg: SramGemvConfig) -> tuple[int, int]:
    if cfg.act_signed:
        return -(1 << (cfg.a_bits - 1)), (1 << (cfg.a_bits - 1)) - 1
    return 0, (1 << cfg.a_bits) - 1


def code_range(cfg: SramGemvConfig) -> tuple[int, int]:
    return -(1 << (cfg.w_bits - 1)), (1 << (cfg.w_bits - 1)) - 1


def check_operands(cfg: SramGemvConfig, a, w) -> tuple[np.ndarray, np.ndarray]:
    a, w = np.asarray(a), np.asarray(w)
    if a.ndim != 2 or w.ndim != 2 or a.shape[1] != w.shape[0]:
        raise ConfigError("job", f"needs a[M, K] and wq[K, N], not shapes {a.shape} and {w.shape}")
    lo, hi = act_range(cfg)
    if a.size and (a.min() < lo or a.max() > hi):
        raise ConfigError("job", f"activations must lie in {lo}..{hi} for a_bits = {cfg.a_bits}")
    lo, hi = code_range(cfg)
    if w.size and (w.min() < lo or w.max() > hi):
        raise ConfigError("job", f"weight codes must lie in {lo}..{hi} for w_bits = {cfg.w_bits}")
    return a.astype(np.int64), w.astype(np.int64)


def pad_groups(cfg: SramGemvConfig, a: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a`` and ``w`` with K padded by zeros to whole groups."""
    k = a.shape[1]
    n_grp = cfg.group_size
    kp = max(n_grp, -(-k // n_grp) * n_grp)
    if kp == k:
        return a, w
    ap = np.zeros((a.shape[0], kp), np.int64)
    wp = np.zeros((kp, w.shape[1]), np.int64)
    ap[:, :k], wp[:k] = a, w
    return ap, wp


def build_tables(cfg: SramGemvConfig, w: np.ndarray) -> np.ndarray:
    """``T[g, p, n]`` of K-padded codes ``w[K, N]``, built in Gray-code order as the
    hardware does: entry ``gray(t)`` is entry ``gray(t - 1)`` plus or minus the weight of
    the bit that changed."""
    n_grp = cfg.group_size
    g = w.shape[0] // n_grp
    wg = w.reshape(g, n_grp, w.shape[1])
    t = np.zeros((g, cfg.table_entries, w.shape[1]), np.int64)
    prev = np.zeros((g, w.shape[1]), np.int64)
    for i in range(1, cfg.table_entries):
        cur, before = gray(i), gray(i - 1)
        bit = (cur ^ before).bit_length() - 1
        prev = prev + wg[:, bit] if cur & (1 << bit) else prev - wg[:, bit]
        t[:, cur] = prev
    return t


def patterns(cfg: SramGemvConfig, a: np.ndarray) -> np.ndarray:
    """``P[m, g, j]``: the bit pattern of plane ``j`` of group ``g`` of vector ``m``
    (``a`` K-padded)."""
    n_grp = cfg.group_size
    m, k = a.shape
    u = a & ((1 << cfg.a_bits) - 1)
    bits = (u[:, :, None] >> np.arange(cfg.a_bits)) & 1           # (m, k, j)
    bits = bits.reshape(m, k // n_grp, n_grp, cfg.a_bits)
    return (bits << np.arange(n_grp)[None, None, :, None]).sum(axis=2)


def plane_signs(cfg: SramGemvConfig) -> np.ndarray:
    s = np.ones(cfg.a_bits, np.int64)
    if cfg.act_signed:
        s[-1] = -1
    return s


def lut_gemv(cfg: SramGemvConfig, a, w) -> np.ndarray:
    """``acc[M, N]`` by table build, bit-plane lookups and shift-accumulate (int64)."""
    a, w = check_operands(cfg, a, w)
    n = w.shape[1]
    a, w = pad_groups(cfg, a, w)
    tables = build_tables(cfg, w)                                  # (g, 2^N, n)
    pats = patterns(cfg, a)                                        # (m, g, j)
    sign = plane_signs(cfg)
    acc = np.zeros((a.shape[0], n), np.int64)
    for g in range(tables.shape[0]):
        for j in range(cfg.a_bits):
            acc = wrap(acc + sign[j] * (tables[g][pats[:, g, j]] << j), cfg.acc_bits)
    return acc


def integer_gemv(cfg: SramGemvConfig, a, w) -> np.ndarray:
    """The plain integer GEMV ``a @ w`` wrapped at ``acc_bits`` (the reference it equals)."""
    a, w = check_operands(cfg, a, w)
    return wrap(a @ w, cfg.acc_bits)


def dequantise(acc: np.ndarray, sa, sw) -> np.ndarray:
    """``(float32(acc) * sw[n]) * sa[m]`` in binary32, as bit patterns."""
    sa = np.asarray(sa, dtype=np.float32)
    sw = np.asarray(sw, dtype=np.float32)
    y = (acc.astype(np.float32) * sw[None, :]).astype(np.float32) * sa[:, None]
    return y.astype(np.float32).view(np.uint32)


def golden_job(cfg: SramGemvConfig, job) -> np.ndarray:
    acc = lut_gemv(cfg, job["a"], job["wq"])
    if job.get("sa") is None:
        return acc
    return dequantise(acc, job["sa"], job["sw"])
