"""Bit-exact result of a GEMM as the systolic array computes it.

Integer PEs (``operand_format="int"``): exact products, sums wrapping at ``acc_bits``.

Binary16 PEs (``operand_format="fp16"``; operands and results are IEEE binary16 bit
patterns, every step rounds to nearest even, :mod:`hwsim.blocks.fp16`): a product is
``fp16_mul(a, b)``; sums start at ``+0`` and add products one at a time with
``fp16_add``, in the order the dataflow adds them:

``os``
    Each PE owns ``C[m, n]``: ``c = +0``, then ``c = c + a[m, k] * b[k, n]`` for ``k``
    ascending.
``ws`` / ``is``
    K is cut into folds of ``rows`` (``k0 = 0, rows, 2 rows, ...``). In a fold the
    partial sum flows down one column of PEs: ``p = +0``, then ``p = p + x * w`` for the
    ``rows`` values ``k = k0 .. k0 + rows - 1`` (past ``K`` the feeder sends ``+0``
    operands, whose ``+0`` product is still added: it turns a ``-0`` sum into ``+0``).
    At the bottom, the first fold's ``p`` is stored and each later fold's is added to
    it: ``c = p_0``, then ``c = c + p_f``. (``is`` computes ``C^T`` with the operands'
    roles swapped; a binary16 product does not depend on operand order.)
"""

from __future__ import annotations

import numpy as np

from hwsim.families.systolic.config import SystolicConfig
from hwsim.errors import ConfigError


def wrap(x: np.ndarray, bits: int, signed: bool = True) -> np.ndarray:
    """Reduce integers modulo ``2**bits`` into the signed or unsigned range.

    >>> wrap(np.array([127, 128, -129]), 8).tolist()
    [127, -128, 127]
    """
    x = np.asarray(x, dtype=np.int64)
    if bits >= 64:
        return x
    mask = (1 << bits) - 1
    u = x & mask
    if signed:
        u = np.where(u >= (1 << (bits - 1)), u - (1 << bits), u)
    return u.astype(np.int64)


def check_operands(cfg: SystolicConfig, a: np.ndarray, b: np.ndarray) -> None:
    if a.ndim != 2 or b.ndim != 2:
        raise ConfigError("operands", f"A and B must be 2-D, got {a.ndim}-D and {b.ndim}-D")
    if a.shape[1] != b.shape[0]:
        raise ConfigError("operands", f"inner dimensions differ: A is {a.shape}, B is {b.shape}")
    if cfg.is_fp16:
        for key, x in (("A", a), ("B", b)):
            if x.size and (x.min() < 0 or x.max() > 0xFFFF):
                raise ConfigError(key, "binary16 operands are bit patterns in 0..65535")
        return
    lo_a, hi_a = (-(1 << (cfg.a_bits - 1)), (1 << (cfg.a_bits - 1)) - 1) if cfg.signed else (0, (1 << cfg.a_bits) - 1)
    lo_b, hi_b = (-(1 << (cfg.b_bits - 1)), (1 << (cfg.b_bits - 1)) - 1) if cfg.signed else (0, (1 << cfg.b_bits) - 1)
    if a.size and (a.min() < lo_a or a.max() > hi_a):
        raise ConfigError("A", f"values outside the {cfg.a_bits}-bit operand range")
    if b.size and (b.min() < lo_b or b.max() > hi_b):
        raise ConfigError("B", f"values outside the {cfg.b_bits}-bit operand range")


def golden_gemm(cfg: SystolicConfig, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``A @ B`` with every product exact and sums wrapping at ``cfg.acc_bits``.

    The accumulators are two's complement of ``acc_bits`` bits (``signed`` operands) or
    unsigned; wrapping each partial sum and wrapping the final sum give the same value
    modulo ``2**acc_bits``, so one wrap at the end is exact. int64 arithmetic itself wraps
    modulo 2**64, which ``2**acc_bits`` divides.

    Examples
    --------
    >>> cfg = SystolicConfig(rows=2, cols=2, a_bits=8, b_bits=8, acc_bits=16)
    >>> golden_gemm(cfg, np.full((1, 4), 127), np.full((4, 1), 127)).tolist()
    [[-1020]]
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    check_operands(cfg, a, b)
    if cfg.is_fp16:
        return fp16_gemm(cfg, a, b)
    with np.errstate(over="ignore"):
        c = a @ b
    return wrap(c, cfg.acc_bits, cfg.signed)


def fp16_gemm(cfg: SystolicConfig, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Binary16 ``A @ B`` in the order of ``cfg.dataflow`` (module docstring); int64 bit
    patterns in, int64 bit patterns out.

    Examples
    --------
    >>> cfg = SystolicConfig(rows=2, cols=2, a_bits=16, b_bits=16, acc_bits=16, operand_format="fp16")
    >>> one, two = 0x3C00, 0x4000
    >>> hex(int(fp16_gemm(cfg, np.array([[one, two]]), np.array([[two], [two]]))[0, 0]))  # 2 + 4
    '0x4600'
    """
    from hwsim.blocks.fp16 import fp16_add, fp16_mul

    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    m, k = a.shape
    n = b.shape[1]
    zero = np.zeros((m, n), dtype=np.int64)

    def product(kk):
        if kk >= k:  # padding beyond K: +0 x +0
            return zero
        return fp16_mul(a[:, kk:kk + 1], b[kk:kk + 1, :]).astype(np.int64)

    if cfg.dataflow == "os":
        c = zero
        for kk in range(k):
            c = fp16_add(c, product(kk)).astype(np.int64)
        return c
    c = None
    for k0 in range(0, k, cfg.rows):
        p = zero
        for kk in range(k0, k0 + cfg.rows):
            p = fp16_add(p, product(kk)).astype(np.int64)
        c = p if c is None else fp16_add(c, p).astype(np.int64)
    return c


__all__ = ["check_operands", "fp16_gemm", "golden_gemm", "wrap"]
