"""Run MixPE GEMMs on the Verilated RTL, and export its Verilog.

The RTL is :class:`~hwsim.families.systolic.hdl.SystolicArray` of
:class:`~hwsim.families.mixpe.hdl.MixpePE` (:func:`component`). It is built once per
array shape and accumulator width with :func:`hwsim.sim.verilator.build` (cached by
content hash): weight precision (``w_bits``) and code kind (``zero_point``: the run-time
``msb_negative`` input) are not part of the build, so W2/W3/W4 designs of one shape share
it (one more build per shape for the FP16 path). :func:`run_partials` runs every GEMM of a batch in one cocotb simulation of
:mod:`hwsim.families.mixpe.bench` and returns the per-group sums the array drains. The
per-group dequantisation is a separate RTL stage, :mod:`hwsim.families.mixpe.dequant_rtl`
(binary32), not yet on the array's result stream: the family's Verilator fidelity runs
it, Verilated on its own, on the sums this array drains (:mod:`hwsim.families.mixpe.family`). The dequantise-then-MAC baseline
(``datapath="dequant_mac"``) is :class:`~hwsim.families.mixpe.hdl.DequantMacArray`.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from hwsim.errors import ConfigError
from hwsim.families.mixpe.config import MixpeConfig
from hwsim.families.mixpe.timing import (DQ_LANE_BITS, array_config, array_dims, assemble_partials,
                                         operand_beats, phys_cols, result_beat_count)

log = logging.getLogger(__name__)

__all__ = ["DIM_BITS", "component", "run_partials", "static_inputs", "top_name", "verilog_text"]

DIM_BITS = 16
BENCH_MODULE = "hwsim.families.mixpe.bench"


def top_name(cfg: MixpeConfig) -> str:
    """Verilog module name, e.g. ``mixpe_os_3x5_acc20``, ``mixpe_fp16_os_3x5`` (physical
    columns) or ``mixpe_dqmac_os_3x4`` (the dequantise-then-MAC baseline)."""
    if cfg.datapath == "dequant_mac":
        return f"mixpe_dqmac_os_{cfg.rows}x{cfg.cols}"
    if cfg.act_format == "fp16":
        return f"mixpe_fp16_os_{cfg.rows}x{phys_cols(cfg)}"
    return f"mixpe_os_{cfg.rows}x{phys_cols(cfg)}_acc{cfg.acc_bits}"


def static_inputs(cfg: MixpeConfig) -> dict:
    """Values of the array's run-time inputs for ``cfg`` (``msb_negative``; ``w_msb`` on the FP16 path)."""
    out = {"msb_negative": int(not cfg.zero_point)}
    if cfg.act_format == "fp16" and cfg.datapath == "shift_add":
        out["w_msb"] = cfg.w_bits - 1
    return out


def component(cfg: MixpeConfig):
    """The Amaranth array of ``cfg``."""
    from hwsim.families.mixpe.hdl import DequantMacArray, MixpeFp16PE, MixpePE
    from hwsim.families.systolic.hdl import SystolicArray

    if cfg.datapath == "dequant_mac":
        return DequantMacArray(array_config(cfg), DIM_BITS)
    pe = MixpeFp16PE if cfg.act_format == "fp16" else MixpePE
    return SystolicArray(array_config(cfg), dim_bits=DIM_BITS, pe=pe)


@lru_cache(maxsize=16)
def verilog_text(cfg: MixpeConfig) -> str:
    """Verilog of the array (the same text for every ``w_bits`` and ``zero_point`` of one
    shape). Cached per config: the FP16 array takes seconds to convert."""
    from hwsim.eda.verilog import convert

    return convert(component(cfg), top_name(cfg))


def run_partials(cfg: MixpeConfig, jobs, backpressure=None, seed: int = 0, work_dir=None) -> list[dict]:
    """Run padded GEMMs ``(A, Wq)`` (K a multiple of ``group_size``) on the Verilated RTL.

    ``A``: INT8 values, or binary16 bit patterns on the FP16 path.

    Returns one dict per GEMM: ``p`` (``G x M x N``), ``s`` (``G x M x 1``), ``cycles``
    and ``stall_cycles`` (back-pressure as in :func:`hwsim.families.systolic.rtl.run_gemms`).
    Dequantise-then-MAC: jobs are ``(A, lanes)`` (:func:`~hwsim.families.mixpe.timing.pack_dequant_lanes`)
    and ``p`` is the binary16 result ``C`` (``M x N`` patterns); ``s`` is None.
    """
    from hwsim.sim.streams import check_backpressure
    from hwsim.sim.verilator import build, run

    bp = check_backpressure(backpressure)
    gemms, shapes = [], []
    for idx, (a, wq) in enumerate(jobs):
        a = np.asarray(a, dtype=np.int64)
        wq = np.asarray(wq, dtype=np.int64)
        m, k = a.shape
        n = wq.shape[1]
        for key, v in zip("mkn", array_dims(cfg, m, k, n)):
            if not 1 <= v < (1 << DIM_BITS):
                raise ConfigError(key, f"the RTL's array command needs 1..{(1 << DIM_BITS) - 1}, not {v} (GEMM {idx})")
        west, north = operand_beats(cfg, a, wq)
        gemms.append({"mkn": list(map(int, array_dims(cfg, m, k, n))), "west": west.tolist(),
                      "north": north.tolist(), "n_out": result_beat_count(cfg, m, k, n)})
        shapes.append((m, k, n))
    if not gemms:
        return []
    top = top_name(cfg)
    bdir = build(verilog_text(cfg), top, top)
    job = {"config": array_config(cfg).to_dict(), "dim_bits": DIM_BITS,
           **({"north_bits": DQ_LANE_BITS} if cfg.datapath == "dequant_mac" else {}),
           "static": static_inputs(cfg), "backpressure": {**bp, "seed": int(seed)}, "gemms": gemms}
    with contextlib.ExitStack() as stack:
        if work_dir is None:
            work_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix=f"hwsim-{top}-"))
        res = run(bdir, top, BENCH_MODULE, job, Path(work_dir))
    out = []
    for (m, k, n), r in zip(shapes, res["gemms"]):
        beats = np.array(r["beats"], dtype=np.int64)
        if cfg.datapath == "dequant_mac":
            from hwsim.families.systolic.timing import assemble_output

            p, s = assemble_output(array_config(cfg), *array_dims(cfg, m, k, n), beats)[:, :n], None
        else:
            p, s = assemble_partials(cfg, m, k, n, beats)
        out.append({"p": p, "s": s, "cycles": int(r["cycles"]), "stall_cycles": int(r["stall_cycles"])})
    return out


