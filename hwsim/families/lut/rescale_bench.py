"""cocotb bench for the LUT tile with output rescale (:class:`hwsim.families.lut.rescale.ScaledLutTile`).

The job (``$HWSIM_JOB``, written by :func:`hwsim.families.lut.rescale_rtl.run_jobs`) is a list
of GEMMs, each already cut into stream beats by the feeder
(:func:`hwsim.families.lut.rescale_rtl.feed`): activation, weight-plane and scale beats, the
number of output beats expected, the static inputs (``w_bits``, ``mode``) and optional
per-cycle enable patterns. :func:`hwsim.families.lut.rescale_rtl.drive_gemm` (shared with the
Amaranth simulation) drives the streams and collects the output beats and cycles; the
scoreboard is on the Python side, against the golden model.

Signals are driven on the falling edge and handshakes are sampled 1 ns later, after the
combinational ``ready`` outputs settle.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, Timer

from hwsim.families.lut.rescale_rtl import INPUT_STREAMS, drive_gemm


class _CocotbPort:
    """The driver's view of the Verilated design's flat ports."""

    def __init__(self, dut):
        self.dut = dut

    def set(self, name: str, value: int) -> None:
        getattr(self.dut, name).value = value

    def get(self, name: str) -> int:
        v = getattr(self.dut, name).value
        return v.to_unsigned() if hasattr(v, "to_unsigned") else int(v)  # LogicArray or Logic

    async def next(self) -> None:
        await FallingEdge(self.dut.clk)

    async def settle(self) -> None:
        await Timer(1, unit="ns")


@cocotb.test()
async def run_job(dut):
    """Run every GEMM of the job back to back (idle cycles between) and write the result."""
    job = json.loads(Path(os.environ["HWSIM_JOB"]).read_text())
    Clock(dut.clk, 10, unit="ns").start(start_high=False)
    for s in INPUT_STREAMS:
        getattr(dut, f"{s}__valid").value = 0
    dut.out__ready.value = 1
    dut.w_bits.value = 1
    dut.mode.value = 0
    dut.rst.value = 1
    for _ in range(3):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    port = _CocotbPort(dut)
    results = []
    for g in job["gemms"]:
        results.append(await drive_gemm(port, g, job.get("max_cycles", 1_000_000)))
        for _ in range(2):
            await FallingEdge(dut.clk)
    Path(os.environ["HWSIM_RESULT"]).write_text(json.dumps({"gemms": results}))
