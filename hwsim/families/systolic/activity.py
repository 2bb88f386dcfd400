"""Gate-level activity of the systolic array: run the mapped netlist under Verilator on
real GEMMs and compare its toggle energy with the table estimate (the calibration run).

Blocks: ``pe_<i>_<j>`` (each PE) and, for the top module's own cells, ``skew`` (operand
feeder and skew registers), ``output`` (read-out multiplexers and de-skew registers),
``acc_buffer`` (the ``ws``/``is`` partial-sum memory and its token pipeline) and
``sequencer`` (everything else). ``python -m hwsim.families.systolic.activity`` prints a
report. The shared engine (netlist and SAIF parsing, toggles to energy) is
:mod:`hwsim.eda.activity`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from hwsim.eda.activity import (Calibration, _versions, assign_blocks, cell_models_verilog, load_cells,
                                netlist_energy, parse_netlist, parse_saif, STIMULI)
from hwsim.errors import ConfigError, check_choice, check_int

log = logging.getLogger(__name__)

PERIPHERY_BLOCKS = ("skew", "output", "acc_buffer", "sequencer")

# Which periphery block a top-level register belongs to, by its (Amaranth) name.
BLOCK_PATTERNS = (
    ("acc_buffer", re.compile(r"^(acc_buf|token)")),
    ("output", re.compile(r"^(drain|deskew|sel0|results__payload)")),
    ("skew", re.compile(r"^(west_skew|north_skew|last_skew|first_skew|west_inj|north_inj)")),
)




def _stimulus(cfg, shape, n_gemms, stimulus, rng):

    m, k, n = shape
    lo_a, hi_a = (-(1 << (cfg.a_bits - 1)), 1 << (cfg.a_bits - 1)) if cfg.signed else (0, 1 << cfg.a_bits)
    lo_b, hi_b = (-(1 << (cfg.b_bits - 1)), 1 << (cfg.b_bits - 1)) if cfg.signed else (0, 1 << cfg.b_bits)
    jobs = []
    for g in range(n_gemms):
        if stimulus == "zeros":
            a, b = np.zeros((m, k), np.int64), np.zeros((k, n), np.int64)
        elif stimulus == "random":
            a, b = rng.integers(lo_a, hi_a, (m, k)), rng.integers(lo_b, hi_b, (k, n))
        else:  # "llm_int8": the workload generators' LLM-like tensors, int8-quantised
            from hwsim.workloads import synthetic
            from hwsim.workloads.quant import quantize_symmetric

            if cfg.a_bits != 8 or cfg.b_bits != 8 or not cfg.signed:
                raise ConfigError("stimulus", "'llm_int8' needs signed 8-bit operands")
            x, _ = synthetic.activations(rng, m, k)
            w = synthetic.weights(rng, k, n)
            a = quantize_symmetric(x, 8, k_axis=1).q  # per token
            b = quantize_symmetric(w, 8, k_axis=0).q  # per output channel
        jobs.append((a, b))
    return jobs


def gate_build(cfg):
    """Netlist, parsed netlist and Verilator build dir of the gate-level array of ``cfg``."""
    from hwsim.eda.synth import synth_netlist
    from hwsim.sim.verilator import build
    from hwsim.families.systolic.rtl import top_name, verilog_text

    top = top_name(cfg)
    res = synth_netlist(verilog_text(cfg), top, name=top)
    text = res.verilog + "\n" + cell_models_verilog()
    bdir = build(text, top, f"{top}-gates", extra_args=("--trace-saif", "--trace-underscore"), waves=True)
    return res, parse_netlist(res.verilog), bdir


def activity_report(cfg, n_gemms: int = 2, seed: int = 0, *, shape: tuple[int, int, int] | None = None,
                    stimulus: str = "random", work_dir=None, backpressure: Mapping | None = None) -> dict:
    """Gate-level activity energy vs the table estimate for GEMMs on a systolic array.

    Parameters
    ----------
    cfg : SystolicConfig
        The array (keep it small: the whole array is mapped to gates and simulated).
    n_gemms : int
        GEMMs run back to back.
    seed : int
        Seed of the operand generator.
    shape : (m, k, n), optional
        GEMM size (default ``(2 * rows, 2 * rows, 2 * cols)``: several folds).
    stimulus : {"random", "zeros", "llm_int8"}
        Uniform random operands over the full range, all zeros (only control and clock
        toggle), or LLM-like tensors from :mod:`hwsim.workloads.synthetic` (heavy-tailed
        activations with outlier channels, Student-t weights) quantised to int8 with
        :func:`hwsim.workloads.quant.quantize_symmetric` (per token / per output channel).
    work_dir : path, optional
        Where the simulation writes its SAIF (default: a temporary folder).
    backpressure : mapping, optional
        ``{"in_gap": p, "out_gap": q}`` (see :func:`hwsim.families.systolic.rtl.run_gemms`):
        the feeder leaves cycles without an operand beat, so the array stalls (its clock
        enable low) as it does when DRAM is late. The table side prices the stalled
        cycles the run counted (``stalled_cycles``).

    Returns
    -------
    dict
        ``activity_pj_by_block`` (each PE and periphery block), ``activity_pj_by_part``
        (``pe_array``, ``control``, ``acc_buffer``), ``table_pj_by_part`` (the table's
        dynamic energy for the same GEMMs, PE array and control; SRAM and DRAM are
        outside the netlist), ``ratio_by_part`` (activity / table), ``pe_pj_per_mac``,
        ``outputs_match_golden``, ``cycles_rtl`` and ``cycles_model``, ``calibration``
        (``{part: Calibration.to_dict()}``) and ``provenance``.
    """
    from hwsim.families.systolic.model import estimate
    from hwsim.families.systolic.timing import assemble_output
    from hwsim.cost.components import price
    from hwsim.families.systolic.cost import systolic_inputs
    from hwsim.cost.tech import load_tech
    from hwsim.sim.verilator import run
    from hwsim.families.systolic.rtl import BENCH_MODULE, DIM_BITS, top_name
    from hwsim.workloads.ops import GemmOp

    check_int("n_gemms", n_gemms, 1, 64)
    check_int("seed", seed, 0)
    check_choice("stimulus", stimulus, STIMULI)
    if shape is None:
        shape = (2 * cfg.rows, 2 * cfg.rows, 2 * cfg.cols)
    if len(shape) != 3:
        raise ConfigError("shape", f"must be (m, k, n), not {shape!r}")
    for key, v in zip("mkn", shape):
        check_int(key, v, 1, 4096)
    top = top_name(cfg)
    synth, netlist, bdir = gate_build(cfg)
    jobs = _stimulus(cfg, shape, n_gemms, stimulus, np.random.default_rng(seed))
    from hwsim.sim.streams import check_backpressure

    bp = check_backpressure(None if backpressure is None else dict(backpressure))
    job = {"config": cfg.to_dict(), "dim_bits": DIM_BITS, "backpressure": {**bp, "seed": 0},
           "gemms": [{"a": a.tolist(), "b": b.tolist()} for a, b in jobs]}
    with contextlib.ExitStack() as stack:
        if work_dir is None:
            work_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix=f"hwsim-act-{top}-"))
        work_dir = Path(work_dir).resolve()
        res = run(bdir, top, BENCH_MODULE, job, work_dir, waves=True)
        saif = parse_saif((work_dir / "dump.saif").read_text())
    m, k, n = shape
    match = True
    cycles_rtl = stalls_rtl = 0
    for (a, b), r in zip(jobs, res["gemms"]):
        c = assemble_output(cfg, m, k, n, np.array(r["beats"], dtype=np.int64))
        want = (a @ b) & ((1 << cfg.acc_bits) - 1)
        got = c & ((1 << cfg.acc_bits) - 1)
        match = match and bool(np.array_equal(got, want))
        cycles_rtl += int(r["cycles"])
        stalls_rtl += int(r["stall_cycles"])
    blocks = netlist_energy(netlist, saif, blocks=assign_blocks(netlist, patterns=BLOCK_PATTERNS))
    by_block = {b: round(e.energy_pj, 6) for b, e in blocks.items()}
    pe_pj = sum(e.energy_pj for b, e in blocks.items() if b.startswith("pe_"))
    control_pj = sum(blocks[b].energy_pj for b in ("sequencer", "skew", "output") if b in blocks)
    acc_pj = blocks["acc_buffer"].energy_pj if "acc_buffer" in blocks else 0.0

    perf = estimate(cfg, GemmOp(m, k, n, count=n_gemms))
    inp = systolic_inputs(cfg)
    tech = load_tech(45)
    acts = {**perf.actions, "stalled_cycles": stalls_rtl}
    e, _ = price(inp.design.components, inp.design.counts(acts), tech, cycles=perf.cycles + stalls_rtl,
                 freq_mhz=inp.freq_mhz)
    table = e.dynamic_pj_by_part
    table_parts = {"pe_array": table.get("pe_array", 0.0), "control": table.get("control", 0.0)}
    act_parts = {"pe_array": pe_pj, "control": control_pj}
    if cfg.dataflow in ("ws", "is"):
        table_parts["acc_buffer"] = table.get("sram:acc", 0.0)
        act_parts["acc_buffer"] = acc_pj
    ratio = {p: (act_parts[p] / table_parts[p] if table_parts[p] > 0 else float("nan")) for p in act_parts}
    # the same without the flip-flops' clock-pin energy (which the table does not model)
    pe_clock = sum(e.clock_pj for b, e in blocks.items() if b.startswith("pe_"))
    ratio_no_clock = {"pe_array": (pe_pj - pe_clock) / table_parts["pe_array"]
                      if table_parts["pe_array"] > 0 else float("nan")}
    clk_period_ps = 10_000  # the bench's clock: 10 ns
    sim_cycles = saif.duration // clk_period_ps if saif.timescale in ("1ps", "1 ps") else None
    gaps = "".join(f"/{k}{v:g}" for k, v in sorted(bp.items()))
    run_id = f"{synth.provenance['run_id']}/{stimulus}/seed{seed}/{n_gemms}x{m}x{k}x{n}{gaps}"
    source = (f"activity: gate-level run {run_id} of {top} ({json.dumps(cfg.to_dict(), sort_keys=True)}), "
              f"{n_gemms} {stimulus} GEMM(s) {m}x{k}x{n}, hwsim45 cells ({load_cells().source.split(':')[0]}), "
              f"tools {json.dumps(_versions(), sort_keys=True)}")
    calib = {p: Calibration("systolic", p, float(r), source).to_dict()
             for p, r in ratio.items() if np.isfinite(r) and r > 0}
    log.info("activity %s: PE array %.1f pJ (table %.1f pJ), control %.1f pJ (table %.1f pJ)", top,
             pe_pj, table_parts["pe_array"], control_pj, table_parts["control"])
    return {
        "top": top,
        "config": cfg.to_dict(),
        "stimulus": stimulus,
        "seed": seed,
        "shape": list(shape),
        "n_gemms": n_gemms,
        "macs": int(perf.macs),
        "outputs_match_golden": match,
        "cycles_rtl": cycles_rtl,
        "cycles_model": int(perf.cycles),
        "stall_cycles_rtl": stalls_rtl,
        "backpressure": bp,
        "sim_cycles": sim_cycles,
        "cells": len(netlist.cells),
        "activity_pj_by_block": by_block,
        "activity_detail_pj": {b: {"internal": round(e.internal_pj, 6), "switching": round(e.switching_pj, 6),
                                   "clock": round(e.clock_pj, 6), "output_toggles": e.toggles, "cells": e.cells}
                               for b, e in blocks.items()},
        "activity_pj_by_part": act_parts,
        "table_pj_by_part": table_parts,
        "ratio_by_part": ratio,
        "ratio_by_part_without_clock": ratio_no_clock,
        "pe_pj_per_mac": pe_pj / perf.macs,
        "table_pe_pj_per_mac": table_parts["pe_array"] / perf.macs,
        "calibration": calib,
        "provenance": {"netlist_run_id": synth.provenance["run_id"], "build_dir": str(bdir),
                       "tools": _versions(), "cells_source": load_cells().source,
                       "voltage_v": load_cells().voltage_v},
    }


def format_report(rep: Mapping) -> str:
    """A short text table of an :func:`activity_report`."""
    lines = [f"{rep['top']}: {rep['n_gemms']} {rep['stimulus']} GEMM(s) {'x'.join(map(str, rep['shape']))}, "
             f"{rep['cells']} cells, outputs == golden: {rep['outputs_match_golden']}, "
             f"cycles rtl {rep['cycles_rtl']} / model {rep['cycles_model']}"]
    lines.append(f"  {'part':<12}{'activity pJ':>14}{'table pJ':>12}{'ratio':>9}")
    for p, a in rep["activity_pj_by_part"].items():
        lines.append(f"  {p:<12}{a:>14.2f}{rep['table_pj_by_part'][p]:>12.2f}{rep['ratio_by_part'][p]:>9.3f}")
    lines.append(f"  PE energy per MAC: activity {rep['pe_pj_per_mac']:.4f} pJ, "
                 f"table {rep['table_pe_pj_per_mac']:.4f} pJ; PE ratio without clock pins "
                 f"{rep['ratio_by_part_without_clock']['pe_array']:.3f}; simulated cycles {rep['sim_cycles']}")
    per = ", ".join(f"{b} {v:.1f}" for b, v in rep["activity_pj_by_block"].items())
    lines.append(f"  by block (pJ): {per}")
    return "\n".join(lines)


def main(argv=None) -> int:
    """``python -m hwsim.families.systolic.activity [rows cols dataflow ...]``: print activity reports."""
    import argparse

    from hwsim.families.systolic.config import SystolicConfig

    ap = argparse.ArgumentParser(prog="python -m hwsim.families.systolic.activity", description=main.__doc__)
    ap.add_argument("--size", type=int, nargs="+", default=[2], help="array sizes (square), default 2")
    ap.add_argument("--dataflow", nargs="+", default=["os", "ws"], choices=["os", "ws", "is"])
    ap.add_argument("--stimulus", nargs="+", default=["random", "zeros"], choices=list(STIMULI))
    ap.add_argument("--gemms", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print the full reports as JSON")
    args = ap.parse_args(argv)
    reps = []
    for size in args.size:
        for df in args.dataflow:
            cfg = SystolicConfig(rows=size, cols=size, dataflow=df, acc_depth=8)
            for stim in args.stimulus:
                rep = activity_report(cfg, n_gemms=args.gemms, seed=args.seed, stimulus=stim)
                reps.append(rep)
                if not args.json:
                    print(format_report(rep), flush=True)
    if args.json:
        print(json.dumps(reps, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
