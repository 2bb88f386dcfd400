"""What ``hwsim run npu-pim`` computes, as plain dicts (the CLI only parses and prints).

* :func:`decode_report` -- one decode step of ``batch`` requests, event-driven and closed
  form, throughput, utilisations, energy by class, and the GPU roofline beside it;
* :func:`serving_report` -- a serving run (:mod:`.serving`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from hwsim.errors import ConfigError, check_int
from hwsim.families.npu_pim import gpu
from hwsim.families.npu_pim.energy import energy_pj
from hwsim.families.npu_pim.system import check_capacity, estimate_step, placement, simulate_step
from hwsim.families.npu_pim.workload import Shard


def contexts(batch: int, context: int | None, spread: bool, seed: int, max_tokens: int) -> list[int]:
    """Per-request context lengths: all ``context``, or (``spread``) uniform in
    ``[1, 2 context - 1]`` from a seeded generator (mean ``context``)."""
    check_int("batch", batch, 1)
    check_int("context", context, 1, max_tokens)
    if not spread:
        return [int(context)] * batch
    rng = np.random.default_rng(seed)
    hi = min(2 * context - 1, max_tokens)
    return rng.integers(1, hi + 1, batch).tolist()


def decode_report(cfg, shard: Shard, seqs, fidelity: str = "event", layers: int | None = None) -> dict:
    """One decode step under ``cfg.schedule`` (see the module docstring)."""
    if fidelity not in ("event", "model"):
        raise ConfigError("--fidelity", f"must be one of 'event', 'model', not {fidelity!r}")
    chans = placement(cfg, seqs)
    check_capacity(cfg, shard, seqs, chans)
    hz = cfg.freq_mhz * 1e6
    closed = estimate_step(cfg, shard, seqs, chans)
    out = {"schedule": cfg.schedule, "shard": shard.to_dict(), "batch": len(seqs),
           "mean_context": float(np.mean(seqs)), "closed_form_cycles": closed}
    if fidelity == "event":
        r = simulate_step(cfg, shard, seqs, chans, layers=layers)
        e = energy_pj(cfg, r.counts(cfg))
        out.update(cycles=r.cycles, layers_simulated=r.layers_simulated,
                   closed_form_error=closed / r.cycles - 1,
                   npu_utilization=r.npu_utilization(cfg), pim_utilization=r.pim_utilization(cfg),
                   pim_commands=r.pim_commands, row_buffer_switches=r.switches,
                   energy_pj_by_class=e, energy_per_token_uj=sum(e.values()) / len(seqs) / 1e6)
    else:
        out.update(cycles=closed)
    out["step_ms"] = out["cycles"] / hz * 1e3
    out["tokens_per_s"] = len(seqs) * hz / out["cycles"]
    g = gpu.step_seconds(shard, seqs)
    out["gpu_roofline"] = {"step_ms": g * 1e3, "tokens_per_s": len(seqs) / g, "source": gpu.GPU_SOURCE}
    out["speedup_vs_gpu"] = out["tokens_per_s"] / out["gpu_roofline"]["tokens_per_s"]
    return out


def compare_report(cfg, shard: Shard, seqs, fidelity: str = "event", layers: int | None = None) -> dict:
    """:func:`decode_report` of every schedule on the same requests, with the ratios."""
    from hwsim.families.npu_pim.config import SCHEDULES

    res = {s: decode_report(dataclasses.replace(cfg, schedule=s), shard, seqs, fidelity, layers)
           for s in SCHEDULES}
    tps = {s: r["tokens_per_s"] for s, r in res.items()}
    gpu_tps = res["neupims"]["gpu_roofline"]["tokens_per_s"]
    return {"schedules": res, "ratios": {
        "neupims_vs_npu_only": tps["neupims"] / tps["npu-only"],
        "neupims_vs_naive": tps["neupims"] / tps["naive"],
        "neupims_vs_gpu": tps["neupims"] / gpu_tps}}


def serving_report(cfg, shard: Shard, requests: int, lengths: str, batch: int, seed: int,
                   layers: int | None = 4, rate: float = 0.0) -> dict:
    from hwsim.families.npu_pim.serving import arrival_times, request_stream, serve

    stream = request_stream(requests, lengths, seed, shard.spec.max_position)
    r = serve(cfg, shard, stream, batch, layers=layers, arrivals=arrival_times(requests, rate, seed))
    d = r.summary()
    d.update(schedule=cfg.schedule, shard=shard.to_dict(), batch=batch, lengths=lengths, seed=seed, rate=rate,
             timeline=[{k: round(v, 6) if isinstance(v, float) else v for k, v in it.items()}
                       for it in r.iterations])
    return d
