"""cocotb bench of one SRAM LUT-GEMV unit (:mod:`.hdl`).

The job (``$HWSIM_JOB``, from :func:`hwsim.families.sram_gemv.rtl.run_jobs`) holds
streams; each sets the run-time inputs (``n_items``, ``planes``, ``act_signed``, ``reuse``) and
sends its commands (payloads of :func:`~hwsim.families.sram_gemv.hdl.cmd_layout` in hex) through
the valid/ready command stream ``cmd``, then
collects ``n_items`` output beats. Inputs are driven on the falling clock edge; a
handshake at cycle ``k`` completes at the next rising edge. With ``in_gap`` / ``out_gap``
the bench withholds a command or ``out.ready`` with that probability (seeded) and counts
the cycles the unit waited for it as stall cycles. Per stream it records the output
words and the cycles from its first accepted command to its last output beat, inclusive.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge


async def _stream(dut, s, rng, in_gap, out_gap) -> dict:
    dut.n_items.value, dut.planes.value = s["n_items"], s["planes"]
    dut.act_signed.value, dut.reuse.value = s["act_signed"], s["reuse"]
    cmds, want = s["cmds"], s["n_items"]
    ci, outs, k, k0, k1, stalls = 0, [], 0, None, None, 0
    while len(outs) < want:
        await FallingEdge(dut.clk)
        ready, ov = int(dut.cmd__ready.value), int(dut.out__valid.value)
        valid = ci < len(cmds) and not (in_gap and rng.random() < in_gap)
        dut.cmd__valid.value = int(valid)
        if valid:
            dut.cmd__payload.value = int(cmds[ci], 16)
        oready = not (out_gap and rng.random() < out_gap)
        dut.out__ready.value = int(oready)
        if k0 is not None and ((ready and ci < len(cmds) and not valid) or (ov and not oready)):
            stalls += 1
        if ov and oready:
            outs.append(format(dut.out__payload.value.to_unsigned(), "x"))
            k1 = k
        if valid and ready:
            k0 = k if k0 is None else k0
            ci += 1
        k += 1
    await FallingEdge(dut.clk)
    dut.cmd__valid.value = 0
    return {"outs": outs, "cycles": k1 - k0 + 1, "stalls": stalls}


@cocotb.test()
async def replay(dut):
    job = json.loads(Path(os.environ["HWSIM_JOB"]).read_text())
    rng = random.Random(job.get("seed", 0))
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.cmd__valid.value = 0
    dut.out__ready.value = 0
    for _ in range(2):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    out = [await _stream(dut, s, rng, job.get("in_gap", 0.0), job.get("out_gap", 0.0)) for s in job["streams"]]
    Path(os.environ["HWSIM_RESULT"]).write_text(json.dumps({"streams": out}))
