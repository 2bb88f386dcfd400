"""cocotb bench of one SRAM LUT-GEMV unit (:mod:`.hdl`).

The job (``$HWSIM_JOB``, from :func:`hwsim.families.sram_gemv.rtl.run_jobs`) holds
streams; each sets the run-time inputs (``n_items``, ``planes``, ``act_signed``, ``reuse``) and
sends its commands (payloads of :func:`~hwsim.families.sram_gemv.hdl.cmd_layout` in hex) through
the valid/ready command stream ``cmd``, then
collects ``n_items`` output beats, through the shared stream drivers of
:mod:`hwsim.sim.streams` (the Amaranth-simulator runner,
:func:`hwsim.families.sram_gemv.rtl.run_amaranth`, uses the same loop). With ``in_gap`` /
``out_gap`` the bench withholds a command or ``out.ready`` with that probability (seeded)
and counts the cycles the unit waited for it as stall cycles. Per stream it records the output
words and the cycles from its first accepted command to its last output beat, inclusive.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import cocotb

from hwsim.sim import streams
from hwsim.sim.streams import CocotbPorts, Gaps, Sink, Source, backpressure_gaps

RUN_TIME_INPUTS = ("n_items", "planes", "act_signed", "reuse")


async def run_stream(ports, s: dict, in_gaps: Gaps, out_gaps: Gaps, cycle: int = 0):
    """One stream of commands through the unit: set its run-time inputs, send the commands,
    take ``n_items`` output beats. Returns ``({"outs", "cycles", "stalls"}, cycle)``: the
    output words in hex, the cycles from the first accepted command to the last output
    beat, and the cycles in that window the unit waited for the bench."""
    for name in RUN_TIME_INPUTS:
        ports.set(name, s[name])
    cmds = Source("cmd", [int(c, 16) for c in s["cmds"]], in_gaps)
    t = await streams.run(ports, [cmds], Sink("out", out_gaps), s["n_items"], cycle=cycle)
    await ports.tick()
    return {"outs": [format(w, "x") for w in t.words], "cycles": t.cycles, "stalls": t.stall_cycles}, t.end_cycle + 1


async def reset(ports) -> None:
    await ports.start()
    ports.set("rst", 1)
    ports.set("cmd__valid", 0)
    ports.set("out__ready", 0)
    for _ in range(2):
        await ports.tick()
    ports.set("rst", 0)


def gaps(job: dict) -> tuple[Gaps, Gaps]:
    rng = random.Random(job.get("seed", 0))
    return backpressure_gaps(job, rng)


@cocotb.test()
async def replay(dut):
    job = json.loads(Path(os.environ["HWSIM_JOB"]).read_text())
    ports = CocotbPorts(dut)
    in_gaps, out_gaps = gaps(job)
    await reset(ports)
    out, cycle = [], 0
    for s in job["streams"]:
        r, cycle = await run_stream(ports, s, in_gaps, out_gaps, cycle)
        out.append(r)
    Path(os.environ["HWSIM_RESULT"]).write_text(json.dumps({"streams": out}))
