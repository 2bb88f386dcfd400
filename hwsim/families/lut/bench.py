"""cocotb bench for the LUT tensor core tiles (LUT and MAC baseline).

The job (``$HWSIM_JOB``, written by :func:`hwsim.families.lut.rtl.run_jobs`) holds the static
inputs (which a GEMM may override with its own ``w_bits`` and ``mode``) and a list of GEMMs, each already cut into stream beats by the feeder
(:func:`hwsim.families.lut.rtl.feed`): activation beats with their ``last`` flags, weight beats
and the number of output beats expected, plus optional per-cycle enable patterns for the
two input streams and the output's ready. The bench drives the streams (driver), collects
output beats (monitor) and records the cycles from the first activation handshake to the
last output handshake; the scoreboard is on the Python side, against the golden model.

Signals are driven on the falling edge and handshakes are sampled 1 ns later, after the
combinational ``ready`` outputs settle, which is the cycle-level model's convention too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, Timer


def _enabled(pattern: str | None, cycle: int) -> bool:
    return pattern is None or cycle >= len(pattern) or pattern[cycle] == "1"


async def _run_gemm(dut, g: dict, max_cycles: int) -> dict:
    acts = [int(x, 16) for x in g["act"]]
    wgts = [int(x, 16) for x in g["wgt"]]
    n_out = g["n_out"]
    act_en, wgt_en, out_en = g.get("act_en"), g.get("wgt_en"), g.get("out_en")
    ai = wi = 0
    outs: list[str] = []
    first_in = last_out = None
    cycle = 0
    while len(outs) < n_out:
        await FallingEdge(dut.clk)
        av = ai < len(acts) and _enabled(act_en, cycle)
        wv = wi < len(wgts) and _enabled(wgt_en, cycle)
        orr = _enabled(out_en, cycle)
        dut.act__valid.value = int(av)
        dut.act__payload.value = acts[ai] if ai < len(acts) else 0
        dut.wgt__valid.value = int(wv)
        dut.wgt__payload.value = wgts[wi] if wi < len(wgts) else 0
        dut.out__ready.value = int(orr)
        await Timer(1, unit="ns")
        if av and int(dut.act__ready.value):
            if first_in is None:
                first_in = cycle
            ai += 1
        if wv and int(dut.wgt__ready.value):
            wi += 1
        if orr and int(dut.out__valid.value):
            outs.append(format(dut.out__payload.value.to_unsigned(), "x"))
            last_out = cycle
        cycle += 1
        assert cycle < max_cycles, f"no progress after {cycle} cycles ({len(outs)}/{n_out} outputs)"
    assert ai == len(acts) and wi == len(wgts), f"beats left over: act {ai}/{len(acts)}, wgt {wi}/{len(wgts)}"
    dut.act__valid.value = 0
    dut.wgt__valid.value = 0
    dut.out__ready.value = 1
    return {"out": outs, "cycles": last_out - first_in + 1}


@cocotb.test()
async def run_job(dut):
    """Run every GEMM of the job back to back (idle cycles between) and write the result."""
    job = json.loads(Path(os.environ["HWSIM_JOB"]).read_text())
    Clock(dut.clk, 10, unit="ns").start(start_high=False)
    dut.w_bits.value = job["w_bits"]
    dut.mode.value = job["mode"]
    dut.act__valid.value = 0
    dut.wgt__valid.value = 0
    dut.out__ready.value = 1
    dut.rst.value = 1
    for _ in range(3):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    results = []
    for g in job["gemms"]:
        for key in ("w_bits", "mode"):  # a GEMM may set its own precision (the tile is idle here)
            if key in g:
                getattr(dut, key).value = g[key]
        results.append(await _run_gemm(dut, g, job.get("max_cycles", 1_000_000)))
        for _ in range(2):
            await FallingEdge(dut.clk)
    Path(os.environ["HWSIM_RESULT"]).write_text(json.dumps({"gemms": results}))
