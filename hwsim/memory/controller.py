"""Event-driven DRAM/HBM timing model: per-channel controllers, banks, FR-FCFS.

Behaviour follows DRAMsim3 (the fidelity oracle) as described in
``/work/shared/reference/dram/HBM2_DRAMSIM3.md``; the code is this project's own.

Per channel
-----------
* a read queue and a write buffer (``trans_queue_size`` each); a write is posted (done
  one cycle after it is accepted), a read hitting a buffered write is forwarded, reads
  to an address already queued are merged;
* one command queue per bank (``cmd_queue_size``); each cycle at most one transaction
  moves from the read queue (or, while draining, the write buffer) into its bank queue.
  Draining starts when the buffer is full, or holds more than 8 writes while every bank
  queue is empty, and lasts for that many writes;
* command selection: round-robin over the bank queues; within a queue the first entry
  whose next command (ACT on a closed bank, RD/WR on a row hit, PRE on a miss) meets
  every timing constraint. A PRE needs the queue head, and no pending hit to the open row
  unless the row has served 4 column commands (FR-FCFS with a hit cap); a WR waits for an
  older RD to the same column. HBM issues one row plus one column command per cycle;
* timing constraints (cycles), kept as earliest-issue times at bank, bank-group and rank
  level: RD->RD/WR->WR ``max(burst, tCCD_S|L)``, RD->WR ``RL + burst - WL + tRTRS``,
  WR->RD ``WL + burst + tWTR_S|L``, RD->PRE ``AL + tRTP``, WR->PRE ``WL + burst + tWR``,
  ACT->RD/WR ``tRCD`` (HBM ``tRCDRD``/``tRCDWR``), ACT->PRE ``tRAS``, ACT->ACT ``tRC`` same
  bank, ``tRRD_L``/``tRRD_S`` other banks, at most 4 ACT per ``tFAW``, PRE->ACT ``tRP``,
  REF->ACT ``tRFC``; other ranks: ``burst + tRTRS`` turnarounds;
* refresh: every ``tREFI / ranks`` cycles the next rank needs a REF; while it is
  pending, that rank's queues issue nothing, its open banks are precharged as soon as
  each may be, then the REF is issued;
* a read completes ``RL + burst`` cycles after its RD command.

The simulation runs cycle by cycle while a channel can make progress and jumps over
cycles in which nothing can happen (the next command's earliest-issue time, the next
refresh, the next request), so idle and timing-bound stretches cost nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from hwsim.errors import HwsimError
from hwsim.memory.config import DramConfig

log = logging.getLogger(__name__)

_INF = 1 << 100  # beyond any trace cycle (those fit in int64)
#: Cycles with requests pending and not one RD/WR issued after which the replay stops
#: (refresh blocks a rank for tRFC, a few hundred cycles; nothing legal waits this long).
LIVELOCK_CYCLES = 200_000


class DramLivelock(HwsimError):
    """The controller can make no progress (see :func:`simulate`)."""

# command kinds
ACT, RD, WR, PRE, REF = 0, 1, 2, 3, 4


class _Channel:
    """One channel's controller state (lists indexed by flat bank id)."""

    def __init__(self, cfg: DramConfig, cid: int, done: np.ndarray, stats: dict):
        self.cid = cid
        self.cfg = cfg
        ranks, nbg, bpg = cfg.ranks, cfg.bankgroups_eff, cfg.banks_per_group_eff
        self.ranks = ranks
        self.banks_per_rank = nbg * bpg
        nb = ranks * nbg * bpg
        self.nb = nb
        self.bpg = bpg
        # flat bank -> (rank, rank*nbg + bg)
        self.rank_of = [b // self.banks_per_rank for b in range(nb)]
        self.grp_of = [b // bpg for b in range(nb)]
        self.open_row = [-1] * nb
        self.hits = [0] * nb
        self.t_act = [0] * nb
        self.t_rd = [0] * nb
        self.t_wr = [0] * nb
        self.t_pre = [0] * nb
        self.t_ref = [0] * nb
        ng = ranks * nbg
        self.g_act = [0] * ng
        self.g_rd = [0] * ng
        self.g_wr = [0] * ng
        self.r_act = [0] * ranks
        self.r_rd = [0] * ranks
        self.r_wr = [0] * ranks
        self.r_pre = [0] * ranks
        self.r_ref = [0] * ranks
        self.faw = [[] for _ in range(ranks)]  # last <= 4 ACT times + tFAW per rank
        self.open_count = [0] * ranks
        self.cmdq = [[] for _ in range(nb)]
        self.cmdq_total = 0
        self.rq: list = []
        self.wbuf: list = []
        self.pending_rd: dict = {}
        self.pending_wr: set = set()
        self.draining = 0
        self.sched_dirty = True  # False: the last scan moved nothing and nothing changed since
        self.rr = 0
        self.ref_q: list = []
        self.in_ref = False
        self.next_ref_rank = 0
        self.wake = 0
        self.quiet_since = -1  # >= 0: idle with all banks closed since this cycle
        self.bg_upto = 0
        self.idle_cycles = [0] * ranks
        self.active_cycles = [0] * ranks
        self.done = done
        self.stats = stats
        self.counts = [0, 0, 0, 0, 0]  # ACT RD WR PRE REF
        # timing constants
        c = cfg
        burst = c.burst_cycle
        one_bg = nbg == 1
        self.rrl = max(burst, c.tCCD_S if one_bg else c.tCCD_L)
        self.rrs = max(burst, c.tCCD_S)
        self.rro = burst + c.tRTRS
        self.r2w = c.RL + burst - c.WL + c.tRTRS
        self.r2wo = c.read_delay + burst + c.tRTRS - c.write_delay
        self.rtp = c.AL + c.tRTP
        self.w2rl = c.write_delay + (c.tWTR_S if one_bg else c.tWTR_L)
        self.w2rs = c.write_delay + c.tWTR_S
        self.w2ro = c.write_delay + burst + c.tRTRS - c.read_delay
        self.wwl = self.rrl
        self.wws = self.rrs
        self.wwo = burst
        self.w2p = c.WL + burst + c.tWR
        self.tRC = c.tRC
        self.rrdl = c.tRRD_S if one_bg else c.tRRD_L
        self.rrds = c.tRRD_S
        self.a2r = c.act_to_read
        self.a2w = c.act_to_write
        self.tRAS = c.tRAS
        self.tRP = c.tRP
        self.tPPD = c.tPPD if c.protocol == "LPDDR4" else 0
        self.tRFC = c.tRFC
        self.tFAW = c.tFAW
        self.read_delay = c.read_delay
        self.qcap = c.cmd_queue_size
        self.tcap = c.trans_queue_size
        self.dual = c.dual_command
        self.ref_interval = c.refresh_interval_cycles
        self.simultaneous = c.refresh_policy == "RANK_LEVEL_SIMULTANEOUS"

    # ---- readiness ----------------------------------------------------------------
    def _act_ready(self, b: int) -> int:
        r = self.rank_of[b]
        t = max(self.t_act[b], self.g_act[self.grp_of[b]], self.r_act[r])
        f = self.faw[r]
        if len(f) >= 4 and f[0] > t:
            t = f[0]
        return t

    def _first_ready(self, b: int, q: list, clk: int):
        """The command the queue of bank ``b`` can issue at ``clk`` (or None)."""
        orow = self.open_row[b]
        if orow < 0:
            r = self.rank_of[b]
            if self.t_act[b] <= clk and self.g_act[self.grp_of[b]] <= clk and self.r_act[r] <= clk:
                f = self.faw[r]
                if len(f) < 4 or f[0] <= clk:
                    return (ACT, b, q[0])
            return None
        r = self.rank_of[b]
        g = self.grp_of[b]
        rd_ok = self.t_rd[b] <= clk and self.g_rd[g] <= clk and self.r_rd[r] <= clk
        wr_ok = self.t_wr[b] <= clk and self.g_wr[g] <= clk and self.r_wr[r] <= clk
        for i, e in enumerate(q):
            if e[2] == orow:
                if e[4]:
                    if wr_ok:
                        col = e[3]
                        for x in q[:i]:
                            if not x[4] and x[2] == orow and x[3] == col:
                                break
                        else:
                            return (WR, b, e)
                elif rd_ok:
                    return (RD, b, e)
            elif i == 0 and self.t_pre[b] <= clk and self.r_pre[r] <= clk:
                if self.hits[b] >= 4:
                    return (PRE, b, e)
                for x in q:
                    if x[2] == orow:
                        break
                else:
                    return (PRE, b, e)
        return None

    def _next_ready(self, b: int, q: list) -> int:
        """Earliest cycle any command of bank ``b``'s queue can issue, state frozen."""
        orow = self.open_row[b]
        if orow < 0:
            return self._act_ready(b)
        r = self.rank_of[b]
        g = self.grp_of[b]
        best = _INF
        for i, e in enumerate(q):
            if e[2] == orow:
                if e[4]:
                    col = e[3]
                    if any(not x[4] and x[2] == orow and x[3] == col for x in q[:i]):
                        continue
                    t = max(self.t_wr[b], self.g_wr[g], self.r_wr[r])
                else:
                    t = max(self.t_rd[b], self.g_rd[g], self.r_rd[r])
                if t < best:
                    best = t
            elif i == 0:
                if self.hits[b] >= 4 or not any(x[2] == orow for x in q):
                    t = max(self.t_pre[b], self.r_pre[r])
                    if t < best:
                        best = t
        return best

    def _get_command(self, clk: int):
        nb = self.nb
        idx = self.rr
        cmdq = self.cmdq
        ref_rank = self.ref_q[0] if self.in_ref else -1
        bpr = self.banks_per_rank
        for _ in range(nb):
            idx += 1
            if idx == nb:
                idx = 0
            q = cmdq[idx]
            if not q or (ref_rank >= 0 and idx // bpr == ref_rank):
                continue
            cmd = self._first_ready(idx, q, clk)
            if cmd is not None:
                self.rr = idx
                if cmd[0] == RD or cmd[0] == WR:
                    q.remove(cmd[2])
                    self.cmdq_total -= 1
                    self.sched_dirty = True
                return cmd
        self.rr = idx
        return None

    def _finish_refresh(self, clk: int):
        r = self.ref_q[0]
        self.in_ref = True
        lo = r * self.banks_per_rank
        ready = 0
        for b in range(lo, lo + self.banks_per_rank):
            if self.open_row[b] >= 0:
                if max(self.t_pre[b], self.r_pre[r]) <= clk:
                    return (PRE, b, None)
            elif max(self.t_ref[b], self.r_ref[r]) <= clk:
                ready += 1
        if ready == self.banks_per_rank:
            return (REF, r, None)
        return None

    def _refresh_next_ready(self) -> int:
        r = self.ref_q[0]
        lo = r * self.banks_per_rank
        best, all_t = _INF, 0
        closed = True
        for b in range(lo, lo + self.banks_per_rank):
            if self.open_row[b] >= 0:
                closed = False
                best = min(best, max(self.t_pre[b], self.r_pre[r]))
            else:
                all_t = max(all_t, self.t_ref[b], self.r_ref[r])
        return all_t if closed else best

    # ---- issue ---------------------------------------------------------------------
    def _issue(self, cmd, clk: int) -> None:
        kind, b, e = cmd
        self.counts[kind] += 1
        if kind == REF:
            r = b
            t = clk + self.tRFC
            if t > self.r_act[r]:
                self.r_act[r] = t
            if t > self.r_ref[r]:
                self.r_ref[r] = t
            self.ref_q.pop(0)
            self.in_ref = False
            return
        r = self.rank_of[b]
        g = self.grp_of[b]
        if kind == RD:
            self.hits[b] += 1
            done_at = clk + self.read_delay
            for tid in self.pending_rd.pop(e[0]):
                self.done[tid] = done_at
            self.stats["pending_reads"] -= 1
            t = clk + self.rrl
            if t > self.g_rd[g]:
                self.g_rd[g] = t
            t = clk + self.r2w
            for rr in range(self.ranks):
                if rr == r:
                    v = clk + self.rrs
                    if v > self.r_rd[r]:
                        self.r_rd[r] = v
                    if t > self.r_wr[r]:
                        self.r_wr[r] = t
                else:
                    self.r_rd[rr] = max(self.r_rd[rr], clk + self.rro)
                    self.r_wr[rr] = max(self.r_wr[rr], clk + self.r2wo)
            t = clk + self.rtp
            if t > self.t_pre[b]:
                self.t_pre[b] = t
        elif kind == WR:
            self.hits[b] += 1
            self.pending_wr.discard(e[0])
            t = clk + self.w2rl
            if t > self.g_rd[g]:
                self.g_rd[g] = t
            t = clk + self.wwl
            if t > self.g_wr[g]:
                self.g_wr[g] = t
            for rr in range(self.ranks):
                if rr == r:
                    self.r_rd[r] = max(self.r_rd[r], clk + self.w2rs)
                    self.r_wr[r] = max(self.r_wr[r], clk + self.wws)
                else:
                    self.r_rd[rr] = max(self.r_rd[rr], clk + self.w2ro)
                    self.r_wr[rr] = max(self.r_wr[rr], clk + self.wwo)
            t = clk + self.w2p
            if t > self.t_pre[b]:
                self.t_pre[b] = t
        elif kind == ACT:
            self.open_row[b] = e[2]
            self.hits[b] = 0
            self.open_count[r] += 1
            f = self.faw[r]
            if f and clk >= f[0]:
                f.pop(0)
            f.append(clk + self.tFAW)
            self.t_act[b] = max(self.t_act[b], clk + self.tRC)
            self.t_rd[b] = max(self.t_rd[b], clk + self.a2r)
            self.t_wr[b] = max(self.t_wr[b], clk + self.a2w)
            self.t_pre[b] = max(self.t_pre[b], clk + self.tRAS)
            self.g_act[g] = max(self.g_act[g], clk + self.rrdl)
            self.r_act[r] = max(self.r_act[r], clk + self.rrds)
        else:  # PRE
            self.open_row[b] = -1
            self.hits[b] = 0
            self.open_count[r] -= 1
            t = clk + self.tRP
            self.t_act[b] = max(self.t_act[b], t)
            self.t_ref[b] = max(self.t_ref[b], t)
            if self.tPPD:
                self.r_pre[r] = max(self.r_pre[r], clk + self.tPPD)

    # ---- per-cycle work ----------------------------------------------------------------
    def _account_background(self, upto: int) -> None:
        """Count cycles ``[bg_upto, upto)`` in the current bank state."""
        n = upto - self.bg_upto
        if n > 0:
            for r in range(self.ranks):
                if self.open_count[r]:
                    self.active_cycles[r] += n
                else:
                    self.idle_cycles[r] += n
            self.bg_upto = upto

    def tick(self, clk: int) -> None:
        self._account_background(clk)
        if clk and clk % self.ref_interval == 0:
            self.ref_q.append(0 if self.simultaneous else self.next_ref_rank)
            if not self.simultaneous:
                self.next_ref_rank = (self.next_ref_rank + 1) % self.ranks
        progress = False
        cmd = None
        if self.ref_q:
            cmd = self._finish_refresh(clk)
        if cmd is None and self.cmdq_total:
            cmd = self._get_command(clk)
        if cmd is not None:
            self._issue(cmd, clk)
            progress = True
            if self.dual and self.cmdq_total:
                c2 = self._get_command(clk)
                if c2 is not None and (c2[0] in (RD, WR)) != (cmd[0] in (RD, WR)):
                    self._issue(c2, clk)
                elif c2 is not None and c2[0] in (RD, WR):  # pragma: no cover - timing forbids
                    raise AssertionError("column command dropped")
        self._account_background(clk + 1)
        if self._schedule():
            progress = True
        if progress:
            self.wake = clk + 1
            return
        # nothing happened: sleep until the next command can issue or a refresh is due
        nxt = (clk // self.ref_interval + 1) * self.ref_interval
        if (not self.cmdq_total and not self.rq and not self.ref_q and not self.draining
                and not any(self.open_count) and len(self.wbuf) <= 8
                and self.tRFC <= self.ref_interval
                and max(self.t_ref) <= nxt and max(self.r_ref) <= nxt):
            # quiescent: each refresh will issue its REF in the cycle it is due; they are
            # counted in bulk when the channel wakes (catch_up) instead of one by one
            self.quiet_since = clk + 1
            self.wake = _INF
            return
        if self.ref_q:
            nxt = min(nxt, self._refresh_next_ready())
        if self.cmdq_total:
            ref_rank = self.ref_q[0] if self.in_ref else -1
            bpr = self.banks_per_rank
            for b, q in enumerate(self.cmdq):
                if q and not (ref_rank >= 0 and b // bpr == ref_rank):
                    t = self._next_ready(b, q)
                    if t < nxt:
                        nxt = t
        self.wake = max(clk + 1, nxt)

    def _schedule(self) -> bool:
        wbuf = self.wbuf
        started = False
        if self.draining == 0 and (len(wbuf) >= self.tcap or (len(wbuf) > 8 and self.cmdq_total == 0)):
            self.draining = len(wbuf)
            started = True
        if not (started or self.sched_dirty):
            return False
        queue = wbuf if self.draining > 0 else self.rq
        cmdq = self.cmdq
        cap = self.qcap
        for i, t in enumerate(queue):
            q = cmdq[t[1]]
            if len(q) < cap:
                if t[4]:
                    if t[0] in self.pending_rd:
                        self.draining = 0
                        return True  # state changed: reads may move next cycle
                    self.draining -= 1
                q.append(t)
                self.cmdq_total += 1
                del queue[i]
                return True
        self.sched_dirty = False
        return started

    def catch_up(self, upto: int) -> None:
        """Issue the REFs of a quiescent channel due in ``[quiet_since, upto)``."""
        if self.quiet_since < 0:
            return
        iv = self.ref_interval
        first = max(1, -(-self.quiet_since // iv)) * iv
        if first < upto:
            count = (upto - 1 - first) // iv + 1
            self.counts[REF] += count
            # only the last REF of each rank constrains later commands
            for k in range(max(0, count - self.ranks), count):
                m = first + k * iv
                r = 0 if self.simultaneous else (self.next_ref_rank + k) % self.ranks
                self.r_act[r] = max(self.r_act[r], m + self.tRFC)
                self.r_ref[r] = max(self.r_ref[r], m + self.tRFC)
            if not self.simultaneous:
                self.next_ref_rank = (self.next_ref_rank + count) % self.ranks
        self.quiet_since = -1

    def will_accept(self, is_write: bool) -> bool:
        return len(self.wbuf if is_write else self.rq) < self.tcap

    def add(self, tid: int, addr: int, bank: int, row: int, col: int, is_write: bool,
            added: int) -> None:
        """Accept a transaction (``added``: the controller clock, one after the CPU's)."""
        if self.quiet_since >= 0:
            self.catch_up(added)
        if is_write:
            if addr not in self.pending_wr:
                self.pending_wr.add(addr)
                self.wbuf.append((addr, bank, row, col, True))
            self.done[tid] = added + 1
        elif addr in self.pending_wr:
            self.done[tid] = added + 1
        else:
            lst = self.pending_rd.get(addr)
            if lst is None:
                self.pending_rd[addr] = [tid]
                self.rq.append((addr, bank, row, col, False))
                self.stats["pending_reads"] += 1
            else:
                lst.append(tid)
        self.sched_dirty = True
        if self.wake > added:
            self.wake = added


@dataclass(frozen=True)
class ReplayResult:
    """What one replay measured (counts summed over channels).

    ``cycles`` is the last completion cycle + 1 (DRAMsim3's count of the cycles it ran
    when it stops as soon as everything is done); ``completion_cycles`` holds each
    transaction's completion cycle in request order, ``accept_cycles`` the cycle the
    memory system accepted it (controller clock).
    """

    cycles: int
    act: int
    pre: int
    ref: int
    reads: int
    writes: int
    reads_done: int
    writes_done: int
    avg_read_latency_cycles: float
    energy_pj: float
    bandwidth_bytes_per_cycle: float
    request_bytes: int
    channels: int
    tck_ns: float
    energy_by_kind_pj: dict = field(default_factory=dict)
    completion_cycles: np.ndarray | None = field(default=None, repr=False, compare=False)
    accept_cycles: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        return {
            "cycles": self.cycles, "act": self.act, "pre": self.pre, "ref": self.ref,
            "reads": self.reads, "writes": self.writes, "reads_done": self.reads_done,
            "writes_done": self.writes_done,
            "bandwidth_bytes_per_cycle": round(self.bandwidth_bytes_per_cycle, 6),
            "avg_read_latency_cycles": round(self.avg_read_latency_cycles, 4),
            "energy_pj": round(self.energy_pj, 3),
            "energy_by_kind_pj": {k: round(v, 3) for k, v in self.energy_by_kind_pj.items()},
            "request_bytes": self.request_bytes, "channels": self.channels,
            "tck_ns": self.tck_ns, "time_ns": round(self.cycles * self.tck_ns, 3),
        }


def simulate(cfg: DramConfig, addr, is_write, cycle) -> ReplayResult:
    """Replay requests (in order, at most one accepted per cycle) through ``cfg``.

    Parameters
    ----------
    cfg : DramConfig
        The memory system.
    addr, is_write, cycle : array-like
        Byte addresses, write flags and the earliest cycle each request may be issued
        (non-decreasing). Requests are offered in order; one blocked by a full queue
        blocks those behind it (as DRAMsim3's trace front end).

    Returns
    -------
    ReplayResult

    Raises
    ------
    DramLivelock
        When no RD/WR issues for :data:`LIVELOCK_CYCLES` cycles with requests pending.
        DRAMsim3's rules can stall for good: a write drain that meets a pending read to
        the same address stops, but a full write buffer restarts it the next cycle, before
        any read can move. This replay follows those rules, so it stops with this error
        where DRAMsim3 would run to its cycle limit.
    """
    addr = np.asarray(addr, dtype=np.uint64)
    is_write = np.asarray(is_write, dtype=bool)
    cycle = np.asarray(cycle, dtype=np.int64)
    n = len(addr)
    if not (len(is_write) == len(cycle) == n):
        raise ValueError("addr, is_write and cycle must have the same length")
    L = cfg.field_layout
    a = addr >> np.uint64(cfg.shift_bits)

    def fld(f):
        pos, mask = L[f]
        return ((a >> np.uint64(pos)) & np.uint64(mask)).astype(np.int64)

    ch, ra, bg, ba, ro, co = (fld(f) for f in ("ch", "ra", "bg", "ba", "ro", "co"))
    bpg, nbg = cfg.banks_per_group_eff, cfg.bankgroups_eff
    flat = (ra * nbg + bg) * bpg + ba
    done = np.full(n, -1, dtype=np.int64)
    accept = np.zeros(n, dtype=np.int64)
    stats = {"pending_reads": 0}
    chans = [_Channel(cfg, i, done, stats) for i in range(cfg.channels)]
    # plain Python lists: much faster to index in the loop than arrays
    l_addr = addr.tolist()
    l_w = is_write.tolist()
    l_cyc = cycle.tolist()
    l_ch, l_b, l_ro, l_co = ch.tolist(), flat.tolist(), ro.tolist(), co.tolist()

    clk = 0
    pos = 0
    final = -1
    check_at, last_cols = LIVELOCK_CYCLES, -1
    while True:
        if clk >= check_at:
            cols = sum(c.counts[RD] + c.counts[WR] for c in chans)
            if cols == last_cols and (stats["pending_reads"] or pos < n):
                raise DramLivelock(
                    f"DRAM replay: no RD/WR issued for {LIVELOCK_CYCLES:,} cycles at cycle {clk:,} with "
                    f"{n - pos} requests not accepted and {stats['pending_reads']} reads pending: a write "
                    "drain is blocked by a pending read to the same address while the write buffer is full "
                    "(DRAMsim3 stalls on the same trace)")
            last_cols, check_at = cols, clk + LIVELOCK_CYCLES
        for c in chans:
            if c.wake <= clk:
                c.tick(clk)
        if pos < n and l_cyc[pos] <= clk:
            c = chans[l_ch[pos]]
            w = l_w[pos]
            if c.will_accept(w):
                c.add(pos, l_addr[pos], l_b[pos], l_ro[pos], l_co[pos], w, clk + 1)
                accept[pos] = clk + 1
                pos += 1
        if pos == n and stats["pending_reads"] == 0:
            if final < 0:
                final = int(done.max())
            if clk >= final:
                break
        nxt = min(c.wake for c in chans)
        if pos < n and l_cyc[pos] > clk:
            nxt = min(nxt, l_cyc[pos])
        # a request blocked by a full queue waits for that channel's next tick
        if final >= 0:
            nxt = min(nxt, final + 1)
        if nxt >= _INF:
            raise RuntimeError("DRAM model stalled with work pending")  # pragma: no cover
        clk = max(clk + 1, nxt)
    cycles = final + 1
    for c in chans:
        c.catch_up(cycles)
        c._account_background(cycles)
    return _result(cfg, chans, done, accept, cycles, is_write)


def _result(cfg, chans, done, accept, cycles, is_write) -> ReplayResult:
    counts = [sum(c.counts[k] for c in chans) for k in range(5)]
    idle = sum(sum(c.idle_cycles) for c in chans)
    active = sum(sum(c.active_cycles) for c in chans)
    e = {
        "act": counts[ACT] * cfg.act_energy_pj,
        "read": counts[RD] * cfg.read_energy_pj,
        "write": counts[WR] * cfg.write_energy_pj,
        "refresh": counts[REF] * cfg.ref_energy_pj,
        "background": active * cfg.active_standby_pj_per_cycle + idle * cfg.precharge_standby_pj_per_cycle,
    }
    rd = ~is_write
    nreads = int(rd.sum())
    lat = float((done[rd] - accept[rd]).mean()) if nreads else 0.0
    n = len(done)
    return ReplayResult(
        cycles=cycles, act=counts[ACT], pre=counts[PRE], ref=counts[REF], reads=counts[RD],
        writes=counts[WR], reads_done=nreads, writes_done=n - nreads,
        avg_read_latency_cycles=lat, energy_pj=float(sum(e.values())),
        bandwidth_bytes_per_cycle=n * cfg.request_size_bytes / cycles,
        request_bytes=cfg.request_size_bytes, channels=cfg.channels, tck_ns=cfg.tCK,
        energy_by_kind_pj=e, completion_cycles=done, accept_cycles=accept,
    )
