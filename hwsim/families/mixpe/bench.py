"""cocotb bench of the MixPE array (run by :func:`hwsim.families.mixpe.rtl.run_partials`).

The systolic bench's stream loop (:mod:`hwsim.families.systolic.bench`, on the shared drivers of
:mod:`hwsim.sim.streams`) on beats
the MixPE feeder prepared (:func:`hwsim.families.mixpe.timing.operand_beats`, in the job
as ``west``/``north`` with the sequencer command ``mkn``); the run-time inputs in the
job's ``static`` (``msb_negative``, ``w_msb``) are held for the whole run. Cycles and stalls are measured as in the
systolic bench.
"""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np

from hwsim.families.systolic.bench import beat_words, cmd_word, gaps, reset, run_gemm
from hwsim.families.systolic.config import SystolicConfig
from hwsim.sim.streams import CocotbPorts


@cocotb.test()
async def run_job(dut):
    """Run every GEMM of the job back to back and record beats, cycles and stalls."""
    with open(os.environ["HWSIM_JOB"]) as fh:
        job = json.load(fh)
    cfg = SystolicConfig.from_dict(job["config"])
    rng = np.random.default_rng(int((job.get("backpressure") or {}).get("seed", 0)))
    in_gaps, out_gaps = gaps(job, rng)
    north_bits = int(job["north_bits"]) if "north_bits" in job else None  # packed weight lanes wider than the array's (dequantise-then-MAC)
    ports = CocotbPorts(dut)
    await reset(ports, job["static"])
    results = []
    cycle = 0
    for g in job["gemms"]:
        words = beat_words(cfg, g["west"], g["north"], north_bits)
        res, cycle = await run_gemm(ports, cfg, words, cmd_word(*g["mkn"], int(job["dim_bits"])), int(g["n_out"]),
                                    in_gaps, out_gaps, cycle, job.get("max_cycles", 10_000_000))
        results.append(res)
    with open(os.environ["HWSIM_RESULT"], "w") as fh:
        json.dump({"gemms": results}, fh)
