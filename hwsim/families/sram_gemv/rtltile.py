"""Workload tiles as jobs of the SRAM LUT-GEMV unit (the ``rtl_tile`` contract hook).

A tile is up to ``vectors`` activation rows (one pass of the unit) by up to ``lanes``
weight columns of the op, over its full K. Activations are quantised per token to
``a_bits`` (symmetric when the unit takes signed activations; min/max with an integer
zero point otherwise, whose correction is applied when the outputs are read back),
weights per output column to symmetric ``w_bits`` codes. The unit's binary32 rescale
takes the two scales, so its outputs are real values already; the activations' zero
point (unsigned activations) is the only correction :func:`rtl_tile`'s ``to_float``
adds. Per-column weight scales: the record says so.
"""

from __future__ import annotations

import numpy as np

from hwsim.families.contract import RtlTile, TileSource
from hwsim.families.sram_gemv.config import SramGemvConfig
from hwsim.workloads.quant import quantize_asymmetric, quantize_symmetric


def rtl_tile(cfg: SramGemvConfig, op, source: TileSource) -> RtlTile:
    ops = source.operands(min(op.m, cfg.vectors), min(op.n, cfg.lanes))
    if cfg.act_signed:
        qa = quantize_symmetric(ops.x, cfg.a_bits, k_axis=1)
        za = None
        how = "symmetric"
    else:
        qa = quantize_asymmetric(ops.x, cfg.a_bits, k_axis=1)
        za = qa.zero.reshape(-1).astype(np.float64)
        how = "min/max with a zero point"
    qw = quantize_symmetric(ops.w, cfg.w_bits, k_axis=0)
    sa = qa.scale.reshape(-1).astype(np.float32)
    sw = qw.scale.reshape(-1).astype(np.float32)
    colsum = qw.q.sum(axis=0).astype(np.float64)

    def to_float(c: np.ndarray) -> np.ndarray:
        y = np.asarray(c).astype(np.uint32).view(np.float32).astype(np.float64)
        if za is not None:
            y = y - (sa.astype(np.float64) * za)[:, None] * (sw.astype(np.float64) * colsum)[None, :]
        return y

    note = (f"A {cfg.a_bits}-bit per token ({how}), W {cfg.w_bits}-bit symmetric per output column; "
            "binary32 rescale in the unit")
    return RtlTile(job={"a": qa.q, "wq": qw.q, "sa": sa, "sw": sw}, shape=ops.shape, operands=ops,
                   to_float=to_float, quantisation=note)
