"""Verilator runs of the PIM unit (:mod:`.hdl`) on GEMMs, one command program per channel,
timed by a bank model in the cocotb bench.

For each channel that holds work, the host side builds

* the bank contents: every weight the layout (:mod:`.layout`, ``PimConfig.layout``) puts
  on the channel, written into its bank's row at its column (:meth:`WeightLayout.place`),
  one integer of ``page_bytes`` per (bank, row);
* the command program, untimed: the kinds of :func:`hwsim.families.pim.model.program`
  (checked equal) with their operands -- G_ACT's rank, bank group and row, COMP's
  buffer word, GWRITE's input-vector words, and whether a READRES is the one that reads
  the accumulators out;
* the DRAM and PIM timing parameters of the design (:meth:`PimConfig.timing`, the memory
  preset's tRCD, tRP, tRAS, tRC, tRRD_S/L, tFAW, tRTP, and the COMP interval (tCCD),
  GWRITE, READRES and adder-tree times).

The bench (:mod:`.bench`) keeps per-bank state (open row, activate and precharge times,
a four-activate window per rank) and issues each command at the first cycle every
constraint allows, one command per cycle, in program order; a COMP presents the slices
of the rows the bank model has open. The unit must return every read-out the cycle after
its READRES; a channel's cycles end with its last READRES's transfer (issue +
``t_readres``), and the slowest channel sets the GEMM's cycles. They equal the event-driven model's
(:func:`hwsim.families.pim.model.simulate`), which times the same program with its own
(per-channel) rules; the host adds the partial sums over segments as :mod:`.golden`
states.

:func:`channel_stream` also times a program with the model's engine
(:class:`hwsim.memory.pim.PimChannel`), for the exported testbench's vectors.
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


def bank_rows(cfg: PimConfig, b: np.ndarray, lay: WeightLayout, ch: int) -> list[dict]:
    """``[bank] -> {row: int}``: the weights channel ``ch`` holds, each element where
    :meth:`WeightLayout.place` says (little-endian elements within a row)."""
    k, n = b.shape
    ew = cfg.elem_bits
    rows: list[dict] = [dict() for _ in range(cfg.banks_per_channel)]
    bpg, nbg = cfg.banks_per_group_eff, cfg.bankgroups_eff
    k0, k1 = lay.k_slice(ch)
    mask = (1 << ew) - 1
    for o in range(n):
        for kk in range(k0, k1):
            p = lay.place(kk, o)
            if p["channel"] != lay.first_channel + ch:
                continue
            bank = (p["rank"] * nbg + p["bankgroup"]) * bpg + p["bank"]
            bit = p["column_byte"] * 8
            rows[bank][p["row"]] = rows[bank].get(p["row"], 0) | ((int(b[kk, o]) & mask) << bit)
    return rows


def channel_program(cfg: PimConfig, a: np.ndarray, lay: WeightLayout, ch: int):
    """The untimed command program of channel ``ch`` with operands, and per read-out READRES
    ``(m, segment index, outputs per bank)``."""
    m_rows = a.shape[0]
    lanes, ce, ew = cfg.mac_lanes, cfg.chunk_elems, cfg.elem_bits
    k0, k1 = lay.k_slice(ch)
    seg_index = {s: i for i, s in enumerate(lay.segments())}
    comps, tiles, chunks = lay.chunk_comps(ch), lay.tiles(ch), lay.channel_chunks(ch)
    if buffer_words(cfg) > cfg.t_gwrite_eff:
        raise ConfigError("t_gwrite_cycles", "shorter than the buffer beats of one GWRITE")
    prog, readouts, first = [], [], True
    for m in range(m_rows):
        for c, nc in enumerate(comps):
            s0 = k0 + c * ce
            s1 = min(s0 + ce, k1)
            x = np.zeros(nc * lanes, dtype=np.int64)
            x[:s1 - s0] = a[m, s0:s1]
            prog.append(["GWRITE", [format(_pack(x[w * lanes:(w + 1) * lanes], ew), "x") for w in range(nc)]])
            for t in range(tiles):
                if not first:
                    prog.append(["PRE"])
                first = False
                for g in range(cfg.bankgroups_eff):
                    for r in range(cfg.ranks_eff):
                        prog.append(["G_ACT", r, g, t * chunks + c])
                prog += [["COMP", i] for i in range(nc)]
                for r in range(cfg.readres_per_row):
                    prog.append(["READRES", int(r == 0)])
                outs = [o if o is not None else -1 for o in lay.tile_outputs(ch, t)]
                readouts.append((m, seg_index[(s0, s1)], outs))
    kinds = [cmd[0] for cmd in program(cfg, lay, m_rows, ch)]
    if kinds != [cmd[0] for cmd in prog]:
        raise AssertionError("the RTL program differs from the model's")
    return prog, readouts


def bench_timing(cfg: PimConfig) -> dict:
    """The constraints the bench's bank model enforces, in command-clock cycles."""
    t, d = cfg.timing(), cfg.dram
    return {"tRP": t.tRP, "tRAS": t.tRAS, "tRC": t.tRC, "tRCD": t.tRCDRD, "tFAW": t.tFAW, "tRTP": t.tRTP,
            "tRRD_S": d.tRRD_S, "tRRD_L": d.tRRD_L, "t_comp": t.t_comp, "t_gwrite": t.t_gwrite,
            "t_readres": t.t_readres, "adder_tree_fill": t.adder_tree_fill, "dual_row_buffer": t.dual_row_buffer,
            "ranks": cfg.ranks_eff, "bankgroups": cfg.bankgroups_eff, "banks_per_group": cfg.banks_per_group_eff,
            "lane_bits": cfg.mac_lanes * cfg.elem_bits}


