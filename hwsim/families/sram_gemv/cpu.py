"""CPU baseline: quantised LLM decode on a multicore CPU as llama.cpp and T-MAC run it.

A roofline per weight GEMM (``M`` vectors x a ``K x N`` quantised matrix)::

    t = max(weight bytes / (dram_efficiency x DRAM bandwidth),
            M K N x c / (threads**thread_exponent x f x SIMD pipes))

* weight bytes: ``K N (w_bits + 16 / group) / 8`` -- an FP16 scale per group; llama.cpp's
  ``Q4_0``-style blocks hold 32 weights, T-MAC's GPTQ-style groups 128;
* ``c``, SIMD-pipe cycles per weight per vector: ``c_dequant`` for llama.cpp's path (unpack
  and convert every weight, then multiply-add), ``c_lut_per_bit x w_bits`` for T-MAC's
  (one table lookup per weight bit plane);
* ``thread_exponent`` < 1: threads do not scale perfectly (shared caches, synchronisation);
* the dequantisation cost is inside ``c_dequant`` (the T-MAC comparison is exactly what
  removing it buys).

The four constants are fitted (least squares on log tokens/s, :func:`fit`) to T-MAC's
published Llama-2-7B tokens/s (``docs/profiling_data.md`` of microsoft/T-MAC@7042f8f via
``/work/shared/reference/FAMILIES.md`` section C) and pinned in ``data/cpu_calibration.json``
with every point's error; tests refit and diff. The machines' figures are their vendors'
public specifications (named per :class:`CpuSpec`). Energy per token: core power times
time plus DRAM bytes times the technology table's energy per bit; core power per active
core is T-MAC's measured Jetson AGX Orin llama.cpp CPU power (15.0 W, 12 threads;
FAMILIES.md C), i.e. 1.25 W per core.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from hwsim.errors import ConfigError

CALIBRATION_FILE = "cpu_calibration.json"
#: T-MAC README (FAMILIES.md C): Jetson AGX Orin, llama.cpp on the CPU, 12 threads: 15.0 W.
ORIN_CPU_W, ORIN_THREADS = 15.0, 12
GROUP = {"dequant": 32, "lut": 128}


@dataclass(frozen=True)
class CpuSpec:
    """A CPU: ``cores``, clock ``freq_ghz``, ``simd_pipes`` 128-bit SIMD pipes per core,
    ``dram_gb_s`` peak DRAM bandwidth, and where the figures come from."""

    name: str
    cores: int
    freq_ghz: float
    simd_pipes: int
    dram_gb_s: float
    source: str


CPUS = {
    # Neoverse N1 as in AWS Graviton2: 64 cores at 2.5 GHz, 8 channels of DDR4-3200
    # (AWS Graviton2 product page); 2 x 128-bit ASIMD pipes (Arm Neoverse N1 Software
    # Optimization Guide)
    "neoverse-n1": CpuSpec("Neoverse-N1 (Graviton2)", 64, 2.5, 2, 204.8,
                           "AWS Graviton2 specification; Arm Neoverse N1 Software Optimization Guide"),
    # T-MAC's machines (their tokens/s are in the calibration file)
    "m2-ultra": CpuSpec("Apple M2 Ultra", 24, 3.5, 4, 800.0,
                        "Apple M2 Ultra specification (800 GB/s); 4 x 128-bit NEON pipes per performance core"),
    "agx-orin": CpuSpec("Jetson AGX Orin (12 x Cortex-A78AE)", 12, 2.2, 2, 204.8,
                        "NVIDIA Jetson AGX Orin 64GB data sheet; Arm Cortex-A78AE: 2 x 128-bit ASIMD pipes"),
    "raspberry-pi-5": CpuSpec("Raspberry Pi 5 (4 x Cortex-A76)", 4, 2.4, 2, 17.07,
                              "Raspberry Pi 5 product brief (LPDDR4X-4267, 32-bit); Cortex-A76: 2 x 128-bit pipes"),
    "surface-book-3": CpuSpec("Surface Book 3 (Core i5-1035G7)", 4, 3.7, 4, 59.7,
                              "Intel ARK i5-1035G7 (3.7 GHz turbo, LPDDR4x-3733 128-bit); 2 x 256-bit vector ports"),
}


@dataclass(frozen=True)
class Calibration:
    c_dequant: float
    c_lut_per_bit: float
    dram_efficiency: float
    thread_exponent: float


@lru_cache(maxsize=1)
def _pinned() -> dict:
    text = resources.files("hwsim.families.sram_gemv").joinpath("data", CALIBRATION_FILE).read_text()
    return json.loads(text)


def calibration() -> Calibration:
    return Calibration(**_pinned()["constants"])


def published_points() -> list[dict]:
    """T-MAC's Llama-2-7B tokens/s (device, threads, kernel, w_bits, tokens_per_s)."""
    return list(_pinned()["points"])


