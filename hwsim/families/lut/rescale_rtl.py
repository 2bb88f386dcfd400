"""Run group-scaled GEMMs on the LUT tile with output rescale (:class:`ScaledLutTile`).

The feeder (:func:`feed`) pads M and N to tile multiples and cuts K into quantisation
groups of ``group_size`` elements, each padded with zero activations to a multiple of
``tile_k`` (zero activations make a zero table, so padding never changes a partial sum).
Tiles run output-stationary: M tiles, then N tiles, then groups, then the K steps of a
group; the step that ends a group carries ``last``, so the LUT tile emits one partial-sum
block per group, and the scale stream carries one beat of that group's ``tile_n`` column
scales per block, flagged ``last_group`` on the output block's final group.

Timing (:func:`scaled_cycles`): the LUT tile takes ``w_bits`` cycles per K step, one cycle
of table latency and one output register (:func:`hwsim.families.lut.model.lut_cycles`); the
rescale stage accepts each partial block on the cycle it appears (multiply-accumulate is
combinational into the group-sum register) and registers the rounded result, one more
cycle. With streams that never stall, from the first activation handshake to the last
output handshake:

    ``cycles = m_tiles * n_tiles * sum_g ceil(len_g / tile_k) * w_bits + 3``

where ``len_g`` is the K length of group ``g`` (the last group may be short).

:func:`run_jobs` builds the Verilog once per hardware configuration (the weight
precision, weight mode and group size are not part of it) and runs a whole batch of
GEMMs in one Verilator run with the cocotb bench ``hwsim/families/lut/rescale_bench.py``;
:func:`run_jobs_amaranth` runs the same jobs in Amaranth's simulator (no build, slower
per cycle). Both drive the design with :func:`drive_gemm`.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hwsim.families.lut import model
from hwsim.families.lut.config import LutConfig
from hwsim.families.lut.golden import bit_planes, check_operands
from hwsim.errors import ConfigError
from hwsim.families.lut.hdl import MODE_CODES
from hwsim.families.lut.rtl import unpack_blocks
from hwsim.families.lut.rescale import (
    RescaleConfig,
    ScaledLutTile,
    output_bits,
    rescale_config,
)

log = logging.getLogger(__name__)

TOP = "scaled_lut_tile"
#: The cocotb bench; it must be importable in the simulator process.
BENCH_MODULE = "hwsim.families.lut.rescale_bench"
#: Cycles the rescale stage adds after the LUT tile's output register.
RESCALE_LATENCY_CYCLES = 1
#: Stream names of the design, in the order the driver handles them.
INPUT_STREAMS = ("act", "wgt", "scale")


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def group_bounds(k: int, group_size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each quantisation group of a K dimension of ``k``.

    >>> group_bounds(10, 4)
    [(0, 4), (4, 8), (8, 10)]
    """
    return [(g, min(g + group_size, k)) for g in range(0, k, group_size)]


def scaled_steps_per_tile(cfg: LutConfig, k: int, group_size: int) -> int:
    """K steps of one output tile: every group padded to a multiple of ``tile_k``."""
    return sum(_ceil(stop - start, cfg.tile_k) for start, stop in group_bounds(k, group_size))


def scaled_cycles(cfg: LutConfig, m: int, k: int, n: int, group_size: int) -> int:
    """Cycles of one ``M x K x N`` group-scaled GEMM on :class:`ScaledLutTile` when no
    stream stalls (see the module docstring).

    >>> scaled_cycles(LutConfig(w_bits=2, tile_m=2, tile_n=8, tile_k=4), 4, 12, 8, 8)
    15
    """
    for key, v in (("M", m), ("K", k), ("N", n), ("group_size", group_size)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ConfigError(key, f"must be a positive integer, not {v!r}")
    tiles = _ceil(m, cfg.tile_m) * _ceil(n, cfg.tile_n)
    steps = tiles * scaled_steps_per_tile(cfg, k, group_size)
    return (steps * cfg.w_bits * cfg.lookup_passes + model.TABLE_LATENCY_CYCLES
            + model.OUTPUT_LATENCY_CYCLES + RESCALE_LATENCY_CYCLES)


def _pack(values, width: int) -> int:
    """Pack integers (two's complement, ``width`` bits each) with element 0 at the LSB."""
    mask = (1 << width) - 1
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & mask) << (i * width)
    return word


