"""Bit-exact result of the PIM banks: lanes, adder tree, bank accumulator, host sum.

For output ``y[m, n] = sum_k a[m, k] * b[k, n]`` (a GEMV per row ``m`` of ``a``; the
weights ``b[:, n]`` sit in one bank, see :mod:`.layout`):

1. K is cut into *segments* as the layout places it (:meth:`.layout.WeightLayout.segments`:
   chunks of ``cfg.chunk_elems``, one GWRITE of the input vector and one bank row each;
   with ``layout = "k-split"`` the chunks of each channel's slice of K), each segment into
   COMPs of ``mac_lanes`` elements; the last COMP of a segment is padded with ``+0``
   operands (``+0 * +0 = +0`` products).
2. A COMP multiplies lane ``i`` operands: ``p_i = a_i * b_i``.
3. The adder tree sums the ``mac_lanes`` products pairwise, level by level, neighbours
   first: ``((p0 + p1) + (p2 + p3)) + ...``.
4. The bank accumulator starts at ``+0`` after each READRES and adds each COMP's tree sum
   in K order: ``acc = acc + tree``.
5. READRES returns one partial per segment; the host adds the partials in K order:
   ``y = ((part_0 + part_1) + part_2) + ...``.

FP16: every product and every sum is one IEEE binary16 operation rounded to nearest even
(:func:`hwsim.blocks.fp16.fp16_mul`, :func:`hwsim.blocks.fp16.fp16_add`); operands and
result are ``uint16`` bit patterns. INT8: products are exact 16-bit, the tree is exact
(``16 + log2(mac_lanes)`` bits), the accumulator and the host sum wrap modulo
``2**acc_bits`` (two's complement); operands and result are ``int64`` values.
"""

from __future__ import annotations

import numpy as np

from hwsim.blocks.fp16 import fp16_add, fp16_mul
from hwsim.errors import ConfigError

from hwsim.families.pim.config import PimConfig


def _wrap(x: np.ndarray, bits: int) -> np.ndarray:
    x = np.asarray(x, dtype=object) if bits > 62 else np.asarray(x, dtype=np.int64)
    m = 1 << bits
    return ((x + (m >> 1)) % m - (m >> 1)).astype(np.int64)


def tree_sum_fp16(p: np.ndarray, axis: int) -> np.ndarray:
    """Pairwise FP16 adder tree over ``axis`` (a power-of-two length), neighbours first."""
    p = np.moveaxis(p, axis, -1)
    while p.shape[-1] > 1:
        p = fp16_add(p[..., 0::2], p[..., 1::2])
    return p[..., 0]


def check_operands(cfg: PimConfig, a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ConfigError("job", f"needs a[M, K] and b[K, N], not shapes {a.shape} and {b.shape}")
    if cfg.operand_format == "fp16":
        if a.dtype != np.uint16 or b.dtype != np.uint16:
            raise ConfigError("job", "fp16 operands are uint16 bit patterns")
    else:
        if a.size and (a.min() < -128 or a.max() > 127) or b.size and (b.min() < -128 or b.max() > 127):
            raise ConfigError("job", "int8 operands must lie in -128..127")
        a, b = a.astype(np.int64), b.astype(np.int64)
    return a, b


def golden_gemv(cfg: PimConfig, a, b) -> np.ndarray:
    """``y[M, N]`` as the PIM banks compute it (see the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> cfg = PimConfig(operand_format="int8", acc_bits=16)
    >>> a = np.full((1, 4), 127); b = np.full((4, 1), 127)
    >>> int(golden_gemv(cfg, a, b)[0, 0]) == (4 * 127 * 127 + 2**15) % 2**16 - 2**15
    True
    """
    a, b = check_operands(cfg, a, b)
    m, k = a.shape
    n = b.shape[1]
    if cfg.operand_format == "int8":
        return _wrap(a @ b, cfg.acc_bits)
    from hwsim.families.pim.layout import WeightLayout

    lanes = cfg.mac_lanes
    out = np.zeros((m, n), dtype=np.uint16)
    if k == 0 or n == 0:
        return out
    first = True
    for k0, k1 in WeightLayout(cfg, k, n).segments():
        ac, bc = a[:, k0:k1], b[k0:k1]
        kc = ac.shape[1]
        kp = -(-kc // lanes) * lanes
        ap = np.zeros((m, kp), np.uint16)
        bp = np.zeros((kp, n), np.uint16)
        ap[:, :kc], bp[:kc] = ac, bc
        prod = fp16_mul(ap[:, :, None], bp[None, :, :])              # (m, kp, n)
        trees = tree_sum_fp16(prod.reshape(m, kp // lanes, lanes, n), axis=2)  # (m, comps, n)
        acc = np.zeros((m, n), np.uint16)
        for i in range(trees.shape[1]):
            acc = fp16_add(acc, trees[:, i])
        out = acc if first else fp16_add(out, acc)
        first = False
    return out
