"""Verilator runs of the PIM unit (:mod:`.hdl`) on GEMMs, one command stream per channel.

Each channel's program (:func:`hwsim.families.pim.model.program`) is issued through the
event-driven command model (:class:`hwsim.memory.pim.PimChannel`); the RTL-relevant
commands become timed events: a GWRITE becomes its buffer beats (from its issue cycle on,
inside its ``t_gwrite`` window), a COMP carries every bank's row-buffer slice read from
the banks as :mod:`.layout` places the weights, and the first READRES of a row reads the
accumulators (the others are the rest of its data transfer). The host side adds a
row's partial sums over chunks as :mod:`.golden` states. The RTL's cycles are the cycle
it returned the last READRES, minus its one-cycle output register, plus the READRES
transfer time ``t_readres``; the channel with the most outputs sets the GEMM's cycles.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from hwsim.blocks.fp16 import fp16_add
from hwsim.errors import ConfigError
from hwsim.families.pim.config import PimConfig
from hwsim.families.pim.golden import _wrap, check_operands
from hwsim.families.pim.hdl import TOP, PimUnit, acc_width, buffer_words
from hwsim.families.pim.layout import WeightLayout
from hwsim.families.pim.model import program
from hwsim.memory.pim import PimChannel

BENCH_MODULE = "hwsim.families.pim.bench"
GWRITE, COMP, READRES = 1, 2, 3


def component(cfg: PimConfig):
    return PimUnit(cfg)


def verilog_text(cfg: PimConfig) -> str:
    from hwsim.eda.verilog import convert

    return convert(component(cfg), TOP)


def _pack(values, width: int) -> int:
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & ((1 << width) - 1)) << (i * width)
    return word


def channel_stream(cfg: PimConfig, a: np.ndarray, b: np.ndarray, ch: int):
    """Timed events of channel ``ch`` and, per READRES read-out, ``(m, chunk, outputs)``."""
    m_rows, k = a.shape
    n = b.shape[1]
    lay = WeightLayout(cfg, k, n)
    lanes, ce, ew = cfg.mac_lanes, cfg.chunk_elems, cfg.elem_bits
    C, B = lay.n_channels, cfg.banks_per_channel
    chan = PimChannel(cfg.timing(), cfg.ranks_eff, cfg.bankgroups_eff)
    events, readouts = [], []
    comps = lay.chunk_comps()
    it = iter(program(cfg, lay, m_rows, ch))
    tiles = lay.tiles(ch)
    for m in range(m_rows):
        for c, nc in enumerate(comps):
            cmd = next(it)
            g = chan.issue(*cmd)
            if buffer_words(cfg) > cfg.t_gwrite_eff:
                raise ConfigError("t_gwrite_cycles", "shorter than the buffer beats of one GWRITE")
            x = np.zeros(ce, dtype=np.int64)
            seg = a[m, c * ce:(c + 1) * ce]
            x[:len(seg)] = seg
            for w in range(nc):
                events.append([g + w, GWRITE, w, format(_pack(x[w * lanes:(w + 1) * lanes], ew), "x")])
            for t in range(tiles):
                outs = [ch + C * (bk + B * t) for bk in range(B)]
                while True:
                    cmd = next(it)
                    at = chan.issue(*cmd)
                    if cmd[0] == "COMP":
                        break
                for i in range(nc):
                    if i:
                        at = chan.issue(*next(it))
                    vals = []
                    for o in outs:
                        col = np.zeros(lanes, dtype=np.int64)
                        if o < n:
                            k0 = c * ce + i * lanes
                            seg = b[k0:min(k0 + lanes, k), o]
                            col[:len(seg)] = seg
                        vals.extend(col)
                    events.append([at, COMP, i, format(_pack(vals, ew), "x")])
                for r in range(cfg.readres_per_row):
                    at = chan.issue(*next(it))
                    if r == 0:
                        events.append([at, READRES, 0, "0"])
                        readouts.append((m, c, outs))
    return events, readouts, chan.end_cycle


def run_jobs(cfg: PimConfig, jobs, work_dir: str | Path | None = None) -> list[dict]:
    """Run GEMMs (``{"a", "b"}`` jobs) on the Verilated unit; returns ``{"c", "cycles"}`` each."""
    from hwsim.sim.verilator import build, run

    streams, meta = [], []
    for j in jobs:
        a, b = check_operands(cfg, j["a"], j["b"])
        lay = WeightLayout(cfg, a.shape[1], b.shape[1])
        for ch in range(lay.n_channels):
            if lay.tiles(ch):
                ev, ro, end = channel_stream(cfg, a, b, ch)
                streams.append(ev)
                meta.append((ro, end))
    name = f"pim_{cfg.operand_format}_b{cfg.banks_per_channel}l{cfg.mac_lanes}w{buffer_words(cfg)}"
    bdir = build(verilog_text(cfg), TOP, name)
    tmp = None
    if work_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix=f"hwsim-{name}-")
        work_dir = tmp.name
    try:
        res = run(bdir, TOP, BENCH_MODULE, {"streams": streams}, Path(work_dir))["streams"]
    finally:
        if tmp is not None:
            tmp.cleanup()
    aw = acc_width(cfg)
    out, si = [], 0
    for j in jobs:
        a, b = check_operands(cfg, j["a"], j["b"])
        (mr, k), n = a.shape, b.shape[1]
        lay = WeightLayout(cfg, k, n)
        parts: dict = {}
        cycles = 0
        for ch in range(lay.n_channels):
            if not lay.tiles(ch):
                continue
            readouts, _end = meta[si]
            r = res[si]
            si += 1
            if len(r["results"]) != len(readouts):
                raise AssertionError(f"RTL returned {len(r['results'])} READRES, expected {len(readouts)}")
            cycles = max(cycles, r["seen"][-1] - 1 + cfg.t_readres_eff)
            for (m, c, outs), word in zip(readouts, r["results"]):
                v = int(word, 16)
                for bk, o in enumerate(outs):
                    if o < n:
                        parts[(m, o, c)] = (v >> (bk * aw)) & ((1 << aw) - 1)
        y = np.zeros((mr, n), dtype=np.uint16 if cfg.operand_format == "fp16" else np.int64)
        for m in range(mr):
            for o in range(n):
                ps = [parts[(m, o, c)] for c in range(lay.chunks)]
                if cfg.operand_format == "fp16":
                    acc = np.uint16(ps[0])
                    for p in ps[1:]:
                        acc = fp16_add(acc, np.uint16(p))
                    y[m, o] = acc
                else:
                    y[m, o] = int(_wrap(np.array([sum(_wrap(np.array([p]), aw)[0] for p in ps)]), cfg.acc_bits)[0])
        out.append({"c": y, "cycles": int(cycles)})
    return out


# ------------------------------------------------------------------------------ export hooks
def export_base(cfg: PimConfig) -> str:
    """Readable base of the export's name: operand format, banks, lanes, buffer words."""
    return f"pim_{cfg.operand_format}_b{cfg.banks_per_channel}l{cfg.mac_lanes}w{buffer_words(cfg)}"


