"""Discrete-event (simpy) model of DRAM transfers overlapping a systolic array's folds.

The closed-form model (:mod:`hwsim.families.systolic.model`) with the fixed mapping (the
RTL sequencer's order on the whole GEMM, which is what this replays) assumes DRAM transfers overlap
compute perfectly: ``cycles = max(compute, dram_bytes / bandwidth)``. That is a lower
bound: it lets a transfer hide behind any compute of the run, however far away. This
module replays the same GEMM fold by fold with a finite lookahead, to measure how far
the bound is from a double-buffered machine:

* the folds run in the RTL's loop order (:mod:`hwsim.families.systolic.timing`): ``os``
  column folds outer, row folds inner; ``ws`` N blocks, M chunks of ``acc_depth`` rows,
  K blocks; ``is`` the ``ws`` order on the transposed problem;
* each fold needs its operand tiles in SRAM before it starts, under the closed form's
  fetch policy (an operand fetched once if it fits in its buffer, else on every fold
  that re-reads it), so the DRAM bytes equal the closed form's exactly (a test checks);
* one DRAM channel of ``dram_bw_bytes_per_cycle`` serves loads and output write-backs
  in the order they are requested;
* ``buffers`` input buffer sets (default 2: double buffering) bound how far loading
  runs ahead of compute; a fold's set is freed when the fold ends;
* a fold's outputs are written back after it completes (``os``: every fold; ``ws``/``is``:
  after the last K block of an output block), overlapping later folds;
* compute cycles are the hardware-mode total (:func:`~hwsim.families.systolic.timing.hardware_cycles`)
  spread evenly over the folds (the RTL's folds are equal-length apart from the fill and
  drain at the ends, which this spreads too).

Not modelled (as in the closed form): DRAM latency, banks, refresh, and SRAM port
conflicts. :func:`simulate` returns the event-driven cycle count beside the closed
form's; ``(event - closed) / closed`` is the closed form's error on that GEMM.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np
import simpy

from hwsim.families.systolic.config import SystolicConfig
from hwsim.families.systolic.model import _bytes, compute_cycles, estimate
from hwsim.workloads.ops import GemmOp
from hwsim.errors import check_int


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def _span(total: int, size: int, i: int) -> int:
    """Length of block ``i`` when ``total`` is cut into blocks of ``size``."""
    return min(size, total - i * size)


@dataclass(frozen=True)
class Fold:
    """One fold: DRAM bytes to load before it, bytes to write after it."""

    load_bytes: int
    write_bytes: int


def fold_tiles(cfg: SystolicConfig, m: int, k: int, n: int):
    """The folds of one GEMM in the RTL's order, with the closed form's fetch policy (an
    operand fetched once if it fits in its buffer, else on every fold that re-reads it).

    Yields ``(loads, write)`` per fold: ``loads`` a list of ``(tile, bytes)`` fetched
    before it, ``write`` the ``(tile, bytes)`` written after it or ``None``. A tile is
    named by operand and block indices, so a re-fetched tile has the same name."""
    r, c = cfg.rows, cfg.cols
    ab, bb, ob = _bytes(cfg.a_bits), _bytes(cfg.b_bits), _bytes(cfg.acc_bits)
    ifmap_cap, filter_cap = cfg.ifmap_sram_kb * 1024, cfg.filter_sram_kb * 1024
    if cfg.dataflow == "os":
        a_fits, b_fits = m * k * ab <= ifmap_cap, k * c * bb <= filter_cap
        for ci in range(_cdiv(n, c)):
            nc = _span(n, c, ci)
            for ri in range(_cdiv(m, r)):
                mr = _span(m, r, ri)
                loads = [(("A", ri), mr * k * ab)] if not a_fits or ci == 0 else []
                loads += [(("B", ci), k * nc * bb)] if not b_fits or ri == 0 else []
                yield loads, (("C", ri, ci), mr * nc * ob)
        return
    # ws; is = ws on C^T = B^T A^T (streamed operand A <-> B, M <-> N)
    if cfg.dataflow == "is":
        m, n = n, m
        ab, bb = bb, ab
        ifmap_cap, filter_cap = filter_cap, ifmap_cap
    d = cfg.acc_depth
    a_fits, b_fits = m * k * ab <= ifmap_cap, k * n * bb <= filter_cap
    kt = _cdiv(k, r)
    for ni in range(_cdiv(n, c)):
        nc = _span(n, c, ni)
        for mi in range(_cdiv(m, d)):
            mr = _span(m, d, mi)
            for ki in range(kt):
                kr = _span(k, r, ki)
                loads = [(("A", mi, ki), mr * kr * ab)] if not a_fits or ni == 0 else []
                loads += [(("B", ki, ni), kr * nc * bb)] if not b_fits or mi == 0 else []
                yield loads, ((("C", mi, ni), mr * nc * ob) if ki == kt - 1 else None)


def folds(cfg: SystolicConfig, m: int, k: int, n: int) -> list[Fold]:
    """The folds of one GEMM (:func:`fold_tiles`) as bytes loaded before and written after."""
    return [Fold(sum(b for _, b in loads), write[1] if write else 0)
            for loads, write in fold_tiles(cfg, m, k, n)]


@dataclass(frozen=True)
class MemSimResult:
    """Cycles of the event-driven replay beside the closed form's."""

    cycles: int
    closed_form_cycles: int
    compute_cycles: int
    dram_cycles: int
    dram_bytes: int
    folds: int
    buffers: int

    @property
    def error(self) -> float:
        """``(closed form - event) / event``: how much the closed form under-estimates."""
        return (self.closed_form_cycles - self.cycles) / self.cycles if self.cycles else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "error": self.error}