def run_jobs(cfg: PimConfig, jobs, work_dir: str | Path | None = None) -> list[dict]:
    """Run GEMMs (``{"a", "b"}`` jobs) on the Verilated unit; returns ``{"c", "cycles"}`` each.

    Every channel program of every job goes to one simulator run of one build."""
    from hwsim.sim.verilator import build, run

    streams, meta = [], []
    for j in jobs:
        a, b = check_operands(cfg, j["a"], j["b"])
        lay = WeightLayout(cfg, a.shape[1], b.shape[1])
        for ch in range(lay.n_channels):
            if lay.tiles(ch):
                prog, ro = channel_program(cfg, a, lay, ch)
                rows = [{str(r): format(v, "x") for r, v in bank.items()} for bank in bank_rows(cfg, b, lay, ch)]
                streams.append({"program": prog, "rows": rows})
                meta.append(ro)
    name = export_base(cfg)
    bdir = build(verilog_text(cfg), TOP, name)
    tmp = None
    if work_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix=f"hwsim-{name}-")
        work_dir = tmp.name
    try:
        res = run(bdir, TOP, BENCH_MODULE, {"timing": bench_timing(cfg), "streams": streams},
                  Path(work_dir))["streams"]
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
            readouts = meta[si]
            r = res[si]
            si += 1
            if len(r["results"]) != len(readouts):
                raise AssertionError(f"RTL returned {len(r['results'])} READRES, expected {len(readouts)}")
            if [c - 1 for c in r["seen"]] != r["readouts"]:
                raise AssertionError("the unit did not return each READRES the cycle after it")
            # the last command is a READRES: the channel is done when its transfer ends
            cycles = max(cycles, r["issued"][-1] + cfg.t_readres_eff)
            for (m, s, outs), word in zip(readouts, r["results"]):
                v = int(word, 16)
                for bk, o in enumerate(outs):
                    if o >= 0:
                        parts[(m, o, s)] = (v >> (bk * aw)) & ((1 << aw) - 1)
        nseg = len(lay.segments())
        y = np.zeros((mr, n), dtype=np.uint16 if cfg.operand_format == "fp16" else np.int64)
        for m in range(mr):
            for o in range(n):
                ps = [parts[(m, o, s)] for s in range(nseg)]
                if cfg.operand_format == "fp16":
                    acc = np.uint16(ps[0])
                    for p in ps[1:]:
                        acc = fp16_add(acc, np.uint16(p))
                    y[m, o] = acc
                else:
                    y[m, o] = int(_wrap(np.array([sum(_wrap(np.array([p]), aw)[0] for p in ps)]), cfg.acc_bits)[0])
        out.append({"c": y, "cycles": int(cycles)})
    return out


