"""Cycle-level model of the MixPE RTL.

The array is the systolic ``os`` array, so its cycle-level model is the systolic one
(:mod:`hwsim.families.systolic.cyclesim`), stepped register by register on the MixPE
feeder's beats (:func:`hwsim.families.mixpe.timing.operand_beats`), with the MixPE PE's
arithmetic in place of the MAC (:func:`pe_sum`): per set bit of the code lane, the
shifted activation is added -- an integer shift and a wrap at ``acc_bits`` on the INT
path (the lane's top bit negative for signed codes), :func:`~hwsim.blocks.fp16.fp16_shift`
and :func:`~hwsim.blocks.fp16.fp16_add` in ascending bit order on the FP16 path.
"""

from __future__ import annotations

import numpy as np

from hwsim.families.mixpe.config import MixpeConfig
from hwsim.families.mixpe.timing import (array_config, assemble_partials, operand_beats, pad_k,
                                         result_beat_count)

__all__ = ["dequantise_lanes", "simulate_dequant_mac", "simulate_partials"]


def simulate_partials(cfg: MixpeConfig, a, wq) -> tuple[np.ndarray, np.ndarray, int]:
    """``(P, S, cycles)`` of ``A @ Wq`` (``K`` padded to whole groups with zeros).

    ``a``: INT8 values or binary16 bit patterns (``act_format``). ``P[G, M, N]`` and
    ``S[G, M, 1]`` (binary16 patterns on the FP16 path) are the per-group sums the array drains; ``cycles``
    counts from the first operand beat accepted to the last result beat, inclusive.
    """
    from hwsim.families.systolic.cyclesim import _run_os

    a, wq = (np.asarray(x, dtype=np.int64) for x in pad_operands(cfg, a, wq))
    (m, k), n = a.shape, wq.shape[1]
    west, north = operand_beats(cfg, a, wq)
    with np.errstate(over="ignore"):
        beats, cycles = _run_os(array_config(cfg), cfg.group_size, west, north,
                                result_beat_count(cfg, m, k, n), pe_sum(cfg))
    p, s = assemble_partials(cfg, m, k, n, beats)
    return p, s, int(cycles)


def dequantise_lanes(cfg: MixpeConfig, lanes: np.ndarray) -> np.ndarray:
    """The per-column dequantisers of the dequantise-then-MAC array on packed north lanes
    (:func:`~hwsim.families.mixpe.timing.pack_dequant_lanes`): binary16 weight patterns."""
    from hwsim.blocks.fp16 import fp16_mul

    lanes = np.asarray(lanes, dtype=np.int64)
    code = lanes & 0xF
    if not cfg.zero_point:
        code = np.where(code >= 8, code - 16, code)
    diff = (code - ((lanes >> 4) & 0xF)).astype(np.float16).view(np.uint16)
    return fp16_mul((lanes >> 8) & 0xFFFF, diff).astype(np.int64)


def simulate_dequant_mac(cfg: MixpeConfig, a, lanes) -> tuple[np.ndarray, int]:
    """``(C, cycles)`` of the dequantise-then-MAC array: ``C`` binary16 patterns (M x N).

    ``a``: binary16 patterns (M x Kp); ``lanes``: packed weights (Kp x N). The systolic
    ``os`` model runs on the dequantisers' outputs with the binary16 MAC PE.
    """
    from hwsim.families.systolic.cyclesim import _fp16_pe_sum, _run_os
    from hwsim.families.systolic.timing import assemble_output

    a = np.asarray(a, dtype=np.int64)
    (m, kp), n = a.shape, np.shape(lanes)[1]
    arr = array_config(cfg)
    west, north = operand_beats(cfg, a, lanes)
    beats, cycles = _run_os(arr, kp, west, dequantise_lanes(cfg, north), result_beat_count(cfg, m, kp, n),
                            _fp16_pe_sum)
    return assemble_output(arr, m, kp, n, beats), int(cycles)


def pe_sum(cfg: MixpeConfig):
    """``f(acc, a, code_lane) -> next acc`` of every PE of the grid (NumPy arrays)."""
    from hwsim.blocks.fp16 import fp16_add, fp16_shift
    from hwsim.families.mixpe.golden import wrap
    from hwsim.families.mixpe.hdl import CODE_BITS

    lane_mask = (1 << CODE_BITS) - 1

    def int_sum(acc, a, b):
        lane = b & lane_mask
        total = acc.copy()
        for i in range(CODE_BITS):
            term = a << i
            if i == CODE_BITS - 1 and not cfg.zero_point:
                term = -term
            total = total + np.where((lane >> i) & 1 == 1, term, 0)
        return wrap(total, cfg.acc_bits)

    neg_bit = None if cfg.zero_point else cfg.w_bits - 1

    def fp16_sum(acc, a, b):
        p = acc
        for i in range(CODE_BITS):
            term = fp16_shift(a, i).astype(np.int64)
            if i == neg_bit:
                term = term ^ 0x8000
            p = np.where((b >> i) & 1 == 1, fp16_add(p, term), p).astype(np.int64)
        return p

    return int_sum if cfg.act_format == "int8" else fp16_sum


def pad_operands(cfg: MixpeConfig, a, wq) -> tuple[np.ndarray, np.ndarray]:
    """``A`` and ``Wq`` with K padded to whole groups (zero activations, zero codes).

    ``A`` keeps its dtype (binary16 activations are padded with ``+0``)."""
    a = np.asarray(a)
    wq = np.asarray(wq)
    if a.ndim != 2 or wq.ndim != 2 or a.shape[1] != wq.shape[0]:
        from hwsim.errors import ConfigError

        raise ConfigError("operands", f"need A (M x K) and Wq (K x N), not {a.shape} and {wq.shape}")
    k = a.shape[1]
    kp = pad_k(cfg, k)
    if kp == k:
        return a, wq
    ap = np.zeros((a.shape[0], kp), dtype=a.dtype)
    ap[:, :k] = a
    wp = np.zeros((kp, wq.shape[1]), dtype=wq.dtype)
    wp[:k] = wq
    return ap, wp
