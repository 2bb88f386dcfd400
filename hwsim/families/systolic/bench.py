"""cocotb bench for :class:`hwsim.families.systolic.hdl.SystolicArray` (driver -> DUT -> monitor).

Run by :func:`hwsim.families.systolic.rtl.run_gemms` inside the simulator process, with the
shared stream drivers of :mod:`hwsim.sim.streams` (the Amaranth-simulator runner,
:func:`hwsim.families.systolic.rtl.run_gemms_amaranth`, uses the same functions). The job
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

from hwsim.families.systolic.config import SystolicConfig
from hwsim.families.systolic.timing import operand_beats, result_beat_count
from hwsim.families.systolic.hdl import port_shapes
from hwsim.sim import streams
from hwsim.sim.streams import CocotbPorts, Gaps, Sink, Source, backpressure_gaps


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


def beat_words(cfg, west, north, north_bits: int | None = None) -> list[int]:
    """Operand beats (west lanes, north lanes) packed as the ``operands`` payload."""
    sh = port_shapes(cfg)
    wb, nb = sh["west"].width, north_bits or sh["north"].width
    shift = cfg.rows * wb
    return [_pack(w, wb) | (_pack(n, nb) << shift) for w, n in zip(west, north)]


def cmd_word(m: int, k: int, n: int, dim_bits: int) -> int:
    return m | (k << dim_bits) | (n << 2 * dim_bits)


def gaps(job: dict, rng) -> tuple[Gaps, Gaps]:
    """The input and output gap policies of a job's back-pressure settings."""
    return backpressure_gaps(job.get("backpressure"), rng)


async def reset(ports, static=None) -> None:
    """Hold reset for three cycles with every stream idle; ``static`` run-time inputs
    (``{port: value}``) are set first and held for the whole run."""
    await ports.start()
    ports.set("rst", 1)
    for name, value in (static or {}).items():
        ports.set(name, value)
    for name in ("cmd__valid", "operands__valid", "results__ready"):
        ports.set(name, 0)
    for _ in range(3):
        await ports.tick()
    ports.set("rst", 0)


async def run_gemm(ports, cfg, words: list[int], cmd: int, want: int, in_gaps: Gaps, out_gaps: Gaps,
                   cycle: int = 0, max_cycles: int = 10_000_000):
    """Send one GEMM's command and operand beats and take its ``want`` result beats.

    Returns ``({"beats", "cycles", "stall_cycles"}, cycle)``: cycles from the first operand
    beat accepted to the last result beat accepted (both included), the cycles the array
    stalled (its ``stall`` output) in that window, and the bench's cycle counter after."""
    command = Source("cmd", [cmd])
    operands = Source("operands", words, in_gaps, after=command)
    t = await streams.run(ports, [operands, command], Sink("results", out_gaps), want, stall="stall",
                          cycle=cycle, max_cycles=max_cycles)
    signed = cfg.signed and not cfg.is_fp16
    beats = [_unpack(w, cfg.acc_bits, cfg.cols, signed) for w in t.words]
    return {"beats": beats, "cycles": t.cycles, "stall_cycles": t.stall_cycles}, t.end_cycle


@cocotb.test()
async def run_job(dut):
    """Run every GEMM of the job back to back and record beats, cycles and stalls."""
    with open(os.environ["HWSIM_JOB"]) as fh:
        job = json.load(fh)
    cfg = SystolicConfig.from_dict(job["config"])
    rng = np.random.default_rng(int((job.get("backpressure") or {}).get("seed", 0)))
    in_gaps, out_gaps = gaps(job, rng)
    ports = CocotbPorts(dut)
    await reset(ports)
    results = []
    cycle = 0
    db = int(job["dim_bits"])
    for g in job["gemms"]:
        a = np.array(g["a"], dtype=np.int64)
        b = np.array(g["b"], dtype=np.int64)
        (m, k), n = a.shape, b.shape[1]
        west, north = operand_beats(cfg, a, b)
        res, cycle = await run_gemm(ports, cfg, beat_words(cfg, west, north), cmd_word(m, k, n, db),
                                    result_beat_count(cfg, m, k, n), in_gaps, out_gaps, cycle,
                                    job.get("max_cycles", 10_000_000))
        results.append(res)
        dut._log.info("GEMM %dx%dx%d: %d cycles (%d stalled)", m, k, n, res["cycles"], res["stall_cycles"])
    with open(os.environ["HWSIM_RESULT"], "w") as fh:
        json.dump({"gemms": results}, fh)
