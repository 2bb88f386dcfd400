"""Bit-exact result of a GEMM as the systolic array computes it."""

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
    with np.errstate(over="ignore"):
        c = a @ b
    return wrap(c, cfg.acc_bits, cfg.signed)



__all__ = ["golden_gemm", "wrap", "check_operands"]
