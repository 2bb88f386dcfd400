"""Verilator runs of one SRAM LUT-GEMV unit (:mod:`.hdl`) on whole GEMMs.

A GEMM is cut as the model schedules it (:mod:`.model`): passes of up to ``vectors``
vectors, tiles of ``lanes`` output columns dealt round-robin to the ``units`` arrays, and
per tile one GROUP command per group of ``N`` weights, then DRAIN. Every (pass, tile) is one
stream of the bench on the same Verilated unit (the arrays are identical); a unit's
cycles are the sum of its streams' (the unit takes the next command in the cycle after a
stream's last output, so streams run back to back), and the GEMM's cycles are the busiest
unit's. One build serves every pass size, activation width up to ``a_bits``, signedness
and reuse setting: they are run-time inputs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from hwsim.families.sram_gemv.config import SramGemvConfig
from hwsim.families.sram_gemv.golden import check_operands, pad_groups, wrap
from hwsim.families.sram_gemv.hdl import TOP, LutGemvUnit, pack_cmd
from hwsim.families.sram_gemv.model import passes, tiles

BENCH_MODULE = "hwsim.families.sram_gemv.bench"


def component(cfg: SramGemvConfig):
    return LutGemvUnit(cfg)


def verilog_text(cfg: SramGemvConfig) -> str:
    from amaranth.back import verilog

    return verilog.convert(component(cfg), name=TOP, emit_src=False)


def build_name(cfg: SramGemvConfig) -> str:
    return f"sram_gemv_l{cfg.lanes}n{cfg.group_size}w{cfg.w_bits}b{cfg.vectors}a{cfg.a_bits}acc{cfg.acc_bits}"


def _pack(values, width: int) -> str:
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & ((1 << width) - 1)) << (i * width)
    return format(word, "x")


def streams_of(cfg: SramGemvConfig, a: np.ndarray, w: np.ndarray):
    """``[(unit, pass start, bp, tile, stream)]`` of one GEMM (``a``, ``w`` checked)."""
    n = w.shape[1]
    ap, wp = pad_groups(cfg, a, w)
    L, N, B = cfg.lanes, cfg.group_size, cfg.vectors
    wt = np.zeros((wp.shape[0], tiles(cfg, n) * L), np.int64)
    wt[:, :n] = wp
    out, m0 = [], 0
    for bp in passes(cfg, a.shape[0]):
        for t in range(tiles(cfg, n)):
            cmds = []
            for g in range(wp.shape[0] // N):
                wg = wt[g * N:(g + 1) * N, t * L:(t + 1) * L]          # (N, L)
                acts = np.zeros((B, N), np.int64)
                acts[:bp] = ap[m0:m0 + bp, g * N:(g + 1) * N]
                cmds.append(format(pack_cmd(cfg, 0, int(_pack(wg.T.ravel(), cfg.w_bits), 16),
                                            int(_pack(acts.ravel(), cfg.a_bits), 16)), "x"))
            cmds.append(format(pack_cmd(cfg, 1, 0, 0), "x"))
            out.append((t % cfg.units, m0, bp, t, {"n_items": bp, "planes": cfg.a_bits,
                                                     "act_signed": int(cfg.act_signed),
                                                     "reuse": int(cfg.pattern_reuse), "cmds": cmds}))
        m0 += bp
    return out


def _plan(cfg: SramGemvConfig, jobs):
    plan, streams = [], []
    for j in jobs:
        a, w = check_operands(cfg, j["a"], j["wq"])
        ss = streams_of(cfg, a, w)
        plan.append((a.shape[0], w.shape[1], [s[:4] for s in ss]))
        streams += [s[4] for s in ss]
    return plan, streams


def run_jobs(cfg: SramGemvConfig, jobs, backpressure=None, work_dir=None) -> list[dict]:
    """``{"acc", "cycles", "stall_cycles"}`` per ``{"a", "wq"}`` job from the Verilated unit."""
    from hwsim.sim.verilator import build, run

    plan, streams = _plan(cfg, jobs)
    bdir = build(verilog_text(cfg), TOP, build_name(cfg))
    bp = backpressure or {}
    job = {"streams": streams, "seed": 1, "in_gap": float(bp.get("in_gap", 0.0)),
           "out_gap": float(bp.get("out_gap", 0.0))}
    tmp = None
    if work_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="hwsim-sram-gemv-")
        work_dir = tmp.name
    try:
        res = run(bdir, TOP, BENCH_MODULE, job, Path(work_dir))["streams"]
    finally:
        if tmp is not None:
            tmp.cleanup()
    return _assemble(cfg, plan, res)


def _assemble(cfg: SramGemvConfig, plan, res) -> list[dict]:
    """Outputs and cycles of every job from the per-stream results (see :func:`run_jobs`)."""
    out, si = [], 0
    L, AW = cfg.lanes, cfg.acc_bits
    for m, n, metas in plan:
        acc = np.zeros((m, tiles(cfg, n) * L), np.int64)
        per_unit: dict[int, list] = {}
        for unit, m0, bpn, t in metas:
            r = res[si]
            si += 1
            if len(r["outs"]) != bpn:
                raise AssertionError(f"RTL returned {len(r['outs'])} outputs, expected {bpn}")
            for b, word in enumerate(r["outs"]):
                v = int(word, 16)
                acc[m0 + b, t * L:(t + 1) * L] = [(v >> (l * AW)) & ((1 << AW) - 1) for l in range(L)]
            c = per_unit.setdefault(unit, [0, 0])
            c[0] += r["cycles"]
            c[1] += r["stalls"]
        cyc, stall = max(per_unit.values(), key=lambda c: c[0] - c[1])
        out.append({"acc": wrap(acc[:, :n], AW), "cycles": int(cyc), "stall_cycles": int(stall)})
    return out


def run_amaranth(cfg: SramGemvConfig, jobs, backpressure=None) -> list[dict]:
    """The same streams through Amaranth's simulator: the cocotb bench's loop
    (:func:`.bench.run_stream` on :mod:`hwsim.sim.streams`) with the same seeded gaps."""
    from hwsim.families.sram_gemv.bench import gaps, run_stream
    from hwsim.sim.streams import simulate

    plan, streams = _plan(cfg, jobs)
    bp = backpressure or {}
    in_gaps, out_gaps = gaps({"seed": 1, "in_gap": float(bp.get("in_gap", 0.0)),
                              "out_gap": float(bp.get("out_gap", 0.0))})
    dut = component(cfg)
    res = []

    async def bench(ports):
        cycle = 0
        for s in streams:
            r, cycle = await run_stream(ports, s, in_gaps, out_gaps, cycle)
            res.append(r)

    simulate(dut, bench)
    return _assemble(cfg, plan, res)


# ------------------------------------------------------------------------------ export hooks
def export_base(cfg: SramGemvConfig) -> str:
    """Readable base of the exported bundle's name (the build's shape)."""
    return build_name(cfg)


def static_inputs(cfg: SramGemvConfig) -> dict:
    """The run-time inputs for the exported configuration: a full pass of ``vectors``, every
    activation plane, its signedness and pattern-reuse setting."""
    return {"n_items": cfg.vectors, "planes": cfg.a_bits, "act_signed": int(cfg.act_signed),
            "reuse": int(cfg.pattern_reuse)}


def port_doc(cfg: SramGemvConfig):
    """What the exported unit's ports mean (:class:`~hwsim.families.contract.PortDoc`)."""
    from hwsim.families.contract import PortDoc

    L, N, WB, AB, B, AW = cfg.lanes, cfg.group_size, cfg.w_bits, cfg.a_bits, cfg.vectors, cfg.acc_bits
    ww = L * N * WB
    meaning = {
        "n_items": f"run-time: vectors in this pass, 1..{B} (DRAIN gives this many beats); hold during a pass",
        "planes": f"run-time: activation bit planes looked up per group, 1..{AB}; hold during a pass",
        "act_signed": "run-time: 1 = activations are two's complement (the top plane subtracts), 0 = unsigned",
        "reuse": "run-time: 1 = pattern-aware issue (one lookup serves every vector with the same pattern, "
                 "all-zero patterns skipped), 0 = one lookup per vector and plane",
        "cmd": f"command: GROUP (drain = 0: {N} weights of each of {L} lanes and {N} activations of each of "
               f"{B} vectors) or DRAIN (drain = 1: w and a ignored)",
        "out": f"one vector's {L} accumulators ({AW}-bit two's complement, wrapping) per beat during DRAIN",
    }
    beats = {
        "cmd": (f"payload bit 0 = drain; w at bits [{ww}:1]: lane l, weight i (signed {WB}-bit code of input "
                f"row g*{N}+i, output column tile*{L}+l) at w bits [{WB}*({N}*l+i)+{WB - 1}:{WB}*({N}*l+i)]; "
                f"a at bits [{ww + B * N * AB}:{ww + 1}]: vector b, activation i (the {AB}-bit code of input "
                f"row g*{N}+i) at a bits [{AB}*({N}*b+i)+{AB - 1}:{AB}*({N}*b+i)]. One pass over one tile of "
                f"{L} output columns is one GROUP per group g of {N} rows of K (K zero-padded to whole "
                f"groups, unused lanes and vectors zero), in order g = 0, 1, ..., then one DRAIN."),
        "out": (f"lane l at bits [{AW}*l+{AW - 1}:{AW}*l]; beat b is vector b of the pass (b = 0..n_items-1): "
                f"C[m0+b, tile*{L}+l] = sum over the pass's groups of A[m0+b, k] * W[k, tile*{L}+l], "
                f"wrapped at {AW} bits. Draining a vector clears its accumulators."),
    }
    rules = ("cmd__ready is high only while the unit is idle (between a GROUP's last lookup and the next "
             "command, and after a DRAIN's last beat); a command is taken when cmd__valid & cmd__ready at a "
             "rising edge, and cmd__valid may rise or fall at any time (the unit never depends on a beat "
             "it has not taken). out__valid is high for the n_items beats of a DRAIN, independent of "
             "out__ready; a beat moves when out__valid & out__ready. Hold n_items, planes, act_signed and "
             "reuse constant from a pass's first GROUP to its DRAIN's last beat.")
    latency = (f"A GROUP occupies 2**N = {1 << N} cycles (accept, then {(1 << N) - 1} table writes in Gray-code "
               "order) plus its lookups: per plane, n_items without reuse, max(1, distinct non-zero "
               "patterns among the pass's vectors) with reuse. A DRAIN is accepted in one cycle, then one "
               "beat per cycle with out__ready. Without stalls a pass over one tile takes groups * "
               f"{1 << N} + lookups + 1 + n_items cycles from its first command taken to its last output "
               "beat, and the unit takes the next command the cycle after that beat.")
    return PortDoc(meaning=meaning, beats=beats, rules=rules, latency=latency)


