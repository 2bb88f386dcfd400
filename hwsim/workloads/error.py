"""Numerical error of a quantised GEMM against its float32 result."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from hwsim.errors import ConfigError


@dataclass(frozen=True)
class GemmError:
    """Error of an output ``Y_q`` against a reference ``Y``.

    Parameters
    ----------
    sqnr_db : float
        ``10 log10(sum Y^2 / sum (Y - Y_q)^2)``; ``inf`` when the outputs are equal.
    rel_fro : float
        ``||Y - Y_q||_F / ||Y||_F``.
    max_abs : float
        ``max |Y - Y_q|``.
    """

    sqnr_db: float
    rel_fro: float
    max_abs: float

    def to_dict(self) -> dict:
        return asdict(self)


def gemm_error(reference: np.ndarray, output: np.ndarray) -> GemmError:
    """Compare ``output`` with ``reference`` (same shape), in float64.

    >>> gemm_error(np.array([[3.0, 4.0]]), np.array([[3.0, 4.5]])).rel_fro
    0.1
    """
    ref = np.asarray(reference, dtype=np.float64)
    out = np.asarray(output, dtype=np.float64)
    if ref.shape != out.shape:
        raise ConfigError("output", f"shape {out.shape} differs from the reference {ref.shape}")
    diff = ref - out
    sig = float(np.sum(ref * ref))
    noise = float(np.sum(diff * diff))
    if noise == 0.0:
        sqnr = math.inf
    elif sig == 0.0:
        sqnr = -math.inf
    else:
        sqnr = 10.0 * math.log10(sig / noise)
    rel = math.sqrt(noise / sig) if sig > 0 else (0.0 if noise == 0 else math.inf)
    return GemmError(sqnr, rel, float(np.max(np.abs(diff))) if diff.size else 0.0)


def float32_gemm(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The float32 reference product ``x @ w`` (returned as float64)."""
    return (np.asarray(x, np.float32) @ np.asarray(w, np.float32)).astype(np.float64)


#: Shape of the seeded synthetic GEMM that :func:`recipe_error` measures a recipe on: a
#: 64-token slice of a 4096-wide hidden state with 1 % outlier channels, against 256
#: output features (big enough for groups of 128 and for LLM.int8()'s outlier columns).
RECIPE_ERROR_SHAPE = (64, 4096, 256)


@lru_cache(maxsize=None)
def recipe_error(recipe: str, seed: int = 0) -> dict:
    """Numerical error of a quantisation recipe's linear layers, on seeded synthetic tensors.

    The recipe's quantiser (:data:`hwsim.workloads.recipes.RECIPES`) runs its *hardware*
    compute path on heavy-tailed activations with outlier channels and Student-t weights
    (:mod:`hwsim.workloads.synthetic`, shape :data:`RECIPE_ERROR_SHAPE`); the output is
    compared with the float32 product. Returns ``sqnr_db``, ``rel_fro``, ``max_abs`` and
    ``error_source`` (what was measured, so a record says where its error came from).
    """
    from hwsim.workloads import synthetic
    from hwsim.workloads.quant import get_scheme
    from hwsim.workloads.recipes import get_recipe

    r = get_recipe(recipe)
    rng = np.random.default_rng(seed)
    m, k, n = RECIPE_ERROR_SHAPE
    x, _ = synthetic.activations(rng, m, k)
    w = synthetic.weights(rng, k, n)
    e = get_scheme(r.scheme).error(x, w)
    return {**e.to_dict(), "error_source": f"{r.scheme} hardware path vs float32 on synthetic "
            f"{m}x{k}x{n} (1% outlier channels, seed {seed})"}
