"""The MixPE family as the shared engines see it (:class:`~hwsim.families.contract.Family`).

A job is ``{"a": A[M, K] (INT8), "wq": codes[K, N], "scales": [G, N], "zeros": [G, N] or
None}`` with ``G = ceil(K / group_size)``: a K that does not fill its last group is padded
with zero activations and zero codes (they add nothing), as the feeder does. Outputs are
the binary32 results as IEEE bit patterns (``uint32``), so equality is bit for bit.

A job is INT8 (``act_format="int8"``) or binary16 (``"fp16"``: ``A`` as ``float16``).
Fidelities: golden (:func:`~hwsim.families.mixpe.golden.mixpe_gemm`); the cycle-level
model and the Verilator RTL produce the per-group sums ``P`` and ``S`` of the array (INT
shift-and-add, or binary16 exponent-shift and add). The model applies golden's binary32
dequantisation stage to them; the Verilator fidelity runs the RTL stage
(:mod:`hwsim.families.mixpe.dequant_rtl`, Verilated on its own) on the sums the
Verilated array drained. The dequantise-then-MAC baseline
(``datapath="dequant_mac"``) produces binary16 results in every fidelity, reported as
their (exact) binary32 patterns.
"""

from __future__ import annotations

import numpy as np

import hwsim.families.mixpe as package
from hwsim.families.contract import CliHooks, CostHooks, Family, Result, RtlHooks
from hwsim.families.mixpe import cli
from hwsim.families.mixpe.config import MixpeConfig
from hwsim.families.mixpe.cost import mixpe_inputs, pe_array_area
from hwsim.families.mixpe.golden import _dequant_accumulate, _operands, mixpe_gemm
from hwsim.families.mixpe.iso_area import iso_area_items
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


def _f16_to_f32_bits(c16) -> np.ndarray:
    return _bits(np.asarray(c16).astype(np.uint16).view(np.float16).astype(np.float32))


def dequant_mac_operands(cfg: MixpeConfig, job) -> tuple:
    """``(A patterns, packed lanes)`` of a job for the dequantise-then-MAC array."""
    from hwsim.families.mixpe.timing import pack_dequant_lanes

    a, wq, s16, z = padded_job(cfg, job)
    return a, pack_dequant_lanes(cfg, wq, s16, z)


def run_model(cfg, jobs, backpressure=None):
    from hwsim.families.mixpe.cyclesim import simulate_dequant_mac, simulate_partials

    out = []
    if cfg.datapath == "dequant_mac":
        for j in jobs:
            c, cycles = simulate_dequant_mac(cfg, *dequant_mac_operands(cfg, j))
            out.append(Result(_f16_to_f32_bits(c), cycles))
        return out
    for j in jobs:
        a, wq, _, _ = padded_job(cfg, j)
        p, s, cycles = simulate_partials(cfg, a, wq)
        out.append(Result(_dequantised(cfg, j, p, s), cycles))
    return out


def run_verilator(cfg, jobs, backpressure=None):
    from hwsim.families.mixpe.rtl import run_partials

    if cfg.datapath == "dequant_mac":
        ops = [dequant_mac_operands(cfg, j) for j in jobs]
        return [Result(_f16_to_f32_bits(r["p"]), r["cycles"], r["stall_cycles"])
                for r in run_partials(cfg, ops, backpressure)]
    from hwsim.families.mixpe.dequant_rtl import run_stage

    padded = [padded_job(cfg, j) for j in jobs]
    out = []
    for (_, _, s16, z), r in zip(padded, run_partials(cfg, [p[:2] for p in padded], backpressure)):
        c = run_stage(cfg, r["p"], r["s"], s16, z)  # the Verilated binary32 dequantisation stage
        out.append(Result(c.view(np.uint32), r["cycles"], r["stall_cycles"]))
    return out


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


from hwsim.families.contract import lazy_hooks  # noqa: E402

_rtl_hook = lazy_hooks("hwsim.families.mixpe.rtl")


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
    cost=CostHooks(inputs=mixpe_inputs, pe_array_area=pe_array_area,
                   ignores=("dram_bw_bytes_per_cycle", "mapping", "mapping_objective")),
    cli=CliHooks(describe=cli.describe, description=cli.DESCRIPTION),
    top=top,
    # weight bits and the code kind are run-time inputs; the group size is the feeder's
    rtl=RtlHooks(fields=("datapath", "dataflow", "act_format", "rows", "cols", "zero_point", "acc_bits"),
                 doc=_rtl_hook("port_doc"), vectors=_rtl_hook("test_vectors"), tb_shapes=((4, 20, 6), (2, 16, 3)),
                 run_time_inputs=_rtl_hook("static_inputs"), synth_asic=cli.synth_asic),
    op_kinds=(GemmOp,),
    studies={"iso_area": iso_area_items},
    rtl_tile=rtl_tile,
    # two Verilator builds serve all three (3 x 5 PEs; INT acc 20, and FP16): w_bits and
    # the code kind are run-time inputs, and 4 weight columns + the S column = 5
    # signed-code columns; tests/test_mixpe.py uses the same shapes
    examples=(dict(w_bits=4, zero_point=True, group_size=16, acc_bits=20, rows=3, cols=4),
              dict(w_bits=2, zero_point=False, group_size=16, acc_bits=20, rows=3, cols=5),
              dict(act_format="fp16", w_bits=3, zero_point=True, group_size=16, rows=3, cols=4),
              # the dequantise-then-MAC baseline (the systolic binary16 array behind dequantisers)
              dict(act_format="fp16", datapath="dequant_mac", w_bits=4, zero_point=True, group_size=16,
                   rows=2, cols=3)),
)
