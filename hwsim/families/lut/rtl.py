"""Run GEMMs on the Verilated LUT / MAC tiles, and export their Verilog.

:func:`feed` is the feeder/sequencer of a tiled GEMM: it pads M, N and K to tile
multiples (zero activations), orders the tiles output-stationary (M tiles, then N tiles,
then K steps, exactly as :mod:`hwsim.families.lut.model` counts them) and packs every stream
beat. :func:`run_jobs` builds the tile once per content hash through
:func:`hwsim.sim.verilator.build`, runs a whole batch of GEMMs in one simulator run with the
cocotb bench ``hwsim/families/lut/bench.py`` and returns each result matrix with its measured
cycles.
"""

from __future__ import annotations

from functools import lru_cache
import logging
import tempfile
from pathlib import Path

import numpy as np

from hwsim.families.lut.config import LutConfig
from hwsim.families.lut.cyclesim import tile_steps
from hwsim.families.lut.golden import bit_planes, check_operands
from hwsim.errors import ConfigError
from hwsim.families.lut.config import MAX_W_BITS
from hwsim.families.lut.hdl import MAC_CODE_BITS, MODE_CODES, LutTile, MacTile, check_config

log = logging.getLogger(__name__)

KINDS = ("lut", "mac")
#: The cocotb bench; it must be importable (under pytest, ``tests/`` is on ``sys.path``).
BENCH_MODULE = "hwsim.families.lut.bench"


def top_name(kind: str) -> str:
    return f"{kind}_tile"


def component(cfg: LutConfig, kind: str):
    """The Amaranth component of one tile (``"lut"`` or ``"mac"``)."""
    if kind not in KINDS:
        raise ConfigError("kind", f"must be one of {', '.join(map(repr, KINDS))}, not {kind!r}")
    if isinstance(cfg, LutConfig) and cfg.act_format == "fp16":
        from hwsim.families.lut.hdl_fp16 import LutFp16Tile, MacFp16Tile

        _check_units(cfg)
        return LutFp16Tile(cfg) if kind == "lut" else MacFp16Tile(cfg)
    check_config(cfg)  # before construction: a half-built Elaboratable warns when collected
    return LutTile(cfg) if kind == "lut" else MacTile(cfg)


def _check_units(cfg: LutConfig) -> None:
    if cfg.lookup_units is not None and cfg.lookup_units != cfg.full_lookup_units:
        raise ConfigError("lookup_units", f"the RTL builds one unit per lookup "
                          f"({cfg.full_lookup_units}), not {cfg.lookup_units}")


@lru_cache(maxsize=64)
def verilog_text(cfg: LutConfig, kind: str) -> str:
    """Verilog of one tile. ``w_bits`` and ``weight_mode`` are run-time inputs, so every
    configuration that differs only in them gives the same text (and Verilator build).
    Memoised per process (a sweep prices many points of one tile)."""
    from hwsim.eda.verilog import convert

    return convert(component(cfg, kind), top_name(kind))


def _pack(values, width: int) -> int:
    """Pack integers (two's complement, ``width`` bits each) with element 0 at the LSB."""
    mask = (1 << width) - 1
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & mask) << (i * width)
    return word


def feed(cfg: LutConfig, kind: str, a, q, scales=None, group_size=None) -> dict:
    """Stream beats of one GEMM ``a (M, K) x codes q (K, N)`` for tile ``kind``
    (FP16 MAC tile: optional binary16 ``scales[ceil(K / group_size), N]`` per weight group,
    see :func:`hwsim.families.lut.golden_fp16.mac_lanes`).

    Returns ``{"act": [hex], "wgt": [hex], "n_out": int}`` with beats in issue order.
    """
    if cfg.act_format == "fp16":
        from hwsim.families.lut.golden_fp16 import _check, mac_lanes
        from hwsim.families.lut.hdl_fp16 import LANE_BITS

        a, q = _check(cfg, a, q)
        if kind == "mac":  # the MAC tile's weight stream carries dequantiser lanes
            q = mac_lanes(cfg, q, scales, group_size)
        elif scales is not None or group_size is not None:
            raise ConfigError("scales", "the LUT tile computes unscaled sums; only the MAC baseline takes "
                              "per-group scales")
        code_bits = LANE_BITS
    else:
        a = np.asarray(a, dtype=np.int64)
        q = np.asarray(q, dtype=np.int64)
        check_operands(cfg, a, q)
        if scales is not None or group_size is not None:
            raise ConfigError("scales", "the integer tiles take no scales (see hwsim.families.lut.rescale)")
        code_bits = MAC_CODE_BITS
    data_bits = cfg.tile_m * cfg.tile_k * cfg.a_bits
    acts, wgts = [], []
    n_out = 0
    for _, _, ab, qb, last in tile_steps(cfg, a, q):
        acts.append(format(_pack(ab.reshape(-1), cfg.a_bits) | (int(last) << data_bits), "x"))
        n_out += int(last)
        # weight element (n, i) of the step goes to field n * tile_k + i
        if kind == "lut":
            for plane in bit_planes(cfg, qb):
                wgts.append(format(_pack(plane.T.reshape(-1), 1), "x"))
        else:
            wgts.append(format(_pack(qb.T.reshape(-1), code_bits), "x"))
    m, k = a.shape
    n = q.shape[1]
    return {"act": acts, "wgt": wgts, "n_out": n_out, "shape": [m, k, n]}


