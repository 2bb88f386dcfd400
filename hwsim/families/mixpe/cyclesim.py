"""Cycle-level model of the MixPE RTL.

The array is the systolic ``os`` array, so its cycle-level model is the systolic one
(:mod:`hwsim.families.systolic.cyclesim`), stepped register by register on the MixPE
feeder's beats (:func:`hwsim.families.mixpe.timing.operand_beats`). The PE's shift-and-add
sum over the set bits of a code is the integer ``code * a`` (the two's complement lane
weighting of :mod:`hwsim.families.mixpe.hdl`), so the model accumulates that product,
wrapping at ``acc_bits`` like the RTL.
"""

from __future__ import annotations

import numpy as np

from hwsim.families.mixpe.config import MixpeConfig
from hwsim.families.mixpe.timing import (array_config, assemble_partials, operand_beats, pad_k,
                                         result_beat_count)

__all__ = ["simulate_partials"]


def simulate_partials(cfg: MixpeConfig, a, wq) -> tuple[np.ndarray, np.ndarray, int]:
    """``(P, S, cycles)`` of ``A @ Wq`` (``K`` padded to whole groups with zeros).

    ``P[G, M, N]`` and ``S[G, M, 1]`` are the per-group sums the array drains; ``cycles``
    counts from the first operand beat accepted to the last result beat, inclusive.
    """
    from hwsim.families.systolic.cyclesim import _run_os

    a, wq = (np.asarray(x, dtype=np.int64) for x in pad_operands(cfg, a, wq))
    (m, k), n = a.shape, wq.shape[1]
    west, north = operand_beats(cfg, a, wq)
    with np.errstate(over="ignore"):
        beats, cycles = _run_os(array_config(cfg), cfg.group_size, west, north,
                                result_beat_count(cfg, m, k, n))
    p, s = assemble_partials(cfg, m, k, n, beats)
    return p, s, int(cycles)


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
