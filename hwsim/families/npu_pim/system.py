"""Event-driven (simpy) NPU + PIM system running one decode step, and its closed form.

Parts (state on objects holding ``env``):

:class:`Channel`
    one HBM channel. With **dual row buffers** (NeuPIMs) its PIM units and the normal
    read/write path have a row buffer each, so PIM commands and the NPU's transfers
    proceed side by side (the column-command bus carries at most one COMP per ``t_comp``
    = 2 cycles and one RD/WR per burst = 2 cycles, within its one command per cycle).
    With a **single row buffer** both need the bank's one row buffer: they take turns
    (a simpy ``Resource`` of capacity 1, FIFO), each change of owner closing the other's
    rows and opening its own (``tRP + tRCDRD``), and the NPU gives the channel up between
    bursts of at most :data:`NPU_BURST_CYCLES` when a PIM job waits.
the NPU
    one ``Resource`` for the systolic arrays (an op holds it for ``max(compute, its slowest
    channel transfer)``: the arrays stall on memory), one for the vector units, and one
    for a sub-batch's NPU *stage* (its projection, FFN and next QKV run as one block, as
    NeuPIMs' stage programs do).
a request's attention
    on its KV channel: the score GEMVs (cycles of every command through the PIM timing
    engine, :mod:`.attention`), the softmax on the vector units, the context GEMVs.

Schedules (:data:`~hwsim.families.npu_pim.config.SCHEDULES`):

``npu-only``
    attention on the NPU, K and V read at the external bandwidth (striped over channels);
``naive``
    attention in PIM; each layer's ops wait for the previous ones (engines blocked on each
    other); single row buffer; KV placed round-robin over channels;
``neupims``
    dual row buffers, KV placed on the least-loaded channel (greedy), and from
    ``sub_batch_min`` requests on two sub-batches (each channel's requests halved by load)
    whose chains interleave: one sub-batch's GEMMs run on the NPU while the other's
    attention runs in PIM.

Every layer of a step has the same shapes, so :func:`simulate_step` may simulate the first
``layers`` layers and extrapolate the rest (``extrapolated=True`` in the result) from the
period of a layer before the last (the last one drains the sub-batch pipeline).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import simpy

from hwsim.errors import ConfigError
from hwsim.families.npu_pim import attention as att
from hwsim.families.npu_pim.energy import npu_dram_counts
from hwsim.families.npu_pim.npu import (attention_bytes, attention_compute_cycles, gemm_compute_cycles,
                                        per_channel_bytes, transfer_cycles, vector_cycles)
from hwsim.families.npu_pim.workload import (ELEM_BYTES, GELU_PASSES, LN_PASSES, RESIDUAL_PASSES,
                                             SOFTMAX_PASSES, Shard)
from hwsim.memory.pim import COMMANDS

#: Longest NPU burst on a single-row-buffer channel while a PIM job waits (NPU cycles):
#: 64 KiB at 32 B/cycle, the order of one request's score GEMVs.
NPU_BURST_CYCLES = 2048


# ---------------------------------------------------------------------------- placement
def place_round_robin(seqs, channels: int) -> list[int]:
    return [i % channels for i in range(len(seqs))]


def place_balanced(seqs, channels: int, loads=None) -> list[int]:
    """Greedy least-loaded channel, longest request first (NeuPIMs Alg. 2)."""
    load = list(loads) if loads is not None else [0] * channels
    out = [0] * len(seqs)
    for i in sorted(range(len(seqs)), key=lambda i: -seqs[i]):
        c = min(range(channels), key=lambda c: (load[c], c))
        out[i] = c
        load[c] += seqs[i]
    return out


def split_sub_batches(seqs, chans) -> tuple[list[int], list[int]]:
    """Each channel's requests halved by load (NeuPIMs Alg. 3): two sub-batches."""
    halves = ([], [])
    by_ch: dict[int, list[int]] = {}
    for i, c in enumerate(chans):
        by_ch.setdefault(c, []).append(i)
    flip = 0
    for c in sorted(by_ch):
        load = [0, 0]
        for i in sorted(by_ch[c], key=lambda i: -seqs[i]):
            h = 0 if load[0] < load[1] else 1 if load[1] < load[0] else flip
            if load[0] == load[1]:
                flip ^= 1
            halves[h].append(i)
            load[h] += seqs[i]
    return sorted(halves[0]), sorted(halves[1])


