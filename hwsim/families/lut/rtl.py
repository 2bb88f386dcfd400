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

import json
import logging
import tempfile
from pathlib import Path

import numpy as np

from hwsim.families.lut.config import LutConfig
from hwsim.families.lut.cyclesim import tile_steps
from hwsim.families.lut.golden import bit_planes, check_operands
from hwsim.errors import ConfigError
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
    check_config(cfg)  # before construction: a half-built Elaboratable warns when collected
    return LutTile(cfg) if kind == "lut" else MacTile(cfg)


@lru_cache(maxsize=64)
def verilog_text(cfg: LutConfig, kind: str) -> str:
    """Verilog of one tile. ``w_bits`` and ``weight_mode`` are run-time inputs, so every
    configuration that differs only in them gives the same text (and Verilator build).
    Memoised per process (a sweep prices many points of one tile)."""
    from amaranth.back import verilog

    return verilog.convert(component(cfg, kind), name=top_name(kind), emit_src=False)


def _pack(values, width: int) -> int:
    """Pack integers (two's complement, ``width`` bits each) with element 0 at the LSB."""
    mask = (1 << width) - 1
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & mask) << (i * width)
    return word


def feed(cfg: LutConfig, kind: str, a, q) -> dict:
    """Stream beats of one GEMM ``a (M, K) x codes q (K, N)`` for tile ``kind``.

    Returns ``{"act": [hex], "wgt": [hex], "n_out": int}`` with beats in issue order.
    """
    a = np.asarray(a, dtype=np.int64)
    q = np.asarray(q, dtype=np.int64)
    check_operands(cfg, a, q)
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
            wgts.append(format(_pack(qb.T.reshape(-1), MAC_CODE_BITS), "x"))
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
    """Assemble output beats (tile order of :func:`feed`) into ``C[M, N]``."""
    return unpack_blocks(beats, m, n, cfg.tile_m, cfg.tile_n, cfg.acc_bits)


def run_jobs(cfg: LutConfig, kind: str, gemms, work_dir: str | Path | None = None,
             bench_module: str = BENCH_MODULE) -> list[dict]:
    """Run a batch of GEMMs on the Verilated tile in one simulator run.

    Parameters
    ----------
    cfg : LutConfig
        The design; ``w_bits`` and ``weight_mode`` are applied as the tile's static inputs.
    kind : {"lut", "mac"}
    gemms : iterable of (a, q) or (a, q, patterns)
        Activations, weight codes and optionally a dict with ``act_en``, ``wgt_en``,
        ``out_en`` strings of "0"/"1" (per-cycle valid/ready enables, "1" past the end).
    work_dir : path, optional
        Where the job/result files and the simulator log go (default: a temp folder).

    Returns
    -------
    list of dict with ``c`` (the result matrix) and ``cycles``.
    """
    from hwsim.sim.verilator import build, run

    if kind not in KINDS:
        raise ConfigError("kind", f"must be one of {', '.join(map(repr, KINDS))}, not {kind!r}")
    jobs = []
    for g in gemms:
        a, q = g[0], g[1]
        beats = feed(cfg, kind, a, q)
        if len(g) > 2 and g[2]:
            beats.update({key: g[2][key] for key in ("act_en", "wgt_en", "out_en") if key in g[2]})
        jobs.append(beats)
    top = top_name(kind)
    name = f"{top}_m{cfg.tile_m}n{cfg.tile_n}k{cfg.tile_k}"
    bdir = build(verilog_text(cfg, kind), top, name)
    job = {"w_bits": cfg.w_bits, "mode": MODE_CODES[cfg.weight_mode], "gemms": jobs}
    tmp = None
    if work_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix=f"hwsim-{name}-")
        work_dir = tmp.name
    try:
        res = run(bdir, top, bench_module, job, Path(work_dir))
    finally:
        if tmp is not None:
            tmp.cleanup()
    out = []
    for beats, r in zip(jobs, res["gemms"]):
        m, _, n = beats["shape"]
        out.append({"c": unpack_output(cfg, r["out"], m, n), "cycles": int(r["cycles"])})
    return out


def export_verilog(cfg: LutConfig, out_dir: str | Path, tiles=KINDS) -> list[Path]:
    """Write ``<kind>_tile.v`` for each requested tile and ``lut_config.json`` to ``out_dir``.

    Returns the paths of the Verilog files.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind in tiles:
        p = out_dir / f"{top_name(kind)}.v"
        p.write_text(verilog_text(cfg, kind))
        paths.append(p)
    (out_dir / "lut_config.json").write_text(json.dumps(cfg.to_dict(), indent=2, sort_keys=True) + "\n")
    log.info("wrote %s", ", ".join(map(str, paths)))
    return paths


__all__ = ["KINDS", "component", "export_verilog", "feed", "run_jobs", "unpack_blocks", "unpack_output", "verilog_text"]
