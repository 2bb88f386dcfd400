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


def _pim_attention(cfg, op, mode) -> Perf:
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
                compute_cycles=cycles, mode=mode)


def estimate(cfg, op, mode: str = "closed") -> Perf:
    """Closed-form :class:`~hwsim.families.base.Perf` of ``op`` (``count`` repeats, back to back)."""
    if mode not in MODES:
        raise ConfigError("mode", f"must be one of {', '.join(map(repr, MODES))}, not {mode!r}")
    if op.name in ATTENTION_OPS and cfg.schedule != "npu-only":
        return _pim_attention(cfg, op, mode)
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
                compute_cycles=cycles, stall_cycles=0, mode=mode)


#: Timing modes: the closed form, or the event-driven system (four layers simulated, the
#: rest extrapolated from the steady period) for whole decode steps.
MODES = ("closed", "event")
#: Layers the event mode simulates per decode step.
EVENT_LAYERS = 4


def decode_shape(workload):
    """``(shard, contexts)`` of a model decode workload the scheduler runs (``None`` for any
    other: those are estimated op by op). The scheduler's layer is GPT-style (LN, QKV,
    attention, projection, two-matrix FFN), so models with a gated FFN or grouped-query
    attention are estimated op by op."""
    from hwsim.families.npu_pim.workload import Shard
    from hwsim.workloads.models import load_model

    if workload.model is None or workload.phase != "decode" or not workload.batch:
        return None
    spec = load_model(workload.model)
    if spec.ffn_gated or spec.num_kv_heads != spec.num_heads or spec.architecture != "decoder":
        return None
    score = [op for op in workload.ops if op.name == "attn_score"]
    if not score:
        return None
    return Shard.of(workload.model), [int(score[0].n)] * int(workload.batch)


def shard_of(cfg, workload):
    """The device's shard of a model decode workload under the config's ``parallelism``."""
    from hwsim.families.npu_pim.workload import Shard

    shard, _ = decode_shape(workload)
    return Shard(shard.spec, 1, 1) if cfg.parallelism == "none" else shard


def estimate_workload(cfg, workload, mode: str = "closed") -> Perf | None:
    """A model decode step timed by the scheduler (``None`` for other workloads, whose ops
    are then estimated one by one).

    The step runs on one device with the config's ``parallelism`` (NeuPIMs' tp/pp or the
    whole model), so MACs and traffic are the device's. Actions: ``mac`` (NPU),
    ``dram_read_bytes`` / ``dram_write_bytes`` (NPU traffic), ``dram_cmd:<command>`` (PIM).
    """
    from hwsim.families.npu_pim.system import estimate_step, simulate_step

    if mode not in MODES:
        raise ConfigError("mode", f"must be one of {', '.join(map(repr, MODES))}, not {mode!r}")
    shape = decode_shape(workload)
    if shape is None:
        return None
    _, seqs = shape
    shard = shard_of(cfg, workload)
    # counts come from the event-driven run (exact per op); the closed form times it
    r = simulate_step(cfg, shard, seqs, layers=EVENT_LAYERS if shard.layers > EVENT_LAYERS else None)
    cycles = r.cycles if mode == "event" else estimate_step(cfg, shard, seqs)
    macs = r.npu_macs + r.pim_macs
    actions = {"mac": r.npu_macs, "dram_read_bytes": r.npu_read_bytes, "dram_write_bytes": r.npu_write_bytes}
    actions.update({f"dram_cmd:{c}": v for c, v in r.pim_commands.items()})
    return Perf(cycles=cycles, macs=macs, utilization=exact_utilization(macs, cycles, cfg.peak_macs_per_cycle),
                dram_bytes={"read": r.npu_read_bytes, "write": r.npu_write_bytes}, actions=actions,
                compute_cycles=cycles, mode=mode)
