"""The SRAM LUT-GEMV family as the shared engines see it (:class:`~hwsim.families.contract.Family`).

A job is ``{"a": A[M, K] activation codes, "wq": W[K, N] signed weight codes, "sa": [M]
and "sw": [N] binary32 scales}``; outputs are the dequantised binary32 results as IEEE
bit patterns (``uint32``), or the integers when the job has no scales. Implementations:
``golden`` (:mod:`.golden`), ``model`` (values from the golden function, cycles from the
cycle-level model walking the job's actual bit patterns, :func:`.model.simulate`) and
``amaranth`` and ``verilator`` (the Amaranth unit of :mod:`.hdl` in Amaranth's simulator and
under Verilator; they return the integer accumulators, to
which golden's binary32 dequantisation stage is applied -- that stage is not in the RTL).
"""

from __future__ import annotations

import numpy as np

import hwsim.families.sram_gemv as package
from hwsim.families.contract import CliHooks, CostHooks, Family, Result, RtlHooks
from hwsim.families.sram_gemv.rtltile import rtl_tile
from hwsim.families.sram_gemv import cli
from hwsim.families.sram_gemv.config import SramGemvConfig
from hwsim.families.sram_gemv.cost import cost_inputs
from hwsim.families.sram_gemv.golden import act_range, code_range, dequantise, golden_job
from hwsim.families.sram_gemv.model import ARRAY_FIELDS, estimate, estimate_arrays, simulate
from hwsim.families.sram_gemv.study import STUDIES
from hwsim.workloads.ops import GemmOp


def golden(cfg: SramGemvConfig, job) -> np.ndarray:
    return golden_job(cfg, job)


def run_golden(cfg, jobs, backpressure=None):
    return [Result(golden(cfg, j)) for j in jobs]


def run_model(cfg, jobs, backpressure=None):
    return [Result(golden(cfg, j), simulate(cfg, j["a"], j["wq"]).cycles) for j in jobs]


def run_verilator(cfg, jobs, backpressure=None):
    from hwsim.families.sram_gemv.rtl import run_jobs

    out = []
    for j, r in zip(jobs, run_jobs(cfg, jobs, backpressure)):
        y = r["acc"] if j.get("sa") is None else dequantise(r["acc"], j["sa"], j["sw"])
        out.append(Result(y, r["cycles"], r["stall_cycles"]))
    return out


def run_amaranth(cfg, jobs, backpressure=None):
    """The same unit in Amaranth's simulator (values dequantised as for Verilator)."""
    from hwsim.families.sram_gemv.rtl import run_amaranth as run

    out = []
    for j, r in zip(jobs, run(cfg, jobs, backpressure)):
        y = r["acc"] if j.get("sa") is None else dequantise(r["acc"], j["sa"], j["sw"])
        out.append(Result(y, r["cycles"], r["stall_cycles"]))
    return out


def stimulus(cfg: SramGemvConfig, shape, rng: np.random.Generator) -> dict:
    """Activation and weight codes uniform over their ranges; binary32 scales in
    ``[2**-8, 1)``."""
    m, k, n = shape
    lo, hi = act_range(cfg)
    wl, wh = code_range(cfg)
    return {"a": rng.integers(lo, hi + 1, (m, k), dtype=np.int64),
            "wq": rng.integers(wl, wh + 1, (k, n), dtype=np.int64),
            "sa": rng.uniform(2.0**-8, 1.0, m).astype(np.float32),
            "sw": rng.uniform(2.0**-8, 1.0, n).astype(np.float32)}


from hwsim.families.contract import lazy_hooks  # noqa: E402

_rtl_hook = lazy_hooks("hwsim.families.sram_gemv.rtl")


def top(cfg: SramGemvConfig):
    from hwsim.families.sram_gemv.hdl import TOP
    from hwsim.families.sram_gemv.rtl import component

    return component(cfg), TOP


FAMILY = Family(
    name="sram-gemv",
    summary="SRAM LUT-GEMV units beside a CPU's LLC (SAIL style): tables of weight-group sums looked up "
            "by activation bit planes",
    package=package,
    config=SramGemvConfig,
    golden=golden,
    estimate=estimate,
    estimate_arrays=estimate_arrays,
    array_fields=ARRAY_FIELDS,
    implementations={"golden": run_golden, "model": run_model, "amaranth": run_amaranth,
                     "verilator": run_verilator},
    stimulus=stimulus,
    peak_macs_per_cycle=lambda c: float(c.peak_macs_per_cycle),
    cost=CostHooks(inputs=cost_inputs),
    cli=CliHooks(describe=cli.describe, description=cli.DESCRIPTION, run_options=cli.add_run_options,
                 run_extras=cli.run_extras),
    top=top,
    # cols sets the lanes (with w_bits and group_size the entry width); act_signed and
    # pattern_reuse are run-time inputs, rows and the LLC fields only price the area
    rtl=RtlHooks(fields=("cols", "group_size", "w_bits", "a_bits", "vectors", "acc_bits"),
                 doc=_rtl_hook("port_doc"), vectors=_rtl_hook("test_vectors"), tb_shapes=((4, 9, 5), (7, 14, 9)),
                 name=_rtl_hook("export_base"), run_time_inputs=_rtl_hook("static_inputs"),
                 synth_options=cli.add_synth_options, synth_asic=cli.synth_asic),
    op_kinds=(GemmOp,),
    studies=STUDIES,
    rtl_tile=rtl_tile,
    # one small unit (4 lanes of 3-bit entries, 3 vectors) and one with two arrays: the
    # contract shapes then span several groups, tiles, passes and units. Pattern reuse is
    # off here because the closed form has no operands (its reuse cost is an expectation);
    # tests/test_sram_gemv.py runs the RTL with reuse on against the cycle-level model.
    examples=(dict(rows=256, cols=12, group_size=2, w_bits=2, a_bits=6, vectors=3, acc_bits=20,
                   pattern_reuse=False, arrays_per_slice=1, slices=1, llc_slice_kib=64),
              dict(rows=256, cols=12, group_size=2, w_bits=2, a_bits=6, vectors=3, acc_bits=20,
                   pattern_reuse=False, act_signed=False, arrays_per_slice=2, slices=1, llc_slice_kib=64)),
)