def unpack_blocks(beats: list[str], m: int, n: int, tile_m: int, tile_n: int, width: int) -> np.ndarray:
    """Assemble output beats, one ``tile_m x tile_n`` block of signed ``width``-bit values
    each (element ``r * tile_n + j``), M tiles outer, N tiles inner, into ``C[M, N]``."""
    mp, np_ = -(-m // tile_m) * tile_m, -(-n // tile_n) * tile_n
    n_beats = (mp // tile_m) * (np_ // tile_n)
    if len(beats) != n_beats:
        raise ValueError(f"expected {n_beats} output beats, got {len(beats)}")
    c = np.zeros((mp, np_), dtype=np.int64)
    it = iter(beats)
    mask = (1 << width) - 1
    for mi in range(0, mp, tile_m):
        for ni in range(0, np_, tile_n):
            word = int(next(it), 16)
            for r in range(tile_m):
                for j in range(tile_n):
                    v = (word >> ((r * tile_n + j) * width)) & mask
                    c[mi + r, ni + j] = v - (1 << width) if v >> (width - 1) else v
    return c[:m, :n]


def unpack_output(cfg: LutConfig, beats: list[str], m: int, n: int) -> np.ndarray:
    """Assemble output beats (tile order of :func:`feed`) into ``C[M, N]`` (binary16
    patterns as ``uint16`` for an fp16 tile)."""
    c = unpack_blocks(beats, m, n, cfg.tile_m, cfg.tile_n, cfg.out_bits)
    return c if cfg.is_integer else (c & 0xFFFF).astype(np.uint16)


def _job(cfg: LutConfig, kind: str, gemms, precisions=None, backpressure=None) -> dict:
    """The bench's job: static inputs, back-pressure settings and every GEMM's beats."""
    from dataclasses import replace

    from hwsim.sim.streams import check_backpressure

    if kind not in KINDS:
        raise ConfigError("kind", f"must be one of {', '.join(map(repr, KINDS))}, not {kind!r}")
    bp = check_backpressure(backpressure)
    gemms = list(gemms)
    if precisions is not None and len(precisions) != len(gemms):
        raise ConfigError("precisions", f"needs one (w_bits, weight_mode) per GEMM ({len(gemms)}), "
                          f"not {len(precisions)}")
    jobs = []
    for i, g in enumerate(gemms):
        a, q = g[0], g[1]
        sc = g[3] if len(g) > 3 and g[3] else {}
        c = cfg
        if precisions is not None:
            c = replace(cfg, w_bits=precisions[i][0], weight_mode=precisions[i][1])
        beats = feed(c, kind, a, q, sc.get("scales"), sc.get("group_size"))
        if precisions is not None:  # the bench sets the static inputs before this GEMM
            beats.update(w_bits=c.w_bits, mode=MODE_CODES[c.weight_mode])
        if len(g) > 2 and g[2]:
            beats.update({key: g[2][key] for key in ("act_en", "wgt_en", "out_en") if key in g[2]})
        jobs.append(beats)
    return {"w_bits": cfg.w_bits, "mode": MODE_CODES[cfg.weight_mode], "gemms": jobs,
            "backpressure": dict(bp, seed=1)}


def _results(cfg: LutConfig, job: dict, res: list[dict]) -> list[dict]:
    out = []
    for beats, r in zip(job["gemms"], res):
        m, _, n = beats["shape"]
        out.append({"c": unpack_output(cfg, r["out"], m, n), "cycles": int(r["cycles"]),
                    "stall_cycles": int(r["stalls"])})
    return out


def run_jobs(cfg: LutConfig, kind: str, gemms, work_dir: str | Path | None = None,
             bench_module: str = BENCH_MODULE, precisions=None, backpressure=None) -> list[dict]:
    """Run a batch of GEMMs on the Verilated tile in one simulator run.

    Parameters
    ----------
    cfg : LutConfig
        The design; ``w_bits`` and ``weight_mode`` are applied as the tile's static inputs.
    kind : {"lut", "mac"}
    gemms : iterable of (a, q) or (a, q, patterns) or (a, q, patterns, scales)
        Activations, weight codes, optionally a dict with ``act_en``, ``wgt_en``,
        ``out_en`` strings of "0"/"1" (per-cycle valid/ready enables, "1" past the end),
        and optionally ``{"scales": ..., "group_size": ...}`` (the FP16 MAC tile's group scales).
    work_dir : path, optional
        Where the job/result files and the simulator log go (default: a temp folder).
    precisions : list of (w_bits, weight_mode), optional
        One per GEMM: the run-time inputs the bench sets before it, so GEMMs of every
        precision share one build and one simulator run (default: ``cfg``'s for all).
    backpressure : dict, optional
        ``{"in_gap": p, "out_gap": q}``: the bench withholds input beats and the output's
        ready with these probabilities (seeded) in the GEMMs without enable patterns.

    Returns
    -------
    list of dict with ``c`` (the result matrix), ``cycles`` and ``stall_cycles`` (the cycles
    the tile waited for the bench).
    """
    from hwsim.sim.verilator import build, run

    job = _job(cfg, kind, gemms, precisions, backpressure)
    top = top_name(kind)
    name = f"{top}_m{cfg.tile_m}n{cfg.tile_n}k{cfg.tile_k}" + ("" if cfg.is_integer else "_fp16")
    bdir = build(verilog_text(cfg, kind), top, name)
    tmp = None
    if work_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix=f"hwsim-{name}-")
        work_dir = tmp.name
    try:
        res = run(bdir, top, bench_module, job, Path(work_dir))
    finally:
        if tmp is not None:
            tmp.cleanup()
    return _results(cfg, job, res["gemms"])


def run_amaranth(cfg: LutConfig, kind: str, gemms, precisions=None, backpressure=None) -> list[dict]:
    """:func:`run_jobs` through Amaranth's simulator: the cocotb bench's loop
    (:func:`.bench.run_gemm` on :mod:`hwsim.sim.streams`) with the same seeded gaps."""
    from hwsim.families.lut.bench import gaps, reset, run_gemm
    from hwsim.sim.streams import simulate

    job = _job(cfg, kind, gemms, precisions, backpressure)
    dut = component(cfg, kind)
    res = []

    async def bench(ports):
        policy = gaps(job)
        await reset(ports, job)
        cycle = 0
        for g in job["gemms"]:
            r, cycle = await run_gemm(ports, g, policy, cycle)
            res.append(r)

    simulate(dut, bench)
    return _results(cfg, job, res)


__all__ = ["KINDS", "component", "feed", "run_amaranth", "run_jobs", "unpack_blocks", "unpack_output", "verilog_text"]


# ------------------------------------------------------------------------------ export hooks
def export_base(cfg: LutConfig) -> str:
    """Readable base of the export's name: the tile and its shape."""
    return f"{cfg.core}_tile_m{cfg.tile_m}n{cfg.tile_n}k{cfg.tile_k}"


def run_time_inputs(cfg: LutConfig) -> dict:
    """The tile's static inputs for ``cfg``: weight precision and weight mode."""
    return {"w_bits": cfg.w_bits, "mode": MODE_CODES[cfg.weight_mode]}


def port_doc(cfg: LutConfig):
    """What the exported tile's ports mean (:class:`~hwsim.families.contract.PortDoc`)."""
    from hwsim.families.contract import PortDoc

    M, N, K, ab = cfg.tile_m, cfg.tile_n, cfg.tile_k, cfg.a_bits
    lut = cfg.core == "lut"
    modes = ", ".join(f"{i} {m}" for m, i in MODE_CODES.items())
    fp16 = not cfg.is_integer
    lane = 24 if fp16 else MAC_CODE_BITS
    fmt = "binary16 patterns" if fp16 else f"int{ab}"
    meaning = {
        "act": f"one K step of activations: {M} rows x {K} elements of A ({fmt}) and the block's last flag",
        "wgt": (f"one weight bit plane per beat ({N} x {K} bits)" if lut else
                f"one K step of weight codes ({N} x {K} codes of {MAC_CODE_BITS} bits)" if not fp16 else
                f"one K step of dequantiser lanes ({N} x {K} lanes of 24 bits: code in bits 0..3, zero point "
                "in 4..7, binary16 scale in 8..23)"),
        "out": f"one {M} x {N} block of C per beat",
        "w_bits": f"run-time weight precision, 1..{MAX_W_BITS} (held during a GEMM; the hardware is the same "
                  "for every precision)",
        "mode": f"run-time weight mode: {modes} (how codes map to weight values)",
    }
    beats = {
        "act": f"data element r*{K}+i (row r, K index i) at bits [{ab}*(r*{K}+i)+{ab - 1}:{ab}*(r*{K}+i)]; "
               f"tiles of C in order M tiles (outer), N tiles, then K steps (inner), one beat per K step; "
               "last marks the block's final K step. M, N and K are padded to tile multiples with zeros.",
        "wgt": (f"after each act beat, w_bits beats: bit planes 0 .. w_bits-1 of the step's codes, bit "
                f"n*{K}+i = bit b of the code of W[k0+i, n0+n]." if lut else
                f"one beat per act beat: the {'lane' if fp16 else 'code'} of W[k0+i, n0+n] at bits [{lane}*(n*{K}+i)+"
                f"{lane - 1}:{lane}*(n*{K}+i)]."),
        "out": f"element r*{N}+n = C[m0+r, n0+n] at bits [{cfg.out_bits}*(r*{N}+n)+{cfg.out_bits - 1}:"
               f"{cfg.out_bits}*(r*{N}+n)], " + ("a binary16 pattern" if fp16 else "signed, wrapping")
               + "; one beat per block in act's tile order.",
    }
    rules = ("valid/ready streams: a beat transfers in a cycle where valid and ready are both high; the "
             "tile waits for missing act/wgt beats and holds out__valid until the block is taken. w_bits and "
             "mode must not change while a GEMM is in flight.")
    latency = ("with no back-pressure, first act beat accepted to last out beat accepted: "
               + ("tiles * k_steps * w_bits + 2 cycles" if lut else "tiles * k_steps + 1 cycles")
               + f", tiles = ceil(M/{M}) * ceil(N/{N}), k_steps = ceil(K/{K}); each stalled cycle adds one.")
    return PortDoc(meaning=meaning, beats=beats, rules=rules, latency=latency)


def test_vectors(cfg: LutConfig, jobs):
    """Stream beats of ``jobs`` (``{"a", "q"}``) for ``cfg.core``'s tile; blocks of C from golden."""
    from hwsim.eda.export import pack
    from hwsim.families.contract import TestVectors
    from hwsim.families.lut.family import golden

    acts, wgts, outs = [], [], []
    for job in jobs:
        beats = feed(cfg, cfg.core, job["a"], job["q"], job.get("scales"), job.get("group_size"))
        acts += [int(h, 16) for h in beats["act"]]
        wgts += [int(h, 16) for h in beats["wgt"]]
        c = np.asarray(golden(cfg, job), dtype=np.int64)
        m, n = c.shape
        tm, tn = cfg.tile_m, cfg.tile_n
        cp = np.zeros((-(-m // tm) * tm, -(-n // tn) * tn), dtype=np.int64)
        used = np.zeros(cp.shape, dtype=bool)
        cp[:m, :n], used[:m, :n] = c, True
        ob = cfg.out_bits
        full = (1 << ob) - 1
        for mi in range(0, cp.shape[0], tm):
            for ni in range(0, cp.shape[1], tn):
                blk, u = cp[mi:mi + tm, ni:ni + tn].reshape(-1), used[mi:mi + tm, ni:ni + tn].reshape(-1)
                outs.append((pack(blk, ob), pack([full if x else 0 for x in u], ob)))
    return TestVectors(static=run_time_inputs(cfg), sources={"act": acts, "wgt": wgts}, sinks={"out": outs})
