"""How a MixPE GEMM maps onto the output-stationary systolic array, and its exact cycles.

The MixPE array is the systolic family's ``os`` array (:mod:`hwsim.families.systolic.hdl`)
with :class:`~hwsim.families.mixpe.hdl.MixpePE` in every position; its sequencer, skew
and drain, and so its timing (:func:`hwsim.families.systolic.timing.hardware_cycles`),
are the systolic array's. What differs is the feeder (the SRAM side), which turns one
MixPE GEMM into folds of exactly one quantisation group:

* K is padded to whole groups (``Kp = ceil(K / group_size) * group_size``; zero
  activations and zero codes add nothing), M to whole row blocks (``Mp``), N to whole
  column blocks of ``cols`` weight columns.
* Physical columns are ``cols + 1`` when the design has a zero point: the extra column
  is fed the code 1 and so accumulates the activation sum ``S`` of its row (bit 0 adds
  ``a << 0``), next to the partial sums ``P`` of the weight columns.
* Fold order: column blocks (outer), groups, row blocks (inner). Each fold streams the
  ``group_size`` beats of one group (``west = A[m0:m0+rows, group].T``, ``north`` = the
  group's codes of the column block, plus the code-1 lane); the ``last`` flag at the end
  of the group moves ``P`` (and ``S``) to the PE's result register, as in any ``os`` fold.

The sequencer therefore sees the GEMM ``(G * Mp) x group_size x (ceil(N/cols) * (cols + zp))``
(:func:`array_dims`), and the cycles are its ``os`` formula with ``F = G * ceil(M/rows)
* ceil(N/cols)`` folds of period ``max(group_size, rows)``::

    (F - 1) * max(group_size, rows) + group_size + rows + cols + zp

Each fold drains ``rows`` result beats of ``cols + zp`` lanes (:func:`assemble_partials`).
The per-group dequantisation (:mod:`hwsim.families.mixpe.golden`) follows the array.

The dequantise-then-MAC baseline (``datapath="dequant_mac"``) is the systolic family's
binary16 ``os`` array running the plain GEMM ``M x Kp x N`` (one fold per row and column
block, all of K in it; no ``S`` column), behind one dequantiser per column on the north
edge (:class:`~hwsim.families.mixpe.hdl.DequantMacArray`). Its north lanes carry
:data:`DQ_LANE_BITS` bits per weight: the code's 4-bit pattern, the zero point's and the
binary16 scale (:func:`pack_dequant_lanes`); its cycles are the systolic ``os`` formula
``(F - 1) * max(Kp, rows) + Kp + rows + cols`` with ``F = ceil(M/rows) * ceil(N/cols)``.
"""

from __future__ import annotations

import numpy as np

from hwsim.errors import ConfigError
from hwsim.families.mixpe.config import MixpeConfig
from hwsim.families.systolic.config import SystolicConfig

__all__ = ["DQ_LANE_BITS", "array_config", "array_dims", "assemble_partials", "compute_cycles", "groups",
           "is_dequant_mac", "operand_beats", "pack_dequant_lanes", "pad_k", "phys_cols"]

#: Width of an activation on the array's west edge (INT8).
A_BITS = 8


