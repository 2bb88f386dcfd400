"""cocotb bench of the MixPE array (run by :func:`hwsim.families.mixpe.rtl.run_partials`).

The systolic bench's driver and monitor (:mod:`hwsim.families.systolic.bench`) on beats
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

from hwsim.families.systolic.bench import Driver, Monitor, _pack, reset, run_gemm
from hwsim.families.systolic.config import SystolicConfig


class BeatDriver(Driver):
    """The systolic driver, fed precomputed beats instead of ``(A, B)``."""

    def load_beats(self, west, north, mkn):
        shift = self.cfg.rows * self.west_bits
        self.words = [_pack(w, self.west_bits) | (_pack(n, self.north_bits) << shift)
                      for w, n in zip(west, north)]
        self.pos = 0
        m, k, n = mkn
        db = self.dim_bits
        self.dut.cmd__payload.value = m | (k << db) | (n << 2 * db)
        self.cmd_pending = True


@cocotb.test()
async def run_job(dut):
    """Run every GEMM of the job back to back and record beats, cycles and stalls."""
    with open(os.environ["HWSIM_JOB"]) as fh:
        job = json.load(fh)
    cfg = SystolicConfig.from_dict(job["config"])
    bp = job.get("backpressure") or {}
    rng = np.random.default_rng(int(bp.get("seed", 0)))
    driver = BeatDriver(dut, cfg, rng, float(bp.get("in_gap", 0.0)), int(job["dim_bits"]))
    if "north_bits" in job:  # packed weight lanes wider than the array's (dequantise-then-MAC)
        driver.north_bits = int(job["north_bits"])
    monitor = Monitor(dut, cfg, rng, float(bp.get("out_gap", 0.0)))
    await reset(dut, job["static"])
    results = []
    cycle = 0
    for g in job["gemms"]:
        driver.load_beats(g["west"], g["north"], g["mkn"])
        res, cycle = await run_gemm(dut, driver, monitor, int(g["n_out"]), cycle, job.get("max_cycles", 10_000_000))
        results.append(res)
    with open(os.environ["HWSIM_RESULT"], "w") as fh:
        json.dump({"gemms": results}, fh)