def channel_stream(cfg: PimConfig, a: np.ndarray, b: np.ndarray, ch: int):
    """Channel ``ch``'s program timed by the model's engine (:class:`PimChannel`): events
    ``[cycle, kind, addr, data_hex]`` (GWRITE beats, COMPs with every bank's row-buffer
    slice, read-out READRES), the read-outs and the channel's end cycle."""
    lay = WeightLayout(cfg, a.shape[1], b.shape[1])
    prog, readouts = channel_program(cfg, a, lay, ch)
    rows = bank_rows(cfg, b, lay, ch)
    chan = PimChannel(cfg.timing(), cfg.ranks_eff, cfg.bankgroups_eff)
    slice_bits = cfg.mac_lanes * cfg.elem_bits
    events, row = [], None
    for cmd in prog:
        kind = cmd[0]
        at = chan.issue(kind, *(cmd[1:3] if kind == "G_ACT" else ()))
        if kind == "GWRITE":
            events += [[at + w, GWRITE, w, word] for w, word in enumerate(cmd[1])]
        elif kind == "G_ACT":
            row = cmd[3]
        elif kind == "COMP":
            i = cmd[1]
            word = 0
            for bk, bank in enumerate(rows):
                sl = (bank.get(row, 0) >> (i * slice_bits)) & ((1 << slice_bits) - 1)
                word |= sl << (bk * slice_bits)
            events.append([at, COMP, i, format(word, "x")])
        elif kind == "READRES" and cmd[1]:
            events.append([at, READRES, 0, "0"])
    return events, readouts, chan.end_cycle


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


def segment_partials(cfg: PimConfig, a: np.ndarray, b: np.ndarray, segments) -> np.ndarray:
    """``P[m, s, n]``: what the accumulators hold after segment ``s`` ``[k0, k1)`` of K, with
    golden's arithmetic (INT8 exact and wrapped; binary16 lane products, tree neighbours
    first, then accumulated in COMP order)."""
    from hwsim.blocks.fp16 import fp16_mul
    from hwsim.families.pim.golden import tree_sum_fp16

    m, k = a.shape
    n = b.shape[1]
    lanes = cfg.mac_lanes
    out = np.zeros((m, len(segments), n), dtype=np.int64)
    for s, (k0, k1) in enumerate(segments):
        nc = -(-(k1 - k0) // lanes)
        kp = nc * lanes
        ap = np.zeros((m, kp), dtype=np.int64)
        bp = np.zeros((kp, n), dtype=np.int64)
        ap[:, :k1 - k0] = a[:, k0:k1]
        bp[:k1 - k0] = b[k0:k1]
        if cfg.operand_format == "fp16":
            prod = fp16_mul(ap.astype(np.uint16)[:, :, None], bp.astype(np.uint16)[None, :, :])
            trees = tree_sum_fp16(prod.reshape(m, nc, lanes, n), axis=2)
            acc = np.zeros((m, n), np.uint16)
            for i in range(nc):
                acc = fp16_add(acc, trees[:, i])
            out[:, s] = acc
        else:
            out[:, s] = _wrap(ap @ bp, acc_width(cfg))
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
        parts = segment_partials(cfg, np.asarray(a, np.int64), np.asarray(b, np.int64), lay.segments())
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
            for m, s, outs in readouts:
                vals = [int(parts[m, s, o]) if o >= 0 else 0 for o in outs]
                mask = [(1 << aw) - 1 if o >= 0 else 0 for o in outs]
                expected.append((_pack(vals, aw), _pack(mask, aw)))
    return TestVectors(events=tuple(events), flagged={"res": ("res_valid", expected)})
