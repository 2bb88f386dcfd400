"""The NPU + DRAM-PIM system as the shared engines see it (:class:`~hwsim.families.contract.Family`).

A system registered like a family: its config (:class:`.config.NpuPimConfig`) names the
two engines' configs, its ``estimate`` places each workload op on an engine
(:mod:`.model`), and a whole decode step runs through the scheduler
(:func:`.system.simulate_step` event-driven, :func:`.system.estimate_step` closed form).

Implementations on the contract's GEMM jobs (an op with a weight operand runs on the NPU):
``golden`` -- :func:`.golden.golden_gemm`; ``model`` -- the golden values with the cycles
of the event-driven system running that one GEMM (weights streamed over the shared
channels while the arrays compute). Each engine keeps its own RTL check in its family
(systolic, PIM unit).
"""

from __future__ import annotations

import numpy as np

import hwsim.families.npu_pim as package
from hwsim.families.contract import CliHooks, CostHooks, Family, Result
from hwsim.families.npu_pim import cli
from hwsim.families.npu_pim.config import NpuPimConfig
from hwsim.families.npu_pim.golden import golden_gemm
from hwsim.families.npu_pim.model import MODES, estimate, estimate_workload
from hwsim.families.npu_pim.study import STUDIES
from hwsim.workloads.ops import GemmOp


def golden(cfg: NpuPimConfig, job) -> np.ndarray:
    return golden_gemm(job["a"], job["b"])


def run_golden(cfg, jobs, backpressure=None):
    return [Result(golden(cfg, j)) for j in jobs]


def run_model(cfg, jobs, backpressure=None):
    from hwsim.families.npu_pim.system import simulate_gemm

    out = []
    for j in jobs:
        (m, k), n = np.shape(j["a"]), np.shape(j["b"])[1]
        out.append(Result(golden(cfg, j), simulate_gemm(cfg, m, k, n)))
    return out


def stimulus(cfg: NpuPimConfig, shape, rng: np.random.Generator) -> dict:
    """FP16 normal(0, 1) operands as uint16 bit patterns."""
    m, k, n = shape
    return {"a": rng.standard_normal((m, k)).astype(np.float16).view(np.uint16),
            "b": rng.standard_normal((k, n)).astype(np.float16).view(np.uint16)}


def cost_inputs(cfg: NpuPimConfig, dram: str = "hbm2"):
    """The NPU's PEs at 16-bit widths, HBM2 traffic, and the PIM commands at the PIM
    family's per-command energies. (The table's MAC is an integer one; the system's own
    energy report prices FP16 MACs, :mod:`.energy`.)"""
    from hwsim.cost.report import CostInputs
    from hwsim.families.npu_pim.config import NPU_ACC_BITS, NPU_OPERAND_BITS
    from hwsim.families.pim.cost import command_energy

    return CostInputs(freq_mhz=cfg.freq_mhz, n_pes=cfg.npu_peak_macs_per_cycle, a_bits=NPU_OPERAND_BITS,
                      b_bits=NPU_OPERAND_BITS, acc_bits=NPU_ACC_BITS, dram=dram,
                      dram_commands=command_energy(cfg.pim))


def top(cfg: NpuPimConfig):
    from hwsim.errors import ConfigError

    raise ConfigError("family", "npu-pim is a system of two engines: export the systolic array or the "
                      "PIM unit of its families")


FAMILY = Family(
    name="npu-pim",
    summary="system: NPU of systolic arrays + HBM-PIM (NeuPIMs), batched LLM decode and serving",
    package=package,
    config=NpuPimConfig,
    golden=golden,
    estimate=estimate,
    implementations={"golden": run_golden, "model": run_model},
    stimulus=stimulus,
    peak_macs_per_cycle=lambda c: float(c.peak_macs_per_cycle),
    cost=CostHooks(inputs=cost_inputs),
    cli=CliHooks(describe=cli.describe, description=cli.DESCRIPTION, run_options=cli.run_options,
                 run_extras=cli.run_extras),
    top=top,
    op_kinds=(GemmOp,),
    studies=STUDIES,
    modes=MODES,
    estimate_workload=estimate_workload,
    # small NPU and memory so the contract's GEMMs are cheap
    examples=(dict(npu_arrays=2, npu_rows=4, npu_cols=4, npu_acc_depth=8, pim_channels=2),
              dict(schedule="naive", npu_arrays=1, npu_rows=8, npu_cols=4, npu_dataflow="os", pim_channels=4)),
)
