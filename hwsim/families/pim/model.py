"""Timing and action counts of a GEMV (or M GEMVs) on the PIM banks.

The command schedule of one channel (the weights placed by :mod:`.layout`)::

    for each row m of A:                 (one GEMV)
        for each chunk c of K:
            GWRITE   x[m, chunk c] -> global buffer
            for each tile t (a row of every bank):
                PRE                      (all banks; not before the very first tile)
                G_ACT    for each bank group g, for each rank r
                COMP     x ceil(chunk length / mac_lanes)
                READRES  x readres_per_row (every bank's partial sum)

Two models time it with the same rules (:mod:`hwsim.memory.pim`):

* :func:`simulate` -- event-driven: every command of every channel goes through
  :class:`hwsim.memory.pim.PimChannel`, which keeps earliest-issue times;
* :func:`closed_form` -- the issue times as max-plus formulas of the previous tile's, with
  the tile and GEMV steps jumped over once the schedule is periodic (the step is
  translation invariant, so a uniform shift repeats exactly). Cost O(chunks), for sweeps.

Channels run in parallel; the slowest sets the cycles (channels with the same chunks and
tiles run the same program, so each distinct program is timed once). What each channel
runs follows from the layout (:mod:`.layout`, ``PimConfig.layout``).
"""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.errors import ConfigError
from hwsim.families.base import Perf
from hwsim.families.contract import exact_utilization
from hwsim.families.pim.config import PimConfig
from hwsim.families.pim.cost import transfers
from hwsim.families.pim.layout import WeightLayout
from hwsim.memory.pim import COMMANDS, PimChannel

#: Action names of the per-command counts (priced per command by the family's cost hooks);
#: ``BUS`` counts the host's transfers over the channels' data buses.
ACTION = {c: f"dram_cmd:{c}" for c in (*COMMANDS, "BUS")}


def programs(lay: WeightLayout) -> dict:
    """``{(chunk COMPs, tiles): [channels]}``: the distinct channel programs of a layout."""
    out: dict = {}
    for ch in range(lay.n_channels):
        if lay.tiles(ch):
            out.setdefault((tuple(lay.chunk_comps(ch)), lay.tiles(ch)), []).append(ch)
    return out


def bus_transfers(cfg: PimConfig, lay: WeightLayout, m: int) -> int:
    """Host transfers of ``m`` GEMVs: each GWRITE's slice of the input vector, and every
    READRES (one transaction each), summed over channels."""
    total = 0
    for ch in range(lay.n_channels):
        tiles = lay.tiles(ch)
        if not tiles:
            continue
        k0, k1 = lay.k_slice(ch)
        ce = cfg.chunk_elems
        total += m * sum(transfers(min(ce, k1 - s) * cfg.elem_bytes, cfg) for s in range(k0, k1, ce))
        total += m * lay.channel_chunks(ch) * tiles * cfg.readres_per_row
    return total


def program(cfg: PimConfig, layout: WeightLayout, m: int, ch: int):
    """The command program ``[(kind, rank, bankgroup), ...]`` of channel ``ch``."""
    tiles = layout.tiles(ch)
    if tiles == 0:
        return
    comps = layout.chunk_comps(ch)
    first = True
    for _ in range(m):
        for nc in comps:
            yield ("GWRITE", None, None)
            for _t in range(tiles):
                if not first:
                    yield ("PRE", None, None)
                first = False
                for g in range(cfg.bankgroups_eff):
                    for r in range(cfg.ranks_eff):
                        yield ("G_ACT", r, g)
                for _c in range(nc):
                    yield ("COMP", None, None)
                for _r in range(cfg.readres_per_row):
                    yield ("READRES", None, None)


@dataclass(frozen=True)
class Schedule:
    """Cycles of the busiest channel and command counts summed over channels."""

    cycles: int
    counts: dict


