"""Run GEMMs on the Verilated systolic-array RTL, and export its Verilog.

:func:`run_gemms` converts :class:`hwsim.families.systolic.hdl.SystolicArray` to Verilog, builds
it once per configuration with :func:`hwsim.sim.verilator.build` (cached by content hash under
``~/.cache/hwsim/verilator``) and runs every GEMM of a job in one cocotb simulation of
``hwsim/families/systolic/bench.py``. Cycle counts follow the definition in
:mod:`hwsim.families.systolic.timing`: from the cycle the first operand beat is accepted to
the cycle the last result beat is accepted, both included.

Example (needs Verilator and a source checkout; a cold build takes ~20 s)::

    cfg = SystolicConfig(rows=2, cols=2, dataflow="os")
    [(c, cycles)] = run_gemms(cfg, [(np.eye(3, dtype=int), np.ones((3, 2), int))])
    assert cycles == hardware_cycles(cfg, 3, 3, 2)
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwsim.families.systolic.config import SystolicConfig
from hwsim.families.systolic.golden import check_operands
from hwsim.families.systolic.timing import assemble_output
from hwsim.errors import ConfigError
from hwsim.sim.streams import check_backpressure

log = logging.getLogger(__name__)

__all__ = ["RtlRun", "run_gemms", "run_gemms_amaranth", "run_gemms_amaranth_detailed", "run_gemms_detailed", "top_name", "verilog_text"]

DIM_BITS = 16
BENCH_MODULE = "hwsim.families.systolic.bench"


def top_name(cfg: SystolicConfig) -> str:
    """Verilog module name of the array, e.g. ``systolic_ws_4x4`` (``systolic_fp16_ws_4x4``
    for binary16 PEs)."""
    fmt = "fp16_" if cfg.is_fp16 else ""
    return f"systolic_{fmt}{cfg.dataflow}_{cfg.rows}x{cfg.cols}"


def verilog_text(cfg: SystolicConfig, dim_bits: int = DIM_BITS) -> str:
    """The Verilog of :class:`~hwsim.families.systolic.hdl.SystolicArray` for ``cfg``."""
    from hwsim.eda.verilog import convert
    from hwsim.families.systolic.hdl import SystolicArray

    return convert(SystolicArray(cfg, dim_bits=dim_bits), top_name(cfg))


@dataclass(frozen=True)
class RtlRun:
    """What the bench measured for one GEMM.

    Attributes
    ----------
    c : ndarray
        The result matrix read from the RTL.
    cycles : int
        First operand beat accepted to last result beat accepted, inclusive.
    stall_cycles : int
        Cycles in that window in which the array was stalled by back-pressure.
    """

    c: np.ndarray
    cycles: int
    stall_cycles: int


def run_gemms_detailed(cfg: SystolicConfig, jobs, backpressure=None, seed: int = 0,
                       work_dir=None) -> list[RtlRun]:
    """Like :func:`run_gemms`, returning :class:`RtlRun` records (with stall cycles)."""
    from hwsim.sim.verilator import build, run

    bp = check_backpressure(backpressure)
    gemms = []
    for idx, (a, b) in enumerate(jobs):
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        check_operands(cfg, a, b)
        for key, v in zip("mkn", (a.shape[0], a.shape[1], b.shape[1])):
            if not 1 <= v < (1 << DIM_BITS):
                raise ConfigError(key, f"must be in 1..{(1 << DIM_BITS) - 1} for the RTL, not {v} (GEMM {idx})")
        gemms.append((a, b))
    if not gemms:
        return []
    top = top_name(cfg)
    bdir = build(verilog_text(cfg), top, top)
    job = {
        "config": cfg.to_dict(),
        "dim_bits": DIM_BITS,
        "backpressure": {**bp, "seed": int(seed)},
        "gemms": [{"a": a.tolist(), "b": b.tolist()} for a, b in gemms],
    }
    with contextlib.ExitStack() as stack:
        if work_dir is None:
            work_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix=f"hwsim-{top}-"))
        res = run(bdir, top, BENCH_MODULE, job, Path(work_dir))
    out = []
    for (a, b), r in zip(gemms, res["gemms"]):
        m, k = a.shape
        n = b.shape[1]
        c = assemble_output(cfg, m, k, n, np.array(r["beats"], dtype=np.int64))
        out.append(RtlRun(c=c, cycles=int(r["cycles"]), stall_cycles=int(r["stall_cycles"])))
    return out


def run_gemms(cfg: SystolicConfig, jobs, backpressure=None, seed: int = 0) -> list[tuple[np.ndarray, int]]:
    """Run GEMMs on the Verilated RTL of ``cfg`` in one simulation.

    Parameters
    ----------
    cfg : SystolicConfig
    jobs : iterable of (A, B)
        Integer operand matrices within the configured widths.
    backpressure : dict, optional
        ``{"in_gap": p, "out_gap": q}``: probability that the feeder leaves a cycle
        without an operand beat / the sink refuses a result beat.
    seed : int
        Seed of the bench's back-pressure generator.

    Returns
    -------
    list of (C, cycles)
        ``C`` read from the RTL; ``cycles`` measured as documented in
        :mod:`hwsim.families.systolic.timing` (including stalled cycles, if any).
    """
    return [(r.c, r.cycles) for r in run_gemms_detailed(cfg, jobs, backpressure, seed)]


def run_gemms_amaranth_detailed(cfg: SystolicConfig, jobs, backpressure=None, seed: int = 0) -> list[RtlRun]:
    """Run GEMMs on :class:`~hwsim.families.systolic.hdl.SystolicArray` under ``amaranth.sim``.

    The cocotb bench's stream loop (:mod:`hwsim.families.systolic.bench` on
    :mod:`hwsim.sim.streams`) with Amaranth's simulator in place of Verilator: the same
    beats, back-pressure policy, cycle and stall measurement. No Verilator build is needed,
    but simulation is 10-50x slower per cycle; meant for small arrays and for machines
    without a C++ compiler.
    """
    from hwsim.families.systolic.bench import beat_words, cmd_word, run_gemm
    from hwsim.families.systolic.hdl import SystolicArray
    from hwsim.families.systolic.timing import operand_beats, result_beat_count
    from hwsim.sim.streams import backpressure_gaps, simulate

    bp = check_backpressure(backpressure)
    gemms = []
    for a, b in jobs:
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        check_operands(cfg, a, b)
        gemms.append((a, b))
    dut = SystolicArray(cfg, dim_bits=DIM_BITS)
    rng = np.random.default_rng(int(seed))
    in_gaps, out_gaps = backpressure_gaps(bp, rng)
    out = []

    async def bench(ports):
        cycle = 0
        for a, b in gemms:
            (m, k), n = a.shape, b.shape[1]
            west, north = operand_beats(cfg, a, b)
            res, cycle = await run_gemm(ports, cfg, beat_words(cfg, west, north), cmd_word(m, k, n, DIM_BITS),
                                        result_beat_count(cfg, m, k, n), in_gaps, out_gaps, cycle)
            c = assemble_output(cfg, m, k, n, np.array(res["beats"], dtype=np.int64))
            out.append(RtlRun(c=c, cycles=res["cycles"], stall_cycles=res["stall_cycles"]))

    simulate(dut, bench)
    return out


def run_gemms_amaranth(cfg: SystolicConfig, jobs, backpressure=None, seed: int = 0) -> list[tuple[np.ndarray, int]]:
    """Like :func:`run_gemms_amaranth_detailed`, as ``(C, cycles)`` pairs."""
    return [(r.c, r.cycles) for r in run_gemms_amaranth_detailed(cfg, jobs, backpressure, seed)]


# ------------------------------------------------------------------------------ export hooks
def port_doc(cfg: SystolicConfig):
    """What the exported top's ports mean (:class:`~hwsim.families.contract.PortDoc`)."""
    from hwsim.families.contract import PortDoc

    R, C = cfg.rows, cfg.cols
    west, north = ("B", "A^T") if cfg.dataflow == "is" else ("A", "B")
    beats = {
        "cmd": f"one beat per GEMM C[M,N] = A[M,K] x B[K,N]: M, K, N (each 1..{(1 << DIM_BITS) - 1}).",
        "results": f"{C} lanes of acc_bits per beat, lane j at bits [{cfg.acc_bits}*j+{cfg.acc_bits - 1}:"
                   f"{cfg.acc_bits}*j]; lanes and rows past the matrix edges are padding.",
    }
    if cfg.dataflow == "os":
        beats["operands"] = (f"folds of {C} columns of C (outer) x {R} rows (inner); each fold takes K beats, "
                             f"beat t = (west = A[m0:m0+{R}, t], north = B[t, n0:n0+{C}]), zero past the edges.")
        beats["results"] += (f" Each fold drains as {R} beats, row d = C[m0+d, n0:n0+{C}], in fold order.")
    else:
        beats["operands"] = (f"the first {R} beats preload the first stationary tile ({north} rows in north); "
                             f"then per fold (N blocks of {C}, outer; chunks of at most acc_depth streamed rows; "
                             f"K blocks of {R}, inner) beat t carries west = {west} row t of the chunk (columns "
                             f"k0:k0+{R}) and, while t < {R}, north = row t of the next fold's tile; a fold lasts "
                             f"max(rows of the chunk, {R}) beats, the last fold only its rows.")
        beats["results"] += (" The last K block of each chunk streams its rows, one beat per row"
                             + (" of C^T (C[m0:m0+cols, n])." if cfg.dataflow == "is" else " of C."))
    meaning = {
        "cmd": "GEMM sizes; accepted only while idle (the previous GEMM's last result has left)",
        "operands": f"operand beats: west = {R} lanes entering the left edge, north = {C} lanes entering the top",
        "results": f"result beats: {C} accumulator lanes leaving the bottom edge",
        "stall": "high in a cycle where a GEMM is in progress but the array waits for an operand or a "
                 "result taker",
    }
    rules = ("valid/ready streams: a beat transfers in a cycle where valid and ready are both high. "
             "The array advances only in cycles where every stream it needs can transfer (one clock "
             "enable); operands__ready depends on results__ready, results__valid depends only on state "
             "and stays high until its beat is taken, so no valid depends on its own ready. A feeder may "
             "leave gaps and a sink may refuse beats at any time.")
    if cfg.dataflow == "os":
        latency = (f"with no back-pressure, cycles from the first operand beat accepted to the last result "
                   f"beat accepted (both included): (F - 1) * max(K, {R}) + K + {R} + {C}, with "
                   f"F = ceil(M/{R}) * ceil(N/{C}) folds; each stalled cycle adds one.")
    else:
        s, t = ("N", "M") if cfg.dataflow == "is" else ("M", "N")
        latency = (f"with no back-pressure, first operand beat to last result beat: R + Nt*Kt*((nc-1)*max(D, R) "
                   f"+ max(r, R)) - max(r, R) + r + R + C with R = {R}, C = {C}, D = acc_depth = "
                   f"{cfg.acc_depth}, Kt = ceil(K/R), Nt = ceil({t}/C), nc = ceil({s}/D), "
                   f"r = {s} - (nc-1)*D; each stalled cycle adds one.")
    return PortDoc(meaning=meaning, beats=beats, rules=rules, latency=latency)


