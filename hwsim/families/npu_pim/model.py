"""The system's closed-form estimate of one workload op (the contract's ``estimate``).

The scheduler places an op by what its B operand is: the attention GEMVs against a
request's KV cache (``attn_score``, ``attn_context`` of :mod:`hwsim.workloads.graph`) run
in the PIM banks of the request's channel (on the NPU under ``npu-only``); every other
GEMM (weights) runs on the NPU arrays, its operands streamed from all channels. A whole
decode step with its schedule is :func:`hwsim.families.npu_pim.system.estimate_step`.
"""

from __future__ import annotations

import math

from hwsim.errors import ConfigError
from hwsim.families.base import Perf
from hwsim.families.contract import exact_utilization
from hwsim.families.npu_pim import attention as att
from hwsim.families.npu_pim.npu import transfer_cycles
from hwsim.families.npu_pim.system import gemm_closed
from hwsim.families.npu_pim.workload import ELEM_BYTES
from hwsim.memory.pim import COMMANDS

#: Workload op names whose B operand is a request's KV cache.
ATTENTION_OPS = ("attn_score", "attn_context")


def _pim_attention(cfg, op) -> Perf:
    """``count`` single-head GEMVs spread over the channels (one request's per channel)."""
    if op.m != 1:
        raise ConfigError("workloads", f"{op.name}: PIM attention takes one query row per head, not {op.m}")
    pim = cfg.pim
    if op.name == "attn_score":
        seq, dh = op.n, op.k
        one = att.score_closed(pim, seq, 1, dh)
        prog = att.score_program(pim, seq, 1, dh)
    else:
        seq, dh = op.k, op.n
        one = att.context_closed(pim, seq, 1, dh)
        prog = att.context_program(pim, seq, 1, dh)
    counts = dict.fromkeys(COMMANDS, 0)
    for kind, _, _ in prog:
        counts[kind] += 1
    per_ch = math.ceil(op.count / cfg.pim_channels)
    cycles = math.ceil(per_ch * one * cfg.pim_cycle_ratio)
    macs = op.macs * op.count
    return Perf(cycles=cycles, macs=macs, utilization=exact_utilization(macs, cycles, cfg.peak_macs_per_cycle),
                actions={f"dram_cmd:{c}": v * op.count for c, v in counts.items()},
                compute_cycles=cycles, mode="default")


def estimate(cfg, op, mode: str = "default") -> Perf:
    """Closed-form :class:`~hwsim.families.base.Perf` of ``op`` (``count`` repeats, back to back)."""
    if mode != "default":
        raise ConfigError("mode", f"must be 'default', not {mode!r}")
    if op.name in ATTENTION_OPS and cfg.schedule != "npu-only":
        return _pim_attention(cfg, op)
    m, k, n = int(op.m), int(op.k), int(op.n)
    if op.name in ATTENTION_OPS:
        # npu-only: each GEMV's K or V read at the external bandwidth, heads over the arrays
        from hwsim.families.systolic.timing import hardware_cycles

        comp = math.ceil(op.count * int(hardware_cycles(cfg.npu, m, k, n)) / cfg.npu_arrays)
        mem = transfer_cycles(cfg, math.ceil(op.count * k * n * ELEM_BYTES / cfg.pim_channels))
        cycles = max(comp, mem)
        read = op.count * k * n * ELEM_BYTES
        write = 0
    else:
        cycles = gemm_closed(cfg, m, k, n) * op.count
        read = op.count * ELEM_BYTES * (k * n + m * k)
        write = op.count * ELEM_BYTES * m * n
    macs = op.macs * op.count
    return Perf(cycles=cycles, macs=macs, utilization=exact_utilization(macs, cycles, cfg.peak_macs_per_cycle),
                dram_bytes={"read": read, "write": write},
                actions={"mac": macs, "dram_read_bytes": read, "dram_write_bytes": write},
                compute_cycles=cycles, stall_cycles=0, mode="default")
