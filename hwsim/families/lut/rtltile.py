"""Workload tiles as jobs of the LUT (or MAC baseline) tile's RTL (the ``rtl_tile`` hook).

A tile is ``tile_m x tile_n`` outputs of the op over its full K. Activations are quantised
per token to the integer activation format; weights per output column to the ``w_bits``
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
    if not cfg.is_integer:
        raise ConfigError("act_format", f"the RTL tile takes integer activations, not {cfg.act_format!r}")
    ops = source.operands(min(op.m, cfg.tile_m), min(op.n, cfg.tile_n))
    qa = quantize_symmetric(ops.x, cfg.a_bits, k_axis=1)
    sa = qa.scale.reshape(-1, 1)
    if cfg.weight_mode == "unsigned":
        qw = quantize_asymmetric(ops.w, cfg.w_bits, k_axis=0)
        q, sw, zw = qw.q, qw.scale.reshape(1, -1), qw.zero.reshape(1, -1)
        rowsum = qa.q.sum(axis=1, keepdims=True)
        how = "min/max with a zero point"
    else:
        q, sw = _nearest_codes(cfg, ops.w.astype(np.float64))
        zw = None
        how = f"{cfg.weight_mode} levels, nearest"

    def to_float(c: np.ndarray) -> np.ndarray:
        acc = np.asarray(c, np.float64)
        if zw is not None:
            acc = acc - zw * rowsum
        return acc * sa * sw

    note = (f"A {cfg.act_format} per token, W {cfg.w_bits}-bit {how} per output column; "
            "no K groups (the tile sums over all of K)")
    return RtlTile(job={"a": qa.q, "q": q}, shape=ops.shape, operands=ops, to_float=to_float,
                   quantisation=note)
