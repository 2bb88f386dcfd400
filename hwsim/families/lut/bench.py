"""cocotb bench for the LUT tensor core tiles (LUT and MAC baseline).

The job (``$HWSIM_JOB``, written by :func:`hwsim.families.lut.rtl.run_jobs`) holds the static
inputs (which a GEMM may override with its own ``w_bits`` and ``mode``), the back-pressure
settings ``{"in_gap": p, "out_gap": q, "seed": s}`` and a list of GEMMs, each already cut into
stream beats by the feeder (:func:`hwsim.families.lut.rtl.feed`): activation beats with their
``last`` flags, weight beats and the number of output beats expected, plus optional per-cycle
enable patterns (``act_en``, ``wgt_en``, ``out_en``: strings of '1' go / '0' withhold) that
replace the seeded gaps for that GEMM. The streams are driven and the output beats taken by
the shared drivers of :mod:`hwsim.sim.streams` (the Amaranth-simulator runner,
:func:`hwsim.families.lut.rtl.run_amaranth`, runs the same loop). Per GEMM the bench records
the output beats, the cycles from the first activation handshake to the last output
handshake and the cycles in that window the tile waited for the bench (the ``"idle"`` rule of
:data:`hwsim.sim.streams.STALL_RULES`: a tile goes on computing while a finished block waits
to be taken, and the MAC tile takes an activation and a weight beat only together). The
scoreboard is on the Python side, against the golden model.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import cocotb

from hwsim.sim import streams
from hwsim.sim.streams import CocotbPorts, Gaps, Sink, Source, backpressure_gaps

STATIC_INPUTS = ("w_bits", "mode")


def gaps(job: dict) -> tuple[Gaps, Gaps, Gaps]:
    """The seeded gap policies of the job's back-pressure settings: activations, weights
    and the output's ready."""
    bp = job.get("backpressure") or {}
    return backpressure_gaps(bp, random.Random(int(bp.get("seed", 0))), sources=2)


async def reset(ports, static: dict) -> None:
    """Hold reset for three cycles with every stream idle and the static inputs set."""
    await ports.start()
    rst = ports.has("rst")  # the Amaranth simulator starts from reset values without one
    if rst:
        ports.set("rst", 1)
    for name in STATIC_INPUTS:
        ports.set(name, static[name])
    for name in ("act__valid", "wgt__valid", "out__ready"):
        ports.set(name, 0)
    for _ in range(3):
        await ports.tick()
    if rst:
        ports.set("rst", 0)


async def run_gemm(ports, g: dict, policy: tuple[Gaps, Gaps, Gaps], cycle: int = 0,
                   max_cycles: int = 1_000_000) -> tuple[dict, int]:
    """One GEMM's beats through the tile (``g`` as :func:`~hwsim.families.lut.rtl.feed`
    gives them). Returns ``({"out", "cycles", "stalls"}, cycle)``: output beats in hex, the
    transfer's cycles and stall cycles, and the bench's cycle counter after it."""
    for name in STATIC_INPUTS:  # a GEMM may set its own precision (the tile is idle here)
        if name in g:
            ports.set(name, g[name])
    a_gaps, w_gaps, o_gaps = (Gaps(pattern=g[k]) if g.get(k) is not None else p
                              for k, p in zip(("act_en", "wgt_en", "out_en"), policy))
    act = Source("act", [int(x, 16) for x in g["act"]], a_gaps)
    wgt = Source("wgt", [int(x, 16) for x in g["wgt"]], w_gaps)
    t = await streams.run(ports, [act, wgt], Sink("out", o_gaps), g["n_out"], cycle=cycle,
                          max_cycles=max_cycles, stalls="idle")
    ports.set("out__ready", 0)
    for _ in range(2):  # idle cycles between GEMMs
        await ports.tick()
    return {"out": [format(w, "x") for w in t.words], "cycles": t.cycles, "stalls": t.stall_cycles}, t.end_cycle + 2


@cocotb.test()
async def run_job(dut):
    """Run every GEMM of the job back to back and write the result."""
    job = json.loads(Path(os.environ["HWSIM_JOB"]).read_text())
    ports = CocotbPorts(dut)
    policy = gaps(job)
    await reset(ports, job)
    results, cycle = [], 0
    for g in job["gemms"]:
        r, cycle = await run_gemm(ports, g, policy, cycle, job.get("max_cycles", 1_000_000))
        results.append(r)
    Path(os.environ["HWSIM_RESULT"]).write_text(json.dumps({"gemms": results}))