def simulate(cfg: PimConfig, m: int, k: int, n: int) -> Schedule:
    """Event-driven: run every channel's program through :class:`~hwsim.memory.pim.PimChannel`.

    Channels with the same chunks and tiles run the same program, so each distinct one is
    simulated once and its counts multiplied.
    """
    lay = WeightLayout(cfg, k, n)
    counts = dict.fromkeys(COMMANDS, 0)
    cycles = 0
    timing = cfg.timing()
    for (_comps, _tiles), chans in programs(lay).items():
        chan = PimChannel(timing, cfg.ranks_eff, cfg.bankgroups_eff)
        cycles = max(cycles, chan.run(program(cfg, lay, m, chans[0])))
        for c, v in chan.counts.items():
            counts[c] += v * len(chans)
    return Schedule(cycles, counts)


# ---------------------------------------------------------------------------- closed form
_FIELDS = ("bus", "pre", "a", "comp", "rr", "rr_end", "gw", "end")


def _shift(s: tuple, d: int) -> tuple:
    return tuple(None if v is None else v + d for v in s)


def _uniform(s1: tuple, s0: tuple):
    """``d`` if ``s1 == s0 + d`` field by field, else None."""
    d = None
    for x, y in zip(s1, s0):
        if (x is None) != (y is None):
            return None
        if x is None:
            continue
        if d is None:
            d = x - y
        elif x - y != d:
            return None
    return d


class _Closed:
    """Max-plus issue-time formulas of one channel (the rules of :mod:`hwsim.memory.pim`)."""

    def __init__(self, cfg: PimConfig):
        t = cfg.timing()
        self.t = t
        self.ranks, self.nbg = cfg.ranks_eff, cfg.bankgroups_eff
        self.f = max(t.tFAW, self.ranks)                 # G_ACT spacing of one rank
        self.span = (self.nbg - 1) * self.f + self.ranks - 1  # first to last G_ACT of a tile
        self.nr = cfg.readres_per_row

    def gwrite(self, s):
        bus, pre, a, comp, rr, rr_end, gw, end = s
        g = bus if comp is None else max(bus, comp + self.t.t_comp)
        gw = g + self.t.t_gwrite
        return (g + 1, pre, a, comp, rr, rr_end, gw, max(end, gw, g + 1))

    def tile(self, s, nc):
        t = self.t
        bus, pre, a, comp, rr, rr_end, gw, end = s
        if a is not None:                                 # rows open: precharge first
            pre = max(bus, a + self.span + t.tRAS, comp + t.comp_to_pre)
            bus = pre + 1
        lo = [bus]
        if pre is not None:
            lo.append(pre + t.tRP)
        if a is not None:
            lo += [a + t.gact_same_bank, a + (self.nbg - 1) * self.f + t.tFAW]
        a = max(lo)
        last = a + self.span
        c0 = max(last + 1, last + t.tRCDRD, gw)
        if rr_end is not None:
            c0 = max(c0, rr_end)
        if comp is not None:
            c0 = max(c0, comp + t.t_comp)
        comp = c0 + (nc - 1) * t.t_comp
        r0 = max(comp + 1, c0 + t.t_comp * max(nc, t.adder_tree_fill))
        if rr is not None:
            r0 = max(r0, rr + t.t_readres)
        rr = r0 + (self.nr - 1) * t.t_readres
        rr_end = rr + t.t_readres
        # every later COMP waits for rr_end >= gw, so gw binds no more: let it follow rr_end
        # (keeps the state a uniform shift of the previous tile's once the schedule is periodic)
        gw = max(gw, rr_end)
        return (rr + 1, pre, a, comp, rr, rr_end, gw, max(end, gw, rr + 1))

    def chunk(self, s, nc, tiles):
        s = self.gwrite(s)
        for i in range(tiles):
            nxt = self.tile(s, nc)
            d = _uniform(nxt, s)
            if d is not None:                             # periodic from here on
                return _shift(nxt, d * (tiles - 1 - i))
            s = nxt
        return s

    def run(self, m, comps, tiles):
        s = (0, None, None, None, None, None, None, 0)
        for i in range(m):
            nxt = s
            for nc in comps:
                nxt = self.chunk(nxt, nc, tiles)
            d = _uniform(nxt, s)
            if d is not None:
                return _shift(nxt, d * (m - 1 - i))
            s = nxt
        return s


