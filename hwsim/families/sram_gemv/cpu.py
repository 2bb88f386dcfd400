"""CPU baseline: quantised LLM decode on a multicore CPU as llama.cpp and T-MAC run it.

Per weight GEMM (``M`` vectors x a ``K x N`` matrix stored in a real file format), on
``t`` threads of a :class:`CpuSpec`::

    t_gemm = max(bytes / min(t x core_bw, sustained_bw),            DRAM, per core and whole chip
                 M K N x ops_per_weight / (t x f x simd_pipes))      SIMD issue

summed over the decode step's GEMMs. What each term stands for:

* **bytes**: the weight file as the two programs store it (:data:`FORMATS`): llama.cpp's
  ``Q4_0`` (4.5 bits a weight: 32 codes and an FP16 scale per block) and its ``Q2_K``
  mixture (``Q2_K``, 2.625 bits, for q/k/gate/up; ``Q3_K``, 3.4375 bits, for v/o/down;
  the output matrix ``Q6_K``, 6.5625 bits, as llama.cpp's quantiser of May 2024, build
  b2794, chooses); T-MAC's GPTQ-format ``w{2,4}g128`` checkpoints as its converter stores
  them (a float32 scale per 128 weights, and a float32 zero point for the asymmetric W2:
  ``b + 0.5`` bits at W2, ``b + 0.25`` at W4) with the output matrix left in FP16;
* **core_bw / sustained_bw**: what one core, and all cores together, can stream from DRAM
  (a core keeps only so many misses in flight; big SoCs' CPU clusters cannot draw the
  DRAM's full peak). Cited where a measurement is public, else inferred from T-MAC's
  memory-bound points (marked as such in :data:`CPUS`);
* **ops_per_weight**: 128-bit SIMD instructions per weight and vector of the kernel's
  inner loop, per instruction-set family (``neon``, ``avx2``): llama.cpp's block
  dequantise-and-dot kernels (``q4_0``, the k-quants) and T-MAC's table lookups (one
  ``tbl``/``pshufb`` serves 16/32 weight groups of 4 for one weight bit, so the cost is
  per weight *bit*). These constants are fitted (:func:`fit`, least squares on log
  tokens/s over all 32 published points) and pinned in ``data/cpu_calibration.json``
  with every point's error and its leave-one-out error; the FP16 output matrix of T-MAC's
  files costs :data:`F16_OPS` (counted: convert and multiply-add 8 halves per 2 ops);
* Linux ARM builds: llama.cpp b2794's ``CMakeLists.txt`` passes no ``-mcpu``/``-march`` on
  Linux aarch64 (its ARM branch adds only ``-mfp16-format=ieee``), so GCC's default
  ``armv8-a`` target has no ``sdot`` and ggml's ``ggml_vdotq_s32`` (``ggml-impl.h``) falls
  back to two widening multiplies, two pairwise adds and two adds: :data:`NO_DOTPROD_OPS`
  more instructions per 16 weights (Apple clang targets the M1 and up, which have
  ``sdot``). That T-MAC's Jetson and Raspberry Pi builds used these defaults is our
  assumption (``CpuSpec.dotprod``); the file formats above are b2794's
  ``llama_tensor_get_type`` (checked in its source);
* not modelled: attention over the KV cache (under 2.5 % of the bytes at T-MAC's 128
  generated tokens), norms and synchronisation, frequency changes with load.

The published points are T-MAC's ``docs/profiling_data.md`` (microsoft/T-MAC@7042f8f, MIT):
every Llama-2-7B W2/W4 tokens/s figure of llama.cpp (``Q2_K``/``Q4_0``, kernel
``dequant``) and T-MAC (kernel ``lut``) on its four CPUs at 1 and at n threads.

Energy per token: core power times time plus DRAM bytes times the technology table's
energy per bit; core power per active core is T-MAC's measured Jetson AGX Orin llama.cpp
CPU power (15.0 W, 12 threads; T-MAC README), i.e. 1.25 W per core.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from hwsim.errors import ConfigError

CALIBRATION_FILE = "cpu_calibration.json"
#: T-MAC README: Jetson AGX Orin, llama.cpp on the CPU, 12 threads: 15.0 W.
ORIN_CPU_W, ORIN_THREADS = 15.0, 12
KERNELS = ("dequant", "lut")
#: Extra 128-bit instructions per weight when ``sdot`` is missing: each ``sdot`` (one per
#: 16 int8 products) becomes smull, smull2, saddlp, saddlp, add, add (6 instead of 1).
NO_DOTPROD_OPS = 5 / 16
#: FP16 output matrix (T-MAC's files): per 8 weights one convert pair and one multiply-add
#: pair on 128-bit registers, i.e. 2 ops per 8 weights.
F16_OPS = 0.25


@dataclass(frozen=True)
class CpuSpec:
    """A CPU as the model sees it.

    ``cores`` usable, clock ``freq_ghz`` under load, ``simd_pipes`` 128-bit SIMD
    instructions issued per cycle per core (a 256-bit port counts 2), ``isa`` (``neon`` or
    ``avx2``), ``dotprod`` (the llama.cpp build used ``sdot``), ``dram_gb_s`` the DRAM's
    peak, ``core_bw_gb_s`` what one core streams (``None``: the fitted client-core figure
    :attr:`Calibration.core_bytes_per_cycle` x clock), ``sustained_gb_s`` what all cores
    stream (``None``: the fitted figure of this machine in the calibration file, i.e. at
    the largest thread count T-MAC ran there), and ``source`` of the figures."""

    name: str
    cores: int
    freq_ghz: float
    simd_pipes: int
    isa: str
    dotprod: bool
    dram_gb_s: float
    core_bw_gb_s: float | None
    sustained_gb_s: float | None
    source: str


CPUS = {
    # Neoverse N1 as in AWS Graviton2: 64 cores at 2.5 GHz, 8 channels of DDR4-3200 (AWS
    # Graviton2 page; AnandTech "Amazon's Graviton2 ... against Intel and AMD", 2020: 204 GB/s
    # peak); 2 x 128-bit ASIMD pipes (Arm Neoverse N1 Software Optimization Guide); measured
    # with Arm's ASCT on c6g.16xlarge: one core 20.9 GB/s from DRAM, all cores 169.6 GB/s
    # (all reads) (Arm Learning Paths, "Memory subsystem impact on Arm server performance").
    # The baseline's llama.cpp is built for the N1 (sdot present).
    "neoverse-n1": CpuSpec("Neoverse-N1 (Graviton2)", 64, 2.5, 2, "neon", True, 204.8, 20.9, 169.6,
                           "AWS Graviton2 specification; Arm Neoverse N1 Software Optimization Guide; "
                           "Arm Learning Paths ASCT bandwidth on c6g.16xlarge (20.9 GB/s one core, "
                           "169.6 GB/s all cores)"),
    # T-MAC's machines (their tokens/s are in the calibration file)
    # M2 Ultra: performance cores at 3.49 GHz, 800 GB/s unified memory (Apple); 4 x 128-bit
    # NEON pipes per performance core (the M1's Firestorm core; AnandTech's M1 review); one
    # such core streams about 100 GB/s (AnandTech's M1 Max review), so one core is never
    # bandwidth-bound here. CPU-cluster bandwidth: inferred.
    "m2-ultra": CpuSpec("Apple M2 Ultra", 24, 3.49, 4, "neon", True, 800.0, 100.0, None,
                        "Apple M2 Ultra specification (800 GB/s); 4 x 128-bit NEON pipes per performance "
                        "core (AnandTech M1 review); ~100 GB/s per core (AnandTech M1 Max review)"),
    "agx-orin": CpuSpec("Jetson AGX Orin (12 x Cortex-A78AE)", 12, 2.2, 2, "neon", False, 204.8, None, None,
                        "NVIDIA Jetson AGX Orin 64GB data sheet (12 cores, 2.2 GHz, 204.8 GB/s); "
                        "Arm Cortex-A78: 2 x 128-bit ASIMD pipes"),
    "raspberry-pi-5": CpuSpec("Raspberry Pi 5 (4 x Cortex-A76)", 4, 2.4, 2, "neon", False, 17.07, None, None,
                              "Raspberry Pi 5 product brief (2.4 GHz, LPDDR4X-4267, 32-bit); "
                              "Arm Cortex-A76: 2 x 128-bit ASIMD pipes"),
    # Ice Lake client: vector ALUs on ports 0, 1 and 5 for 256-bit AVX2 (Intel optimization
    # reference manual, Sunny Cove): 6 x 128-bit equivalents
    "surface-book-3": CpuSpec("Surface Book 3 (Core i5-1035G7)", 4, 3.7, 6, "avx2", True, 59.7, None, None,
                              "Intel ARK i5-1035G7 (3.7 GHz turbo, LPDDR4x-3733 128-bit = 59.7 GB/s); "
                              "Sunny Cove: 3 x 256-bit vector ALU ports"),
}


@dataclass(frozen=True)
class Format:
    """A weight file: bits per weight and kernel class per matrix role."""

    name: str
    kernel: str
    bits: dict       # role -> bits per weight stored
    cls: dict        # role -> kernel class: "q4_0", "kquant", "lut", "f16"


_ROLES = ("q", "k", "v", "o", "gate", "up", "down", "lm_head")


def _fmt(name, kernel, per_role: dict) -> Format:
    return Format(name, kernel, {r: per_role[r][0] for r in _ROLES}, {r: per_role[r][1] for r in _ROLES})


Q4_0, Q2_K, Q3_K, Q6_K = (4.5, "q4_0"), (2.625, "kquant"), (3.4375, "kquant"), (6.5625, "kquant")
F16 = (16.0, "f16")
#: Bits per group of 128 weights T-MAC stores beside the codes: its converter
#: (``python/t_mac/weights.py``, ``model_utils.py``) keeps each group's scale, and its zero
#: point when the checkpoint has one, as float32. EfficientQAT's w2g128/w3g128 checkpoints
#: are asymmetric (T-MAC's README: zero points required); the W4 GPTQ checkpoint is taken as
#: symmetric (scale only) -- a choice, the profiling table does not name the file.
_TMAC_GROUP_BITS = {1: 64, 2: 64, 3: 64, 4: 32}
#: (kernel, w_bits) -> the file format the program runs. llama.cpp b2794's mixtures (its
#: ``llama_tensor_get_type``): Q4_0 everywhere but the output matrix (Q6_K); Q2_K with
#: v/o/down in Q3_K; W3 as Q3_K (the "Q3_K_S" choice, output Q6_K). T-MAC: GPTQ w{b}g128
#: with zero points, output FP16.
FORMATS = {
    ("dequant", 4): _fmt("llama.cpp Q4_0", "dequant", {**{r: Q4_0 for r in _ROLES}, "lm_head": Q6_K}),
    ("dequant", 3): _fmt("llama.cpp Q3_K_S", "dequant", {**{r: Q3_K for r in _ROLES}, "lm_head": Q6_K}),
    ("dequant", 2): _fmt("llama.cpp Q2_K", "dequant", {"q": Q2_K, "k": Q2_K, "gate": Q2_K, "up": Q2_K, "v": Q3_K,
                                                       "o": Q3_K, "down": Q3_K, "lm_head": Q6_K}),
    **{("lut", b): _fmt(f"T-MAC w{b}g128", "lut", {**{r: (b + _TMAC_GROUP_BITS[b] / 128, "lut") for r in _ROLES},
                                                   "lm_head": F16})
       for b in (1, 2, 3, 4)},
}

#: The fitted constants (see the module docstring); names in the calibration file.
FIT_NAMES = ("ops_q4_0_neon", "ops_kquant_neon", "ops_lut_bit_neon", "ops_q4_0_avx2", "ops_kquant_avx2",
             "ops_lut_bit_avx2", "core_bytes_per_cycle", "sustained_gb_s_m2_ultra", "sustained_gb_s_agx_orin",
             "sustained_gb_s_raspberry_pi_5", "sustained_gb_s_surface_book_3")


@dataclass(frozen=True)
class Calibration:
    ops_q4_0_neon: float
    ops_kquant_neon: float
    ops_lut_bit_neon: float
    ops_q4_0_avx2: float
    ops_kquant_avx2: float
    ops_lut_bit_avx2: float
    core_bytes_per_cycle: float
    sustained_gb_s_m2_ultra: float
    sustained_gb_s_agx_orin: float
    sustained_gb_s_raspberry_pi_5: float
    sustained_gb_s_surface_book_3: float

    def vector(self) -> np.ndarray:
        return np.array([getattr(self, n) for n in FIT_NAMES], float)


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
def weight_gemms(model: str, batch: int) -> tuple[tuple[str, int, int, int, int], ...]:
    """``[(role, m, k, n, count)]``: the weight GEMMs of one decode step of ``model``."""
    from hwsim.workloads.models import load_model

    s = load_model(model)
    d, f, L = s.hidden_size, s.ffn_size, s.num_layers
    ops = [("q", batch, d, s.q_size, L), ("k", batch, d, s.kv_size, L), ("v", batch, d, s.kv_size, L),
           ("o", batch, s.q_size, d, L), ("up", batch, d, f, L), ("down", batch, f, d, L)]
    if s.ffn_gated:
        ops.append(("gate", batch, d, f, L))
    if s.has_lm_head:
        ops.append(("lm_head", batch, d, s.vocab_size, 1))
    return tuple(ops)


def _format(kernel: str, w_bits: int) -> Format:
    if kernel not in KERNELS:
        raise ConfigError("kernel", f"must be one of {', '.join(map(repr, KERNELS))}, not {kernel!r}")
    fmt = FORMATS.get((kernel, w_bits))
    if fmt is None:
        ok = sorted(b for k, b in FORMATS if k == kernel)
        raise ConfigError("w_bits", f"the {kernel} kernel has no format of {w_bits} bits (has {ok})")
    return fmt


def weight_bytes(gemms, kernel: str, w_bits: int) -> float:
    """Bytes of the weight matrices of ``gemms`` in the program's file format."""
    fmt = _format(kernel, w_bits)
    return sum(k * n * c * fmt.bits[r] / 8 for r, _, k, n, c in gemms)


