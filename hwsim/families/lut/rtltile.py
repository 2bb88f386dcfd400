"""Workload tiles as jobs of the LUT (or MAC baseline) tile's RTL (the ``rtl_tile`` hook).

A tile is ``tile_m x tile_n`` outputs of the op over its full K. Activations are quantised
per token to the integer activation format (``fp16``: rounded to binary16, no scale); weights per output column to the ``w_bits``
codes of the design's weight mode: each column is scaled so its largest magnitude meets
the largest level magnitude, and every weight takes the nearest level
(:func:`~hwsim.families.lut.golden.weight_values`); ``unsigned`` codes use min/max scales
with a zero point, corrected with the activations' row sums. The tile sums over all of K
with no group rescale, so scales are per column (a recipe's groups are not applied).
"""

from __future__ import annotations

import numpy as np

from hwsim.errors import ConfigError
from hwsim.families.contract import RtlTile, TileSource
from hwsim.families.lut.config import LutConfig
from hwsim.families.lut.golden import weight_values
from hwsim.workloads.quant import quantize_asymmetric, quantize_symmetric


def _nearest_codes(cfg: LutConfig, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes ``(K, N)`` and per-column scales ``(1, N)`` of ``w`` for a signed or
    symmetric weight mode."""
    codes = np.arange(1 << cfg.w_bits)
    levels = weight_values(cfg, codes).astype(np.float64)
    top = float(np.max(np.abs(levels)))
    amax = np.max(np.abs(w), axis=0, keepdims=True).astype(np.float64)
    scale = np.where(amax > 0, amax / top, 1.0)
    v = w / scale
    order = np.argsort(levels)
    lv = levels[order]
    i = np.clip(np.searchsorted(lv, v), 1, len(lv) - 1)
    pick = np.where(np.abs(v - lv[i - 1]) <= np.abs(v - lv[i]), i - 1, i)
    return codes[order][pick].astype(np.int64), scale


def rtl_tile(cfg: LutConfig, op, source: TileSource) -> RtlTile:
    ops = source.operands(min(op.m, cfg.tile_m), min(op.n, cfg.tile_n))
    if cfg.is_integer:
        qa = quantize_symmetric(ops.x, cfg.a_bits, k_axis=1)
        a_job, a_vals, sa = qa.q, qa.q.astype(np.float64), qa.scale.reshape(-1, 1)
    else:  # binary16 activations as they are (rounded once), no activation scale
        x16 = np.asarray(ops.x, dtype=np.float64).astype(np.float16)
        if not np.all(np.isfinite(x16)):
            raise ConfigError("act_format", "the tile's activations overflow binary16")
        a_job, a_vals, sa = x16.view(np.uint16), x16.astype(np.float64), 1.0
    if cfg.weight_mode == "unsigned":
        qw = quantize_asymmetric(ops.w, cfg.w_bits, k_axis=0)
        q, sw, zw = qw.q, qw.scale.reshape(1, -1), qw.zero.reshape(1, -1)
        rowsum = a_vals.sum(axis=1, keepdims=True)
        how = "min/max with a zero point"
    else:
        q, sw = _nearest_codes(cfg, ops.w.astype(np.float64))
        zw = None
        how = f"{cfg.weight_mode} levels, nearest"

    def to_float(c: np.ndarray) -> np.ndarray:
        acc = np.asarray(c, np.float64) if cfg.is_integer else np.asarray(c).astype(np.uint16).view(
            np.float16).astype(np.float64)
        if zw is not None:
            acc = acc - zw * rowsum
        return acc * sa * sw

    act = f"A {cfg.act_format} per token" if cfg.is_integer else "A rounded to binary16"
    note = f"{act}, W {cfg.w_bits}-bit {how} per output column; no K groups (the tile sums over all of K)"
    return RtlTile(job={"a": a_job, "q": q}, shape=ops.shape, operands=ops, to_float=to_float,
                   quantisation=note)