def command_counts(cfg: PimConfig, m: int, k: int, n: int) -> dict:
    """Commands of the whole GEMM, summed over channels (exact)."""
    lay = WeightLayout(cfg, k, n)
    counts = dict.fromkeys(COMMANDS, 0)
    for ch in range(lay.n_channels):
        tiles = lay.tiles(ch)
        if tiles == 0:
            continue
        chunks = lay.channel_chunks(ch)
        rows = m * chunks * tiles
        counts["GWRITE"] += m * chunks
        counts["PRE"] += rows - 1
        counts["G_ACT"] += rows * cfg.ranks_eff * cfg.bankgroups_eff
        counts["COMP"] += m * sum(lay.chunk_comps(ch)) * tiles
        counts["READRES"] += rows * cfg.readres_per_row
    return counts


def closed_form(cfg: PimConfig, m: int, k: int, n: int) -> Schedule:
    """Cycles of the slowest channel from the max-plus formulas; counts in closed form."""
    lay = WeightLayout(cfg, k, n)
    closed = _Closed(cfg)
    end = max(closed.run(m, list(comps), tiles)[-1] for comps, tiles in programs(lay))
    return Schedule(end, command_counts(cfg, m, k, n))


def estimate(cfg: PimConfig, op, mode: str = "default") -> Perf:
    """Closed-form :class:`~hwsim.families.base.Perf` of ``op`` (M GEMVs of K x N weights).

    Actions are the commands, ``dram_cmd:<COMMAND>`` summed over channels, and
    ``dram_cmd:BUS``, the host's data-bus transfers (:func:`bus_transfers`). DRAM bytes
    are that host traffic: the input vectors written by GWRITE and the partial sums read
    by READRES (the weights never leave the banks). An op that runs ``count`` times
    (e.g. once per layer) runs its command schedule that many times, back to back.
    """
    if mode != "default":
        raise ConfigError("mode", f"must be 'default', not {mode!r}")
    m, k, n, reps = int(op.m), int(op.k), int(op.n), int(getattr(op, "count", 1))
    sched = closed_form(cfg, m, k, n)
    macs = m * k * n * reps
    cycles = sched.cycles * reps
    lay = WeightLayout(cfg, k, n)
    counts = {c: int(v) * reps for c, v in sched.counts.items()}
    counts["BUS"] = bus_transfers(cfg, lay, m) * reps
    req = cfg.dram.request_size_bytes
    return Perf(
        cycles=cycles, macs=macs,
        utilization=exact_utilization(macs, cycles, cfg.peak_macs_per_cycle),
        dram_bytes={"x": (counts["BUS"] - counts["READRES"]) * req, "partials": counts["READRES"] * req},
        actions={ACTION[c]: v for c, v in counts.items()},
        compute_cycles=cycles, mode="default", folds=m * lay.chunks * lay.tiles(0) * reps)


def gemv_figures(cfg: PimConfig, k: int, n: int, energy_pj_per_cmd: dict) -> dict:
    """Throughput and energy per MAC of a ``1 x k x n`` GEMV (for reports), the data bus
    included (``energy_pj_per_cmd`` from :func:`hwsim.families.pim.cost.energy_pj_per_command`)."""
    sched = closed_form(cfg, 1, k, n)
    macs = k * n
    seconds = sched.cycles / (cfg.freq_mhz * 1e6)
    counts = dict(sched.counts, BUS=bus_transfers(cfg, WeightLayout(cfg, k, n), 1))
    energy = sum(energy_pj_per_cmd[c] * v for c, v in counts.items())
    return {"cycles": sched.cycles, "gmac_per_s": macs / seconds / 1e9,
            "gmac_per_s_per_channel": macs / seconds / 1e9 / cfg.channels_eff,
            "tflops": 2 * macs / seconds / 1e12, "pj_per_mac": energy / macs,
            "utilization": exact_utilization(macs, sched.cycles, cfg.peak_macs_per_cycle)}
