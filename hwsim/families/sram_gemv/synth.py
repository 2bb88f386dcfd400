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


def llc_slice_area(cfg: SramGemvConfig) -> float:
    """CACTI area (um^2) of one LLC slice of ``cfg`` (the project's 45 nm table)."""
    from hwsim.cost.components import SramBuffer
    from hwsim.cost.tech import load_tech

    return SramBuffer("llc", size_bytes=cfg.llc_slice_kib * 1024, width_bits=cfg.llc_line_bytes * 8).area(
        load_tech(45)).value


def overhead_bases(pinned: dict | None = None, arrays_per_slice: int = 8) -> dict:
    """The pinned syntheses (``data/area.json``) put on the bases a "2 %" could mean.

    The periphery is linear in the vectors a unit serves (their accumulators and issue
    mask): two syntheses at ``vectors`` = 1 and 8 give the part per vector and the part
    independent of the batch (table build, issue and reuse logic, operand registers,
    sequencer). Bases, all at the same 45 nm node (CACTI table for the SRAM):

    * ``per_array``: periphery over the 8 KiB array it sits beside;
    * ``per_llc_slice``: ``arrays_per_slice`` peripheries over the LLC slice they sit in
      (SAIL's arrays are LLC capacity doing double duty, so the arrays are not overhead);
    * ``per_llc_slice_in_array_acc``: the same with only the batch-independent part plus a
      bit-serial adder and carry latch per column (the technology table's 1-bit add and
      register bit), i.e. the accumulation done in the SRAM rows (bit-serial, as
      compute-SRAM designs do) rather than in flip-flops.
    """
    import json
    from importlib import resources

    if pinned is None:
        pinned = json.loads(resources.files("hwsim.families.sram_gemv").joinpath("data", "area.json").read_text())
    by = {x["design"]["vectors"]: x for x in pinned["designs"]}
    lo, hi = min(by), max(by)
    per_vector = (by[hi]["logic_area_um2"] - by[lo]["logic_area_um2"]) / (hi - lo)
    fixed = by[lo]["logic_area_um2"] - lo * per_vector
    array = by[lo]["array_area_um2"]
    llc = llc_slice_area(SramGemvConfig())
    out = {"per_vector_um2": per_vector, "batch_independent_um2": fixed, "array_um2": array, "llc_slice_um2": llc,
           "arrays_per_slice": arrays_per_slice, "per_array": {}, "per_llc_slice": {}}
    for v, x in sorted(by.items()):
        out["per_array"][v] = x["logic_area_um2"] / array
        out["per_llc_slice"][v] = arrays_per_slice * x["logic_area_um2"] / llc
    # in-array accumulation still needs a bit-serial adder and a carry latch per column
    from hwsim.cost.tech import load_tech

    tech = load_tech(45)
    cols = SramGemvConfig().cols
    column = cols * (tech.add_area(1).value + tech.reg_bit_area().value)
    out["column_logic_um2"] = column
    out["per_llc_slice_in_array_acc"] = arrays_per_slice * (fixed + column) / llc
    out["batch_independent_per_array"] = fixed / array
    return out