def _ops_per_weight(cpu: CpuSpec, cls: str, w_bits: int, cal: Calibration) -> float:
    if cls == "f16":
        return F16_OPS
    if cls == "lut":
        return getattr(cal, f"ops_lut_bit_{cpu.isa}") * w_bits
    ops = getattr(cal, f"ops_{cls}_{cpu.isa}")
    return ops + (0.0 if cpu.dotprod or cpu.isa != "neon" else NO_DOTPROD_OPS)


def bandwidth_gb_s(cpu: CpuSpec, threads: int, cal: Calibration | None = None) -> float:
    """DRAM bandwidth ``threads`` cores stream: ``min(threads x per core, all cores)``."""
    cal = cal or calibration()
    core = cpu.core_bw_gb_s if cpu.core_bw_gb_s is not None else cal.core_bytes_per_cycle * cpu.freq_ghz
    whole = cpu.sustained_gb_s
    if whole is None:
        key = next((k for k, v in CPUS.items() if v == cpu), None)
        whole = getattr(cal, "sustained_gb_s_" + key.replace("-", "_"), None) if key else None
        if whole is None:
            raise ConfigError("sustained_gb_s", f"{cpu.name} has neither a measured nor a fitted all-core bandwidth")
    return min(threads * core, whole)


def token_time_s(cpu: CpuSpec, kernel: str, w_bits: int, gemms, threads: int | None = None,
                 cal: Calibration | None = None) -> float:
    """Seconds of one decode step (all ``gemms``) on ``threads`` cores of ``cpu``."""
    fmt = _format(kernel, w_bits)
    cal = cal or calibration()
    t = cpu.cores if threads is None else threads
    if not isinstance(t, int) or not 1 <= t <= cpu.cores:
        raise ConfigError("threads", f"must be an integer in 1..{cpu.cores}, not {t!r}")
    bw = bandwidth_gb_s(cpu, t, cal) * 1e9
    issue = t * cpu.freq_ghz * 1e9 * cpu.simd_pipes
    total = 0.0
    for role, m, k, n, cnt in gemms:
        ops = _ops_per_weight(cpu, fmt.cls[role], w_bits, cal)
        total += cnt * max(k * n * fmt.bits[role] / 8 / bw, m * k * n * ops / issue)
    return total


