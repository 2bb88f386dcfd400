"""Synthesis of the systolic-array RTL: area by block (ASIC) and FPGA resources.

Synthesising a whole array flat costs minutes at 16x16 on these machines and grows
with the PE count, so the ASIC figure is *composed*: one PE (:class:`SystolicPE`, the
same module the array instantiates ``rows x cols`` times) is synthesised once, the
periphery (operand skew, sequencer, accumulator buffer, result path) is synthesised with
the PEs left out as black boxes, and the two are added. ``method="flat"`` synthesises
the whole array with hierarchy kept (for validation on small arrays; the test suite
measures the gap between the two). SRAM buffers are never synthesised: their area comes
from the SRAM table (:mod:`hwsim.cost.area`).

FPGA runs wrap the array in :class:`hwsim.eda.fpga_wrap.SerialWrapper`, whose cost
(one flip-flop per port bit) is reported beside the result.
"""

from __future__ import annotations

import logging

from hwsim.families.systolic.config import SystolicConfig
from hwsim.eda.synth import AsicResult, ComposedArea, FpgaResult, synth_asic
from hwsim.errors import check_choice

log = logging.getLogger(__name__)

METHODS = ("composed", "flat")


def pe_verilog(cfg: SystolicConfig) -> tuple[str, str]:
    """Verilog and top name of one PE of ``cfg``."""
    from amaranth.back import verilog

    from hwsim.families.systolic.hdl import SystolicPE

    top = f"systolic_{'fp16_' if cfg.is_fp16 else ''}pe_{cfg.dataflow}"
    return verilog.convert(SystolicPE(cfg), name=top, emit_src=False), top


def asic_area(cfg: SystolicConfig, method: str = "composed", liberty=None) -> AsicResult | ComposedArea:
    """Standard-cell area of the array's logic (PEs + periphery), in um^2.

    ``composed``: the PE columns synthesised flat (:func:`hwsim.families.systolic.cost.pe_array_synth`)
    plus the periphery synthesised with the PEs as black boxes
    (:func:`hwsim.families.systolic.cost.periphery_synth`; a ``ws``/``is`` accumulator
    memory is left to the SRAM table). ``flat``: the whole array, memories mapped to
    flip-flops as the RTL writes them.
    """
    from hwsim.families.systolic.rtl import top_name, verilog_text

    check_choice("method", method, METHODS)
    if method == "flat":  # the whole array flattened (Yosys may trim edge PEs across boundaries)
        top = top_name(cfg)
        return synth_asic(verilog_text(cfg), top, liberty, flatten=True, name=top)
    pe_array, periphery = asic_parts(cfg, liberty)
    return ComposedArea(
        pe_array.area_um2 + periphery.area_um2, pe_array.unit_area_um2, cfg.pes,
        {"periphery": periphery.area_um2},
        {"estimator": "composed from synthesised units",
         "runs": {**pe_array.provenance["runs"], "periphery": periphery.provenance["run_id"]}})


def asic_parts(cfg: SystolicConfig, liberty=None) -> tuple[ComposedArea, AsicResult]:
    """The PE grid (synthesised PE columns) and the periphery, separately.

    This is what a cost record takes: ``pe_array_area`` and ``extra_area["periphery"]``
    (sweeps take the periphery from its growth fit instead, see
    :func:`hwsim.families.systolic.cost.synthesised_area`).
    """
    from hwsim.families.systolic.cost import pe_array_synth, periphery_synth

    # the PE columns as a flat synthesis of the array sees them, and the periphery with
    # the PEs as black boxes (the ws/is accumulator memory left to the SRAM table)
    return pe_array_synth(cfg, liberty), periphery_synth(cfg, liberty)


def fpga_resources(cfg: SystolicConfig, target: str = "ice40", pnr: bool = True) -> FpgaResult:
    """LUTs, flip-flops, DSPs, BRAMs and Fmax of the array (behind a serial wrapper)."""
    from hwsim.eda.synth import fpga_wrapped
    from hwsim.families.systolic.hdl import SystolicArray
    from hwsim.families.systolic.rtl import top_name

    freq = float(cfg.freq_mhz) if cfg.freq_mhz < 500 else 12.0
    return fpga_wrapped(SystolicArray(cfg), top_name(cfg) + "_fpga", target, pnr=pnr, freq_mhz=freq)
