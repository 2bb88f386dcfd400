"""cocotb bench of the PIM unit (:mod:`.hdl`): a timed bank model drives untimed command programs.

The job (``$HWSIM_JOB``, from :func:`hwsim.families.pim.rtl.run_jobs`) holds the design's
timing parameters and streams, one per channel: the bank contents (``rows[bank][row]``,
hex) and the command program in order (``["GWRITE", words]``, ``["G_ACT", rank,
bankgroup, row]``, ``["COMP", word]``, ``["READRES", readout]``, ``["PRE"]``).

:class:`TimedBanks` is the DRAM side: it keeps each bank's open row and the cycles of its
last activate and precharge, a rolling four-activate window per rank and the PIM state
(last COMP, COMPs since the last read-out, global-buffer and READRES busy times). Every
cycle the head command is checked against the constraints below and issued if all hold
(one command per cycle, in program order):

* G_ACT (opens ``row`` in every bank of the group): each bank closed, ``tRP`` after its
  precharge, ``tRC`` after its previous activate (``tRRD_L`` with dual row buffers);
  ``tRRD_S`` / ``tRRD_L`` after the rank's previous activate (other / same bank group);
  and the rank's ``tFAW`` window: a G_ACT counts as four activates (NewtonSim), so at most
  four in any ``tFAW`` cycles;
* COMP: every bank open and ``tRCD`` after its activate; ``t_comp`` (the all-bank tCCD)
  after the previous COMP; the global buffer written (``t_gwrite`` after its GWRITE) and
  the previous read-out finished (READRES transfer ``t_readres``);
* READRES: ``t_comp * max(comps, adder_tree_fill)`` after the first COMP since the last
  read-out, ``t_readres`` after the previous READRES;
* PRE (all banks): ``tRAS`` after every open bank's activate, ``tRTP`` after the last
  COMP (0 with dual row buffers);
* GWRITE: ``t_comp`` after the last COMP (which reads the buffer) and after the previous
  GWRITE's window; its words go in one per cycle from its issue.

A COMP presents to the unit the ``lane_bits`` slice ``word`` of the row each bank has open,
a GWRITE beat its buffer word, a read-out READRES ``rr_en``. The bench also asserts that no
READRES meets a COMP still in the unit's two-stage pipeline, and records every READRES
result and the cycle it was seen.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

PIPELINE_CYCLES = 2
#: Activates a G_ACT counts for in the rank's four-activate window (NewtonSim: G_ACTs of a
#: rank are spaced tFAW).
GACT_WINDOW_WEIGHT = 4


class TimedBanks:
    """One channel's banks with their contents and DRAM/PIM timing state."""

    def __init__(self, t: dict, rows: list):
        self.t = t
        self.bpg, self.nbg, self.ranks = t["banks_per_group"], t["bankgroups"], t["ranks"]
        n = self.ranks * self.nbg * self.bpg
        self.rows = [{int(r): int(v, 16) for r, v in bank.items()} for bank in rows]
        if len(self.rows) != n:
            raise AssertionError(f"{len(self.rows)} banks of contents for {n} banks")
        self.open = [None] * n
        self.act = [None] * n
        self.pre = [None] * n
        self.window = [[] for _ in range(self.ranks)]      # (cycle, weight) of recent activates
        self.rank_act = [None] * self.ranks                # (cycle, bank group) of the last activate
        self.last_comp = None
        self.first_comp = None
        self.comps = 0
        self.gw_ready = None
        self.rr_end = 0
        self.last_rr = None

    def banks_of(self, rank: int, bg: int) -> range:
        base = (rank * self.nbg + bg) * self.bpg
        return range(base, base + self.bpg)

    def ready(self, cmd: list, now: int) -> bool:
        t, kind = self.t, cmd[0]
        if kind == "G_ACT":
            rank, bg = cmd[1], cmd[2]
            for b in self.banks_of(rank, bg):
                if self.open[b] is not None:
                    raise AssertionError(f"G_ACT to open bank {b}")
                if self.pre[b] is not None and now < self.pre[b] + t["tRP"]:
                    return False
                same = t["tRRD_L"] if t["dual_row_buffer"] else t["tRC"]
                if self.act[b] is not None and now < self.act[b] + same:
                    return False
            if self.rank_act[rank] is not None:
                last, lbg = self.rank_act[rank]
                if now < last + (t["tRRD_L"] if lbg == bg else t["tRRD_S"]):
                    return False
            recent = sum(w for c, w in self.window[rank] if c > now - t["tFAW"])
            return recent + GACT_WINDOW_WEIGHT <= 4
        if kind == "COMP":
            if any(o is None for o in self.open):
                raise AssertionError("COMP with a bank closed")
            if self.gw_ready is None:
                raise AssertionError("COMP before any GWRITE")
            if any(now < a + t["tRCD"] for a in self.act):
                return False
            if self.last_comp is not None and now < self.last_comp + t["t_comp"]:
                return False
            return now >= self.gw_ready and now >= self.rr_end
        if kind == "READRES":
            if self.comps == 0 and self.first_comp is None:
                raise AssertionError("READRES with no COMP before it")
            if self.comps and now < self.first_comp + t["t_comp"] * max(self.comps, t["adder_tree_fill"]):
                return False
            return self.last_rr is None or now >= self.last_rr + t["t_readres"]
        if kind == "PRE":
            if any(o is not None and now < a + t["tRAS"] for o, a in zip(self.open, self.act)):
                return False
            gap = 0 if t["dual_row_buffer"] else t["tRTP"]
            return self.last_comp is None or now >= self.last_comp + gap
        if kind == "GWRITE":
            if self.last_comp is not None and now < self.last_comp + t["t_comp"]:
                return False
            return self.gw_ready is None or now >= self.gw_ready
        raise AssertionError(f"unknown command {kind!r}")

    def issue(self, cmd: list, now: int) -> None:
        t, kind = self.t, cmd[0]
        if kind == "G_ACT":
            rank, bg, row = cmd[1], cmd[2], cmd[3]
            for b in self.banks_of(rank, bg):
                self.open[b], self.act[b] = row, now
            self.rank_act[rank] = (now, bg)
            self.window[rank] = [(c, w) for c, w in self.window[rank] if c > now - t["tFAW"]]
            self.window[rank].append((now, GACT_WINDOW_WEIGHT))
        elif kind == "COMP":
            if self.comps == 0:
                self.first_comp = now
            self.comps += 1
            self.last_comp = now
        elif kind == "READRES":
            self.last_rr = now
            self.rr_end = now + t["t_readres"]
            self.comps = 0
        elif kind == "PRE":
            for b in range(len(self.open)):
                if self.open[b] is not None:
                    self.open[b], self.pre[b] = None, now
        elif kind == "GWRITE":
            self.gw_ready = now + t["t_gwrite"]

    def schedule(self, prog: list) -> list[int]:
        """Issue cycles of ``prog`` by the same per-cycle rule the bench applies (no unit
        attached): for checking the bank model against the timing models in Python."""
        issued, cycle = [], 0
        for cmd in prog:
            while not self.ready(cmd, cycle):
                cycle += 1
            self.issue(cmd, cycle)
            issued.append(cycle)
            cycle += 1
        return issued

    def slices(self, word: int) -> int:
        """The ``word``-th lane slice of every bank's open row, bank 0 lowest."""
        lb = self.t["lane_bits"]
        mask = (1 << lb) - 1
        out = 0
        for b, row in enumerate(self.open):
            out |= ((self.rows[b].get(row, 0) >> (word * lb)) & mask) << (b * lb)
        return out


