"""Realistic synthetic GEMM operands for quantisation sweeps.

LLM activations are heavy-tailed and carry a few *outlier feature dimensions*: hidden
channels whose magnitude is one to two orders above the rest in every token (the
systematic outliers that motivate LLM.int8()). Weights are roughly Gaussian with
mildly heavy tails. These generators reproduce both properties with an explicit
:class:`numpy.random.Generator`, so a sweep is reproducible from its seed.
"""

from __future__ import annotations

import numpy as np

from hwsim.errors import ConfigError, check_int


def _positive(key, v):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
        raise ConfigError(key, f"must be a positive number, not {v!r}")


def activations(
    rng: np.random.Generator,
    m: int,
    k: int,
    outlier_rate: float = 0.01,
    outlier_scale: float = 20.0,
    df: float = 5.0,
    std: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Heavy-tailed activations ``(m, k)`` with outlier channels.

    Parameters
    ----------
    rng : numpy.random.Generator
    m, k : int
        Tokens and hidden channels.
    outlier_rate : float
        Fraction of channels that are outliers (``round(rate * k)``, at least one when
        the rate is positive).
    outlier_scale : float
        Magnitude multiplier of outlier channels.
    df : float
        Degrees of freedom of the Student-t body (smaller = heavier tails).
    std : float
        Scale of the body.

    Returns
    -------
    x : ndarray of float32, shape (m, k)
    outliers : ndarray of int
        Indices of the outlier channels.

    Examples
    --------
    >>> x, idx = activations(np.random.default_rng(0), 4, 100, outlier_rate=0.02)
    >>> x.shape, len(idx)
    ((4, 100), 2)
    """
    check_int("m", m, 1)
    check_int("k", k, 1)
    if isinstance(outlier_rate, bool) or not isinstance(outlier_rate, (int, float)) \
            or not 0 <= outlier_rate <= 1:
        raise ConfigError("outlier_rate", f"must be a number in [0, 1], not {outlier_rate!r}")
    _positive("outlier_scale", outlier_scale)
    _positive("df", df)
    _positive("std", std)
    x = rng.standard_t(df, size=(m, k)) * std
    n_out = 0 if outlier_rate == 0 else max(1, round(outlier_rate * k))
    idx = np.sort(rng.choice(k, size=n_out, replace=False)) if n_out else np.zeros(0, np.int64)
    if n_out:
        # Systematic outliers: large in (almost) every token, with a per-channel sign.
        sign = rng.choice((-1.0, 1.0), size=n_out)
        x[:, idx] = sign * outlier_scale * std * (1.0 + 0.25 * np.abs(rng.standard_normal((m, n_out))))
    return x.astype(np.float32), idx


def weights(
    rng: np.random.Generator, k: int, n: int, std: float = 0.02, df: float = 8.0,
) -> np.ndarray:
    """Weights ``(k, n)``: Student-t with ``df`` degrees of freedom scaled to ``std``.

    >>> weights(np.random.default_rng(0), 8, 4).dtype
    dtype('float32')
    """
    check_int("k", k, 1)
    check_int("n", n, 1)
    _positive("std", std)
    _positive("df", df)
    t = rng.standard_t(df, size=(k, n))
    if df > 2:
        t = t / np.sqrt(df / (df - 2.0))  # unit variance
    return (t * std).astype(np.float32)
