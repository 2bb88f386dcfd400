"""Buffer-level mapping search of one GEMM, vectorised over problems and candidates.

A *mapping* of ``C[M, N] = A[M, K] B[K, N]`` onto a design with three on-chip buffers
(one per operand) is

* a **tile** ``(tile_m, tile_k, tile_n)``: the GEMM runs as a sequence of tile GEMMs of
  at most that shape, each one a command of the array (whose inner schedule is the
  family's own, priced by the family's ``tile_cost``);
* a **loop order** over the tiles, outer to inner (``"mnk"`` ... ``"knm"``): which
  operand's tile stays resident between consecutive tile GEMMs.

Buffers and traffic
-------------------
One tile of each operand must fit its buffer ``buffers`` times over (2: double
buffering, the next tile loads while the current one computes). A tile is fetched
from DRAM when it changes between consecutive tile GEMMs: operand ``X``, whose
*relevant* loops are ``A: m, k``, ``B: k, n``, ``C: m, n``, is fetched
``prod(trips of the irrelevant loops outside its innermost relevant loop)`` times (loops
of one trip are ignored). C's irrelevant loop is ``k``: C fetched more than once means
partial sums leave the chip and come back (written ``mult`` times, read ``mult - 1``
times, ``bits_c`` wide). K-split partial sums otherwise accumulate in C's buffer with a
read-modify-write per element and extra K tile (``psum_reads``), at the accumulator
width, wrapping exactly as the array's accumulators do.

Cycles are ``max(compute, ceil(dram_bytes / bandwidth))``: the families' closed forms'
DRAM-bandwidth stall model (transfers overlap compute; the double buffers are what
lets them), with ``compute`` the sum of the tile GEMMs' cycles.

Search
------
Bigger tiles never fetch more (trip counts only fall), so for each ``(tile_m, tile_n)``
on a ladder of multiples of the array's granularity (``unit * 2**j`` and the full
extent) only the largest ``tile_k`` that fits is a candidate; tiles are balanced (the
trips of a dimension split it evenly, rounded up to the unit). Every candidate is priced
under all six loop orders; the best by the objective wins, ties broken by the next
objective (:data:`TIE_BREAKS`; cycles within :data:`CYCLES_RTOL` of the fewest count
as tied), then by the smaller candidate index (deterministic).
The family's own fixed order (today's closed form) is always a candidate too, so a
searched mapping is never worse than ``fixed`` under the chosen objective (cycles: by
more than :data:`CYCLES_RTOL`, and then with fewer DRAM bytes).

Only the cycles depend on the DRAM bandwidth (:func:`stalled`), so problems that differ
only in bandwidth (a sweep's designs, often) can share one search: :func:`search` with
``of``/``bw`` prices each problem's candidates once and selects per bandwidth, with the
same result as a search per bandwidth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from hwsim.errors import check_choice

#: ``mapping`` config values: the family's fixed order, or the search.
MAPPINGS = ("fixed", "search")
#: Objectives of the search; ``dram`` is DRAM bytes, ``energy`` the priced energy (pJ).
OBJECTIVES = ("cycles", "dram", "energy")
#: Objective -> the keys compared in turn (ties broken by the next).
TIE_BREAKS = {"cycles": ("cycles", "dram", "energy"), "dram": ("dram", "energy", "cycles"),
              "energy": ("energy", "cycles", "dram")}
#: Relative resolution at which cycles are compared: candidates within it of the fewest
#: cycles count as tied, and the next objective decides. The closed form's overlap
#: bound is itself only this close to an event-driven replay (about 1 % on large GEMMs,
#: :mod:`hwsim.families.systolic.memsim`), and without it two cycles of command latency
#: would outweigh a tenfold cut in DRAM traffic on a compute-bound GEMM.
CYCLES_RTOL = 1e-3
#: Loop orders over the buffer tiles, outer to inner.
ORDERS = ("mnk", "nmk", "mkn", "kmn", "nkm", "knm")
#: The order value recorded when the family's fixed (untiled) order is kept.
FIXED_ORDER = "fixed"
_RELEVANT = {"a": "mk", "b": "kn", "c": "mn"}


def cdiv(a, b):
    return -(-a // b)


#: Largest ratio of a derived count (cycles, bits, bytes) to the MACs, with margin, and
#: the bound int64 figures must stay under: the search runs in int64.
_HEADROOM, _SAFE = 2**14, 2**62


def searchable(macs, bw):
    """True where the search's int64 arithmetic cannot overflow (elsewhere the caller
    keeps its fixed order, priced with exact integers)."""
    return np.asarray(macs, dtype=float) * _HEADROOM < _SAFE * np.minimum(1.0, np.asarray(bw, dtype=float))


@dataclass
class Space:
    """Mapping problems, one per element of the (broadcast) arrays.

    Parameters
    ----------
    m, k, n : array
        GEMM extents.
    unit_m, unit_k, unit_n : array
        Tile granularity per dimension (what the array consumes at once); tiles are
        multiples of it unless they cover the whole extent.
    bits_a, bits_b, bits_c : array
        Bits per element of A and B in DRAM and in the buffers, and of C (results and
        partial sums).
    cap_a, cap_b, cap_c : array
        Buffer bytes for A, B, C.
    bw : array
        DRAM bytes per cycle.
    tile_cost : callable
        ``tile_cost(tm, tk, tn, ex, actions) -> dict`` of arrays for **one** tile GEMM of
        that shape: ``"compute_cycles"`` and, if ``actions``, any action counts the
        family wants summed over the tiles. ``ex`` expands a per-problem array to the
        tiles' shape (the family's own per-problem arrays must go through it).
    unit_energy : dict or callable, optional
        ``{key of the totals of price: pJ per unit, per problem}``, or a function of an
        index array of problems returning it for those problems (called only when energy
        is needed, for the problems that need it); the energy of a mapping is the sum
        over these keys. Needed for the ``energy`` objective and its tie breaks.
    buffers : int
        Tiles each buffer holds at once (2: double buffering).
    bit_scale : array
        ``bits_*`` are in units of ``1 / bit_scale`` bit (an operand with per-group
        metadata, e.g. a scale every 128 weights, has a fractional width).
    """

    m: np.ndarray
    k: np.ndarray
    n: np.ndarray
    unit_m: np.ndarray
    unit_k: np.ndarray
    unit_n: np.ndarray
    bits_a: np.ndarray
    bits_b: np.ndarray
    bits_c: np.ndarray
    cap_a: np.ndarray
    cap_b: np.ndarray
    cap_c: np.ndarray
    bw: np.ndarray
    tile_cost: Callable[..., dict]
    unit_energy: dict | Callable[[np.ndarray], dict] | None = None
    buffers: int = 2
    bit_scale: np.ndarray | int = 1
    _cols: tuple = field(default=("m", "k", "n", "unit_m", "unit_k", "unit_n", "bits_a", "bits_b", "bits_c",
                                  "cap_a", "cap_b", "cap_c", "bit_scale"), repr=False)

    def __post_init__(self):
        arrs = np.broadcast_arrays(*(np.asarray(getattr(self, c)) for c in self._cols), np.asarray(self.bw))
        for c, a in zip(self._cols, arrs):
            setattr(self, c, a.astype(np.int64))
        self.bw = arrs[-1].astype(float)

    @property
    def size(self) -> int:
        return self.m.size



def _bytes(elems, bits, scale=1):
    return cdiv(elems * bits, 8 * scale)


def fits(space: Space, tm, tk, tn, ex=None):
    """True where one tile of every operand fits its buffer ``buffers`` times over."""
    ex = ex if ex is not None else (lambda x: x)
    b, sc = space.buffers, ex(space.bit_scale)
    return ((b * _bytes(tm * tk, ex(space.bits_a), sc) <= ex(space.cap_a))
            & (b * _bytes(tk * tn, ex(space.bits_b), sc) <= ex(space.cap_b))
            & (b * _bytes(tm * tn, ex(space.bits_c), sc) <= ex(space.cap_c)))


def fetch_multiplier(order: str, operand: str, trips: dict, _memo: dict | None = None):
    """How many times each element of ``operand`` is fetched under ``order``
    (see the module docstring); ``trips`` maps ``"m"``, ``"k"``, ``"n"`` to arrays.

    The operand has one irrelevant loop; its elements are fetched once per trip of it
    if a relevant loop with more than one trip runs inside it, else once. ``_memo``
    shares the result between orders that nest the same loops inside that one."""
    rel = _RELEVANT[operand]
    (irr,) = set("mkn") - set(rel)
    inside = frozenset(order[order.index(irr) + 1:])
    key = (operand, inside)
    if _memo is not None and key in _memo:
        return _memo[key]
    if inside:
        active = np.zeros(trips[irr].shape, bool)
        for d in inside:
            active = active | (trips[d] > 1)
        out = np.where(active, trips[irr], 1)
    else:
        out = np.ones_like(trips[irr])
    if _memo is not None:
        _memo[key] = out
    return out


def price(space: Space, tm, tk, tn, orders=ORDERS, ex=None, actions: bool = True) -> dict:
    """Totals of mapped GEMMs: tile shapes ``tm, tk, tn`` (arrays broadcast against the
    problems, which sit on axis 0 and are expanded by ``ex``) under each loop order of
    ``orders`` (a new last axis).

    Returns a dict of arrays: ``compute_cycles``, ``cycles``, ``dram`` (bytes),
    ``dram_read_a``, ``dram_read_b``, ``dram_read_c`` (partial sums read back),
    ``dram_write_c``, ``psum_reads`` (on-chip partial-sum read-modify-writes), ``tiles``,
    the trips ``trips_m/k/n`` and every key of ``tile_cost`` summed over the tiles.
    Keys that do not depend on the order have no order axis. ``actions=False`` asks
    ``tile_cost`` for its cycles only (``tile_cost(..., actions=False)``).
    """
    ex = ex if ex is not None else (lambda x: x)
    m, k, n = ex(space.m), ex(space.k), ex(space.n)
    tm, tk, tn = np.broadcast_arrays(tm, tk, tn)
    trips = {"m": cdiv(m, tm), "k": cdiv(k, tk), "n": cdiv(n, tn)}
    # tiles of a dimension: trips - 1 full ones and one last one (possibly full); the
    # 2 x 2 x 2 tile shapes are priced in one call, on three leading axes
    size, count = {}, {}
    for i, (d, ext, t) in enumerate((("m", m, tm), ("k", k, tk), ("n", n, tn))):
        last = ext - (trips[d] - 1) * t
        lead = [1, 1, 1]
        lead[i] = 2
        size[d] = np.stack([t, last]).reshape(lead + list(t.shape))
        count[d] = np.stack([trips[d] - 1, np.ones_like(t)]).reshape(lead + list(t.shape))
    w = count["m"] * count["k"] * count["n"]
    cost = space.tile_cost(size["m"], size["k"], size["n"], ex, actions)
    tot: dict = {key: (np.where(w > 0, v, 0) * w).sum(axis=(0, 1, 2)) for key, v in cost.items()}
    sc = ex(space.bit_scale)
    a_sz = _bytes(m * k, ex(space.bits_a), sc)
    b_sz = _bytes(k * n, ex(space.bits_b), sc)
    c_sz = _bytes(m * n, ex(space.bits_c), sc)
    memo: dict = {}
    mults = {x: np.stack([fetch_multiplier(o, x, trips, memo) for o in orders], axis=-1) for x in "abc"}
    ra = a_sz[..., None] * mults["a"]
    rb = b_sz[..., None] * mults["b"]
    wc = c_sz[..., None] * mults["c"]
    rc = wc - c_sz[..., None]
    dram = ra + rb + rc + wc
    tot.update({
        "dram_read_a": ra, "dram_read_b": rb, "dram_read_c": rc, "dram_write_c": wc, "dram": dram,
        "cycles": stalled(tot["compute_cycles"][..., None], dram, ex(space.bw)[..., None]),
        "psum_reads": (trips["k"] - 1) * m * n,
        "tiles": trips["m"] * trips["k"] * trips["n"],
        "trips_m": trips["m"], "trips_k": trips["k"], "trips_n": trips["n"],
    })
    return tot


#: Totals of :func:`price` that depend on the DRAM bandwidth (all the others do not).
BW_KEYS = ("cycles",)


def stalled(compute, dram, bw):
    """Cycles of mappings of ``compute`` cycles moving ``dram`` bytes at ``bw`` bytes per
    cycle (arrays broadcast together): the only use :func:`price` makes of the bandwidth."""
    return np.maximum(compute, np.ceil(dram / bw).astype(np.int64))


def ladder(extent, unit, steps: int):
    """Candidate tile sizes ``(P, steps + 1)``: ``unit * 2**j`` clipped to ``extent``, and
    ``extent`` itself."""
    j = 2 ** np.arange(steps)
    lad = np.minimum(unit[:, None] * j[None, :], extent[:, None])
    return np.concatenate([lad, extent[:, None]], axis=1)


def _balance(extent, tile, unit):
    """The smallest multiple of ``unit`` (or the extent) giving the same trips as ``tile``."""
    t = cdiv(extent, np.maximum(tile, 1))
    bal = cdiv(cdiv(extent, t), unit) * unit
    return np.minimum(np.minimum(bal, tile), extent)


@dataclass(frozen=True)
class Choice:
    """The mapping chosen per problem (arrays of the problems' shape)."""

    fixed: np.ndarray       # True where the family's fixed order won
    order: np.ndarray       # loop order (str), FIXED_ORDER where fixed won
    tile_m: np.ndarray
    tile_k: np.ndarray
    tile_n: np.ndarray
    objective: str
    #: :func:`price` totals of the chosen tiled mapping (meaningless where ``fixed``)
    totals: dict = field(default_factory=dict)


def _lexmin(keys: list, feasible, rtol=None) -> np.ndarray:
    """Row-wise index of the lexicographic minimum of ``keys`` (2-D arrays) among
    ``feasible`` columns (ties to the first column)."""
    return _still_tied(keys, feasible, rtol).argmax(axis=1)


#: Up to this many feasible candidates, the first pricing includes the actions.
_RICH = 4096


def candidates(space: Space, steps: int = 12):
    """The tile candidates of every problem: ``tm, tk, tn`` and ``feasible``, arrays
    ``(P, C)`` (``C = Jm * Jn``: the M ladder outer, the N ladder inner; the ladders are
    as long as the problems of ``space`` need, longer ones only repeat the extents)."""
    p = space.size

    def nsteps(ext, unit):  # rungs below the extent (more would repeat it)
        ratio = int(np.max(cdiv(ext, unit)))
        return min(steps, max(0, (ratio - 1).bit_length()))

    lad_m = ladder(space.m, space.unit_m, nsteps(space.m, space.unit_m))   # (P, J)
    lad_n = ladder(space.n, space.unit_n, nsteps(space.n, space.unit_n))
    jm_, jn_ = lad_m.shape[1], lad_n.shape[1]
    tm = _balance(space.m[:, None, None], lad_m[:, :, None], space.unit_m[:, None, None])
    tn = _balance(space.n[:, None, None], lad_n[:, None, :], space.unit_n[:, None, None])
    # candidates flattened: (P, C) with C = Jm * Jn
    tm = np.broadcast_to(tm, (p, jm_, jn_)).reshape(p, -1)
    tn = np.broadcast_to(tn, (p, jm_, jn_)).reshape(p, -1)
    ex = (lambda x: x[:, None])
    b = space.buffers
    # the largest K tile both input buffers hold, a multiple of the unit (or all of K)
    sc = ex(space.bit_scale)
    kmax = np.minimum((ex(space.cap_a) * 8 * sc // b) // (tm * ex(space.bits_a)),
                      (ex(space.cap_b) * 8 * sc // b) // (tn * ex(space.bits_b)))
    kk = ex(space.k)
    uk = ex(space.unit_k)
    tk = np.where(kmax >= kk, kk, (kmax // uk) * uk)
    tk = _balance(kk, np.maximum(tk, 1), uk)
    feasible = (kmax >= 1) & ((tk >= uk) | (tk == kk)) & fits(space, tm, tk, tn, ex)
    return tm, tk, tn, feasible


def search(space: Space, objective: str, fixed: dict, steps: int = 12, need_actions: bool = True,
           bw=None, of=None) -> Choice:
    """The best mapping of every problem in ``space`` (see the module docstring).

    ``fixed`` holds the fixed order's ``cycles``, ``dram`` and ``energy`` per problem
    (``energy`` may be a function of an index array of problems, called only for the
    problems whose objective or ties need it); the fixed order wins ties.

    With ``of`` (and ``bw``), the search answers *queries* instead: query ``q`` is
    problem ``of[q]`` of ``space`` at ``bw[q]`` DRAM bytes per cycle (``space.bw`` is
    then unused), and ``fixed`` and the result are per query (``fixed["energy"]`` a
    function of query indices, ``unit_energy`` still of problems). The same mapping as
    a problem of its own per query, but every problem's candidates are enumerated and
    priced once, however many bandwidths ask for it (see :func:`_search_queries`).
    """
    check_choice("mapping_objective", objective, OBJECTIVES)
    if of is not None:
        return _search_queries(space, objective, fixed, steps, need_actions, np.asarray(bw, float).reshape(-1),
                               np.asarray(of, np.int64).reshape(-1))
    p = space.size

    tm, tk, tn, feasible = candidates(space, steps)
    # only the feasible candidates are priced, as one flat list (problem fr[i], tile fc[i])
    fr, fc = np.nonzero(feasible)
    # a few candidates (one GEMM): price their actions at once, for energy and the result
    rich = 0 < fr.size <= _RICH
    tot = price(space, tm[fr, fc], tk[fr, fc], tn[fr, fc], ORDERS, lambda x: x[fr], actions=rich or not need_actions)
    shape = (p, tm.shape[1], len(ORDERS))                     # (P, C, O)
    worst = np.iinfo(np.int64).max
    order_keys = TIE_BREAKS[objective]
    cols = {}
    for key in ("cycles", "dram"):
        grid = np.full(shape, worst, np.int64)
        grid[fr, fc] = tot[key]
        # the fixed order as one more column, first, so that it wins ties
        cols[key] = np.concatenate([np.asarray(fixed[key], np.int64).reshape(p, 1), grid.reshape(p, -1)], axis=1)
    feas = np.concatenate([np.ones((p, 1), bool), np.repeat(feasible, len(ORDERS), axis=1)], axis=1)
    cheap = list(order_keys[:order_keys.index("energy")])  # the keys compared before energy
    rtol = [CYCLES_RTOL if k == "cycles" else 0.0 for k in order_keys]
    tied = _still_tied([cols[k] for k in cheap], feas, rtol) if cheap else feas
    idx = tied.argmax(axis=1)  # where one candidate is best by the keys before energy
    rows_e = np.arange(p) if not cheap else np.flatnonzero(tied.sum(axis=1) > 1)
    if rows_e.size:
        # energy of the candidates still in the running, on the problems that need it
        # (priced with their actions)
        e = np.full(shape, np.inf)
        if rich:
            e[fr, fc] = energy(space, tot, fr)
        else:
            er, ec = np.nonzero(tied[rows_e, 1:].reshape(rows_e.size, shape[1], shape[2]).any(axis=2))
            er = rows_e[er]
            tsub = price(space, tm[er, ec], tk[er, ec], tn[er, ec], ORDERS, lambda x: x[er], actions=True)
            e[er, ec] = energy(space, tsub, er)
        fe = fixed["energy"](rows_e) if callable(fixed["energy"]) else np.asarray(fixed["energy"])[rows_e]
        ecol = np.concatenate([np.asarray(fe, float).reshape(-1, 1), e[rows_e].reshape(rows_e.size, -1)], axis=1)
        idx[rows_e] = _lexmin([ecol if k == "energy" else cols[k][rows_e] for k in order_keys], tied[rows_e], rtol)
    is_fixed = idx == 0
    flat = np.where(is_fixed, 0, idx - 1)
    c, o = np.unravel_index(flat, shape[1:])
    rows = np.arange(p)
    tile = (tm[rows, c], tk[rows, c], tn[rows, c])
    # the chosen candidates' totals, actions included, under their orders
    picked = {}
    if need_actions and rich:
        pos = np.full((p, shape[1]), -1)
        pos[fr, fc] = np.arange(fr.size)
        at = np.maximum(pos[rows, c], 0)  # fixed rows: any candidate (their totals are unused)
        for key, v in tot.items():
            v = np.asarray(v)
            picked[key] = v[at, o] if v.ndim == 2 else np.broadcast_to(v, (fr.size,))[at]
    elif need_actions and fr.size:
        one = price(space, *tile, ORDERS)
        for key, v in one.items():
            v = np.asarray(v)
            picked[key] = v[rows, o] if v.ndim == 2 else np.broadcast_to(v, (p,))
    return Choice(
        fixed=is_fixed,
        order=np.where(is_fixed, FIXED_ORDER, np.asarray(ORDERS)[o]),
        tile_m=np.where(is_fixed, space.m, tile[0]),
        tile_k=np.where(is_fixed, space.k, tile[1]),
        tile_n=np.where(is_fixed, space.n, tile[2]),
        objective=objective,
        totals=picked,
    )


def _search_queries(space: Space, objective: str, fixed: dict, steps: int, need_actions: bool, bw, of) -> Choice:
    """:func:`search` of the queries ``(of[q], bw[q])``.

    Only the cycles of a mapping depend on the bandwidth (:data:`BW_KEYS`), and only
    through :func:`stalled`; the candidates, their feasibility, compute cycles, DRAM
    bytes, actions and the energy of everything but the cycles are the problem's. So each
    problem's candidates are priced once (with their actions), and a column (candidate,
    order) is dropped when another one of the same problem is no worse in compute
    cycles, DRAM bytes and that energy and precedes it or moves fewer bytes: at every
    bandwidth it is then no worse in cycles, DRAM bytes and energy (the energy per cycle
    is not negative), so it survives every step of the selection the dropped one would
    survive (within a tolerance or equal to the best), the dropped one never wins and the
    best values are unchanged. The queries select among the columns left (few: a
    problem's front of compute cycles, bytes and energy), in the column order of
    :func:`search`, with its rules.
    """
    q, u, no = of.size, space.size, len(ORDERS)
    tm, tk, tn, feasible = candidates(space, steps)
    fr, fc = np.nonzero(feasible)
    nf = fr.size
    tot = price(space, tm[fr, fc], tk[fr, fc], tn[fr, fc], ORDERS, lambda x: x[fr], actions=True)
    comp = np.broadcast_to(tot["compute_cycles"][:, None], (nf, no))
    dram = tot["dram"]
    # the energy up to the first bandwidth-dependent term, summed as energy() sums it
    units, base, rest = None, np.zeros((nf, no)), []
    if space.unit_energy is not None and nf:
        units = _units(space, fr)
        keys = list(units)
        cut = next((i for i, key in enumerate(keys) if key in BW_KEYS), len(keys))
        base = np.broadcast_to(_energy_sum(units, tot, keys[:cut]), (nf, no))
        rest = keys[cut:]
    prune = (units is not None and rest == ["cycles"]
             and bool(np.all(np.asarray(units["cycles"], float) >= 0)))
    # columns (candidate f, order o), problem by problem in search()'s column order
    col = (fc[:, None] * no + np.arange(no)).astype(np.int64)
    keep = np.ones((nf, no), bool)
    if prune:
        # among the orders of one candidate (same compute cycles), pairwise
        keep = ~_dominated(comp[:, :, None], dram[:, :, None], base[:, :, None], col[:, :, None],
                           comp[:, None, :], dram[:, None, :], base[:, None, :], col[:, None, :]).any(axis=1)
    cf, co = np.nonzero(keep)
    if prune and cf.size:
        # among the columns left of one problem: the first column by (compute cycles,
        # bytes, energy, column) has none that makes it redundant (any such one would
        # come first); keep it, drop what it makes redundant, repeat (as many rounds as
        # the largest front has columns)
        kc, kd, ke, kx = comp[cf, co], dram[cf, co], base[cf, co], col[cf, co]
        by = np.lexsort((kx, ke, kd, kc, fr[cf]))
        f, o, alive = _pack(fr[cf[by]], u, cf[by], co[by])
        tc, td, te, tx = comp[f, o], dram[f, o], base[f, o], col[f, o]
        kept = np.zeros_like(alive)
        r = np.flatnonzero(alive.any(axis=1))
        while r.size:
            piv = alive[r].argmax(axis=1)
            kept[r, piv] = True
            first = [t[r, piv][:, None] for t in (tc, td, te, tx)]
            alive[r] &= ~_dominated(*first, tc[r], td[r], te[r], tx[r])
            alive[r, piv] = False
            r = r[alive[r].any(axis=1)]
        kr, ks = np.nonzero(kept)
        cf, co = f[kr, ks], o[kr, ks]
        by = np.lexsort((col[cf, co], kr))
        cf, co = cf[by], co[by]
    # the columns left, (U, K) tables in column order per problem
    qf, qo, qv = _pack(fr[cf], u, cf, co)
    t_comp, t_dram, t_base = comp[qf, qo], dram[qf, qo], base[qf, qo]
    qf, qo, qv = qf[of], qo[of], qv[of]
    # the queries: (Q, 1 + K) columns, the fixed order first
    cyc = stalled(t_comp[of], t_dram[of], bw[:, None])
    worst = np.iinfo(np.int64).max
    cols = {"cycles": np.concatenate([np.asarray(fixed["cycles"], np.int64).reshape(q, 1),
                                      np.where(qv, cyc, worst)], axis=1),
            "dram": np.concatenate([np.asarray(fixed["dram"], np.int64).reshape(q, 1),
                                    np.where(qv, t_dram[of], worst)], axis=1)}
    feas = np.concatenate([np.ones((q, 1), bool), qv], axis=1)
    order_keys = TIE_BREAKS[objective]
    cheap = list(order_keys[:order_keys.index("energy")])
    rtol = [CYCLES_RTOL if k == "cycles" else 0.0 for k in order_keys]
    tied = _still_tied([cols[k] for k in cheap], feas, rtol) if cheap else feas
    idx = tied.argmax(axis=1)
    rows_e = np.arange(q) if not cheap else np.flatnonzero(tied.sum(axis=1) > 1)
    if rows_e.size:
        if units is None:
            _units(space)  # raises: the energy is needed
        pe = of[rows_e]
        e = t_base[pe]
        for key in rest:  # the remaining terms, in energy()'s order
            if key == "cycles":
                t = cyc[rows_e]
            else:
                t = np.broadcast_to(np.asarray(tot[key]).reshape(nf, -1), (nf, no))[qf[rows_e], qo[rows_e]]
            e = e + np.asarray(units[key], dtype=float)[qf[rows_e]] * t.astype(float)
        fe = fixed["energy"](rows_e) if callable(fixed["energy"]) else np.asarray(fixed["energy"])[rows_e]
        ecol = np.concatenate([np.asarray(fe, float).reshape(-1, 1), np.where(qv[rows_e], e, np.inf)], axis=1)
        idx[rows_e] = _lexmin([ecol if k == "energy" else cols[k][rows_e] for k in order_keys], tied[rows_e], rtol)
    is_fixed = idx == 0
    rows = np.arange(q)
    at = np.maximum(idx - 1, 0)
    f, o = (qf[rows, at], qo[rows, at]) if qf.shape[1] else (np.zeros(q, np.int64), np.zeros(q, np.int64))
    picked = {}
    if need_actions and nf:
        for key, v in tot.items():
            v = np.asarray(v)
            picked[key] = v[f, o] if v.ndim == 2 else np.broadcast_to(v, (nf,))[f]
        if qf.shape[1]:
            picked["cycles"] = cyc[rows, at]
    tile = (tm[fr[f], fc[f]], tk[fr[f], fc[f]], tn[fr[f], fc[f]]) if nf else (space.m[of], space.k[of], space.n[of])
    return Choice(
        fixed=is_fixed,
        order=np.where(is_fixed, FIXED_ORDER, np.asarray(ORDERS)[o]),
        tile_m=np.where(is_fixed, space.m[of], tile[0]),
        tile_k=np.where(is_fixed, space.k[of], tile[1]),
        tile_n=np.where(is_fixed, space.n[of], tile[2]),
        objective=objective,
        totals=picked,
    )


def group_rows(columns):
    """The distinct rows of the equal-length 1-D arrays ``columns``, as ``(first,
    inverse)``: what ``np.unique(np.stack(columns, 1), axis=0, return_index=True,
    return_inverse=True)`` gives (the same rows, in the same, lexicographic, order), by
    sorting one integer code per row instead of rows of many fields."""
    n = np.asarray(columns[0]).size
    code, card = np.zeros(n, np.int64), 1
    for c in columns:
        c = np.asarray(c).reshape(-1)
        if n and (c == c[0]).all():  # one value (a sweep chunk's designs share most fields)
            continue
        vals, ci = np.unique(c, return_inverse=True)
        if card * len(vals) >= 2**62:  # renumber the rows so far densely
            code = np.unique(code, return_inverse=True)[1].reshape(-1)
            card = int(code.max()) + 1
        code = code * len(vals) + ci.reshape(-1)
        card *= len(vals)
    _, first, inv = np.unique(code, return_index=True, return_inverse=True)
    return first, inv.reshape(-1)


def _pack(group, n: int, *values):
    """``values`` (1-D, sorted by ``group``) as ``(n, width)`` tables, group ``g`` on row
    ``g`` in their order, and the mask of the filled cells."""
    cnt = np.bincount(group, minlength=n)
    width = int(cnt.max()) if group.size else 0
    slot = np.arange(group.size) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    out = []
    for v in values:
        t = np.zeros((n, width), np.asarray(v).dtype)
        t[group, slot] = v
        out.append(t)
    filled = np.zeros((n, width), bool)
    filled[group, slot] = True
    return (*out, filled)


def _dominated(ci, di, ei, xi, cj, dj, ej, xj):
    """Whether column ``i`` makes column ``j`` redundant (see :func:`_search_queries`):
    no more compute cycles, DRAM bytes or bandwidth-free energy, and before it or fewer
    bytes."""
    return (ci <= cj) & (di <= dj) & (ei <= ej) & ((xi < xj) | (di < dj))


def _still_tied(keys, feas, rtol=None):
    """The columns of ``feas`` that are best by every key of ``keys`` in turn (within
    ``rtol[i]`` of the best for key ``i``)."""
    mask = feas.copy()
    for i, key in enumerate(keys):
        key = np.asarray(key)
        v = np.where(mask, key, np.inf if key.dtype.kind == "f" else np.iinfo(key.dtype).max)
        best = v.min(axis=1, keepdims=True)
        tol = rtol[i] if rtol else 0.0
        mask &= (v <= best * (1 + tol)) if tol else (v == best)
    return mask


def energy(space: Space, tot: dict, rows=None):
    """Energy (pJ) of priced mappings: ``sum(unit_energy[key] * tot[key])``; ``rows`` are
    the problems of the totals' first axis (default: all, in order)."""
    units = _units(space, rows)
    return _energy_sum(units, tot, list(units))


def _units(space: Space, rows=None) -> dict:
    """``unit_energy`` of the problems ``rows`` (default: all), one value per row."""
    if space.unit_energy is None:
        raise ValueError("the energy objective needs the family's unit energies")
    rows = np.arange(space.size) if rows is None else rows
    if callable(space.unit_energy):
        ur, inv = np.unique(rows, return_inverse=True)
        return {key: np.broadcast_to(np.asarray(v), ur.shape)[inv] for key, v in space.unit_energy(ur).items()}
    return {key: np.broadcast_to(np.asarray(v), (space.size,))[rows] for key, v in space.unit_energy.items()}


def _energy_sum(units: dict, tot: dict, keys, e=0.0):
    """``e`` plus ``units[key] * tot[key]`` over ``keys`` in turn (the terms of
    :func:`energy`, which sums all of them from 0 in the order of ``units``)."""
    nd = max(np.ndim(tot[key]) for key in units)

    def pad(x):  # order-free totals gain the order axis (last) of the others
        return x.reshape(x.shape + (1,) * (nd - x.ndim))

    for key in keys:
        e = e + pad(np.asarray(units[key], dtype=float)) * pad(np.asarray(tot[key], dtype=float))
    return e


__all__ = ["BW_KEYS", "CYCLES_RTOL", "Choice", "FIXED_ORDER", "MAPPINGS", "OBJECTIVES", "ORDERS", "Space", "TIE_BREAKS",
           "candidates", "cdiv", "energy", "fetch_multiplier", "fits", "group_rows", "searchable", "ladder", "price",
           "search", "stalled"]