async def _stream(dut, timing: dict, stream: dict) -> dict:
    banks = TimedBanks(timing, stream["rows"])
    prog = stream["program"]
    results, seen, issued, readouts = [], [], [], []
    beats: list = []                  # pending GWRITE words (one per cycle)
    last_comp = None
    pc, cycle, tail = 0, 0, None
    while True:
        await FallingEdge(dut.clk)
        if int(dut.res_valid.value):
            results.append(format(dut.res.value.to_unsigned(), "x"))
            seen.append(cycle)
        dut.gw_en.value = dut.comp_en.value = dut.rr_en.value = 0
        if beats:
            w, word = beats.pop(0)
            dut.gw_en.value, dut.gw_addr.value, dut.gw_data.value = 1, w, int(word, 16)
        if pc < len(prog) and banks.ready(prog[pc], cycle):
            cmd = prog[pc]
            banks.issue(cmd, cycle)
            issued.append(cycle)
            if cmd[0] == "GWRITE":
                words = list(enumerate(cmd[1]))
                if words:
                    w, word = words.pop(0)
                    dut.gw_en.value, dut.gw_addr.value, dut.gw_data.value = 1, w, int(word, 16)
                beats = words
            elif cmd[0] == "COMP":
                dut.comp_en.value, dut.comp_addr.value, dut.row.value = 1, cmd[1], banks.slices(cmd[1])
                last_comp = cycle
            elif cmd[0] == "READRES" and cmd[1]:
                assert last_comp is None or cycle - last_comp >= PIPELINE_CYCLES, \
                    f"READRES at {cycle} while the COMP of {last_comp} is in the pipeline"
                dut.rr_en.value = 1
                readouts.append(cycle)
            pc += 1
            if pc == len(prog):
                tail = cycle + 2
        if tail is not None and cycle >= tail:
            break
        cycle += 1
    return {"results": results, "seen": seen, "issued": issued, "readouts": readouts}


@cocotb.test()
async def replay(dut):
    job = json.loads(Path(os.environ["HWSIM_JOB"]).read_text())
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    for sig in (dut.gw_en, dut.comp_en, dut.rr_en):
        sig.value = 0
    for _ in range(2):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    out = []
    for stream in job["streams"]:
        out.append(await _stream(dut, job["timing"], stream))
    Path(os.environ["HWSIM_RESULT"]).write_text(json.dumps({"streams": out}))
