"""cocotb bench of one SRAM LUT-GEMV unit (:mod:`.hdl`).

The job (``$HWSIM_JOB``, from :func:`hwsim.families.sram_gemv.rtl.run_jobs`) holds
streams; each sets the run-time inputs (``n_items``, ``planes``, ``signed``, ``reuse``) and
sends its commands ``[drain, w_hex, a_hex]`` through the valid/ready command port, then
collects ``n_items`` output beats. Inputs are driven on the falling clock edge; a
handshake at cycle ``k`` completes at the next rising edge. With ``in_gap`` / ``out_gap``
the bench withholds a command or ``out_ready`` with that probability (seeded) and counts
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
    dut.signed.value, dut.reuse.value = s["signed"], s["reuse"]
    cmds, want = s["cmds"], s["n_items"]
    ci, outs, k, k0, k1, stalls = 0, [], 0, None, None, 0
    while len(outs) < want:
        await FallingEdge(dut.clk)
        ready, ov = int(dut.cmd_ready.value), int(dut.out_valid.value)
        valid = ci < len(cmds) and not (in_gap and rng.random() < in_gap)
        dut.cmd_valid.value = int(valid)
        if valid:
            drain, w, a = cmds[ci]
            dut.cmd_drain.value, dut.cmd_w.value, dut.cmd_a.value = drain, int(w, 16), int(a, 16)
        oready = not (out_gap and rng.random() < out_gap)
        dut.out_ready.value = int(oready)
        if k0 is not None and ((ready and ci < len(cmds) and not valid) or (ov and not oready)):
            stalls += 1
        if ov and oready:
            outs.append(format(dut.out_data.value.to_unsigned(), "x"))
            k1 = k
        if valid and ready:
            k0 = k if k0 is None else k0
            ci += 1
        k += 1
    await FallingEdge(dut.clk)
    dut.cmd_valid.value = 0
    return {"outs": outs, "cycles": k1 - k0 + 1, "stalls": stalls}


@cocotb.test()
async def replay(dut):
    job = json.loads(Path(os.environ["HWSIM_JOB"]).read_text())
    rng = random.Random(job.get("seed", 0))
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.cmd_valid.value = 0
    dut.out_ready.value = 0
    for _ in range(2):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    out = [await _stream(dut, s, rng, job.get("in_gap", 0.0), job.get("out_gap", 0.0)) for s in job["streams"]]
    Path(os.environ["HWSIM_RESULT"]).write_text(json.dumps({"streams": out}))
