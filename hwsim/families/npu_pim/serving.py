"""Multi-iteration serving: a seeded request stream, continuous batching, growing KV caches.

Requests (prompt and output lengths drawn from a seeded distribution, arrivals all at
time 0 or Poisson at a given rate) wait in arrival order. Each iteration (Orca-style iteration-level scheduling):

1. admit waiting requests while the batch has room and the KV caches of their full
   length (prompt + output, rows per the PIM layout) fit their channel; the channel is
   the schedule's placement (greedy least-loaded for ``neupims``, round-robin otherwise);
2. prefill the admitted prompts on the NPU (closed form: every linear op of the prompt
   tokens plus the prompt's attention, each ``max(compute, transfer)``); a prefill
   produces the request's first output token;
3. one decode step of every other running request, simulated event-driven
   (:func:`hwsim.families.npu_pim.system.simulate_step`, ``layers`` simulated and the rest
   extrapolated); each gets one token and its KV grows by one token;
4. finished requests leave and free their KV rows.

Results: tokens/s, per-token latency (each output token's time since the request's
previous token, or since arrival for the first), mean and p99, NPU and PIM utilisation per
iteration, energy per token by engine and command class.

Length presets (the NeuPIMs evaluation's datasets, as the issue gives them):
``sharegpt`` 80 prompt / 296 output tokens on average, ``alpaca`` 12 / 56. Lengths are
geometric with those means (at least one token), capped so prompt + output fits the
model's context.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hwsim.errors import ConfigError, check_int
from hwsim.families.npu_pim.energy import energy_pj
from hwsim.families.npu_pim.npu import gemm_compute_cycles, transfer_cycles, vector_cycles
from hwsim.families.npu_pim.system import kv_rows, place_balanced, place_round_robin, simulate_step
from hwsim.families.npu_pim.workload import ELEM_BYTES, LN_PASSES, SOFTMAX_PASSES, Shard

#: Mean (prompt, output) tokens of the presets.
LENGTH_PRESETS = {"sharegpt": (80, 296), "alpaca": (12, 56)}


def parse_lengths(text: str) -> tuple[str, float, float]:
    """``sharegpt`` / ``alpaca`` / ``P:O`` (user means) / ``P:O!`` (every request exactly)."""
    if text in LENGTH_PRESETS:
        p, o = LENGTH_PRESETS[text]
        return "mean", p, o
    fixed = text.endswith("!")
    body = text[:-1] if fixed else text
    try:
        p, o = (int(x) for x in body.split(":"))
    except ValueError:
        raise ConfigError("--lengths", f"must be sharegpt, alpaca, P:O (means) or P:O! (exact), not {text!r}") \
            from None
    if p < 1 or o < 1:
        raise ConfigError("--lengths", f"prompt and output must be >= 1, not {text!r}")
    return ("fixed" if fixed else "mean"), p, o


def request_stream(n: int, lengths: str, seed: int, max_tokens: int) -> list[tuple[int, int]]:
    """``n`` (prompt, output) pairs from a seeded generator."""
    check_int("requests", n, 1)
    kind, p, o = parse_lengths(lengths)
    if kind == "fixed":
        if p + o > max_tokens:
            raise ConfigError("--lengths", f"prompt + output must be <= {max_tokens}, not {p + o}")
        return [(int(p), int(o))] * n
    rng = np.random.default_rng(seed)
    ps = rng.geometric(1.0 / p, n)
    os_ = rng.geometric(1.0 / o, n)
    ps = np.minimum(ps, max_tokens // 2)
    os_ = np.minimum(os_, max_tokens - ps)
    return [(int(a), int(b)) for a, b in zip(ps, os_)]


def arrival_times(n: int, rate: float, seed: int) -> list[float]:
    """Poisson arrivals at ``rate`` requests/s from a seeded generator (``rate = 0``: all
    at time 0)."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate < 0 or rate != rate:
        raise ConfigError("rate", f"must be a non-negative number of requests per second, not {rate!r}")
    if rate == 0:
        return [0.0] * n
    rng = np.random.default_rng([seed, 1])
    return np.cumsum(rng.exponential(1.0 / rate, n)).tolist()


@dataclass
class Request:
    idx: int
    prompt: int
    output: int
    arrival_s: float = 0.0
    channel: int = -1
    done_tokens: int = 0
    last_token_s: float = 0.0

    @property
    def context(self) -> int:
        """Tokens the next decode step attends (prompt, generated, and the new one)."""
        return self.prompt + self.done_tokens


