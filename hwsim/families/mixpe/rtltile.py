"""Workload tiles as jobs of the MixPE array's RTL (the ``rtl_tile`` contract hook).

A tile is ``rows x cols`` outputs of the op over its full K (padded with zeros to whole
groups, as the feeder pads). Weights are quantised group-wise along K with the design's
``group_size`` and ``w_bits`` (min/max with per-group zero points when the design has
them, symmetric signed codes otherwise) and their scales rounded to binary16, which is
what the array's dequantisation stage reads. INT8 activations are quantised per token
(the per-token scale is applied to the array's binary32 outputs); FP16 activations are
the floats rounded to binary16.
"""

from __future__ import annotations

import numpy as np

from hwsim.families.contract import RtlTile, TileSource
from hwsim.families.mixpe.config import MixpeConfig
from hwsim.workloads.quant import quantize_asymmetric, quantize_symmetric


def rtl_tile(cfg: MixpeConfig, op, source: TileSource) -> RtlTile:
    ops = source.operands(min(op.m, cfg.rows), min(op.n, cfg.cols))
    m, k, n = ops.shape
    g = cfg.group_size
    kp = -(-k // g) * g
    x = np.zeros((m, kp), np.float64)
    w = np.zeros((kp, n), np.float64)
    x[:, :k], w[:k] = ops.x, ops.w
    if cfg.zero_point:
        qw = quantize_asymmetric(w, cfg.w_bits, k_axis=0, group_size=g)
        how = "min/max with zero points"
    else:
        qw = quantize_symmetric(w, cfg.w_bits, k_axis=0, group_size=g)
        how = "symmetric"
    scales = qw.scale.astype(np.float16)
    scales[scales == 0] = np.float16(1.0)  # a scale below binary16's range: an all-zero group
    if cfg.act_format == "int8":
        qa = quantize_symmetric(x, 8, k_axis=1)
        a, sa = qa.q, qa.scale.reshape(-1, 1)
        act = "INT8 per token"
    else:
        a, sa = x.astype(np.float16), np.ones((m, 1))
        act = "binary16"
    job = {"a": a, "wq": qw.q, "scales": scales, "zeros": qw.zero if cfg.zero_point else None}

    def to_float(c: np.ndarray) -> np.ndarray:
        return np.asarray(c, np.uint32).view(np.float32).astype(np.float64) * sa

    rec = ops.recipe
    rg = None if rec is None else rec.weight.group_size
    note = (f"A {act}, W {cfg.w_bits}-bit {how} in groups of {g} along K with binary16 scales"
            + (f" (the recipe's groups are {rg})" if rg is not None and rg != g else ""))
    return RtlTile(job=job, shape=ops.shape, operands=ops, to_float=to_float, quantisation=note)
