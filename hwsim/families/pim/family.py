"""The DRAM-PIM bank family as the shared engines see it (:class:`~hwsim.families.contract.Family`).

Implementations: ``golden`` (:mod:`.golden`), ``model`` (values from the golden
function, cycles from the event-driven command model :func:`.model.simulate`) and
``verilator`` (the Amaranth PIM unit of :mod:`.hdl` driven by the cocotb bench's timed bank
model, :mod:`.rtl`, :mod:`.bench`); the closed form :func:`.model.estimate` is the estimator.
"""

from __future__ import annotations

import numpy as np

import hwsim.families.pim as package
from hwsim.families.contract import CliHooks, CostHooks, Family, Result, RtlHooks
from hwsim.families.pim import cli
from hwsim.families.pim.config import PimConfig
from hwsim.families.pim.cost import cost_inputs
from hwsim.families.pim.golden import golden_gemv
from hwsim.families.pim.model import estimate, simulate
from hwsim.families.pim.rtltile import rtl_tile
from hwsim.workloads.ops import GemmOp


def golden(cfg: PimConfig, job) -> np.ndarray:
    return golden_gemv(cfg, job["a"], job["b"])


def run_golden(cfg, jobs, backpressure=None):
    return [Result(golden(cfg, j)) for j in jobs]


def run_model(cfg, jobs, backpressure=None):
    """Event-driven command timing; the values are the golden function's (the command
    model moves no data)."""
    out = []
    for j in jobs:
        (m, k), n = np.shape(j["a"]), np.shape(j["b"])[1]
        out.append(Result(golden(cfg, j), simulate(cfg, m, k, n).cycles))
    return out


def run_verilator(cfg, jobs, backpressure=None):
    """The Verilated PIM unit, each channel's command program timed by the bench's bank
    model (the command bus has no back-pressure; ``backpressure`` is ignored)."""
    from hwsim.families.pim.rtl import run_jobs

    return [Result(r["c"], r["cycles"]) for r in run_jobs(cfg, jobs)]


def stimulus(cfg: PimConfig, shape, rng: np.random.Generator) -> dict:
    """FP16: normal(0, 1) values as uint16 bit patterns (sums stay finite); INT8: the
    full -128..127 range."""
    m, k, n = shape
    if cfg.operand_format == "fp16":
        return {"a": rng.standard_normal((m, k)).astype(np.float16).view(np.uint16),
                "b": rng.standard_normal((k, n)).astype(np.float16).view(np.uint16)}
    return {"a": rng.integers(-128, 128, (m, k), dtype=np.int64),
            "b": rng.integers(-128, 128, (k, n), dtype=np.int64)}


from hwsim.families.contract import lazy_hooks  # noqa: E402

_rtl_hook = lazy_hooks("hwsim.families.pim.rtl")


def top(cfg: PimConfig):
    from hwsim.families.pim.hdl import TOP
    from hwsim.families.pim.rtl import component

    return component(cfg), TOP


FAMILY = Family(
    name="pim",
    summary="DRAM-PIM: HBM banks with MAC lanes (Newton/HBM-PIM/NeuPIMs style) running GEMVs in memory",
    package=package,
    config=PimConfig,
    golden=golden,
    estimate=estimate,
    implementations={"golden": run_golden, "model": run_model, "verilator": run_verilator},
    stimulus=stimulus,
    peak_macs_per_cycle=lambda c: float(c.peak_macs_per_cycle),
    cost=CostHooks(inputs=cost_inputs),
    cli=CliHooks(describe=cli.describe, description=cli.DESCRIPTION, run_options=cli.add_run_options,
                 run_extras=cli.run_extras),
    top=top,
    # channels and the command timing are the models'; the unit is one channel's banks
    rtl=RtlHooks(fields=("standard", "ranks", "bankgroups", "banks_per_group", "page_bytes", "mac_lanes",
                         "operand_format", "acc_bits", "global_buffer_bytes"),
                 doc=_rtl_hook("port_doc"), vectors=_rtl_hook("test_vectors"), tb_shapes=((2, 40, 5),),
                 name=_rtl_hook("export_base")),
    op_kinds=(GemmOp,),
    rtl_tile=rtl_tile,
    # small page and buffer so the contract shapes span several chunks, COMPs and tiles
    examples=(dict(operand_format="fp16", channels=2, banks_per_group=1, page_bytes=64, mac_lanes=4),
              dict(operand_format="int8", channels=1, bankgroups=2, banks_per_group=1, page_bytes=64,
                   mac_lanes=8, acc_bits=20, dual_row_buffer=False),
              # K sliced over the channels (same unit as the first: one Verilator build)
              dict(operand_format="fp16", channels=2, banks_per_group=1, page_bytes=64, mac_lanes=4,
                   layout="k-split", energy_model="attacc")),
)