def tokens_per_s(cpu, kernel, w_bits, model: str, batch: int = 1, threads=None, cal=None) -> float:
    return batch / token_time_s(cpu, kernel, w_bits, weight_gemms(model, batch), threads, cal)


def bound(cpu, kernel, w_bits, model: str, batch: int = 1, threads=None, cal=None) -> str:
    """``"memory"`` or ``"compute"``: what bounds most of the step's time."""
    cal = cal or calibration()
    fmt = _format(kernel, w_bits)
    t = cpu.cores if threads is None else threads
    bw = bandwidth_gb_s(cpu, t, cal) * 1e9
    issue = t * cpu.freq_ghz * 1e9 * cpu.simd_pipes
    mem = comp = 0.0
    for role, m, k, n, cnt in weight_gemms(model, batch):
        a = k * n * fmt.bits[role] / 8 / bw
        b = m * k * n * _ops_per_weight(cpu, fmt.cls[role], w_bits, cal) / issue
        mem += cnt * a * (a >= b)
        comp += cnt * b * (b > a)
    return "memory" if mem >= comp else "compute"


def energy_per_token_j(cpu, kernel, w_bits, model: str, batch: int = 1, dram: str = "lpddr4") -> float:
    """Cores at T-MAC's measured per-core power for the step's time, plus DRAM traffic."""
    from hwsim.cost.tech import load_tech

    g = weight_gemms(model, batch)
    t = token_time_s(cpu, kernel, w_bits, g)
    pj_bit = load_tech(45).dram_energy_per_bit(dram).value
    e = cpu.cores * ORIN_CPU_W / ORIN_THREADS * t + weight_bytes(g, kernel, w_bits) * 8 * pj_bit * 1e-12
    return e / batch