def simulate(cfg: SystolicConfig, m: int, k: int, n: int, buffers: int = 2) -> MemSimResult:
    """Replay one GEMM fold by fold with DRAM and compute overlapping (see module doc).

    Examples
    --------
    >>> r = simulate(SystolicConfig(rows=4, cols=4, dataflow="os", dram_bw_bytes_per_cycle=1.0), 8, 16, 8)
    >>> r.cycles >= r.closed_form_cycles, r.dram_bytes
    (True, 512)
    """
    for key, v in (("m", m), ("k", k), ("n", n)):
        check_int(key, v, 1)
    check_int("buffers", buffers, 1, 1024)
    fl = folds(cfg, m, k, n)
    comp = int(compute_cycles(cfg, m, k, n, "hardware"))
    bw = float(cfg.dram_bw_bytes_per_cycle)
    base, extra = divmod(comp, len(fl))
    env = simpy.Environment()
    dram = simpy.Resource(env, capacity=1)
    slots = simpy.Container(env, capacity=buffers, init=buffers)
    loaded = [env.event() for _ in fl]
    writes: list[simpy.Process] = []

    def transfer(nbytes: int):
        with dram.request() as req:
            yield req
            yield env.timeout(nbytes / bw)

    def loader():
        for i, f in enumerate(fl):
            yield slots.get(1)
            if f.load_bytes:
                yield env.process(transfer(f.load_bytes))
            loaded[i].succeed()

    def array():
        for i, f in enumerate(fl):
            yield loaded[i]
            yield env.timeout(base + (1 if i < extra else 0))
            yield slots.put(1)
            if f.write_bytes:
                writes.append(env.process(transfer(f.write_bytes)))

    env.process(loader())
    done = env.process(array())
    env.run(until=done)
    if writes:
        env.run(until=simpy.AllOf(env, writes))
    # the replay follows the fixed order, so it is compared with the fixed order's closed form
    closed = estimate(replace(cfg, mapping="fixed"), GemmOp(m, k, n), "hardware")
    dram_bytes = int(sum(closed.dram_bytes.values()))
    return MemSimResult(cycles=math.ceil(env.now), closed_form_cycles=int(closed.cycles),
                        compute_cycles=comp, dram_cycles=math.ceil(dram_bytes / bw), dram_bytes=dram_bytes,
                        folds=len(fl), buffers=buffers)


# ---------------------------------------------------------------------------------------
# the same fold replay with every transfer served by the DRAM/HBM timing model


def fold_requests(cfg: SystolicConfig, m: int, k: int, n: int, size: int = 64):
    """Per fold (:func:`fold_tiles`): the request addresses loaded before it and written
    after it.

    Operands are stored tiled: every tile a fold loads or writes is one contiguous,
    ``size``-aligned region (the layout a DMA engine streams best; a re-fetched tile
    re-reads its region), so the requests carry the fold's bytes rounded up to whole
    requests and the replay measures the memory's timing, not a layout's waste."""
    regions: dict = {}
    top = 0

    def region(tile, nbytes):
        nonlocal top
        if tile not in regions:
            regions[tile] = top
            top += _cdiv(nbytes, 4096) * 4096
        lo = regions[tile]
        return list(range(lo, lo + _cdiv(nbytes, size) * size, size))

    return [([a for tile, nb in loads for a in region(tile, nb)], region(*write) if write else [])
            for loads, write in fold_tiles(cfg, m, k, n)]


@dataclass(frozen=True)
class DramReplayResult:
    """The fold replay on the DRAM timing model beside the closed form at the DRAM's peak.

    Cycles are array cycles. ``closed_form_cycles`` is the closed form with its
    bandwidth set to the memory's peak (``peak_bytes_per_cycle`` per array cycle);
    ``error`` is how much lower it is than the replay.
    """

    cycles: int
    closed_form_cycles: int
    compute_cycles: int
    peak_bytes_per_cycle: float
    requests: int
    request_bytes: int
    row_hit_rate: float
    iterations: int
    converged: bool
    dram_energy_pj: float

    @property
    def error(self) -> float:
        return (self.closed_form_cycles - self.cycles) / self.cycles if self.cycles else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "error": self.error}


