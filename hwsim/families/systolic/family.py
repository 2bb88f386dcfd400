"""The systolic-array family as the shared engines see it (:class:`~hwsim.families.contract.Family`)."""

from __future__ import annotations

import numpy as np

import hwsim.families.systolic as package
from hwsim.families.contract import CliHooks, CostHooks, Family, Result, RtlHooks
from hwsim.families.systolic import cli
from hwsim.families.systolic.calibration import systolic_calibration
from hwsim.families.systolic.config import SystolicConfig
from hwsim.families.systolic.cost import systolic_inputs
from hwsim.families.systolic.golden import golden_gemm
from hwsim.families.systolic.model import ARRAY_FIELDS, estimate, estimate_arrays
from hwsim.families.systolic.rtltile import rtl_tile
from hwsim.workloads.ops import GemmOp



def _operands(jobs):
    return [(np.asarray(j["a"], np.int64), np.asarray(j["b"], np.int64)) for j in jobs]


def golden(cfg: SystolicConfig, job) -> np.ndarray:
    return golden_gemm(cfg, job["a"], job["b"])


def run_golden(cfg, jobs, backpressure=None):
    return [Result(golden_gemm(cfg, a, b)) for a, b in _operands(jobs)]


def run_model(cfg, jobs, backpressure=None):
    from hwsim.families.systolic.cyclesim import simulate

    return [Result(*simulate(cfg, a, b)) for a, b in _operands(jobs)]


def run_amaranth(cfg, jobs, backpressure=None):
    from hwsim.families.systolic.rtl import run_gemms_amaranth_detailed

    return [Result(r.c, r.cycles, r.stall_cycles)
            for r in run_gemms_amaranth_detailed(cfg, _operands(jobs), backpressure)]


def run_verilator(cfg, jobs, backpressure=None):
    from hwsim.families.systolic.rtl import run_gemms_detailed

    return [Result(r.c, r.cycles, r.stall_cycles)
            for r in run_gemms_detailed(cfg, _operands(jobs), backpressure)]


def synthesised_area(cfg: SystolicConfig):
    """The PE array composed from one synthesised PE, and the periphery from its growth
    fit (:func:`hwsim.families.systolic.cost.synthesised_area`, cached by content hash)."""
    from hwsim.families.systolic.cost import synthesised_area as area

    return area(cfg)


def fp16_operands(rng: np.random.Generator, size) -> np.ndarray:
    """Binary16 bit patterns (int64) that exercise rounding: normal values scaled by
    ``2**-16 .. 2**6`` (sums round, cancel and reach subnormals), one in eight a signed
    zero, one in 64 a subnormal."""
    v = (rng.standard_normal(size) * np.exp2(rng.integers(-16, 7, size))).astype(np.float16).view(np.uint16)
    v = v.astype(np.int64)
    r = rng.random(size)
    v = np.where(r < 1 / 8, (rng.integers(0, 2, size) << 15), v)
    v = np.where((r >= 1 / 8) & (r < 1 / 8 + 1 / 64), rng.integers(1, 1 << 10, size) | (rng.integers(0, 2, size) << 15), v)
    return v


def stimulus(cfg: SystolicConfig, shape, rng: np.random.Generator) -> dict:
    """Uniform operands over the configured widths for an ``(M, K, N)`` GEMM
    (:func:`fp16_operands` for binary16 PEs)."""
    m, k, n = shape
    if cfg.is_fp16:
        return {"a": fp16_operands(rng, (m, k)), "b": fp16_operands(rng, (k, n))}

    def draw(bits, size):
        lo, hi = (-(1 << (bits - 1)), 1 << (bits - 1)) if cfg.signed else (0, 1 << bits)
        return rng.integers(lo, hi, size, dtype=np.int64)

    return {"a": draw(cfg.a_bits, (m, k)), "b": draw(cfg.b_bits, (k, n))}


from hwsim.families.contract import lazy_hooks  # noqa: E402

_rtl_hook = lazy_hooks("hwsim.families.systolic.rtl")


def top(cfg: SystolicConfig):
    from hwsim.families.systolic.hdl import SystolicArray
    from hwsim.families.systolic.rtl import DIM_BITS, top_name

    return SystolicArray(cfg, dim_bits=DIM_BITS), top_name(cfg)


FAMILY = Family(
    name="systolic",
    summary="systolic array of MAC PEs (output / weight / input stationary)",
    package=package,
    config=SystolicConfig,
    golden=golden,
    estimate=estimate,
    estimate_arrays=estimate_arrays,
    array_fields=ARRAY_FIELDS,
    implementations={"golden": run_golden, "model": run_model, "amaranth": run_amaranth,
                     "verilator": run_verilator},
    stimulus=stimulus,
    peak_macs_per_cycle=lambda c: float(c.rows * c.cols),
    cost=CostHooks(inputs=systolic_inputs, calibration=systolic_calibration,
                   synthesised_area=synthesised_area,
                   ignores=("dram_bw_bytes_per_cycle", "mapping", "mapping_objective")),
    cli=CliHooks(describe=cli.describe, description=cli.DESCRIPTION, run_options=cli.add_run_options,
                 run_extras=cli.run_extras),
    top=top,
    rtl=RtlHooks(fields=("rows", "cols", "dataflow", "operand_format", "a_bits", "b_bits", "signed", "acc_bits",
                         "acc_depth"),
                 doc=_rtl_hook("port_doc"), vectors=_rtl_hook("test_vectors"), tb_shapes=((5, 4, 7), (2, 3, 3)),
                 synth_options=cli.add_synth_options, synth_asic=cli.synth_asic),
    op_kinds=(GemmOp,),
    modes=("hardware", "scalesim"),
    rtl_tile=rtl_tile,
    # the same designs as tests/test_systolic_fidelity.py, so their Verilator builds are shared
    examples=(dict(rows=3, cols=5, dataflow="os", a_bits=5, b_bits=3, acc_bits=20, signed=True),
              dict(rows=2, cols=2, dataflow="ws", a_bits=8, b_bits=8, acc_bits=18, signed=False, acc_depth=3),
              # binary16 PEs; tests/test_systolic_fp16.py builds the same design
              dict(rows=2, cols=3, dataflow="os", a_bits=16, b_bits=16, acc_bits=16, operand_format="fp16")),
)