def test_vectors(cfg: SystolicConfig, jobs):
    """Operand and expected result beats of ``jobs`` (``{"a", "b"}``), results from golden."""
    from hwsim.eda.export import pack, placed_beats
    from hwsim.families.contract import TestVectors
    from hwsim.families.systolic.golden import golden_gemm
    from hwsim.families.systolic.hdl import port_shapes
    from hwsim.families.systolic.timing import operand_beats, result_beat_count

    sh = port_shapes(cfg)
    wb, nb = sh["west"].width, sh["north"].width
    cmd, ops, res = [], [], []
    for job in jobs:
        a = np.asarray(job["a"], dtype=np.int64)
        b = np.asarray(job["b"], dtype=np.int64)
        m, k = a.shape
        n = b.shape[1]
        cmd.append(pack([m, k, n], DIM_BITS))
        west, north = operand_beats(cfg, a, b)
        ops += [pack(w, wb) | (pack(nn, nb) << (wb * cfg.rows)) for w, nn in zip(west, north)]
        nbeats = result_beat_count(cfg, m, k, n)
        res += placed_beats(lambda ids: assemble_output(cfg, m, k, n, ids), nbeats, cfg.cols, cfg.acc_bits,
                            golden_gemm(cfg, a, b))
    return TestVectors(sources={"cmd": cmd, "operands": ops}, sinks={"results": res})
