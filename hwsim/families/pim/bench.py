"""cocotb bench of the PIM unit (:mod:`.hdl`): replays timed command streams.

The job (``$HWSIM_JOB``, from :func:`hwsim.families.pim.rtl.run_jobs`) holds streams, each
a list of ``[cycle, kind, addr, data_hex]`` events (``kind`` 1 = GWRITE beat, 2 = COMP,
3 = READRES) at the cycles the event-driven command model issued them. Inputs are
driven on the falling edge; ``res`` is sampled at the next falling edge after a READRES.
The bench checks that no READRES meets a COMP still in the pipeline (2 cycles) and
records every READRES result and the cycle it was seen.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

PIPELINE_CYCLES = 2


async def _stream(dut, events) -> dict:
    by_cycle: dict[int, list] = {}
    for ev in events:
        by_cycle.setdefault(ev[0], []).append(ev)
    last = max(by_cycle) + 2
    results, seen = [], []
    last_comp = None
    for cycle in range(last + 1):
        await FallingEdge(dut.clk)
        if int(dut.res_valid.value):
            results.append(format(dut.res.value.to_unsigned(), "x"))
            seen.append(cycle)
        dut.gw_en.value = dut.comp_en.value = dut.rr_en.value = 0
        for _, kind, addr, data in by_cycle.get(cycle, ()):
            if kind == 1:
                dut.gw_en.value, dut.gw_addr.value, dut.gw_data.value = 1, addr, int(data, 16)
            elif kind == 2:
                dut.comp_en.value, dut.comp_addr.value, dut.row.value = 1, addr, int(data, 16)
                last_comp = cycle
            else:
                assert last_comp is None or cycle - last_comp >= PIPELINE_CYCLES, \
                    f"READRES at {cycle} while the COMP of {last_comp} is in the pipeline"
                dut.rr_en.value = 1
    return {"results": results, "seen": seen}


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
    for events in job["streams"]:
        out.append(await _stream(dut, events))
    Path(os.environ["HWSIM_RESULT"]).write_text(json.dumps({"streams": out}))
