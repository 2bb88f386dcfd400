"""Synthesised area of the logic a unit adds beside its SRAM array (the 2 % question).

The periphery (:class:`~.hdl.LutGemvCore`, the table array excluded) is synthesised with
Yosys on the project's cell library (:func:`hwsim.eda.synth.synth_asic`, cached); the
array beside it and the LLC slice are CACTI macros of the project's table at the same
45 nm node (:mod:`hwsim.cost.sram`).
"""

from __future__ import annotations

from hwsim.families.sram_gemv.config import SramGemvConfig
from hwsim.families.sram_gemv.hdl import CORE_TOP, LutGemvCore


def core_verilog(cfg: SramGemvConfig) -> str:
    from amaranth.back import verilog

    return verilog.convert(LutGemvCore(cfg), name=CORE_TOP, emit_src=False)


def synth_core(cfg: SramGemvConfig, liberty=None):
    from hwsim.eda.synth import synth_asic

    return synth_asic(core_verilog(cfg), CORE_TOP, liberty, name=CORE_TOP)


def area_ratio(cfg: SramGemvConfig, liberty=None) -> dict:
    """Logic area, array area and their ratios (per unit; per slice against the LLC slice)."""
    from hwsim.cost.components import SramBuffer
    from hwsim.cost.tech import load_tech

    from hwsim.families.sram_gemv.cost import array_area

    tech = load_tech(45)
    res = synth_core(cfg, liberty)
    arr = array_area(cfg, tech)
    llc = SramBuffer("llc", size_bytes=cfg.llc_slice_kib * 1024, width_bits=cfg.llc_line_bytes * 8).area(tech)
    return {"logic_area_um2": res.area_um2, "array_area_um2": arr.value,
            "logic_over_array": res.area_um2 / arr.value,
            "logic_over_llc_slice": cfg.arrays_per_slice * res.area_um2 / llc.value,
            "cell_count": res.cell_count, "sequential_area_um2": res.sequential_area_um2,
            "array_source": arr.source, "llc_source": llc.source,
            "synthesis": res.provenance, "config": cfg.to_dict()}