def check_scales(cfg: LutConfig, rcfg: RescaleConfig, k: int, n: int, scales) -> np.ndarray:
    """Validate the ``(groups, N)`` scale matrix of a ``K x N`` weight and return it."""
    scales = np.asarray(scales)
    groups = len(group_bounds(k, rcfg.group_size))
    if scales.shape != (groups, n):
        raise ConfigError("scales", f"shape must be {(groups, n)}, not {scales.shape}")
    if scales.size and not np.issubdtype(scales.dtype, np.integer):
        raise ConfigError("scales", f"must be integers, not {scales.dtype}")
    scales = scales.astype(np.int64)
    lo, hi = -(1 << (rcfg.scale_bits - 1)), (1 << (rcfg.scale_bits - 1)) - 1
    if scales.size and (scales.min() < lo or scales.max() > hi):
        raise ConfigError("scales", f"values [{scales.min()}, {scales.max()}] do not fit {rcfg.scale_bits} bits")
    if groups > rcfg.max_groups:
        raise ConfigError("max_groups", f"K = {k} makes {groups} groups of {rcfg.group_size}, "
                          f"more than max_groups = {rcfg.max_groups}")
    return scales


def feed(cfg: LutConfig, rcfg: RescaleConfig, a, q, scales) -> dict:
    """Stream beats of one group-scaled GEMM ``a (M, K) x codes q (K, N)``.

    Returns ``{"act": [hex], "wgt": [hex], "scale": [hex], "n_out": int, "shape": [M, K, N],
    "w_bits": int, "mode": int}`` with beats in issue order.
    """
    a = np.asarray(a, dtype=np.int64)
    q = np.asarray(q, dtype=np.int64)
    check_operands(cfg, a, q)
    m, k = a.shape
    n = q.shape[1]
    scales = check_scales(cfg, rcfg, k, n, scales)
    tm, tn, tk = cfg.tile_m, cfg.tile_n, cfg.tile_k
    mp, np_ = _ceil(m, tm) * tm, _ceil(n, tn) * tn
    bounds = group_bounds(k, rcfg.group_size)
    a_p = np.zeros((mp, k), dtype=np.int64)
    a_p[:m] = a
    q_p = np.zeros((k, np_), dtype=np.int64)
    q_p[:, :n] = q
    s_p = np.zeros((len(bounds), np_), dtype=np.int64)
    s_p[:, :n] = scales
    data_bits = tm * tk * cfg.a_bits
    scale_bits = tn * rcfg.scale_bits
    acts, wgts, scls = [], [], []
    for mi in range(0, mp, tm):
        for ni in range(0, np_, tn):
            for g, (start, stop) in enumerate(bounds):
                steps = _ceil(stop - start, tk)
                ab = np.zeros((tm, steps * tk), dtype=np.int64)
                ab[:, :stop - start] = a_p[mi:mi + tm, start:stop]
                qb = np.zeros((steps * tk, tn), dtype=np.int64)
                qb[:stop - start] = q_p[start:stop, ni:ni + tn]
                for s in range(steps):
                    ks = slice(s * tk, (s + 1) * tk)
                    last = s == steps - 1
                    acts.append(format(_pack(ab[:, ks].reshape(-1), cfg.a_bits) | (int(last) << data_bits), "x"))
                    # weight element (n, i) of the step goes to bit n * tile_k + i
                    for plane in bit_planes(cfg, qb[ks]):
                        wgts.append(format(_pack(plane.T.reshape(-1), 1), "x"))
                last_group = g == len(bounds) - 1
                scls.append(format(_pack(s_p[g, ni:ni + tn], rcfg.scale_bits)
                                   | (int(last_group) << scale_bits), "x"))
    return {"act": acts, "wgt": wgts, "scale": scls, "n_out": (mp // tm) * (np_ // tn),
            "shape": [m, k, n], "w_bits": cfg.w_bits, "mode": MODE_CODES[cfg.weight_mode]}


def unpack_output(cfg: LutConfig, rcfg: RescaleConfig, beats: list[str], m: int, n: int) -> np.ndarray:
    """Assemble output beats (tile order of :func:`feed`) into ``C[M, N]``."""
    return unpack_blocks(beats, m, n, cfg.tile_m, cfg.tile_n, output_bits(cfg, rcfg))


@dataclass(frozen=True, eq=False)
class ScaledJob:
    """One group-scaled GEMM for the RTL runners.

    Parameters
    ----------
    cfg : LutConfig
        The tile; its ``w_bits`` and ``weight_mode`` are the tile's static inputs.
    rcfg : RescaleConfig
        The rescale stage; its ``group_size`` is the feeder's group size.
    a, q, scales : arrays
        Activations ``(M, K)``, weight codes ``(K, N)`` and fixed-point scales
        ``(ceil(K / group_size), N)``, as for
        :func:`hwsim.families.lut.golden.golden_lut_gemm_scaled`.
    enables : dict of str, optional
        Per-cycle valid/ready enables, strings of "0"/"1" ("1" past their end), under
        ``act_en``, ``wgt_en``, ``scale_en`` (input valids) and ``out_en`` (output ready).
    """

    cfg: LutConfig
    rcfg: RescaleConfig
    a: np.ndarray
    q: np.ndarray
    scales: np.ndarray
    enables: dict = field(default_factory=dict)

    def __post_init__(self):
        unknown = set(self.enables) - {f"{s}_en" for s in INPUT_STREAMS + ("out",)}
        if unknown:
            raise ConfigError("enables", f"unknown streams {sorted(unknown)}")


def hardware_key(cfg: LutConfig, rcfg: RescaleConfig) -> tuple:
    """What shapes the generated design; jobs with equal keys share one build."""
    return (cfg.tile_m, cfg.tile_n, cfg.tile_k, cfg.k_group, cfg.symmetric_table, cfg.table_bits,
            cfg.act_format, cfg.acc_bits, cfg.lookup_units, rcfg.frac_bits, rcfg.scale_bits,
            output_bits(cfg, rcfg), rcfg.max_groups)


def component(cfg: LutConfig, rcfg: RescaleConfig) -> ScaledLutTile:
    return ScaledLutTile(cfg, rcfg.group_size, rcfg.frac_bits, rcfg.scale_bits, rcfg.out_bits, rcfg.max_groups)


def verilog_text(cfg: LutConfig, rcfg: RescaleConfig) -> str:
    """Verilog of the scaled tile; independent of ``w_bits``, ``weight_mode`` and ``group_size``."""
    from hwsim.eda.verilog import convert

    return convert(component(cfg, rcfg), TOP)


def _prepare(jobs) -> tuple[list[ScaledJob], list[dict]]:
    jobs = list(jobs)
    if not jobs:
        raise ConfigError("jobs", "at least one GEMM is needed")
    key = hardware_key(jobs[0].cfg, jobs[0].rcfg)
    beats = []
    for i, j in enumerate(jobs):
        if hardware_key(j.cfg, j.rcfg) != key:
            raise ConfigError("jobs", f"GEMM {i} needs a different design than GEMM 0; run it separately")
        b = feed(j.cfg, j.rcfg, j.a, j.q, j.scales)
        b.update(j.enables)
        beats.append(b)
    return jobs, beats


def _results(jobs: list[ScaledJob], res: list[dict]) -> list[dict]:
    out = []
    for j, r in zip(jobs, res):
        m, n = np.shape(j.a)[0], np.shape(j.q)[1]
        out.append({"c": unpack_output(j.cfg, j.rcfg, r["out"], m, n), "cycles": int(r["cycles"])})
    return out


def run_jobs(jobs, work_dir: str | Path | None = None, bench_module: str = BENCH_MODULE) -> list[dict]:
    """Run a batch of group-scaled GEMMs on the Verilated :class:`ScaledLutTile` in one
    simulator run (one build per :func:`hardware_key`).

    Parameters
    ----------
    jobs : iterable of ScaledJob
        All must share one :func:`hardware_key`; precision, weight mode and group size
        may differ from GEMM to GEMM.
    work_dir : path, optional
        Where the job/result files and the simulator log go (default: a temp folder).

    Returns
    -------
    list of dict with ``c`` (the result matrix) and ``cycles``.
    """
    from hwsim.sim.verilator import build, run

    jobs, beats = _prepare(jobs)
    cfg, rcfg = jobs[0].cfg, jobs[0].rcfg
    name = f"{TOP}_m{cfg.tile_m}n{cfg.tile_n}k{cfg.tile_k}"
    bdir = build(verilog_text(cfg, rcfg), TOP, name)
    log.info("running %d group-scaled GEMMs on %s", len(jobs), bdir.name)
    tmp = None
    if work_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix=f"hwsim-{name}-")
        work_dir = tmp.name
    try:
        res = run(bdir, TOP, bench_module, {"gemms": beats}, Path(work_dir))
    finally:
        if tmp is not None:
            tmp.cleanup()
    return _results(jobs, res["gemms"])