def placement(cfg, seqs) -> list[int]:
    if cfg.schedule == "neupims" and cfg.load_balance:
        return place_balanced(seqs, cfg.pim_channels)
    return place_round_robin(seqs, cfg.pim_channels)


def dual_buffers(cfg) -> bool:
    """Dual row buffers are part of the neupims schedule only (naive: single)."""
    return cfg.schedule == "neupims" and cfg.dual_row_buffer


def sub_batches(cfg, seqs, chans) -> list[list[int]]:
    n = len(seqs)
    if cfg.schedule == "neupims" and n >= cfg.sub_batch_min:
        a, b = split_sub_batches(seqs, chans)
        return [x for x in (a, b) if x]
    return [list(range(n))]


def check_capacity(cfg, shard: Shard, seqs, chans) -> None:
    """KV rows per the PIM layout (K: a row per 32 tokens per row-chunk of heads, V: a row
    per dimension per 512 tokens) and the weights striped over all channels must fit."""
    pim = cfg.pim
    row_bytes = pim.banks_per_channel * cfg.pim_page_bytes
    per_ch = [0] * cfg.pim_channels
    for s, c in zip(seqs, chans):
        per_ch[c] += kv_rows(pim, shard, s) * row_bytes
    w = math.ceil(shard.weight_bytes() / cfg.pim_channels)
    cap = cfg.capacity_bytes // cfg.pim_channels
    worst = max(per_ch) + w
    if worst > cap:
        raise ConfigError("batch", f"KV caches and weights need {worst / 2**20:.0f} MiB on one channel, more "
                          f"than its {cap / 2**20:.0f} MiB (fewer requests, shorter contexts or more tp/pp)")