# ------------------------------------------------------------------------------ fit
def _residuals(x: np.ndarray, points) -> np.ndarray:
    cal = Calibration(**dict(zip(FIT_NAMES, np.exp(x))))
    return np.array([math.log(tokens_per_s(CPUS[p["device"]], p["kernel"], p["w_bits"], "llama-2-7b", 1,
                                           p["threads"], cal) / p["tokens_per_s"]) for p in points])


def fit(points=None, iterations: int = 200) -> Calibration:
    """Least squares on log tokens/s (Levenberg-Marquardt in log parameters, numerical
    Jacobian; deterministic). A constant no point depends on keeps its start value."""
    points = published_points() if points is None else points
    x = np.log(np.array([0.8, 1.0, 0.1, 2.0, 2.0, 0.3, 4.0, 120.0, 30.0, 12.0, 30.0]))
    lam = 1e-3
    r = _residuals(x, points)
    cost = float(r @ r)
    for _ in range(iterations):
        jac = np.empty((len(r), len(x)))
        for i in range(len(x)):
            dx = np.zeros_like(x)
            dx[i] = 1e-6
            jac[:, i] = (_residuals(x + dx, points) - r) / 1e-6
        a = jac.T @ jac
        g = jac.T @ r
        step = -np.linalg.solve(a + lam * np.diag(np.diag(a) + 1e-12), g)
        xn = x + step
        rn = _residuals(xn, points)
        cn = float(rn @ rn)
        if cn < cost:
            x, r, cost, lam = xn, rn, cn, lam / 3
            if np.abs(step).max() < 1e-10:
                break
        else:
            lam *= 4
            if lam > 1e10:
                break
    return Calibration(**{n: float(v) for n, v in zip(FIT_NAMES, np.exp(x))})


def errors(cal: Calibration | None = None) -> list[dict]:
    """Every published point beside the model's figure."""
    out = []
    for p in published_points():
        ours = tokens_per_s(CPUS[p["device"]], p["kernel"], p["w_bits"], "llama-2-7b", 1, p["threads"], cal)
        out.append({**p, "model_tokens_per_s": ours, "error": ours / p["tokens_per_s"] - 1})
    return out


def leave_one_out() -> list[float]:
    """Each point's error when the constants are fitted without it (prediction, not fit)."""
    pts = published_points()
    out = []
    for i, p in enumerate(pts):
        cal = fit(pts[:i] + pts[i + 1:])
        ours = tokens_per_s(CPUS[p["device"]], p["kernel"], p["w_bits"], "llama-2-7b", 1, p["threads"], cal)
        out.append(ours / p["tokens_per_s"] - 1)
    return out

