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