@lru_cache(maxsize=64)
def weight_gemms(model: str, batch: int) -> tuple[tuple[int, int, int, int], ...]:
    """``[(m, k, n, count)]``: the weight GEMMs of one decode step of ``model``."""
    from hwsim.workloads.models import load_model

    s = load_model(model)
    d, f, L = s.hidden_size, s.ffn_size, s.num_layers
    ops = [(batch, d, s.q_size, L), (batch, d, s.kv_size, 2 * L), (batch, s.q_size, d, L),
           (batch, d, f, (2 if s.ffn_gated else 1) * L), (batch, f, d, L)]
    if s.has_lm_head:
        ops.append((batch, d, s.vocab_size, 1))
    return tuple(ops)


def weight_bytes(gemms, w_bits: int, group: int) -> float:
    return sum(k * n * c * (w_bits + 16 / group) / 8 for _, k, n, c in gemms)


def token_time_s(cpu: CpuSpec, kernel: str, w_bits: int, gemms, threads: int | None = None,
                 cal: Calibration | None = None) -> float:
    """Seconds of one decode step (all ``gemms``) on ``threads`` cores of ``cpu``."""
    if kernel not in GROUP:
        raise ConfigError("kernel", f"must be one of {', '.join(map(repr, GROUP))}, not {kernel!r}")
    cal = cal or calibration()
    t = cpu.cores if threads is None else threads
    c = cal.c_dequant if kernel == "dequant" else cal.c_lut_per_bit * w_bits
    rate = t ** cal.thread_exponent * cpu.freq_ghz * 1e9 * cpu.simd_pipes / c       # weight-vector products / s
    bw = cal.dram_efficiency * cpu.dram_gb_s * 1e9
    total = 0.0
    for m, k, n, cnt in gemms:
        total += cnt * max(k * n * (w_bits + 16 / GROUP[kernel]) / 8 / bw, m * k * n / rate)
    return total


def tokens_per_s(cpu, kernel, w_bits, model: str, batch: int = 1, threads=None, cal=None) -> float:
    return batch / token_time_s(cpu, kernel, w_bits, weight_gemms(model, batch), threads, cal)


def energy_per_token_j(cpu, kernel, w_bits, model: str, batch: int = 1, dram: str = "lpddr4") -> float:
    """Cores at T-MAC's measured per-core power for the step's time, plus DRAM traffic."""
    from hwsim.cost.tech import load_tech

    g = weight_gemms(model, batch)
    t = token_time_s(cpu, kernel, w_bits, g)
    pj_bit = load_tech(45).dram_energy_per_bit(dram).value
    e = cpu.cores * ORIN_CPU_W / ORIN_THREADS * t + weight_bytes(g, w_bits, GROUP[kernel]) * 8 * pj_bit * 1e-12
    return e / batch


def _loss(cal: Calibration, points) -> float:
    return sum(math.log(tokens_per_s(CPUS[p["device"]], p["kernel"], p["w_bits"], "llama-2-7b", 1,
                                     p["threads"], cal) / p["tokens_per_s"]) ** 2 for p in points)


def fit(points=None, rounds: int = 12) -> Calibration:
    """Least squares on log tokens/s by coordinate search (NumPy-free, deterministic)."""
    points = published_points() if points is None else points
    names = ("c_dequant", "c_lut_per_bit", "dram_efficiency", "thread_exponent")
    bounds = {"c_dequant": (0.01, 10), "c_lut_per_bit": (0.001, 5), "dram_efficiency": (0.05, 1.0),
              "thread_exponent": (0.3, 1.0)}
    x = {"c_dequant": 0.5, "c_lut_per_bit": 0.1, "dram_efficiency": 0.5, "thread_exponent": 0.7}
    step = 0.5
    for _ in range(rounds):
        for nm in names:
            lo, hi = bounds[nm]
            best = (_loss(Calibration(**x), points), x[nm])
            for i in range(-20, 21):
                v = min(hi, max(lo, x[nm] * math.exp(step * i / 20)))
                loss = _loss(Calibration(**{**x, nm: v}), points)
                if loss < best[0] - 1e-15:
                    best = (loss, v)
            x[nm] = best[1]
        step *= 0.6
    return Calibration(**x)


def errors(cal: Calibration | None = None) -> list[dict]:
    """Every published point beside the model's figure."""
    out = []
    for p in published_points():
        ours = tokens_per_s(CPUS[p["device"]], p["kernel"], p["w_bits"], "llama-2-7b", 1, p["threads"], cal)
        out.append({**p, "model_tokens_per_s": ours, "error": ours / p["tokens_per_s"] - 1})
    return out