def kv_rows(pim, shard: Shard, seq: int) -> int:
    """All-bank rows one request's K and V take on its channel (over the shard's layers)."""
    ce = pim.chunk_elems
    hpr = max(1, ce // shard.d_head)
    k_rows = math.ceil(seq / pim.banks_per_channel) * math.ceil(shard.heads / hpr)
    v_rows = math.ceil(seq / ce) * math.ceil(shard.e / pim.banks_per_channel)
    return shard.layers * (k_rows + v_rows)


# ---------------------------------------------------------------------------- results
@dataclass
class StepResult:
    """One decode step: cycles (NPU clock), busy time, work and command counts."""

    cycles: int
    layers: int
    layers_simulated: int
    npu_busy_cycles: float
    npu_macs: int
    pim_busy_cycles: float          # summed over channels
    pim_macs: int
    vector_ops: int
    npu_read_bytes: int
    npu_write_bytes: int
    pim_commands: dict
    switches: int = 0
    timeline: list = field(default_factory=list, repr=False)  # (engine, start, end) of the simulated part

    @property
    def extrapolated(self) -> bool:
        return self.layers_simulated < self.layers

    def counts(self, cfg) -> dict:
        c = {"npu:mac": self.npu_macs, "npu:vector": self.vector_ops}
        c.update(npu_dram_counts(cfg, self.npu_read_bytes, self.npu_write_bytes))
        c.update({f"pim:{k}": v for k, v in self.pim_commands.items()})
        return c

    def npu_utilization(self, cfg) -> float:
        return self.npu_macs / (self.cycles * cfg.npu_peak_macs_per_cycle) if self.cycles else 0.0

    def pim_utilization(self, cfg) -> float:
        """Fraction of channel time the PIM units are busy with attention commands."""
        return self.pim_busy_cycles / (self.cycles * cfg.pim_channels) if self.cycles else 0.0


# ---------------------------------------------------------------------------- simpy parts
class Channel:
    """One HBM channel shared by the NPU's transfers and the PIM units (module docstring)."""

    def __init__(self, sim: "StepSim", idx: int):
        self.sim, self.env, self.idx = sim, sim.env, idx
        self.dual = sim.dual
        self.pim_port = simpy.Resource(self.env, 1)
        self.mem_port = simpy.Resource(self.env, 1) if self.dual else self.pim_port
        d = sim.cfg.pim.dram
        self.switch = math.ceil((d.tRP + d.act_to_read) * sim.cfg.pim_cycle_ratio)
        self.owner = None
        self.pim_busy = 0
        self.switches = 0

    def _take(self, who):
        if not self.dual and self.owner is not None and self.owner != who:
            self.switches += 1
            yield self.env.timeout(self.switch)
        self.owner = who

    def pim(self, cycles: int):
        with self.pim_port.request() as req:
            yield req
            yield from self._take("pim")
            start = self.env.now
            yield self.env.timeout(cycles)
            self.pim_busy += cycles
            self.sim.timeline.append(("pim", start, self.env.now))

    def transfer(self, nbytes: int):
        left = transfer_cycles(self.sim.cfg, nbytes)
        while left > 0:
            with self.mem_port.request() as req:
                yield req
                yield from self._take("npu")
                while left > 0:
                    seg = left if self.dual else min(left, NPU_BURST_CYCLES)
                    yield self.env.timeout(seg)
                    left -= seg
                    if not self.dual and self.mem_port.queue:
                        break  # a PIM job waits: give the row buffer up


class StepSim:
    """One decode step of ``seqs`` requests (KV on ``chans``) on the system."""

    def __init__(self, cfg, shard: Shard | None, seqs, chans, layers: int | None = None):
        self.cfg, self.shard = cfg, shard
        self.seqs = [int(s) for s in seqs]
        self.chans = list(chans)
        if shard is None:               # engines only (single ops), no layers
            self.layers = 0
        else:
            self.layers = shard.layers if layers is None else min(layers, shard.layers)
        self.env = simpy.Environment()
        self.dual = dual_buffers(cfg)
        self.pim_cfg = cfg.pim if self.dual == cfg.pim.dual_row_buffer else \
            type(cfg.pim)(**{**cfg.pim.to_dict(), "dual_row_buffer": self.dual})
        self.npu = simpy.Resource(self.env, 1)
        self.vec = simpy.Resource(self.env, 1)
        self.stage = simpy.Resource(self.env, 1)   # a sub-batch's NPU stage (see chain)
        self.channels = [Channel(self, i) for i in range(cfg.pim_channels)]
        self.timeline: list = []
        self.npu_busy = 0
        self.npu_macs = 0
        self.pim_macs = 0
        self.vector_ops = 0
        self.read_bytes = 0
        self.write_bytes = 0
        self.commands = dict.fromkeys(COMMANDS, 0)
        self.layer_end: list[list[float]] = []

    # --- engines -------------------------------------------------------------------
    def vector(self, elements: int, passes: int):
        with self.vec.request() as req:
            yield req
            self.vector_ops += elements * passes
            yield self.env.timeout(vector_cycles(self.cfg, elements, passes))

    def npu_op(self, comp: int, macs: int, read: dict | int, write: dict | int):
        """Hold the arrays for ``max(comp, transfers)``; ``read``/``write`` are bytes per
        channel (a dict) or striped evenly (an int)."""
        C = self.cfg.pim_channels
        per = [0] * C
        for nbytes in (read, write):
            if isinstance(nbytes, dict):
                for c, b in nbytes.items():
                    per[c] += b
            else:
                b = per_channel_bytes(nbytes, C)
                per = [p + b for p in per]
        self.read_bytes += sum(read.values()) if isinstance(read, dict) else read
        self.write_bytes += sum(write.values()) if isinstance(write, dict) else write
        with self.npu.request() as req:
            yield req
            start = self.env.now
            evs = [self.env.timeout(comp)]
            evs += [self.env.process(ch.transfer(b)) for ch, b in zip(self.channels, per) if b]
            yield self.env.all_of(evs)
            self.npu_busy += self.env.now - start
            self.npu_macs += macs
            self.timeline.append(("npu", start, self.env.now))

    def gemm(self, m: int, k: int, n: int, extra_write: dict | None = None):
        comp = gemm_compute_cycles(self.cfg.npu, self.cfg.npu_arrays, m, k, n)
        read = ELEM_BYTES * (k * n + m * k)
        write = ELEM_BYTES * m * n
        if extra_write:
            # KV of the new tokens goes to each request's channel
            C = self.cfg.pim_channels
            w = {c: per_channel_bytes(write, C) for c in range(C)}
            for c, b in extra_write.items():
                w[c] += b
            write = w
        yield from self.npu_op(comp, m * k * n, read, write)

    def attention_pim(self, r: int):
        sh, pim = self.shard, self.pim_cfg
        ch = self.channels[self.chans[r]]
        ratio = self.cfg.pim_cycle_ratio
        s = self.seqs[r]
        sc, scnt = att.score_cycles(pim, s, sh.heads, sh.d_head)
        yield from ch.pim(math.ceil(sc * ratio))
        yield from self.vector(sh.heads * s, SOFTMAX_PASSES)
        cc, ccnt = att.context_cycles(pim, s, sh.heads, sh.d_head)
        yield from ch.pim(math.ceil(cc * ratio))
        for k in COMMANDS:
            self.commands[k] += scnt[k] + ccnt[k]
        self.pim_macs += att.macs(s, sh.heads, sh.d_head)

    def attention_npu(self, reqs):
        sh = self.shard
        seqs = [self.seqs[r] for r in reqs]
        comp = attention_compute_cycles(self.cfg, seqs, sh.heads, sh.d_head)
        macs = sum(att.macs(s, sh.heads, sh.d_head) for s in seqs)
        yield from self.npu_op(comp, macs, attention_bytes(seqs, sh.e), 0)
        yield from self.vector(sh.heads * sum(seqs), SOFTMAX_PASSES)

    # --- schedule ------------------------------------------------------------------
    def _front(self, m: int, kv_new: dict):
        """Layer norm and the QKV GEMM (with the new K and V written)."""
        sh = self.shard
        yield from self.vector(m * sh.d, LN_PASSES)
        if self.cfg.schedule == "npu-only":
            yield from self.gemm(m, sh.d, 3 * sh.e)
            # the new K and V are written striped, where the NPU reads them back
            self.write_bytes += 2 * sh.e * ELEM_BYTES * m
        else:
            yield from self.gemm(m, sh.d, 3 * sh.e, extra_write=kv_new)

    def _back(self, m: int):
        """Projection, residual, layer norm, FFN, residual."""
        sh = self.shard
        yield from self.gemm(m, sh.e, sh.d)
        yield from self.vector(m * sh.d, RESIDUAL_PASSES + LN_PASSES)
        yield from self.gemm(m, sh.d, sh.ffn)
        yield from self.vector(m * sh.ffn, GELU_PASSES)
        yield from self.gemm(m, sh.ffn, sh.d)
        yield from self.vector(m * sh.d, RESIDUAL_PASSES)

    def chain(self, reqs, idx: int):
        """One sub-batch's layers. Its NPU work between two attentions (this layer's
        projection and FFN, the next layer's QKV) is one stage that holds the NPU, as in
        NeuPIMs' stage programs, so the other sub-batch's stage runs while this one's
        attention is in PIM."""
        env = self.env
        m = len(reqs)
        kv_new = {}
        for r in reqs:
            kv_new[self.chans[r]] = kv_new.get(self.chans[r], 0) + 2 * self.shard.e * ELEM_BYTES
        with self.stage.request() as req:
            yield req
            yield from self._front(m, kv_new)
        for layer in range(self.layers):
            if self.cfg.schedule == "npu-only":
                yield from self.attention_npu(reqs)
            else:
                yield env.all_of([env.process(self.attention_pim(r)) for r in reqs])
            with self.stage.request() as req:
                yield req
                yield from self._back(m)
                self.layer_end[idx].append(env.now)
                if layer + 1 < self.layers:
                    yield from self._front(m, kv_new)

    def run(self) -> StepResult:
        groups = sub_batches(self.cfg, self.seqs, self.chans) if self.cfg.schedule != "npu-only" \
            else [list(range(len(self.seqs)))]
        self.layer_end = [[] for _ in groups]
        for i, g in enumerate(groups):
            self.env.process(self.chain(g, i))
        self.env.run()
        L, Ls = self.shard.layers, self.layers
        ends = [max(e[layer] for e in self.layer_end) for layer in range(Ls)]
        end = ends[-1]
        scale = 1.0
        if Ls < L:
            # steady period: a layer before the last (the last one drains the pipeline)
            k = Ls - 2 if Ls >= 3 else Ls - 1
            period = max(e[k] - e[k - 1] for e in self.layer_end)
            end = ends[-1] + (L - Ls) * period
            scale = L / Ls
        pim_busy = sum(c.pim_busy for c in self.channels)
        return StepResult(
            cycles=int(math.ceil(end)), layers=L, layers_simulated=Ls,
            npu_busy_cycles=self.npu_busy * scale, npu_macs=int(round(self.npu_macs * scale)),
            pim_busy_cycles=pim_busy * scale, pim_macs=int(round(self.pim_macs * scale)),
            vector_ops=int(round(self.vector_ops * scale)),
            npu_read_bytes=int(round(self.read_bytes * scale)),
            npu_write_bytes=int(round(self.write_bytes * scale)),
            pim_commands={k: int(round(v * scale)) for k, v in self.commands.items()},
            switches=int(round(sum(c.switches for c in self.channels) * scale)),
            timeline=self.timeline)


def simulate_step(cfg, shard: Shard, seqs, chans=None, layers: int | None = None) -> StepResult:
    """Event-driven decode step (see the module docstring).

    Parameters
    ----------
    seqs : sequence of int
        Tokens each request attends (its context, the new token included).
    chans : sequence of int, optional
        KV channel of each request (default: the schedule's placement).
    layers : int, optional
        Simulate this many layers (>= 3 to extrapolate) instead of all.
    """
    if not len(seqs):
        raise ConfigError("batch", "a decode step needs at least one request")
    chans = placement(cfg, seqs) if chans is None else list(chans)
    if layers is not None and layers < 3 and shard.layers > layers:
        raise ConfigError("layers", f"must be >= 3 to extrapolate the steady period, not {layers}")
    return StepSim(cfg, shard, seqs, chans, layers).run()


# ---------------------------------------------------------------------------- closed form
def _gemm_time(cfg, m, k, n, extra_ch_bytes: int = 0) -> int:
    comp = gemm_compute_cycles(cfg.npu, cfg.npu_arrays, m, k, n)
    C = cfg.pim_channels
    b = per_channel_bytes(ELEM_BYTES * (k * n + m * k), C) + per_channel_bytes(ELEM_BYTES * m * n, C)
    return max(comp, transfer_cycles(cfg, b + extra_ch_bytes))


def _npu_layer(cfg, sh: Shard, reqs, seqs, chans) -> tuple[int, int, int]:
    """(NPU-side cycles of one layer of a sub-batch, of which on the arrays, bytes per
    channel it streams)."""
    m, d, e, f = len(reqs), sh.d, sh.e, sh.ffn
    kv = {}
    for r in reqs:
        kv[chans[r]] = kv.get(chans[r], 0) + 2 * e * ELEM_BYTES
    t = _gemm_time(cfg, m, d, 3 * e, max(kv.values()) if cfg.schedule != "npu-only" else 0)
    t += _gemm_time(cfg, m, e, d) + _gemm_time(cfg, m, d, f) + _gemm_time(cfg, m, f, d)
    arrays = t
    t += vector_cycles(cfg, m * d, LN_PASSES) + vector_cycles(cfg, m * d, RESIDUAL_PASSES + LN_PASSES)
    t += vector_cycles(cfg, m * f, GELU_PASSES) + vector_cycles(cfg, m * d, RESIDUAL_PASSES)
    C = cfg.pim_channels
    nbytes = sum(per_channel_bytes(ELEM_BYTES * (k * n + mm * k), C) + per_channel_bytes(ELEM_BYTES * mm * n, C)
                 for mm, k, n in sh.gemms(m).values())
    return t, arrays, nbytes


def _pim_layer(cfg, sh: Shard, reqs, seqs, chans, dual: bool) -> tuple[int, list[int]]:
    """(PIM cycles of the busiest channel, per-channel PIM cycles) of one layer's attention
    of a sub-batch, closed-form command timing, softmax included once on the critical channel."""
    pim = cfg.pim if cfg.pim.dual_row_buffer == dual else \
        type(cfg.pim)(**{**cfg.pim.to_dict(), "dual_row_buffer": dual})
    ratio = cfg.pim_cycle_ratio
    per = [0] * cfg.pim_channels
    for r in reqs:
        s = seqs[r]
        per[chans[r]] += math.ceil(att.score_closed(pim, s, sh.heads, sh.d_head) * ratio) + \
            math.ceil(att.context_closed(pim, s, sh.heads, sh.d_head) * ratio)
    busiest = max(range(len(per)), key=lambda c: per[c])
    last = max((seqs[r] for r in reqs if chans[r] == busiest), default=0)
    return per[busiest] + vector_cycles(cfg, sh.heads * last, SOFTMAX_PASSES), per


def estimate_step(cfg, shard: Shard, seqs, chans=None) -> int:
    """Closed-form cycles of a decode step under the config's schedule.

    Per layer: ``npu-only`` and single-chain schedules add the NPU's and the attention's
    times; two interleaved sub-batches take ``max(N1 + N2, M1 + M2, N1 + M1, N2 + M2)``
    (the arrays' work, the PIM's work, each sub-batch's own chain), plus, with a single row
    buffer, the busiest channel's NPU transfers and PIM work in turn. ``N`` is a sub-batch's
    NPU time (each GEMM ``max(compute, transfer)`` plus vector ops), ``M`` its attention on
    the busiest channel.
    """
    seqs = [int(s) for s in seqs]
    chans = placement(cfg, seqs) if chans is None else list(chans)
    sh = shard
    if cfg.schedule == "npu-only":
        reqs = list(range(len(seqs)))
        n, _, _ = _npu_layer(cfg, sh, reqs, seqs, chans)
        comp = attention_compute_cycles(cfg, seqs, sh.heads, sh.d_head)
        mem = transfer_cycles(cfg, per_channel_bytes(attention_bytes(seqs, sh.e), cfg.pim_channels))
        a = max(comp, mem) + vector_cycles(cfg, sh.heads * sum(seqs), SOFTMAX_PASSES)
        return sh.layers * (n + a)
    dual = dual_buffers(cfg)
    groups = sub_batches(cfg, seqs, chans)
    parts = [(_npu_layer(cfg, sh, g, seqs, chans), _pim_layer(cfg, sh, g, seqs, chans, dual)) for g in groups]
    if len(parts) == 1:
        (n, _, _), (m, _) = parts[0]
        return sh.layers * (n + m)
    ((n1, g1, b1), (m1, p1)), ((n2, g2, b2), (m2, p2)) = parts
    period = max(n1 + n2, m1 + m2, n1 + m1, n2 + m2)
    if not dual:
        occ = max(transfer_cycles(cfg, b1 + b2) + a + b for a, b in zip(p1, p2))
        period = max(period, occ)
    # sub-batch 2 starts once sub-batch 1's first QKV GEMM is done
    qkv = _gemm_time(cfg, len(groups[0]), sh.d, 3 * sh.e) + vector_cycles(cfg, len(groups[0]) * sh.d, LN_PASSES)
    return sh.layers * period + qkv


def simulate_gemm(cfg, m: int, k: int, n: int) -> int:
    """Event-driven cycles of one NPU GEMM alone on the system (weights streamed from the
    channels while the arrays compute)."""
    sim = StepSim(cfg, None, [], [])
    sim.env.process(sim.gemm(m, k, n))
    sim.env.run()
    return int(math.ceil(sim.env.now))


def gemm_closed(cfg, m: int, k: int, n: int) -> int:
    """Closed-form cycles of one NPU GEMM alone: ``max(compute, busiest channel's transfer)``."""
    return _gemm_time(cfg, m, k, n)