def _cdiv(a, b):
    return -(-a // b)


#: Bits of one north lane of the dequantise-then-MAC array: code (4), zero point (4), scale (16).
DQ_LANE_BITS = 24


def is_dequant_mac(cfg: MixpeConfig) -> bool:
    return cfg.datapath == "dequant_mac"


def phys_cols(cfg: MixpeConfig) -> int:
    """PE columns of the array: ``cols`` weight columns plus the ``S`` column with a zero
    point (shift-and-add only)."""
    return cfg.cols + int(cfg.zero_point and not is_dequant_mac(cfg))


def pack_dequant_lanes(cfg: MixpeConfig, wq, s16, z) -> np.ndarray:
    """North-lane words ``code | zero << 4 | scale << 8`` (K x N) of the dequantise-then-MAC
    array: 4-bit two's complement patterns of the codes and zero points, the scale's
    binary16 pattern."""
    g = cfg.group_size
    wq = np.asarray(wq, dtype=np.int64)
    zz = np.repeat(np.asarray(z, dtype=np.int64), g, axis=0)
    ss = np.repeat(np.asarray(s16, dtype=np.float16).view(np.uint16).astype(np.int64), g, axis=0)
    return (wq & 0xF) | ((zz & 0xF) << 4) | (ss << 8)


def act_bits(cfg: MixpeConfig) -> int:
    """Bits of one activation: 8 (INT8) or 16 (binary16)."""
    return A_BITS if cfg.act_format == "int8" else 16


def array_lane_bits(cfg: MixpeConfig) -> int:
    """Width of the array's result lanes (``acc_bits``; the FP16 path's fixed lane)."""
    from hwsim.families.mixpe.hdl import FP16_LANE_BITS

    return cfg.acc_bits if cfg.act_format == "int8" else FP16_LANE_BITS


def array_config(cfg: MixpeConfig) -> SystolicConfig:
    """The systolic ``os`` array the MixPE PEs sit in.

    INT path: signed INT8 west lanes, 4-bit code lanes north, ``acc_bits`` results. FP16
    path: 16-bit binary16 patterns west, 4-bit code patterns north, binary16 results in
    :data:`~hwsim.families.mixpe.hdl.FP16_LANE_BITS`-bit lanes (unsigned). Raises
    :class:`~hwsim.errors.ConfigError` for what the RTL does not implement (``ws``).
    """
    from hwsim.families.mixpe.hdl import CODE_BITS, FP16_LANE_BITS

    check_implemented(cfg)
    if cfg.rows > 256 or phys_cols(cfg) > 256:
        raise ConfigError("rows" if cfg.rows > 256 else "cols", "the array generator takes at most 256 "
                          f"PEs per side, not {cfg.rows} x {phys_cols(cfg)}")
    if is_dequant_mac(cfg):
        return SystolicConfig(rows=cfg.rows, cols=cfg.cols, dataflow="os", a_bits=16, b_bits=16, signed=False,
                              acc_bits=16, operand_format="fp16")
    if cfg.act_format == "fp16":
        return SystolicConfig(rows=cfg.rows, cols=phys_cols(cfg), dataflow="os", a_bits=16,
                              b_bits=CODE_BITS, signed=False, acc_bits=FP16_LANE_BITS)
    return SystolicConfig(rows=cfg.rows, cols=phys_cols(cfg), dataflow="os", a_bits=A_BITS,
                          b_bits=CODE_BITS, signed=True, acc_bits=cfg.acc_bits)


def check_implemented(cfg: MixpeConfig) -> None:
    """Refuse designs the model and RTL do not cover yet (golden covers them)."""
    if cfg.dataflow != "os":
        raise ConfigError("dataflow", f"only 'os' is modelled beyond golden so far, not {cfg.dataflow!r}")


def pad_k(cfg: MixpeConfig, k):
    """K rounded up to whole groups."""
    return _cdiv(k, cfg.group_size) * cfg.group_size


def groups(cfg: MixpeConfig, k):
    """Quantisation groups of a GEMM with reduction length ``k`` (the last may be partial)."""
    return _cdiv(k, cfg.group_size)


def array_dims(cfg: MixpeConfig, m, k, n):
    """``(m, k, n)`` of the command the systolic sequencer runs for ``M x K x N``."""
    r = cfg.rows
    if is_dequant_mac(cfg):
        return m, pad_k(cfg, k), n
    return groups(cfg, k) * _cdiv(m, r) * r, cfg.group_size, _cdiv(n, cfg.cols) * phys_cols(cfg)


def compute_cycles(cfg: MixpeConfig, m, k, n):
    """Cycles of the RTL for one ``M x K x N`` GEMM with no back-pressure (element-wise).

    The systolic ``os`` formula on :func:`array_dims` (see the module docstring), written
    out so that it also covers arrays wider than the RTL generator's 256 PEs per side.
    """
    check_implemented(cfg)
    for key, v in (("m", m), ("k", k), ("n", n)):
        if np.any(np.asarray(v) < 1):
            raise ConfigError(key, f"must be a positive integer, not {v}")
    r, gs = cfg.rows, cfg.group_size
    if is_dequant_mac(cfg):
        kp = pad_k(cfg, np.asarray(k))
        folds = _cdiv(m, r) * _cdiv(n, cfg.cols)
        out = (folds - 1) * np.maximum(kp, r) + kp + r + cfg.cols
        return int(out) if np.ndim(out) == 0 else np.asarray(out, dtype=np.int64)
    folds = groups(cfg, k) * _cdiv(m, r) * _cdiv(n, cfg.cols)
    out = (folds - 1) * max(gs, r) + gs + r + phys_cols(cfg)
    return int(out) if np.ndim(out) == 0 else np.asarray(out, dtype=np.int64)


def operand_beats(cfg: MixpeConfig, a, wq) -> tuple[np.ndarray, np.ndarray]:
    """West (``beats x rows``) and north (``beats x phys_cols``) beats of ``A @ Wq``.

    ``a`` is ``M x Kp`` and ``wq`` ``Kp x N`` with ``Kp`` a multiple of ``group_size``
    (see :func:`pad_k`). INT path: INT8 values west, code values north (the RTL bench
    packs their :data:`~hwsim.families.mixpe.hdl.CODE_BITS`-bit two's complement
    patterns). FP16 path: binary16 patterns west, ``w``-bit code patterns north.
    Dequantise-then-MAC: ``wq`` holds the packed lanes (:func:`pack_dequant_lanes`) and
    the beats are the systolic ``os`` array's.
    """
    a = np.asarray(a, dtype=np.int64)
    wq = np.asarray(wq, dtype=np.int64)
    if is_dequant_mac(cfg):  # ``wq``: the packed lanes of pack_dequant_lanes
        from hwsim.families.systolic.timing import operand_beats as plain_beats

        return plain_beats(array_config(cfg), a, wq)
    (m, kp), n = a.shape, wq.shape[1]
    gs, r, c = cfg.group_size, cfg.rows, cfg.cols
    if kp % gs or wq.shape[0] != kp:
        raise ConfigError("K", f"the feeder takes K padded to whole groups of {gs}, not {a.shape} x {wq.shape}")
    mp, nf = _cdiv(m, r) * r, _cdiv(n, c)
    ap = np.zeros((mp, kp), dtype=np.int64)
    ap[:m] = a
    wp = np.zeros((kp, nf * c), dtype=np.int64)
    wp[:, :n] = wq if cfg.act_format == "int8" else wq & ((1 << cfg.w_bits) - 1)
    west, north = [], []
    for f in range(nf):
        for g in range(kp // gs):
            ks = slice(g * gs, (g + 1) * gs)
            nb = wp[ks, f * c:(f + 1) * c]
            if cfg.zero_point:
                nb = np.concatenate([nb, np.ones((gs, 1), dtype=np.int64)], axis=1)
            for m0 in range(0, mp, r):
                west.append(ap[m0:m0 + r, ks].T)
                north.append(nb)
    return np.concatenate(west), np.concatenate(north)


def result_beat_count(cfg: MixpeConfig, m: int, k: int, n: int) -> int:
    if is_dequant_mac(cfg):
        return _cdiv(m, cfg.rows) * _cdiv(n, cfg.cols) * cfg.rows
    return groups(cfg, k) * _cdiv(m, cfg.rows) * _cdiv(n, cfg.cols) * cfg.rows


def assemble_partials(cfg: MixpeConfig, m: int, k: int, n: int, beats) -> tuple[np.ndarray, np.ndarray]:
    """Per-group partial sums ``P[G, M, N]`` and activation sums ``S[G, M, 1]`` from the
    result beats (``S`` is zero without a zero point, which has no ``S`` column)."""
    beats = np.asarray(beats, dtype=np.int64)
    r, c, pc = cfg.rows, cfg.cols, phys_cols(cfg)
    g_n, mp, nf = groups(cfg, k), _cdiv(m, r) * r, _cdiv(n, c)
    if beats.shape != (result_beat_count(cfg, m, k, n), pc):
        raise ValueError(f"expected {result_beat_count(cfg, m, k, n)} result beats of {pc} lanes, got {beats.shape}")
    p = np.zeros((g_n, mp, nf * c), dtype=np.int64)
    s = np.zeros((g_n, mp, 1), dtype=np.int64)
    i = 0
    for f in range(nf):
        for g in range(g_n):
            for m0 in range(0, mp, r):
                blk = beats[i:i + r]
                i += r
                p[g, m0:m0 + r, f * c:(f + 1) * c] = blk[:, :c]
                if cfg.zero_point:
                    s[g, m0:m0 + r, 0] = blk[:, c]
    return p[:, :m, :n], s[:, :m]