def port_doc(cfg: PimConfig):
    """What the exported unit's ports mean (:class:`~hwsim.families.contract.PortDoc`)."""
    from hwsim.families.contract import PortDoc

    B, L, ew, aw, words = cfg.banks_per_channel, cfg.mac_lanes, cfg.elem_bits, acc_width(cfg), buffer_words(cfg)
    fmt = "binary16" if cfg.operand_format == "fp16" else "signed INT8"
    meaning = {
        "gw_en": "GWRITE beat: write gw_data into global-buffer word gw_addr",
        "gw_addr": f"global-buffer word, 0..{words - 1}",
        "gw_data": f"{L} input-vector elements ({fmt})",
        "comp_en": "COMP: multiply global-buffer word comp_addr by every bank's row-buffer slice and accumulate",
        "comp_addr": f"global-buffer word, 0..{words - 1}",
        "row": f"the row-buffer slices of the {B} banks, {L} weight elements ({fmt}) each",
        "rr_en": "READRES: copy the accumulators to res (res_valid next cycle) and clear them",
        "res": f"{B} accumulators of {aw} bits ({'binary16' if cfg.operand_format == 'fp16' else 'signed, wrapping'})",
        "res_valid": "res holds a READRES result (one cycle)",
    }
    beats = {
        "gw_data": f"element i at bits [{ew}*i+{ew - 1}:{ew}*i]; one chunk of the input vector is {words} words.",
        "row": f"bank b, lane i at bits [{ew}*({L}*b+i)+{ew - 1}:{ew}*({L}*b+i)].",
        "res": f"bank b at bits [{aw}*b+{aw - 1}:{aw}*b]: the partial sum of one output over one chunk of K; "
               "the host adds the chunks' partial sums.",
    }
    rules = ("No handshakes: the unit is driven by timed commands, one per cycle each. Products and the "
             "adder tree are registered once (stage 1) and accumulated in stage 2, so a COMP's sum is in the "
             "accumulator 2 cycles after its issue: issue READRES at least 2 cycles after the last COMP "
             f"(the command timing, t_comp >= 2, guarantees it). A GWRITE of one chunk is {words} beats.")
    latency = ("2 cycles from a COMP to its accumulation; res is valid the cycle after READRES. A GEMV's "
               "cycles are set by the DRAM command timing (see hwsim's PIM model), not by this unit.")
    return PortDoc(meaning=meaning, beats=beats, rules=rules, latency=latency)