@dataclass
class ServingResult:
    requests: int
    tokens: int
    seconds: float
    latencies_s: list = field(repr=False)
    iterations: list = field(repr=False)     # per iteration: dict(t_s, dt_s, batch, npu_util, pim_util)
    energy_pj: dict = field(default_factory=dict)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0

    def summary(self) -> dict:
        lat = np.asarray(self.latencies_s)
        w = np.asarray([it["dt_s"] for it in self.iterations])
        npu = np.asarray([it["npu_util"] for it in self.iterations])
        pim = np.asarray([it["pim_util"] for it in self.iterations])
        total = sum(self.energy_pj.values())
        by_engine: dict = {}
        for k, v in self.energy_pj.items():
            eng = "PIM" if k.startswith("pim:") else "NPU" if k.startswith("npu:") else "NPU DRAM traffic"
            by_engine[eng] = by_engine.get(eng, 0.0) + v
        return {
            "requests": self.requests, "tokens": self.tokens, "seconds": self.seconds,
            "tokens_per_s": self.tokens_per_s,
            "latency_per_token_ms_mean": float(lat.mean() * 1e3) if lat.size else 0.0,
            "latency_per_token_ms_p99": float(np.percentile(lat, 99) * 1e3) if lat.size else 0.0,
            "npu_utilization": float((npu * w).sum() / w.sum()) if w.sum() else 0.0,
            "pim_utilization": float((pim * w).sum() / w.sum()) if w.sum() else 0.0,
            "iterations": len(self.iterations),
            "energy_per_token_uj": total / self.tokens / 1e6 if self.tokens else 0.0,
            "energy_per_token_uj_by_engine": {k: v / self.tokens / 1e6 for k, v in by_engine.items()},
            "energy_per_token_uj_by_class": {k: v / self.tokens / 1e6 for k, v in sorted(self.energy_pj.items())},
        }


def prefill_cycles(cfg, shard: Shard, prompts) -> tuple[int, dict]:
    """Closed-form NPU cycles and action counts of prefilling ``prompts`` (one GEMM per
    linear op over all prompt tokens; per request and head a ``p x d_head x p`` score and
    ``p x p x d_head`` context GEMM; the K and V written to the request's channel)."""
    from hwsim.families.systolic.timing import hardware_cycles

    t_tok = int(sum(prompts))
    C = cfg.pim_channels
    cyc = 0
    macs = 0
    read = write = 0
    for m, k, n in shard.gemms(t_tok).values():
        comp = gemm_compute_cycles(cfg.npu, cfg.npu_arrays, m, k, n)
        r, w = ELEM_BYTES * (k * n + m * k), ELEM_BYTES * m * n
        cyc += max(comp, transfer_cycles(cfg, math.ceil(r / C) + math.ceil(w / C)))
        macs += m * k * n
        read += r
        write += w
    att = 0
    for p in prompts:
        att += int(hardware_cycles(cfg.npu, p, shard.d_head, p) + hardware_cycles(cfg.npu, p, p, shard.d_head))
        macs_p = 2 * p * p * shard.d_head * shard.heads
        macs += macs_p
    cyc += math.ceil(att * shard.heads / cfg.npu_arrays)
    cyc += vector_cycles(cfg, shard.heads * sum(p * p for p in prompts), SOFTMAX_PASSES)
    cyc += vector_cycles(cfg, t_tok * shard.d, 2 * LN_PASSES + 2) + vector_cycles(cfg, t_tok * shard.ffn, 1)
    write += t_tok * 2 * shard.e * ELEM_BYTES
    cyc *= shard.layers
    return cyc, {"macs": macs * shard.layers, "read": read * shard.layers, "write": write * shard.layers}


