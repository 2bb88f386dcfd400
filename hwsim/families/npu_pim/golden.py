"""Numerical results of a decode step's ops, as the two engines compute them.

* NPU GEMM (:func:`golden_gemm`): FP16 operands, products exact in FP32 (an 11 x 11-bit
  significand product fits FP32's 24 bits), accumulated in FP32 in K order (the partial
  sums flowing down a weight-stationary column), the result rounded once to FP16.
* PIM GEMV: the PIM family's bit-exact bank arithmetic
  (:func:`hwsim.families.pim.golden.golden_gemv`: lanes, adder tree, bank accumulator).
* :func:`golden_decode`: one decode step of a small model, every linear op on the NPU
  golden, each request's score and context GEMVs on the PIM golden, softmax, layer norm
  and GELU in FP32 rounded to FP16 (the vector units).

All values are ``uint16`` FP16 bit patterns.
"""

from __future__ import annotations

import math

import numpy as np

from hwsim.errors import ConfigError


def _f16(bits) -> np.ndarray:
    return np.asarray(bits, dtype=np.uint16).view(np.float16)


def _bits(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float32).astype(np.float16).view(np.uint16)


def golden_gemm(a, b) -> np.ndarray:
    """``C = A B`` on the NPU (see the module docstring)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ConfigError("shape", f"A {a.shape} and B {b.shape} do not chain")
    af = _f16(a).astype(np.float32)
    bf = _f16(b).astype(np.float32)
    prod = af[:, :, None] * bf[None, :, :]                 # exact in FP32
    acc = np.cumsum(prod, axis=1, dtype=np.float32)[:, -1] if a.shape[1] else \
        np.zeros((a.shape[0], b.shape[1]), np.float32)
    return _bits(acc)


def _layer_norm(x):
    x = x.astype(np.float32)
    mu = x.mean(axis=-1, keepdims=True, dtype=np.float32)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True, dtype=np.float32)
    return _f16(_bits((x - mu) / np.sqrt(var + np.float32(1e-5))))


def _gelu(x):
    x = x.astype(np.float32)
    c = np.float32(math.sqrt(2.0 / math.pi))
    return _f16(_bits(0.5 * x * (1 + np.tanh(c * (x + np.float32(0.044715) * x ** 3)))))


def _softmax(s):
    s = s.astype(np.float32)
    e = np.exp(s - s.max())
    return _f16(_bits(e / e.sum(dtype=np.float32)))


def golden_decode(pim_cfg, x, layers, k_cache, v_cache, heads: int) -> np.ndarray:
    """One decode step of a small model.

    Parameters
    ----------
    pim_cfg : PimConfig
        The PIM banks running the attention GEMVs.
    x : (batch, d) uint16
        The new tokens' hidden states.
    layers : list of dict
        Per layer, FP16 bit patterns ``wqkv (d, 3d)``, ``wo (d, d)``, ``w1 (d, f)``,
        ``w2 (f, d)``.
    k_cache, v_cache : list (layers) of list (batch) of (tokens, d) uint16
        Each request's cached keys and values; the new token's are appended (in place).
    heads : int

    Returns
    -------
    (batch, d) uint16
    """
    from hwsim.families.pim.golden import golden_gemv

    h = _f16(x)
    d = h.shape[1]
    dh = d // heads
    for li, w in enumerate(layers):
        qkv = _f16(golden_gemm(_bits(_layer_norm(h)), w["wqkv"]))
        q, k, v = qkv[:, :d], qkv[:, d:2 * d], qkv[:, 2 * d:]
        ctx = np.zeros_like(q)
        for r in range(h.shape[0]):
            k_cache[li][r] = np.vstack([k_cache[li][r], _bits(k[r:r + 1])])
            v_cache[li][r] = np.vstack([v_cache[li][r], _bits(v[r:r + 1])])
            for hh in range(heads):
                sl = slice(hh * dh, (hh + 1) * dh)
                qs = _bits(q[r:r + 1, sl].astype(np.float32) / np.float32(math.sqrt(dh)))
                score = _f16(golden_gemv(pim_cfg, qs, k_cache[li][r][:, sl].T))
                p = _softmax(score)
                ctx[r, sl] = _f16(golden_gemv(pim_cfg, _bits(p), v_cache[li][r][:, sl]))[0]
        h = _f16(_bits(h.astype(np.float32) + _f16(golden_gemm(_bits(ctx), w["wo"])).astype(np.float32)))
        f = _gelu(_f16(golden_gemm(_bits(_layer_norm(h)), w["w1"])))
        h = _f16(_bits(h.astype(np.float32) + _f16(golden_gemm(_bits(f), w["w2"])).astype(np.float32)))
    return _bits(h)