def test_vectors(cfg: SramGemvConfig, jobs):
    """Every (pass, tile) stream of ``jobs`` (``{"a", "wq"}``) one after another on ``cmd``,
    each pass padded to ``vectors`` vectors (``n_items`` is held at ``vectors``), and the
    accumulators golden's table-lookup arithmetic gives (zero for padding vectors and lanes)."""
    from hwsim.families.contract import TestVectors
    from hwsim.families.sram_gemv.golden import lut_gemv

    L, AW, B = cfg.lanes, cfg.acc_bits, cfg.vectors
    full = (1 << (L * AW)) - 1
    cmds, outs = [], []
    for j in jobs:
        a, w = check_operands(cfg, j["a"], j["wq"])
        acc = lut_gemv(cfg, a, w)
        n = w.shape[1]
        exp = np.zeros((sum(-(-bp // B) * B for bp in passes(cfg, a.shape[0])), tiles(cfg, n) * L), np.int64)
        exp[:a.shape[0], :n] = acc
        for _unit, m0, _bp, t, s in streams_of(cfg, a, w):
            cmds += [int(c, 16) for c in s["cmds"]]
            for b in range(B):
                outs.append((int(_pack(exp[m0 + b, t * L:(t + 1) * L], AW), 16), full))
    return TestVectors(static=static_inputs(cfg), sources={"cmd": cmds}, sinks={"out": outs})