# --- the driver, shared by the cocotb bench and the Amaranth simulation ----------------
def _enabled(pattern: str | None, cycle: int) -> bool:
    return pattern is None or cycle >= len(pattern) or pattern[cycle] == "1"


async def drive_gemm(port, g: dict, max_cycles: int = 1_000_000) -> dict:
    """Drive one GEMM's beats (a :func:`feed` dict) into the design and collect its output.

    ``port`` adapts a simulator: ``set(name, value)`` and ``get(name)`` on the flat port
    names (``act__valid``, ``out__payload``, ...), ``await port.next()`` advances to the
    point where inputs change (the falling edge) and ``await port.settle()`` to where the
    handshakes of that cycle are sampled. Cycles run from the first activation handshake
    to the last output handshake, inclusive.
    """
    port.set("w_bits", g["w_bits"])
    port.set("mode", g["mode"])
    beats = {s: [int(x, 16) for x in g[s]] for s in INPUT_STREAMS}
    pos = dict.fromkeys(INPUT_STREAMS, 0)
    n_out = g["n_out"]
    outs: list[str] = []
    first_in = last_out = None
    cycle = 0
    while len(outs) < n_out:
        await port.next()
        valid = {}
        for s in INPUT_STREAMS:
            left = pos[s] < len(beats[s])
            valid[s] = left and _enabled(g.get(f"{s}_en"), cycle)
            port.set(f"{s}__valid", int(valid[s]))
            port.set(f"{s}__payload", beats[s][pos[s]] if left else 0)
        ready = _enabled(g.get("out_en"), cycle)
        port.set("out__ready", int(ready))
        await port.settle()
        for s in INPUT_STREAMS:
            if valid[s] and port.get(f"{s}__ready"):
                if s == "act" and first_in is None:
                    first_in = cycle
                pos[s] += 1
        if ready and port.get("out__valid"):
            outs.append(format(port.get("out__payload"), "x"))
            last_out = cycle
        cycle += 1
        if cycle >= max_cycles:
            raise AssertionError(f"no progress after {cycle} cycles ({len(outs)}/{n_out} outputs)")
    left = {s: f"{pos[s]}/{len(beats[s])}" for s in INPUT_STREAMS if pos[s] != len(beats[s])}
    if left:
        raise AssertionError(f"beats left over: {left}")
    for s in INPUT_STREAMS:
        port.set(f"{s}__valid", 0)
    port.set("out__ready", 1)
    return {"out": outs, "cycles": last_out - first_in + 1}


