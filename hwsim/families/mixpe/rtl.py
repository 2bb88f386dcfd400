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
import json
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

__all__ = ["DIM_BITS", "component", "export_verilog", "run_partials", "static_inputs", "top_name", "verilog_text"]

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
    from amaranth.back import verilog

    return verilog.convert(component(cfg), name=top_name(cfg), emit_src=False)


def export_verilog(cfg: MixpeConfig, out_dir) -> Path:
    """Write ``<top>.v`` and ``<top>.json`` (config and run-time inputs) into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = top_name(cfg)
    path = out / f"{name}.v"
    path.write_text(verilog_text(cfg))
    meta = {"top": name, "dim_bits": DIM_BITS, "config": cfg.to_dict(), "config_key": cfg.key(),
            "run_time_inputs": static_inputs(cfg)}
    (out / f"{name}.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    log.info("wrote %s", path)
    return path


def run_partials(cfg: MixpeConfig, jobs, backpressure=None, seed: int = 0, work_dir=None) -> list[dict]:
    """Run padded GEMMs ``(A, Wq)`` (K a multiple of ``group_size``) on the Verilated RTL.

    ``A``: INT8 values, or binary16 bit patterns on the FP16 path.

    Returns one dict per GEMM: ``p`` (``G x M x N``), ``s`` (``G x M x 1``), ``cycles``
    and ``stall_cycles`` (back-pressure as in :func:`hwsim.families.systolic.rtl.run_gemms`).
    Dequantise-then-MAC: jobs are ``(A, lanes)`` (:func:`~hwsim.families.mixpe.timing.pack_dequant_lanes`)
    and ``p`` is the binary16 result ``C`` (``M x N`` patterns); ``s`` is None.
    """
    from hwsim.families.systolic.rtl import _check_backpressure
    from hwsim.sim.verilator import build, run

    bp = _check_backpressure(backpressure)
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
