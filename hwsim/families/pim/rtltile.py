"""Workload tiles as jobs of the PIM bank unit's RTL (the ``rtl_tile`` contract hook).

A PIM unit runs GEMVs: a tile is one row of the op's A (one token or query) against
``mac_lanes`` of its output columns, over the full K (so it spans every chunk and COMP of
that depth). FP16 designs take the floats rounded to binary16 (outputs are binary16 bit
patterns); INT8 designs take symmetric INT8 codes per token and per output column.
"""

from __future__ import annotations

import numpy as np

from hwsim.families.contract import RtlTile, TileSource
from hwsim.families.pim.config import PimConfig
from hwsim.workloads.quant import quantize_symmetric


def rtl_tile(cfg: PimConfig, op, source: TileSource) -> RtlTile:
    ops = source.operands(1, min(op.n, cfg.mac_lanes))
    if cfg.operand_format == "fp16":
        job = {"a": ops.x.astype(np.float16).view(np.uint16), "b": ops.w.astype(np.float16).view(np.uint16)}

        def to_float(c: np.ndarray) -> np.ndarray:
            return np.asarray(c, np.uint16).view(np.float16).astype(np.float64)

        note = "A and B rounded to binary16"
    else:
        qa = quantize_symmetric(ops.x, 8, k_axis=1)
        qb = quantize_symmetric(ops.w, 8, k_axis=0)
        sa, sb = qa.scale.reshape(-1, 1), qb.scale.reshape(1, -1)
        job = {"a": qa.q, "b": qb.q}

        def to_float(c: np.ndarray) -> np.ndarray:
            return np.asarray(c, np.float64) * sa * sb

        note = "A INT8 per token, B INT8 per output column (symmetric)"
    return RtlTile(job=job, shape=ops.shape, operands=ops, to_float=to_float, quantisation=note)
