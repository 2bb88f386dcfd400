"""The LUT tensor core family as the shared engines see it (:class:`~hwsim.families.contract.Family`).

One knob chooses the core: the config's ``core`` (``"lut"`` or its ``"mac"`` baseline of
the same tile shape); every implementation and the estimator follow it.
"""

from __future__ import annotations

import numpy as np

import hwsim.families.lut as package
from hwsim.families.contract import CliHooks, CostHooks, Family, Result, RtlHooks
from hwsim.families.lut import cli
from hwsim.families.lut.activity import lut_calibration
from hwsim.families.lut.compare import cost_inputs, pe_array_area
from hwsim.families.lut.config import LutConfig
from hwsim.families.lut.golden import golden_lut_gemm, golden_mac_gemm
from hwsim.families.lut.model import estimate_priced
from hwsim.families.lut.rtltile import rtl_tile
from hwsim.workloads.ops import GemmOp

_ENABLES = ("act_en", "wgt_en", "out_en")


def golden(cfg: LutConfig, job) -> np.ndarray:
    """The tile's result: integers, or binary16 patterns (``uint16``) for ``fp16``, where a
    MAC job may carry per-group ``scales`` and their ``group_size``."""
    if not cfg.is_integer:
        from hwsim.families.lut.golden_fp16 import golden_fp16_gemm

        return golden_fp16_gemm(cfg, job["a"], job["q"], job.get("scales"), job.get("group_size"))
    fn = golden_lut_gemm if cfg.core == "lut" else golden_mac_gemm
    return fn(cfg, job["a"], job["q"])


def _scales(job) -> dict:
    return {k: job[k] for k in ("scales", "group_size") if job.get(k) is not None}


def run_golden(cfg, jobs, backpressure=None):
    return [Result(golden(cfg, j)) for j in jobs]


def run_model(cfg, jobs, backpressure=None):
    """The cycle-level model; a job's ``enables`` (per-cycle valid/ready strings, as the
    RTL bench takes them) are honoured, so it counts stalls cycle for cycle."""
    from hwsim.families.lut.cyclesim import simulate_lut, simulate_mac

    sim = simulate_lut if cfg.core == "lut" else simulate_mac
    out = []
    for j in jobs:
        en = j.get("enables") or {}
        c, perf = sim(cfg, j["a"], j["q"], **{k: en.get(k) for k in _ENABLES}, **_scales(j))
        out.append(Result(c, perf.cycles, perf.stall_cycles))
    return out


def _gemms(jobs) -> list:
    return [(j["a"], j["q"], j.get("enables") or None, _scales(j)) for j in jobs]


def run_verilator(cfg, jobs, backpressure=None):
    from hwsim.families.lut.rtl import run_jobs

    return [Result(r["c"], r["cycles"], r["stall_cycles"])
            for r in run_jobs(cfg, cfg.core, _gemms(jobs), backpressure=backpressure)]


def run_amaranth(cfg, jobs, backpressure=None):
    from hwsim.families.lut.rtl import run_amaranth as run

    return [Result(r["c"], r["cycles"], r["stall_cycles"])
            for r in run(cfg, cfg.core, _gemms(jobs), backpressure=backpressure)]


def lut_vs_mac_items(df, item_cls) -> list:
    """The LUT-vs-MAC report section (:mod:`hwsim.families.lut.study`, imported only when
    a report is written: it needs the plotting stack)."""
    from hwsim.families.lut.study import lut_vs_mac_items as build

    return build(df, item_cls)


def stimulus(cfg: LutConfig, shape, rng: np.random.Generator) -> dict:
    """Integer activations over the full ``a_bits`` range (``fp16``: standard normal values
    rounded to binary16, as ``uint16`` patterns) and weight codes over ``w_bits``."""
    m, k, n = shape
    if not cfg.is_integer:
        from hwsim.families.lut.golden_fp16 import mac_lanes

        q = rng.integers(0, 1 << cfg.w_bits, (k, n), dtype=np.int64)
        if cfg.core == "mac":
            mac_lanes(cfg, q)  # a weight mode the MAC tile's lane cannot carry is an error here
        return {"a": rng.standard_normal((m, k)).astype(np.float16).view(np.uint16), "q": q}
    lim = 1 << (cfg.a_bits - 1)
    return {"a": rng.integers(-lim, lim, (m, k), dtype=np.int64),
            "q": rng.integers(0, 1 << cfg.w_bits, (k, n), dtype=np.int64)}


from hwsim.families.contract import lazy_hooks  # noqa: E402

_rtl_hook = lazy_hooks("hwsim.families.lut.rtl")


def top(cfg: LutConfig):
    from hwsim.families.lut.rtl import component, top_name

    return component(cfg, cfg.core), top_name(cfg.core)


FAMILY = Family(
    name="lut",
    summary="LUT tensor core: low-bit weights x INT8/INT16/FP16 activations by table lookup (and its MAC baseline)",
    package=package,
    config=LutConfig,
    golden=golden,
    estimate=estimate_priced,
    implementations={"golden": run_golden, "model": run_model, "amaranth": run_amaranth,
                     "verilator": run_verilator},
    stimulus=stimulus,
    peak_macs_per_cycle=lambda c: float(c.macs_per_cycle),
    cost=CostHooks(inputs=cost_inputs, pe_array_area=pe_array_area, calibration=lut_calibration,
                   ignores=("dram_bw_bytes_per_cycle", "mapping", "mapping_objective")),
    cli=CliHooks(describe=cli.describe, description=cli.DESCRIPTION, run_options=cli.add_run_options,
                 run_extras=cli.run_extras),
    top=top,
    # weight bits and weight mode are run-time inputs of both tiles; buffers, DRAM and clock
    # are not in the RTL
    rtl=RtlHooks(fields=("core", "act_format", "k_group", "symmetric_table", "tile_m", "tile_n", "tile_k",
                         "lookup_units", "table_bits", "acc_bits"),
                 doc=_rtl_hook("port_doc"), vectors=_rtl_hook("test_vectors"), tb_shapes=((3, 8, 10), (2, 4, 5)),
                 name=_rtl_hook("export_base"), run_time_inputs=_rtl_hook("run_time_inputs"),
                 export_options=cli.add_export_options, export_extra=cli.export_extra),
    op_kinds=(GemmOp,),
    studies={"lut_vs_mac": lut_vs_mac_items},
    rtl_tile=rtl_tile,
    # tile shapes of tests/test_lut_fidelity.py (weight precision is a run-time input of the
    # tiles, so every precision shares one build per core and activation format); the FP16
    # tiles are the builds of tests/test_lut_fp16.py
    examples=(dict(core="lut", w_bits=2, weight_mode="signed", tile_m=2, tile_n=8, tile_k=4),
              dict(core="mac", w_bits=4, weight_mode="unsigned", tile_m=2, tile_n=8, tile_k=4),
              dict(core="lut", act_format="fp16", w_bits=2, weight_mode="signed", tile_m=2, tile_n=4,
                   tile_k=8),
              dict(core="mac", act_format="fp16", w_bits=2, weight_mode="signed", tile_m=2, tile_n=4,
                   tile_k=8)),
)
