"""Workload tiles as jobs of the systolic array's RTL (the ``rtl_tile`` contract hook).

A tile is ``rows x cols`` outputs of the op (fewer where the op is smaller) over its full
K: one output-stationary fold of the array. The float activations are quantised per
token and the weights per output column to the design's ``a_bits`` / ``b_bits``
(symmetric for a signed array, min/max with zero points for an unsigned one). The array
accumulates over the whole of K, so a recipe's group-wise scales cannot be applied inside
it: the scales are per row and per column here, and the record says so.
"""

from __future__ import annotations

import numpy as np

from hwsim.errors import ConfigError
from hwsim.families.contract import RtlTile, TileSource
from hwsim.families.systolic.config import SystolicConfig
from hwsim.workloads.quant import quantize_asymmetric, quantize_symmetric


def rtl_tile(cfg: SystolicConfig, op, source: TileSource) -> RtlTile:
    ops = source.operands(min(op.m, cfg.rows), min(op.n, cfg.cols))
    if cfg.is_fp16:  # binary16 operands as they are (no scales); outputs are binary16 patterns
        a = np.asarray(ops.x, np.float32).astype(np.float16).view(np.uint16).astype(np.int64)
        b = np.asarray(ops.w, np.float32).astype(np.float16).view(np.uint16).astype(np.int64)

        def to_half(c: np.ndarray) -> np.ndarray:
            return np.asarray(c).astype(np.uint16).view(np.float16).astype(np.float64)

        return RtlTile(job={"a": a, "b": b}, shape=ops.shape, operands=ops, to_float=to_half,
                       quantisation="binary16 activations and weights (round to nearest even), binary16 "
                       "accumulation")
    if min(cfg.a_bits, cfg.b_bits) < 2:
        raise ConfigError("a_bits", "workload tiles need operands of at least 2 bits")
    k = ops.shape[1]
    if cfg.signed:
        qa = quantize_symmetric(ops.x, cfg.a_bits, k_axis=1)
        qb = quantize_symmetric(ops.w, cfg.b_bits, k_axis=0)
        how = "symmetric"
    else:
        qa = quantize_asymmetric(ops.x, cfg.a_bits, k_axis=1)
        qb = quantize_asymmetric(ops.w, cfg.b_bits, k_axis=0)
        how = "min/max with zero points"
    sa, sb = qa.scale.reshape(-1, 1), qb.scale.reshape(1, -1)
    za = None if qa.zero is None else qa.zero.reshape(-1, 1)
    zb = None if qb.zero is None else qb.zero.reshape(1, -1)
    rowsum = qa.q.sum(axis=1, keepdims=True)
    colsum = qb.q.sum(axis=0, keepdims=True)

    def to_float(c: np.ndarray) -> np.ndarray:
        acc = np.asarray(c, np.float64)
        if zb is not None:
            acc = acc - zb * rowsum
        if za is not None:
            acc = acc - za * colsum
            if zb is not None:
                acc = acc + k * za * zb
        return acc * sa * sb

    note = (f"A {cfg.a_bits}-bit per token, B {cfg.b_bits}-bit per output column ({how}); "
            "no K groups (the array accumulates over all of K)")
    return RtlTile(job={"a": qa.q, "b": qb.q}, shape=ops.shape, operands=ops, to_float=to_float,
                   quantisation=note)