class _AmaranthPort:
    def __init__(self, ctx, dut):
        self.ctx = ctx
        self.sigs = {"w_bits": dut.w_bits, "mode": dut.mode, "out__ready": dut.out.ready,
                     "out__valid": dut.out.valid, "out__payload": dut.out.payload}
        for s in INPUT_STREAMS:
            st = getattr(dut, s)
            payload = st.payload.as_value() if hasattr(st.payload, "as_value") else st.payload
            self.sigs.update({f"{s}__valid": st.valid, f"{s}__ready": st.ready, f"{s}__payload": payload})

    def set(self, name: str, value: int) -> None:
        self.ctx.set(self.sigs[name], value)

    def get(self, name: str) -> int:
        return int(self.ctx.get(self.sigs[name]))

    async def next(self) -> None:
        await self.ctx.tick()

    async def settle(self) -> None:
        """Amaranth testbenches read settled combinational values right after ``set``."""


def run_jobs_amaranth(jobs) -> list[dict]:
    """Run the same jobs as :func:`run_jobs` in Amaranth's simulator (no build step)."""
    from amaranth.sim import Simulator

    jobs, beats = _prepare(jobs)
    dut = component(jobs[0].cfg, jobs[0].rcfg)
    results: list[dict] = []

    async def bench(ctx):
        port = _AmaranthPort(ctx, dut)
        for g in beats:
            results.append(await drive_gemm(port, g))
            await ctx.tick().repeat(2)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return _results(jobs, results)


__all__ = [
    "BENCH_MODULE",
    "RESCALE_LATENCY_CYCLES",
    "ScaledJob",
    "component",
    "drive_gemm",
    "feed",
    "group_bounds",
    "hardware_key",
    "rescale_config",
    "run_jobs",
    "run_jobs_amaranth",
    "scaled_cycles",
    "scaled_steps_per_tile",
    "unpack_output",
    "verilog_text",
]
