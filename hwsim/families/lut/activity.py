"""Gate-level activity energy of the LUT tensor core tile and its MAC baseline.

The same method as :mod:`hwsim.eda.activity` (which documents the energy model and its
approximations), applied to the two tiles of :mod:`hwsim.families.lut.hdl`:

1. the tile's Verilog is mapped onto the project's cell library
   (:func:`hwsim.eda.synth.synth_netlist`) and built with Verilator with SAIF tracing;
   the weight precision is a run-time input of the tiles, so one gate-level build per
   tile serves W1..W4;
2. the cocotb bench of the RTL tests (``hwsim/families/lut/bench.py``) runs LLM-like GEMMs
   on it (heavy-tailed INT8 activations with outlier channels, per-token; Student-t
   weights quantised as the comparison study uses them: binary at W1, BitNet ternary at
   W2, symmetric per-channel INT4 at W4); outputs are checked against golden and cycles
   against the model;
3. toggles are priced per block: ``table`` (the LUT tile's table registers and the
   precompute adders feeding them, and the row sums), ``accumulators``, ``output`` (the
   output registers and the weight-mode correction) and ``control`` (handshake, plane
   counter, everything else); a combinational cell goes to the block of the register it
   feeds, so the lookup multiplexers and the MAC tile's multipliers count in
   ``accumulators``;
4. the same GEMMs are priced by the table (:func:`hwsim.families.lut.model.priced_actions`
   into :func:`hwsim.cost.energy.energy_from_actions`, SRAM and DRAM left out: they are
   outside the tile), and the ratio activity / table is formed for ``pe_array`` (all
   datapath blocks) and ``control``.

:func:`lut_calibration` reads the pinned factors (``hwsim/families/lut/data/calibration.json``,
one per core and weight precision) in the form ``energy_from_actions`` takes as its
``calibration`` argument; :func:`measure` re-runs them (``python -m
hwsim.families.lut.activity`` regenerates the file, ``tests/test_lut_activity.py`` re-measures
and diffs one core).

Where this is approximate: beyond the gate-level caveats of :mod:`hwsim.eda.activity`
(no glitches, no wires: a lower bound on combinational energy), the calibration tile is
small (``tile_n`` = 8) while the study's tile is ``tile_n`` = 64. The LUT tile's table
precompute is shared by all N columns, so its share of the energy is larger at N = 8;
the factor multiplies the table estimate (which amortises the table build over N
itself), so only the ratio of gate-level to table energy is carried over. Measured on the
LUT tile at N = 16 (4x64x32 GEMMs, same seed): datapath factors 2.65 / 2.00 / 1.65 at
W1 / W2 / W4 against 2.62 / 2.11 / 1.76 at N = 8, i.e. within 6.0 %. The bench drives
inputs in the time step of the clock edge (:mod:`hwsim.sim.streams`), as registers
feeding the tile would; the earlier bench changed them on the falling edge, half a cycle
after the registers, so a net could toggle twice in a cycle: its factors were 7-30 %
higher (LUT 3.41 / 2.58 / 2.09, MAC 2.00 / 1.90 / 2.05).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import tempfile
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from hwsim.families.lut.config import CORES, LutConfig
from hwsim.cost.tech import Figure
from hwsim.errors import ConfigError, check_choice, check_int

log = logging.getLogger(__name__)

#: Blocks of the tiles, by the Amaranth names of their registers (see :mod:`hwsim.families.lut.hdl`).
BLOCK_PATTERNS = (
    ("table", re.compile(r"^(tab_|tnew_|rowsum)")),
    ("accumulators", re.compile(r"^(acc_|sum_|look_|contrib_)")),
    ("output", re.compile(r"^(out_\d|out__payload|fin_|corr_)")),
)
DATAPATH_BLOCKS = ("table", "accumulators", "output")
#: Components of :func:`energy_from_actions` that the factors scale.
PARTS = ("pe_array", "control")
#: The pinned calibration run: tile, GEMM shape, number of GEMMs, seed.
CALIBRATION_RUN = {"tile_m": 2, "tile_n": 8, "tile_k": 4, "shape": (4, 64, 16), "n_gemms": 2, "seed": 0}
#: Weight mode per precision, as in the comparison study.
MODE_FOR_BITS = {1: "symmetric", 2: "signed", 3: "signed", 4: "signed"}


def weight_codes_llm(cfg: LutConfig, w: np.ndarray) -> np.ndarray:
    """Codes of float weights ``w (K, N)`` quantised as the study uses them at ``cfg.w_bits``.

    W1 symmetric: the sign ({-1, +1}); W2 signed: BitNet b1.58 absmean ternary; W3/W4
    signed: symmetric per-output-channel round-to-nearest. Returned as the tile's codes.
    """
    from hwsim.families.lut.golden import weight_codes
    from hwsim.workloads.quant import quantize_symmetric, quantize_ternary

    b = cfg.w_bits
    if cfg.weight_mode != MODE_FOR_BITS[b]:
        raise ConfigError("weight_mode", f"the activity stimulus uses {MODE_FOR_BITS[b]!r} at {b} bits, "
                          f"not {cfg.weight_mode!r}")
    if b == 1:
        vals = np.where(w >= 0, 1, -1)
    elif b == 2:
        vals = quantize_ternary(w).q
    else:
        vals = quantize_symmetric(w, b, k_axis=0).q
    return weight_codes(cfg, vals)


def stimulus(cfg: LutConfig, shape, n_gemms: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """LLM-like ``(a, codes)`` pairs: per-token INT8 activations of
    :func:`hwsim.workloads.synthetic.activations` and :func:`weight_codes_llm` weights."""
    from hwsim.workloads import synthetic
    from hwsim.workloads.quant import quantize_symmetric

    if cfg.a_bits != 8:
        raise ConfigError("act_format", f"the activity stimulus is INT8, not {cfg.act_format!r}")
    rng = np.random.default_rng(seed)
    m, k, n = shape
    out = []
    for _ in range(n_gemms):
        x, _ = synthetic.activations(rng, m, k)
        a = quantize_symmetric(x, 8, k_axis=1).q
        out.append((a, weight_codes_llm(cfg, synthetic.weights(rng, k, n))))
    return out


def gate_build(cfg: LutConfig, core: str):
    """(synthesis result, parsed netlist, Verilator build dir) of the gate-level tile."""
    from hwsim.eda.activity import cell_models_verilog, parse_netlist
    from hwsim.eda.synth import synth_netlist
    from hwsim.families.lut.rtl import top_name, verilog_text
    from hwsim.sim.verilator import build

    top = top_name(core)
    name = f"{top}_m{cfg.tile_m}n{cfg.tile_n}k{cfg.tile_k}"
    res = synth_netlist(verilog_text(cfg, core), top, name=name)
    text = res.verilog + "\n" + cell_models_verilog()
    bdir = build(text, top, f"{name}-gates", extra_args=("--trace-saif", "--trace-underscore"), waves=True)
    return res, parse_netlist(res.verilog), bdir


def table_energy(cfg: LutConfig, core: str, shape, n_gemms: int) -> tuple[dict, object]:
    """Table-based dynamic energy (pJ) of ``pe_array`` and ``control`` for the run, and the
    model's :class:`~hwsim.families.base.Perf` (control is charged over the compute cycles:
    the tile runs without DRAM stalls in the bench)."""
    from hwsim.families.lut import model
    from hwsim.cost.energy import energy_from_actions
    from hwsim.cost.tech import load_tech
    from hwsim.workloads.ops import GemmOp

    m, k, n = shape
    perf = model.estimate(replace(cfg, core=core), GemmOp(m, k, n, count=n_gemms))
    actions = {key: v for key, v in model.priced_actions(cfg, perf).items()
               if not key.startswith(("sram", "dram", "fill_bytes", "drain_bytes"))}
    e = energy_from_actions(actions, load_tech(45), cycles=int(perf.compute_cycles), freq_mhz=cfg.freq_mhz,
                            a_bits=cfg.a_bits, b_bits=cfg.a_bits, acc_bits=cfg.acc_bits,
                            shift_bits=cfg.acc_bits, lut_entry_bits=cfg.stored_table_bits)
    parts = e.dynamic_pj_by_part
    return {p: float(parts.get(p, 0.0)) for p in PARTS}, perf


def activity_report(cfg: LutConfig, core: str, w_bits=(1, 2, 4), *, shape=None, n_gemms: int = 2,
                    seed: int = 0, work_dir=None) -> dict:
    """Gate-level vs table energy of ``core``'s tile at each weight precision.

    Parameters
    ----------
    cfg : LutConfig
        The tile (keep it small; ``w_bits`` and ``weight_mode`` are set per precision).
    core : {"lut", "mac"}
    w_bits : iterable of int
        Precisions to run (one simulation each on the same build).
    shape : (m, k, n), optional
        GEMM size (default ``(2 tile_m, 16 tile_k, 2 tile_n)``).
    n_gemms, seed : int
        GEMMs per run and the stimulus seed.
    work_dir : path, optional
        Where the simulations write their SAIF dumps (default: a temporary folder).

    Returns
    -------
    dict
        ``runs``: per precision, ``activity_pj_by_block``, ``activity_pj_by_part``,
        ``table_pj_by_part``, ``ratio_by_part``, ``pj_per_mac`` (activity and table),
        ``outputs_match_golden``, ``cycles_rtl``, ``cycles_model``, ``calibration``
        (``{part: {"factor", "source"}}``); plus ``top``, ``cells`` and ``provenance``.
    """
    from hwsim.families.lut import model
    from hwsim.families.lut.golden import golden_lut_gemm, golden_mac_gemm
    from hwsim.eda.activity import _versions, assign_blocks, load_cells, netlist_energy, parse_saif
    from hwsim.families.lut.hdl import MODE_CODES
    from hwsim.families.lut.rtl import BENCH_MODULE, feed, top_name, unpack_output
    from hwsim.sim.verilator import run

    check_choice("core", core, CORES)
    check_int("n_gemms", n_gemms, 1, 16)
    check_int("seed", seed, 0)
    w_bits = tuple(w_bits)
    for b in w_bits:
        check_int("w_bits", b, 1, 4)
    shape = tuple(shape) if shape is not None else (2 * cfg.tile_m, 16 * cfg.tile_k, 2 * cfg.tile_n)
    if len(shape) != 3:
        raise ConfigError("shape", f"must be (m, k, n), not {shape!r}")
    for key, v in zip("mkn", shape):
        check_int(key, v, 1, 4096)
    top = top_name(core)
    synth, netlist, bdir = gate_build(cfg, core)
    cells = load_cells()
    blocks = assign_blocks(netlist, cells, patterns=BLOCK_PATTERNS, default="control")
    golden = golden_lut_gemm if core == "lut" else golden_mac_gemm
    cycles_fn = model.lut_cycles if core == "lut" else model.mac_cycles
    m, k, n = shape
    runs = {}
    with contextlib.ExitStack() as stack:
        if work_dir is None:
            work_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix=f"hwsim-act-{top}-"))
        work_dir = Path(work_dir).resolve()
        for b in w_bits:
            c = replace(cfg, w_bits=b, weight_mode=MODE_FOR_BITS[b])
            gemms = stimulus(c, shape, n_gemms, seed)
            job = {"w_bits": b, "mode": MODE_CODES[c.weight_mode], "gemms": [feed(c, core, a, q) for a, q in gemms]}
            wd = work_dir / f"w{b}"
            res = run(bdir, top, BENCH_MODULE, job, wd, waves=True)
            saif = parse_saif((wd / "dump.saif").read_text())
            match, cycles_rtl, cycles_model = True, 0, 0
            for (a, q), r in zip(gemms, res["gemms"]):
                match = match and bool(np.array_equal(unpack_output(c, r["out"], m, n), golden(c, a, q)))
                cycles_rtl += int(r["cycles"])
                cycles_model += cycles_fn(c, m, k, n)
            by_block = netlist_energy(netlist, saif, cells=cells, blocks=blocks)
            act = {"pe_array": sum(by_block[x].energy_pj for x in DATAPATH_BLOCKS if x in by_block),
                   "control": by_block["control"].energy_pj if "control" in by_block else 0.0}
            table, perf = table_energy(c, core, shape, n_gemms)
            ratio = {p: act[p] / table[p] if table[p] > 0 else float("nan") for p in PARTS}
            run_id = f"{synth.provenance['run_id']}/w{b}/seed{seed}/{n_gemms}x{m}x{k}x{n}"
            source = (f"activity: gate-level run {run_id} of {top} m{c.tile_m}n{c.tile_n}k{c.tile_k} "
                      f"(W{b} {c.weight_mode}, A int8), {n_gemms} LLM-like GEMM(s) {m}x{k}x{n}, hwsim45 cells, "
                      f"tools {json.dumps(_versions(), sort_keys=True)}")
            macs = int(perf.macs)
            runs[b] = {
                "weight_mode": c.weight_mode,
                "outputs_match_golden": match,
                "cycles_rtl": cycles_rtl,
                "cycles_model": cycles_model,
                "macs": macs,
                "activity_pj_by_block": {x: round(e.energy_pj, 6) for x, e in by_block.items()},
                "activity_pj_by_part": act,
                "table_pj_by_part": table,
                "ratio_by_part": ratio,
                "pj_per_mac": {"activity": sum(act.values()) / macs, "table": sum(table.values()) / macs},
                "calibration": {p: {"factor": float(r), "source": source} for p, r in ratio.items()
                                if np.isfinite(r) and r > 0},
            }
            log.info("activity %s W%d: datapath %.1f pJ (table %.1f), control %.1f pJ (table %.1f)", top, b,
                     act["pe_array"], table["pe_array"], act["control"], table["control"])
    return {"top": top, "core": core, "config": cfg.to_dict(), "shape": list(shape), "n_gemms": n_gemms,
            "seed": seed, "cells": len(netlist.cells), "runs": runs,
            "provenance": {"netlist_run_id": synth.provenance["run_id"], "build_dir": str(bdir),
                           "tools": _versions(), "cells_source": cells.source}}


def format_report(rep: dict) -> str:
    """A short text table of an :func:`activity_report`."""
    lines = [f"{rep['top']} ({rep['cells']} cells): {rep['n_gemms']} LLM-like GEMM(s) "
             f"{'x'.join(map(str, rep['shape']))}",
             f"  {'W':>2} {'exact':>6} {'cycles':>8} {'act pJ/MAC':>11} {'table pJ/MAC':>13} "
             f"{'datapath x':>11} {'control x':>10}  by block (pJ)"]
    for b, r in rep["runs"].items():
        blocks = ", ".join(f"{x} {v:.1f}" for x, v in r["activity_pj_by_block"].items())
        exact = r["outputs_match_golden"] and r["cycles_rtl"] == r["cycles_model"]
        lines.append(f"  {b:>2} {str(exact):>6} {r['cycles_rtl']:>8} {r['pj_per_mac']['activity']:>11.4f} "
                     f"{r['pj_per_mac']['table']:>13.4f} {r['ratio_by_part']['pe_array']:>11.3f} "
                     f"{r['ratio_by_part']['control']:>10.3f}  {blocks}")
    return "\n".join(lines)


def _calibration_config() -> LutConfig:
    r = CALIBRATION_RUN
    return LutConfig(tile_m=r["tile_m"], tile_n=r["tile_n"], tile_k=r["tile_k"])


def measure(core: str, w_bits=(1, 2, 3, 4)) -> dict:
    """Run the pinned calibration for ``core``: ``{w_bits: {part: {"factor", "source"},
    "pj_per_mac": {"activity", "table"}, "pj_by_block": {...}}}``.

    Raises if any run is not bit- and cycle-exact (such a run is not pinned)."""
    r = CALIBRATION_RUN
    rep = activity_report(_calibration_config(), core, w_bits, shape=r["shape"], n_gemms=r["n_gemms"],
                          seed=r["seed"])
    out = {}
    for b, run_ in rep["runs"].items():
        if not run_["outputs_match_golden"] or run_["cycles_rtl"] != run_["cycles_model"]:
            raise RuntimeError(f"calibration run of {core} W{b} is not bit/cycle exact; not pinning it")
        out[str(b)] = {**{p: run_["calibration"][p] for p in PARTS},
                       "pj_per_mac": {k: round(v, 6) for k, v in run_["pj_per_mac"].items()},
                       "pj_by_block": run_["activity_pj_by_block"]}
    return out


@lru_cache(maxsize=None)
def _pinned() -> dict:
    return json.loads(resources.files("hwsim.families.lut").joinpath("data", "calibration.json").read_text())


def lut_calibration(cfg: LutConfig, core: str | None = None) -> dict[str, Figure]:
    """``{part: Figure(factor, "x", source)}`` of the pinned run of ``core`` (default
    ``cfg.core``) at ``cfg.w_bits``, for ``energy_from_actions``' ``calibration``.

    The runs are INT8; for other activation formats (INT16, FP16: no gate-level run)
    this returns ``{}`` and those designs are priced from the table alone."""
    core = cfg.core if core is None else core
    check_choice("core", core, CORES)
    if cfg.act_format != "int8":
        return {}
    entry = _pinned()["cores"][core].get(str(cfg.w_bits))
    if entry is None:
        raise ConfigError("w_bits", f"no pinned activity calibration of the {core} tile at {cfg.w_bits} bits")
    return {p: Figure(float(entry[p]["factor"]), "x", entry[p]["source"]) for p in PARTS}


def main(argv=None) -> int:  # pragma: no cover - regenerates the pinned file by hand
    """``python -m hwsim.families.lut.activity [--report]``: regenerate the pinned factors
    (or only print the reports)."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m hwsim.families.lut.activity", description=main.__doc__)
    ap.add_argument("--report", action="store_true", help="print the activity reports, do not write the file")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    if args.report:
        r = CALIBRATION_RUN
        for core in CORES:
            print(format_report(activity_report(_calibration_config(), core, (1, 2, 3, 4), shape=r["shape"],
                                                n_gemms=r["n_gemms"], seed=r["seed"])))
        return 0
    out = {"version": 1, "run": CALIBRATION_RUN, "cores": {core: measure(core) for core in CORES}}
    path = Path(__file__).resolve().parent / "data" / "calibration.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