def simulate_dram(cfg: SystolicConfig, m: int, k: int, n: int, dram, buffers: int = 2,
                  max_iterations: int = 200) -> DramReplayResult:
    """Replay one GEMM fold by fold with every load and write-back served by the DRAM/HBM
    timing model ``dram`` (a :class:`hwsim.memory.config.DramConfig`).

    Loads of fold ``i`` are issued when its buffer set is free (fold ``i - buffers`` has
    ended), write-backs when the fold ends; a fold starts when its loads have completed
    and the previous fold has ended. Issue times depend on completions, so the schedule
    is found by fixed-point iteration (replay all requests, recompute the fold schedule,
    repeat until the issue times stop changing; issue times only move later, starting from
    a lower bound: loads at the memory's peak rate with no latency). The array clock is ``cfg.freq_mhz``, the memory's
    ``1000 / tCK`` MHz.

    Examples
    --------
    >>> from hwsim.memory.config import load_preset
    >>> r = simulate_dram(SystolicConfig(rows=4, cols=4), 16, 64, 16, load_preset("hbm2", channels=1))
    >>> r.converged, r.cycles >= r.closed_form_cycles
    (True, True)
    """
    from hwsim.memory.controller import simulate as dram_simulate

    for key, v in (("m", m), ("k", k), ("n", n)):
        check_int(key, v, 1)
    check_int("buffers", buffers, 1, 1024)
    size = dram.request_size_bytes
    reqs = fold_requests(cfg, m, k, n, size)
    nf = len(reqs)
    comp_total = int(compute_cycles(cfg, m, k, n, "hardware"))
    ratio = (1000.0 / dram.tCK) / float(cfg.freq_mhz)  # memory cycles per array cycle
    base, extra = divmod(comp_total, nf)
    comp = [math.ceil((base + (1 if i < extra else 0)) * ratio) for i in range(nf)]
    addr, is_w, fold_of = [], [], []
    for i, (ld, wr) in enumerate(reqs):
        addr += ld + wr
        is_w += [False] * len(ld) + [True] * len(wr)
        fold_of += [i] * (len(ld) + len(wr))
    addr = np.array(addr, dtype=np.uint64)
    is_w = np.array(is_w, dtype=bool)
    fold_of = np.array(fold_of, dtype=np.int64)
    load_mask = ~is_w
    # first guess, a lower bound of the schedule: loads served first come first served at
    # the memory's peak rate, no latency, no write-backs (the iteration only moves later)
    peak_mem = dram.peak_bytes_per_cycle * dram.channels
    start = np.zeros(nf, np.int64)
    end = np.zeros(nf, np.int64)
    t_mem = t_arr = 0
    for i, (ld, _) in enumerate(reqs):
        free = int(end[i - buffers]) if i >= buffers else 0
        load_done = max(free, t_mem) + math.floor(len(ld) * size / peak_mem) if ld else free
        t_mem = max(t_mem, load_done)
        start[i] = max(load_done, t_arr)
        t_arr = end[i] = start[i] + comp[i]
    res = None
    converged = False
    issue = None
    it = 0
    for it in range(1, max_iterations + 1):
        slot_free = np.concatenate([np.zeros(min(buffers, nf), np.int64), end[: max(0, nf - buffers)]])
        new_issue = np.where(load_mask, slot_free[fold_of], end[fold_of]).astype(np.int64)
        if issue is not None:
            # monotone from below (the first guess has no memory time): an issue time
            # never moves earlier, so the iteration cannot oscillate
            new_issue = np.maximum(new_issue, issue)
        if issue is not None and np.array_equal(new_issue, issue):
            converged = True
            break
        issue = new_issue
        order = np.argsort(issue, kind="stable")
        res = dram_simulate(dram, addr[order], is_w[order], issue[order])
        done = np.empty(len(addr), np.int64)
        done[order] = res.completion_cycles
        load_done = np.zeros(nf, np.int64)
        if load_mask.any():
            np.maximum.at(load_done, fold_of[load_mask], done[load_mask])
        t = 0
        for i in range(nf):
            s_i = max(int(load_done[i]), t)
            start[i] = s_i
            t = s_i + comp[i]
            end[i] = t
    last = int(end[-1])
    if res is not None and len(addr):
        last = max(last, int(res.completion_cycles.max()) + 1)
    peak = dram.peak_bytes_per_cycle * dram.channels * ratio  # bytes per array cycle
    closed = estimate(replace(cfg, dram_bw_bytes_per_cycle=peak, mapping="fixed"), GemmOp(m, k, n), "hardware")
    hits = (res.reads + res.writes - res.act) / max(1, res.reads + res.writes) if res is not None else 1.0
    return DramReplayResult(cycles=math.ceil(last / ratio), closed_form_cycles=int(closed.cycles),
                            compute_cycles=comp_total, peak_bytes_per_cycle=float(peak), requests=len(addr),
                            request_bytes=size, row_hit_rate=float(hits), iterations=it, converged=converged,
                            dram_energy_pj=float(res.energy_pj) if res is not None else 0.0)


__all__ = ["DramReplayResult", "Fold", "MemSimResult", "fold_requests", "fold_tiles", "folds", "simulate",
           "simulate_dram"]
