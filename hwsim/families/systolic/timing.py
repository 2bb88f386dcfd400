"""Exact hardware-mode timing and stream formats of the systolic-array RTL.

This module is the contract between the RTL (:mod:`hwsim.families.systolic.hdl`), its cycle-level
model (:mod:`hwsim.families.systolic.cyclesim`) and the feeder that plays the SRAM in the
cocotb bench: the order of operand beats, the order of result beats, and the closed-form
cycle count :func:`hardware_cycles`.

Streams
-------
The array has one operand stream and one result stream. Each operand beat carries a
``west`` vector (``rows`` lanes, entering the left edge) and a ``north`` vector (``cols``
lanes, entering the top edge). Each result beat carries ``cols`` accumulator-wide lanes
leaving the bottom edge. Lanes past the matrix edges are zero in operand beats (the
feeder pads partial tiles) and are dropped from result beats.

``os`` (output stationary)
    Folds are ``cols``-wide column blocks (outer) x ``rows``-high row blocks (inner). A
    fold takes ``K`` beats; beat ``t`` is ``west = A[m0:m0+rows, t]``,
    ``north = B[t, n0:n0+cols]``. PE (i, j) accumulates ``C[m0+i, n0+j]``; when the last
    operand passes it the sum moves to the PE's output register and the PE starts the
    next fold at once. A fold drains as ``rows`` result beats (``C[m0+d, n0:n0+cols]``
    for ``d = 0 .. rows-1``, padded rows included), one per cycle, while the next fold
    computes. Draining takes ``rows`` cycles, so folds start ``P = max(K, rows)`` cycles
    apart (the sequencer idles ``P - K`` cycles between folds when ``K < rows``).
``ws`` (weight stationary)
    A ``rows x cols`` tile of B sits in the PEs (double-buffered: the next tile is
    preloaded through a tagged shift path while the current one computes). Folds are
    ordered N blocks (outer), M chunks of at most ``acc_depth`` rows, K blocks (inner).
    The first ``rows`` beats preload tile 0 (``north`` = one row of B per beat). In fold
    ``f`` with ``Mc`` rows of A in its chunk, beat ``t`` carries ``west = A[c0+t,
    k0:k0+rows]`` for ``t < Mc`` and, while ``t < rows``, ``north`` = row ``t`` of the
    *next* fold's tile. A fold therefore lasts ``max(Mc, rows)`` beats (the last fold:
    ``Mc``). Partial sums leave the bottom edge, are de-skewed and accumulated over the K
    blocks in an ``acc_depth x cols`` buffer; the last K block streams ``C[c0+t,
    n0:n0+cols]`` out, one row per cycle.
``is`` (input stationary)
    The ``ws`` machine on ``C^T = B^T A^T``: a ``K x M`` tile of ``A^T`` is stationary,
    columns of B stream in from the left (``west = B[k0:k0+rows, n]``), chunks of at
    most ``acc_depth`` columns of B, and each result beat is a row of ``C^T``
    (``C[m0:m0+cols, n]``). The feeder (and :func:`assemble_output`) transposes.

Which cycles are counted
------------------------
Cycle 0 is the clock cycle in which the first operand beat of a GEMM is accepted
(``valid & ready``); the count ends with, and includes, the cycle in which the last
result beat is accepted. With no back-pressure (operands always valid, results always
ready) that count is :func:`hardware_cycles`. Under back-pressure the whole array
stalls (one clock enable) in any cycle where a needed operand beat is not valid or an
offered result beat is not taken; the count is then ``hardware_cycles`` plus the number
of stalled cycles in that window (the RTL flags them on its ``stall`` output).

Pipeline latencies behind the formulas: an operand beat accepted in cycle ``c`` reaches
PE (i, j) in cycle ``c + 1 + i + j`` (one input register, then ``i`` or ``j`` skew
registers, then one register per PE hop). In ``os`` the result of PE (i, j) is readable
from cycle ``c_last + 2 + i + j``; column ``j`` is read through a per-column row
multiplexer in cycle ``c_last + 2 + d + j`` for row ``d`` and de-skewed by ``cols - 1 - j``
registers. In ``ws``/``is`` the partial sum of the bottom row of column ``j`` is readable
from ``c + rows + 1 + j`` and de-skewed to ``c + rows + cols``.
"""

from __future__ import annotations

import numpy as np

