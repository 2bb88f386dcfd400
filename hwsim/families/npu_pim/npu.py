"""The NPU's part: GEMM cycles from the systolic family's closed form, vector-unit cycles,
and the DRAM bytes each op moves.

An op's output columns are split evenly over the ``npu_arrays`` arrays, which run in
parallel: its compute cycles are the systolic family's hardware-mode cycles
(:func:`hwsim.families.systolic.timing.hardware_cycles`, exact for the project's RTL) of
one array's share. Its DRAM bytes are the FP16 weights plus the activations in and out
(the 1 MiB scratchpads hold neither a layer's weights nor a batch's activations, so both
stream), striped evenly over the channels.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from hwsim.families.npu_pim.workload import ELEM_BYTES


def _cdiv(a, b):
    return -(-a // b)


@lru_cache(maxsize=1 << 16)
def gemm_compute_cycles(npu, arrays: int, m: int, k: int, n: int) -> int:
    """Cycles of ``m x k x n`` on ``arrays`` arrays (columns split evenly)."""
    from hwsim.families.systolic.timing import hardware_cycles

    return int(hardware_cycles(npu, m, k, _cdiv(n, arrays)))


def per_channel_bytes(total: int, channels: int) -> int:
    return _cdiv(total, channels)


def transfer_cycles(cfg, nbytes: int) -> int:
    """NPU cycles one channel needs for ``nbytes`` at its external bandwidth."""
    return math.ceil(nbytes / cfg.channel_bytes_per_cycle)


def vector_cycles(cfg, elements: int, passes: int) -> int:
    """Cycles of ``passes`` element-wise passes over ``elements`` on all vector lanes."""
    return _cdiv(elements * passes, cfg.vector_lanes)


@lru_cache(maxsize=1 << 16)
def _attn_request_cycles(npu, seq: int, d_head: int) -> int:
    """One head of one request on one array: score ``1 x d_head x seq`` then context
    ``1 x seq x d_head`` (the keys and values are the stationary operand)."""
    from hwsim.families.systolic.timing import hardware_cycles

    return int(hardware_cycles(npu, 1, d_head, seq) + hardware_cycles(npu, 1, seq, d_head))


def attention_compute_cycles(cfg, seqs, heads: int, d_head: int) -> int:
    """Decode attention of ``seqs`` requests on the NPU: the heads' GEMVs spread over the
    arrays (each array runs whole heads)."""
    total = sum(_attn_request_cycles(cfg.npu, int(s), d_head) for s in seqs) * heads
    return _cdiv(total, cfg.npu_arrays)


def attention_bytes(seqs, e: int) -> int:
    """K and V read by the NPU for decode attention (scores and outputs stay on chip)."""
    return int(np.sum(np.asarray(seqs, dtype=np.int64))) * 2 * e * ELEM_BYTES
