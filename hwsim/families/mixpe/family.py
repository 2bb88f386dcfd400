"""The MixPE family as the shared engines see it (:class:`~hwsim.families.contract.Family`).

A job is ``{"a": A[M, K] (INT8), "wq": codes[K, N], "scales": [G, N], "zeros": [G, N] or
None}`` with ``G = ceil(K / group_size)``: a K that does not fill its last group is padded
with zero activations and zero codes (they add nothing), as the feeder does. Outputs are
the binary32 results as IEEE bit patterns (``uint32``), so equality is bit for bit.

A job is INT8 (``act_format="int8"``) or binary16 (``"fp16"``: ``A`` as ``float16``).
Fidelities: golden (:func:`~hwsim.families.mixpe.golden.mixpe_gemm`); the cycle-level
model and the Verilator RTL produce the per-group sums ``P`` and ``S`` of the array (INT
shift-and-add, or binary16 exponent-shift and add), to which golden's binary32
dequantisation stage is applied (that stage is not in the RTL yet).
"""

from __future__ import annotations

import numpy as np

import hwsim.families.mixpe as package
from hwsim.families.contract import CliHooks, CostHooks, Family, Result
from hwsim.families.mixpe import cli
from hwsim.families.mixpe.config import MixpeConfig
from hwsim.families.mixpe.cost import mixpe_inputs, pe_array_area
from hwsim.families.mixpe.golden import _dequant_accumulate, _operands, mixpe_gemm
from hwsim.families.mixpe.model import ARRAY_FIELDS, estimate, estimate_arrays
from hwsim.families.mixpe.rtltile import rtl_tile
from hwsim.workloads.ops import GemmOp


def padded_job(cfg: MixpeConfig, job) -> tuple:
    """``(a, wq, s16, z)`` of a job, checked, with K padded to whole groups."""
    from hwsim.families.mixpe.cyclesim import pad_operands

    a, wq = pad_operands(cfg, job["a"], job["wq"])
    return _operands(cfg, a, wq, job["scales"], job.get("zeros"))


def _bits(c: np.ndarray) -> np.ndarray:
    return np.asarray(c, dtype=np.float32).view(np.uint32)


def golden(cfg: MixpeConfig, job) -> np.ndarray:
    from hwsim.families.mixpe.cyclesim import pad_operands

    a, wq = pad_operands(cfg, job["a"], job["wq"])
    return _bits(mixpe_gemm(cfg, a, wq, job["scales"], job.get("zeros")))


def run_golden(cfg, jobs, backpressure=None):
    return [Result(golden(cfg, j)) for j in jobs]


def _dequantised(cfg, job, p, s) -> np.ndarray:
    _, _, s16, z = padded_job(cfg, job)
    if cfg.act_format == "fp16":  # binary16 patterns -> values (exact in binary32)
        p, s = (np.asarray(x).astype(np.uint16).view(np.float16).astype(np.float32) for x in (p, s))
    return _bits(_dequant_accumulate(cfg, p, s, s16, z))


def run_model(cfg, jobs, backpressure=None):
    from hwsim.families.mixpe.cyclesim import simulate_partials

    out = []
    for j in jobs:
        a, wq, _, _ = padded_job(cfg, j)
        p, s, cycles = simulate_partials(cfg, a, wq)
        out.append(Result(_dequantised(cfg, j, p, s), cycles))
    return out


def run_verilator(cfg, jobs, backpressure=None):
    from hwsim.families.mixpe.rtl import run_partials

    ops = [padded_job(cfg, j)[:2] for j in jobs]
    return [Result(_dequantised(cfg, j, r["p"], r["s"]), r["cycles"], r["stall_cycles"])
            for j, r in zip(jobs, run_partials(cfg, ops, backpressure))]


def stimulus(cfg: MixpeConfig, shape, rng: np.random.Generator) -> dict:
    """Activations (INT8 uniform; binary16 normal values scaled by ``2**-20 .. 2**8``, so
    sums round, reach subnormals and cancel), codes over the code range, binary16 scales in
    ``[2**-8, 1)`` and zero points (with ``cfg.zero_point``) for an ``(M, K, N)`` GEMM."""
    m, k, n = shape
    lo, hi = cfg.code_range
    g = -(-k // cfg.group_size)
    if cfg.act_format == "int8":
        a = rng.integers(-128, 128, (m, k), dtype=np.int64)
    else:
        a = (rng.standard_normal((m, k)) * np.exp2(rng.integers(-20, 9, (m, k)))).astype(np.float16)
    return {"a": a,
            "wq": rng.integers(lo, hi + 1, (k, n), dtype=np.int64),
            "scales": rng.uniform(2.0**-8, 1.0, (g, n)).astype(np.float16),
            "zeros": rng.integers(lo, hi + 1, (g, n), dtype=np.int64) if cfg.zero_point else None}


def top(cfg: MixpeConfig):
    from hwsim.families.mixpe.rtl import component, top_name

    return component(cfg), top_name(cfg)


FAMILY = Family(
    name="mixpe",
    summary="MixPE: low-bit weights x INT8/FP16 activations by shift-and-add, group-wise dequantisation",
    package=package,
    config=MixpeConfig,
    golden=golden,
    estimate=estimate,
    estimate_arrays=estimate_arrays,
    array_fields=ARRAY_FIELDS,
    implementations={"golden": run_golden, "model": run_model, "verilator": run_verilator},
    stimulus=stimulus,
    peak_macs_per_cycle=lambda c: float(c.rows * c.cols),
    cost=CostHooks(inputs=mixpe_inputs, pe_array_area=pe_array_area),
    cli=CliHooks(describe=cli.describe, description=cli.DESCRIPTION, export=cli.add_export_parser, synth=cli.add_synth_parser),
    top=top,
    op_kinds=(GemmOp,),
    rtl_tile=rtl_tile,
    # two Verilator builds serve all three (3 x 5 PEs; INT acc 20, and FP16): w_bits and
    # the code kind are run-time inputs, and 4 weight columns + the S column = 5
    # signed-code columns; tests/test_mixpe.py uses the same shapes
    examples=(dict(w_bits=4, zero_point=True, group_size=16, acc_bits=20, rows=3, cols=4),
              dict(w_bits=2, zero_point=False, group_size=16, acc_bits=20, rows=3, cols=5),
              dict(act_format="fp16", w_bits=3, zero_point=True, group_size=16, rows=3, cols=4)),
)