from hwsim.families.systolic.config import SystolicConfig
from hwsim.errors import ConfigError

__all__ = [
    "hardware_cycles",
    "hardware_cycles_arrays",
    "operand_beats",
    "result_beat_count",
    "assemble_output",
    "ws_folds",
]


def _cdiv(a, b):
    return -(-a // b)


def _check_dims(m, k, n):
    for key, v in (("m", m), ("k", k), ("n", n)):
        if np.any(np.asarray(v) < 1):
            raise ConfigError(key, f"must be a positive integer, not {v}")


def _ws_dims(cfg: SystolicConfig, m, k, n):
    """(streamed rows S, reduction K, stationary columns T) of the ws machine."""
    return (n, k, m) if cfg.dataflow == "is" else (m, k, n)


def hardware_cycles(cfg: SystolicConfig, m, k, n):
    """Cycles the RTL takes for ``C[m, n] = A[m, k] @ B[k, n]`` with no back-pressure.

    Counted from the cycle the first operand beat is accepted to the cycle the last
    result beat is accepted, both included (see the module docstring). Works
    element-wise on NumPy integer arrays of ``m``, ``k``, ``n``.

    With ``R = rows``, ``C = cols``:

    * ``os``: ``F = ceil(M/R) * ceil(N/C)`` folds, period ``P = max(K, R)``:
      ``(F - 1) * P + K + R + C``.
    * ``ws``: ``Kt = ceil(K/R)``, ``Nt = ceil(N/C)``, M in ``nc = ceil(M/D)`` chunks
      (``D = acc_depth``), the last one of ``r = M - (nc-1) D`` rows; a fold lasts
      ``max(Mc, R)`` and the last fold ``Mc``; plus ``R`` preload and ``R + C``
      pipeline/de-skew latency::

          R + Nt*Kt*((nc-1)*max(D, R) + max(r, R)) - max(r, R) + r + R + C

    * ``is``: the ``ws`` formula with ``M`` and ``N`` swapped.

    Examples
    --------
    >>> cfg = SystolicConfig(rows=4, cols=4, dataflow="os")
    >>> hardware_cycles(cfg, 8, 12, 8)
    56
    >>> hardware_cycles(cfg, np.array([8, 4]), 12, 8).tolist()
    [56, 32]
    """
    _check_dims(m, k, n)
    out = hardware_cycles_arrays(cfg.dataflow, cfg.rows, cfg.cols, cfg.acc_depth, m, k, n)
    if np.ndim(out) == 0:
        return int(out)
    return np.asarray(out, dtype=np.int64)


def hardware_cycles_arrays(dataflow: str, rows, cols, acc_depth, m, k, n):
    """:func:`hardware_cycles` element-wise over arrays of the array's shape too (one
    dataflow; dimensions are not checked)."""
    r, c = rows, cols
    if dataflow == "os":
        folds = _cdiv(m, r) * _cdiv(n, c)
        period = np.maximum(k, r)
        return (folds - 1) * period + k + r + c
    s, kk, t = (n, k, m) if dataflow == "is" else (m, k, n)
    d = acc_depth
    kt = _cdiv(kk, r)
    nt = _cdiv(t, c)
    nc = _cdiv(s, d)
    last = s - (nc - 1) * d
    per_block = (nc - 1) * np.maximum(d, r) + np.maximum(last, r)
    return r + nt * kt * per_block - np.maximum(last, r) + last + r + c


def ws_folds(cfg: SystolicConfig, s: int, k: int, t: int):
    """Folds of the ``ws`` machine in sequencer order.

    Yields ``(t0, c0, k0, mc)``: stationary-column block start, chunk start, K block
    start and chunk length (streamed rows in this fold).
    """
    d = cfg.acc_depth
    for t0 in range(0, t, cfg.cols):
        for c0 in range(0, s, d):
            mc = min(d, s - c0)
            for k0 in range(0, k, cfg.rows):
                yield t0, c0, k0, mc


def _prepare(cfg: SystolicConfig, a, b):
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ConfigError("operands", f"need A (M x K) and B (K x N), got {a.shape} and {b.shape}")
    _check_dims(a.shape[0], a.shape[1], b.shape[1])
    return a, b


def operand_beats(cfg: SystolicConfig, a, b) -> tuple[np.ndarray, np.ndarray]:
    """The operand beats of ``A @ B`` in the order the sequencer consumes them.

    Returns
    -------
    west : ndarray, shape (beats, rows)
    north : ndarray, shape (beats, cols)
        Integer operand values (zero in padded lanes and in parts of a beat the
        sequencer ignores).

    Examples
    --------
    >>> cfg = SystolicConfig(rows=2, cols=2, dataflow="os")
    >>> w, n = operand_beats(cfg, np.arange(6).reshape(2, 3), np.ones((3, 1), int))
    >>> w.tolist(), n.tolist()
    ([[0, 3], [1, 4], [2, 5]], [[1, 0], [1, 0], [1, 0]])
    """
    a, b = _prepare(cfg, a, b)
    r, c = cfg.rows, cfg.cols
    if cfg.dataflow == "os":
        m, k = a.shape
        n = b.shape[1]
        ap = np.zeros((_cdiv(m, r) * r, k), dtype=np.int64)
        ap[:m] = a
        bp = np.zeros((k, _cdiv(n, c) * c), dtype=np.int64)
        bp[:, :n] = b
        west, north = [], []
        for n0 in range(0, n, c):
            for m0 in range(0, m, r):
                west.append(ap[m0:m0 + r, :].T)
                north.append(bp[:, n0:n0 + c])
        return np.concatenate(west), np.concatenate(north)
    x, w = (b.T, a.T) if cfg.dataflow == "is" else (a, b)
    s, k = x.shape
    t = w.shape[1]
    kp = _cdiv(k, r) * r
    xp = np.zeros((s, kp), dtype=np.int64)
    xp[:, :k] = x
    wp = np.zeros((kp, _cdiv(t, c) * c), dtype=np.int64)
    wp[:k, :t] = w
    folds = list(ws_folds(cfg, s, k, t))
    west, north = [], []
    t0, _, k0, _ = folds[0]
    west.append(np.zeros((r, r), dtype=np.int64))
    north.append(wp[k0:k0 + r, t0:t0 + c])
    for f, (t0, c0, k0, mc) in enumerate(folds):
        nxt = folds[f + 1] if f + 1 < len(folds) else None
        period = max(mc, r) if nxt else mc
        wb = np.zeros((period, r), dtype=np.int64)
        wb[:mc] = xp[c0:c0 + mc, k0:k0 + r]
        nb = np.zeros((period, c), dtype=np.int64)
        if nxt:
            nt0, _, nk0, _ = nxt
            nb[:r] = wp[nk0:nk0 + r, nt0:nt0 + c]
        west.append(wb)
        north.append(nb)
    return np.concatenate(west), np.concatenate(north)


def result_beat_count(cfg: SystolicConfig, m: int, k: int, n: int) -> int:
    """Number of result beats the RTL emits for one GEMM."""
    _check_dims(m, k, n)
    if cfg.dataflow == "os":
        return _cdiv(m, cfg.rows) * _cdiv(n, cfg.cols) * cfg.rows
    s, _, t = _ws_dims(cfg, m, k, n)
    return _cdiv(t, cfg.cols) * s


def assemble_output(cfg: SystolicConfig, m: int, k: int, n: int, beats) -> np.ndarray:
    """Place result beats (``result_beat_count`` x ``cols``) into ``C`` (``m x n``).

    Padded rows and lanes are dropped; ``is`` beats (rows of ``C^T``) are transposed.
    """
    beats = np.asarray(beats, dtype=np.int64)
    want = result_beat_count(cfg, m, k, n)
    if beats.shape != (want, cfg.cols):
        raise ValueError(f"expected {want} result beats of {cfg.cols} lanes, got {beats.shape}")
    r, c = cfg.rows, cfg.cols
    if cfg.dataflow == "os":
        out = np.zeros((_cdiv(m, r) * r, _cdiv(n, c) * c), dtype=np.int64)
        i = 0
        for n0 in range(0, n, c):
            for m0 in range(0, m, r):
                out[m0:m0 + r, n0:n0 + c] = beats[i:i + r]
                i += r
        return out[:m, :n]
    s, _, t = _ws_dims(cfg, m, k, n)
    out = np.zeros((s, _cdiv(t, c) * c), dtype=np.int64)
    i = 0
    for t0 in range(0, t, c):
        out[:, t0:t0 + c] = beats[i:i + s]
        i += s
    out = out[:, :t]
    return out.T.copy() if cfg.dataflow == "is" else out
