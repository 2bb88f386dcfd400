"""cocotb bench for :class:`hwsim.families.systolic.hdl.SystolicArray` (driver -> DUT -> monitor).

Run by :func:`hwsim.families.systolic.rtl.run_gemms` inside the simulator process. The job
(``$HWSIM_JOB``) holds the array configuration, a list of GEMMs ``{"a": [[...]], "b":
[[...]]}`` and the back-pressure settings ``{"in_gap": p, "out_gap": q, "seed": s}``;
the bench writes, per GEMM, the result beats, the measured cycles and the stalled cycles
to ``$HWSIM_RESULT``.

The bench plays the SRAM: the driver sends the command, then the operand beats of
:func:`hwsim.families.systolic.timing.operand_beats`; with ``in_gap = p`` it withholds
``valid`` for a cycle with probability ``p`` after each transfer (once raised, ``valid``
stays high until the beat is taken). The monitor takes result beats, dropping ``ready``
for a cycle with probability ``q``.

Measurement, per GEMM: ``cycles = last - first + 1`` where ``first`` is the clock cycle
whose rising edge transfers the first operand beat and ``last`` the cycle whose edge
transfers the last result beat; ``stall_cycles`` counts the cycles in that window in
which the DUT's ``stall`` output was high.
"""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

from hwsim.families.systolic.config import SystolicConfig
from hwsim.families.systolic.timing import operand_beats, result_beat_count
from hwsim.families.systolic.hdl import port_shapes


def _pack(values, bits):
    mask = (1 << bits) - 1
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & mask) << (i * bits)
    return word


def _unpack(word, bits, lanes, is_signed):
    mask = (1 << bits) - 1
    out = []
    for i in range(lanes):
        v = (word >> (i * bits)) & mask
        if is_signed and v >> (bits - 1):
            v -= 1 << bits
        out.append(v)
    return out


class Driver:
    """Sends one GEMM's command and operand beats, with optional random gaps."""

    def __init__(self, dut, cfg, rng, in_gap, dim_bits):
        self.dut, self.cfg, self.rng, self.in_gap = dut, cfg, rng, in_gap
        self.dim_bits = dim_bits
        sh = port_shapes(cfg)
        self.west_bits, self.north_bits = sh["west"].width, sh["north"].width
        self.words = []
        self.pos = 0
        self.cmd_pending = False
        self.offer = False

    def load(self, a, b):
        west, north = operand_beats(self.cfg, a, b)
        shift = self.cfg.rows * self.west_bits
        self.words = [_pack(w, self.west_bits) | (_pack(n, self.north_bits) << shift)
                      for w, n in zip(west, north)]
        self.pos = 0
        m, k = a.shape
        n = b.shape[1]
        db = self.dim_bits
        self.dut.cmd__payload.value = m | (k << db) | (n << 2 * db)
        self.cmd_pending = True

    def drive(self):
        """Set this cycle's inputs (called right after a rising edge)."""
        self.dut.cmd__valid.value = int(self.cmd_pending)
        if not self.offer and not self.cmd_pending and self.pos < len(self.words):
            self.offer = self.rng.random() >= self.in_gap
        if self.offer:
            self.dut.operands__payload.value = self.words[self.pos]
        self.dut.operands__valid.value = int(self.offer)

    def sample(self):
        """Return (command taken, operand beat taken) at the coming edge (in ReadOnly)."""
        cmd = self.cmd_pending and bool(self.dut.cmd__ready.value)
        beat = self.offer and bool(self.dut.operands__ready.value)
        return cmd, beat

    def commit(self, cmd, beat):
        if cmd:
            self.cmd_pending = False
        if beat:
            self.pos += 1
            self.offer = False


class Monitor:
    """Collects result beats, dropping ``ready`` at random when asked to."""

    def __init__(self, dut, cfg, rng, out_gap):
        self.dut, self.cfg, self.rng, self.out_gap = dut, cfg, rng, out_gap
        self.beats = []
        self.want = 0
        self.ready = False
        self.offered = False

    def expect(self, n):
        self.beats, self.want = [], n

    def drive(self):
        self.ready = self.rng.random() >= self.out_gap
        self.dut.results__ready.value = int(self.ready)

    def sample(self):
        valid = bool(self.dut.results__valid.value)
        # stream rule: an offered beat stays offered until it is taken
        assert valid or not self.offered, "results.valid fell before its beat was taken"
        self.offered = valid and not self.ready
        if self.ready and valid:
            word = int(self.dut.results__payload.value)
            return _unpack(word, self.cfg.acc_bits, self.cfg.cols, self.cfg.signed and not self.cfg.is_fp16)
        return None

    @property
    def done(self):
        return len(self.beats) >= self.want


async def reset(dut, static=None) -> None:
    """Hold reset for three cycles with every stream idle; ``static`` run-time inputs
    (``{port: value}``) are set first and held for the whole run."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    for name, value in (static or {}).items():
        getattr(dut, name).value = int(value)
    dut.cmd__valid.value = 0
    dut.operands__valid.value = 0
    dut.results__ready.value = 0
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst.value = 0


async def run_gemm(dut, driver, monitor, want: int, cycle: int, max_cycles: int):
    """Drive one loaded GEMM to its last result beat.

    Returns ``({"beats", "cycles", "stall_cycles"}, cycle)``: cycles from the first operand
    beat accepted to the last result beat accepted (both included), the cycles the array
    stalled in that window, and the bench's cycle counter after the GEMM."""
    monitor.expect(want)
    first = last = None
    stall_at = []
    while not monitor.done:
        driver.drive()
        monitor.drive()
        await ReadOnly()
        cmd, beat = driver.sample()
        out = monitor.sample()
        if bool(dut.stall.value):
            stall_at.append(cycle)
        if beat and first is None:
            first = cycle
        if out is not None:
            monitor.beats.append(out)
            last = cycle
        await RisingEdge(dut.clk)
        driver.commit(cmd, beat)
        cycle += 1
        if cycle > max_cycles:
            raise AssertionError("simulation ran past max_cycles; the DUT is stuck")
    assert driver.pos == len(driver.words), "DUT finished before taking every operand beat"
    stalls = sum(1 for c in stall_at if first <= c <= last)
    return {"beats": monitor.beats, "cycles": last - first + 1, "stall_cycles": stalls}, cycle


@cocotb.test()
async def run_job(dut):
    """Run every GEMM of the job back to back and record beats, cycles and stalls."""
    with open(os.environ["HWSIM_JOB"]) as fh:
        job = json.load(fh)
    cfg = SystolicConfig.from_dict(job["config"])
    bp = job.get("backpressure") or {}
    rng = np.random.default_rng(int(bp.get("seed", 0)))
    driver = Driver(dut, cfg, rng, float(bp.get("in_gap", 0.0)), int(job["dim_bits"]))
    monitor = Monitor(dut, cfg, rng, float(bp.get("out_gap", 0.0)))
    await reset(dut)
    results = []
    cycle = 0
    for g in job["gemms"]:
        a = np.array(g["a"], dtype=np.int64)
        b = np.array(g["b"], dtype=np.int64)
        driver.load(a, b)
        res, cycle = await run_gemm(dut, driver, monitor, result_beat_count(cfg, a.shape[0], a.shape[1], b.shape[1]),
                                    cycle, job.get("max_cycles", 10_000_000))
        results.append(res)
        dut._log.info("GEMM %dx%dx%d: %d cycles (%d stalled)", a.shape[0], a.shape[1], b.shape[1],
                      res["cycles"], res["stall_cycles"])
    with open(os.environ["HWSIM_RESULT"], "w") as fh:
        json.dump({"gemms": results}, fh)