# ------------------------------------------------------------------------------ export hooks
def port_doc(cfg: MixpeConfig):
    """What the exported array's ports mean: the systolic ``os`` array's streams, fed one
    quantisation group per fold (:mod:`hwsim.families.mixpe.timing`)."""
    from hwsim.families.contract import PortDoc
    from hwsim.families.mixpe.hdl import CODE_BITS
    from hwsim.families.mixpe.timing import array_lane_bits
    from hwsim.families.systolic.rtl import port_doc as systolic_doc

    base = systolic_doc(array_config(cfg))
    R, C, pc, lb = cfg.rows, cfg.cols, phys_cols(cfg), array_lane_bits(cfg)
    fp16 = cfg.act_format == "fp16"
    zp = (f"; lane {C} is the activation-sum column (fed the code 1) that accumulates S" if cfg.zero_point else "")
    meaning = dict(base.meaning)
    meaning.update({
        "cmd": "array command of one MixPE GEMM: (G * Mp) x group_size x (ceil(N/cols) * physical columns), "
               "G = ceil(K / group_size) groups, Mp = M padded to whole row blocks",
        "operands": f"west: {R} activations ({'binary16 patterns' if fp16 else 'INT8'}), north: {pc} weight "
                    f"codes of {CODE_BITS} bits{zp}",
        "results": f"per-group partial sums: {pc} lanes of {lb} bits ({'binary16 patterns' if fp16 else 'signed'})",
        "msb_negative": "run-time code kind: 1 = signed codes (the top weight bit weighs -2^(w-1)), "
                        "0 = unsigned codes with a zero point",
    })
    if fp16:
        meaning["w_msb"] = "run-time weight precision minus one (bit planes 0..w_msb are used)"
    beats = {
        "cmd": base.beats["cmd"],
        "operands": f"fold order: column blocks of {C} weight columns (outer), groups, row blocks of {R} "
                    f"(inner); a fold streams the group_size beats of one group: west = A[m0:m0+{R}, k] and "
                    f"north = codes W[k, n0:n0+{C}]{' plus the code 1' if cfg.zero_point else ''}, k running "
                    "over the group; zero past the edges.",
        "results": f"{R} beats per fold (row d = partial sums P[g, m0+d, n0:n0+{C}]{zp}); lane j at bits "
                   f"[{lb}*j+{lb - 1}:{lb}*j]. Dequantisation (scale, zero point, sum over groups) follows the "
                   "array, outside this RTL.",
    }
    latency = (f"with no back-pressure: (F - 1) * max(group_size, {R}) + group_size + {R} + {pc}, "
               f"F = G * ceil(M/{R}) * ceil(N/{C}) folds; each stalled cycle adds one.")
    return PortDoc(meaning=meaning, beats=beats, rules=base.rules, latency=latency)


def test_vectors(cfg: MixpeConfig, jobs):
    """Array beats of ``jobs`` and the per-group partial sums golden computes (the array's
    outputs: the dequantisation stage is not in the RTL)."""
    from hwsim.eda.export import pack, placed_beats
    from hwsim.families.contract import TestVectors
    from hwsim.families.mixpe.family import padded_job
    from hwsim.families.mixpe.golden import _fp16_partials, _int_partials
    from hwsim.families.mixpe.hdl import CODE_BITS
    from hwsim.families.mixpe.timing import array_lane_bits

    acfg = array_config(cfg)
    wb, lb = acfg.a_bits, array_lane_bits(cfg)
    cmd, ops, res = [], [], []
    for job in jobs:
        a, wq, _, _ = padded_job(cfg, job)
        if cfg.act_format == "fp16":
            a = np.asarray(a, dtype=np.float16).view(np.uint16).astype(np.int64)
            p, s = (np.asarray(x, dtype=np.float32).astype(np.float16).view(np.uint16).astype(np.int64)
                    for x in _fp16_partials(cfg, a, np.asarray(wq, dtype=np.int64)))
        else:
            p, s = _int_partials(cfg, np.asarray(a, dtype=np.int64), np.asarray(wq, dtype=np.int64))
        (m, k), n = a.shape, wq.shape[1]
        cmd.append(pack(array_dims(cfg, m, k, n), DIM_BITS))
        west, north = operand_beats(cfg, a, wq)
        ops += [pack(w, wb) | (pack(nn, CODE_BITS) << (wb * cfg.rows)) for w, nn in zip(west, north)]
        res += placed_beats(lambda ids: assemble_partials(cfg, m, k, n, ids), result_beat_count(cfg, m, k, n),
                            phys_cols(cfg), lb, (p, s))
    return TestVectors(static=static_inputs(cfg), sources={"cmd": cmd, "operands": ops}, sinks={"results": res})
