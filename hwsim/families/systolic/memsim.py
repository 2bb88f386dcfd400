"""Discrete-event (simpy) model of DRAM transfers overlapping a systolic array's folds.

The closed-form model (:mod:`hwsim.families.systolic.model`) assumes DRAM transfers overlap
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
from dataclasses import asdict, dataclass

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


def _load(a_tile: int, fetch_a: bool, b_tile: int, fetch_b: bool) -> int:
    """Bytes loaded before a fold: each operand tile if it is (re)fetched for it."""
    return a_tile * fetch_a + b_tile * fetch_b


@dataclass(frozen=True)
class Fold:
    """One fold: DRAM bytes to load before it, bytes to write after it."""

    load_bytes: int
    write_bytes: int


def folds(cfg: SystolicConfig, m: int, k: int, n: int) -> list[Fold]:
    """The folds of one GEMM in the RTL's order, with the closed form's fetch policy."""
    r, c = cfg.rows, cfg.cols
    ab, bb, ob = _bytes(cfg.a_bits), _bytes(cfg.b_bits), _bytes(cfg.acc_bits)
    ifmap_cap, filter_cap = cfg.ifmap_sram_kb * 1024, cfg.filter_sram_kb * 1024
    out: list[Fold] = []
    if cfg.dataflow == "os":
        a_fits = m * k * ab <= ifmap_cap
        b_fits = k * c * bb <= filter_cap
        for ci in range(_cdiv(n, c)):
            nc = _span(n, c, ci)
            for ri in range(_cdiv(m, r)):
                mr = _span(m, r, ri)
                load = _load(mr * k * ab, not a_fits or ci == 0, k * nc * bb, not b_fits or ri == 0)
                out.append(Fold(load, mr * nc * ob))
        return out
    # ws; is = ws on C^T = B^T A^T (streamed operand A <-> B, M <-> N)
    if cfg.dataflow == "is":
        m, n = n, m
        ab, bb = bb, ab
        ifmap_cap, filter_cap = filter_cap, ifmap_cap
    d = cfg.acc_depth
    a_fits = m * k * ab <= ifmap_cap
    b_fits = k * n * bb <= filter_cap
    kt = _cdiv(k, r)
    for ni in range(_cdiv(n, c)):
        nc = _span(n, c, ni)
        for mi in range(_cdiv(m, d)):
            mr = _span(m, d, mi)
            for ki in range(kt):
                kr = _span(k, r, ki)
                load = _load(mr * kr * ab, not a_fits or ni == 0, kr * nc * bb, not b_fits or mi == 0)
                out.append(Fold(load, mr * nc * ob if ki == kt - 1 else 0))
    return out


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
    closed = estimate(cfg, GemmOp(m, k, n), "hardware")
    dram_bytes = int(sum(closed.dram_bytes.values()))
    return MemSimResult(cycles=math.ceil(env.now), closed_form_cycles=int(closed.cycles),
                        compute_cycles=comp, dram_cycles=math.ceil(dram_bytes / bw), dram_bytes=dram_bytes,
                        folds=len(fl), buffers=buffers)


__all__ = ["Fold", "MemSimResult", "folds", "simulate"]