def chunk_partials(cfg: PimConfig, a: np.ndarray, b: np.ndarray, chunks) -> np.ndarray:
    """``P[m, c, n]``: what the accumulators hold after chunk ``c`` of K (``chunks``: the
    COMPs of each chunk), with golden's arithmetic (INT8 exact and wrapped; binary16
    lane products, tree neighbours first, then accumulated in COMP order)."""
    from hwsim.blocks.fp16 import fp16_mul
    from hwsim.families.pim.golden import tree_sum_fp16

    m, k = a.shape
    n = b.shape[1]
    lanes, ce = cfg.mac_lanes, cfg.chunk_elems
    out = np.zeros((m, len(chunks), n), dtype=np.int64)
    for c, nc in enumerate(chunks):
        kp = nc * lanes
        ap = np.zeros((m, kp), dtype=np.int64)
        bp = np.zeros((kp, n), dtype=np.int64)
        seg = a[:, c * ce:c * ce + kp]
        ap[:, :seg.shape[1]] = seg
        bp[:seg.shape[1]] = b[c * ce:c * ce + seg.shape[1]]
        if cfg.operand_format == "fp16":
            prod = fp16_mul(ap.astype(np.uint16)[:, :, None], bp.astype(np.uint16)[None, :, :])
            trees = tree_sum_fp16(prod.reshape(m, nc, lanes, n), axis=2)
            acc = np.zeros((m, n), np.uint16)
            for i in range(nc):
                acc = fp16_add(acc, trees[:, i])
            out[:, c] = acc
        else:
            out[:, c] = _wrap(ap @ bp, acc_width(cfg))
    return out


def test_vectors(cfg: PimConfig, jobs):
    """The timed commands of every channel of ``jobs`` (``{"a", "b"}``), one after another,
    and the READRES results golden's arithmetic gives."""
    from hwsim.families.contract import TestVectors

    aw, events, expected, offset = acc_width(cfg), [], [], 0
    port_of = {GWRITE: ("gw_en", "gw_addr", "gw_data"), COMP: ("comp_en", "comp_addr", "row"),
               READRES: ("rr_en", None, None)}
    for j in jobs:
        a, b = check_operands(cfg, j["a"], j["b"])
        n = b.shape[1]
        lay = WeightLayout(cfg, a.shape[1], n)
        parts = chunk_partials(cfg, np.asarray(a, np.int64), np.asarray(b, np.int64), lay.chunk_comps())
        for ch in range(lay.n_channels):
            if not lay.tiles(ch):
                continue
            evs, readouts, _end = channel_stream(cfg, a, b, ch)
            by_cycle: dict[int, dict] = {}
            for cyc, kind, addr, data in evs:
                en, ap, dp = port_of[kind]
                d = by_cycle.setdefault(offset + cyc, {})
                d[en] = 1
                if ap is not None:
                    d[ap], d[dp] = addr, int(data, 16)
            events += sorted(by_cycle.items())
            offset += max(e[0] for e in evs) + 3
            for m, c, outs in readouts:
                vals = [int(parts[m, c, o]) if o < n else 0 for o in outs]
                mask = [(1 << aw) - 1 if o < n else 0 for o in outs]
                expected.append((_pack(vals, aw), _pack(mask, aw)))
    return TestVectors(events=tuple(events), flagged={"res": ("res_valid", expected)})