def serve(cfg, shard: Shard, stream, batch: int, layers: int | None = 4, progress=None,
          arrivals=None) -> ServingResult:
    """Serve ``stream`` (``[(prompt, output), ...]``, arriving at ``arrivals`` seconds, all
    at time 0 by default) with up to ``batch`` running requests. ``layers``: decode layers
    simulated per step (the rest extrapolated; ``None`` simulates all)."""
    from hwsim.families.npu_pim.energy import npu_dram_counts

    check_int("batch", batch, 1)
    hz = cfg.freq_mhz * 1e6
    arrivals = [0.0] * len(stream) if arrivals is None else list(arrivals)
    reqs = [Request(i, p, o, float(a)) for i, ((p, o), a) in enumerate(zip(stream, arrivals))]
    waiting = list(reqs)
    running: list[Request] = []
    C = cfg.pim_channels
    pim = cfg.pim
    row_bytes = pim.banks_per_channel * cfg.pim_page_bytes
    cap_rows = (cfg.capacity_bytes // C - math.ceil(shard.weight_bytes() / C)) // row_bytes
    if cap_rows <= 0:
        raise ConfigError("model", f"the weights of {shard.spec.name} (tp {shard.tp}, pp {shard.pp}) do not fit")
    used = [0] * C
    load = [0] * C
    balanced = cfg.schedule == "neupims" and cfg.load_balance
    rr = 0
    t = 0.0
    lat: list[float] = []
    iters: list[dict] = []
    counts: dict = {}
    tokens = 0

    def add(d):
        for k, v in d.items():
            counts[k] = counts.get(k, 0) + v

    while waiting or running:
        # 1. admission
        admitted = []
        if not running and waiting and waiting[0].arrival_s > t:
            t = waiting[0].arrival_s            # idle until the next request arrives
        while waiting and len(running) + len(admitted) < batch and waiting[0].arrival_s <= t:
            r = waiting[0]
            need = kv_rows(pim, shard, r.prompt + r.output)
            if need > cap_rows:
                raise ConfigError("--lengths", f"request of {r.prompt + r.output} tokens needs {need} KV rows per "
                                  f"bank, more than a channel's {cap_rows}")
            if balanced:
                c = place_balanced([r.prompt + r.output], C, load)[0]
            else:
                c = place_round_robin([0] * (rr + 1), C)[rr]
            if used[c] + need > cap_rows:
                fits = [x for x in range(C) if used[x] + need <= cap_rows]
                if not fits:
                    break
                c = min(fits, key=lambda x: (load[x], x))
            if not balanced:
                rr += 1
            r.channel = c
            used[c] += need
            load[c] += r.prompt + r.output
            admitted.append(waiting.pop(0))
        if not running and not admitted:
            raise ConfigError("batch", "no request fits the KV capacity")
        # 2. prefill of the admitted prompts
        dt = 0
        npu_busy = 0.0
        npu_macs = 0
        pim_busy = 0.0
        if admitted:
            pc, pa = prefill_cycles(cfg, shard, [r.prompt for r in admitted])
            dt += pc
            npu_busy += pc
            npu_macs += pa["macs"]
            add({"npu:mac": pa["macs"]})
            add(npu_dram_counts(cfg, pa["read"], pa["write"]))
        # 3. decode step of the running requests
        if running:
            res = simulate_step(cfg, shard, [r.context + 1 for r in running], [r.channel for r in running],
                                layers=layers if layers is not None and layers < shard.layers else None)
            dt += res.cycles
            npu_macs += res.npu_macs
            pim_busy += res.pim_busy_cycles
            add(res.counts(cfg))
        t_end = t + dt / hz
        for r in admitted:
            lat.append(t_end - r.arrival_s)     # first token: from arrival to the prefill's end
            r.done_tokens = 1
            r.last_token_s = t_end
        for r in running:
            lat.append(t_end - r.last_token_s)
            r.done_tokens += 1
            r.last_token_s = t_end
        n_tok = len(admitted) + len(running)
        tokens += n_tok
        iters.append({"t_s": t_end, "dt_s": dt / hz, "batch": n_tok,
                      "npu_util": npu_macs / (dt * cfg.npu_peak_macs_per_cycle) if dt else 0.0,
                      "pim_util": pim_busy / (dt * C) if dt else 0.0})
        t = t_end
        running = [r for r in running + admitted if r.done_tokens < r.output]
        for r in [r for r in reqs if r.done_tokens >= r.output and r.channel >= 0 and r.channel < C]:
            used[r.channel] -= kv_rows(pim, shard, r.prompt + r.output)
            load[r.channel] -= r.prompt + r.output
            r.channel = C  # released
        if progress is not None:
            progress(len(iters), len(running), len(waiting))
    return ServingResult(len(reqs), tokens, t, lat, iters, energy_pj(cfg, counts))
