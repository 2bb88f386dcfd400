"""Cost components of a MixPE array: buffers, PE registers, control, synthesised PE area."""

from __future__ import annotations

from functools import lru_cache

from hwsim.cost.components import ComponentDesign, DramInterface, PeArray, Route, Sequencer, SramBuffer
from hwsim.cost.energy import SramSpec
from hwsim.cost.report import CostInputs
from hwsim.families.mixpe.config import MixpeConfig
from hwsim.families.mixpe.model import OUT_BITS, acc_width
from hwsim.families.mixpe.timing import act_bits, array_config, array_lane_bits, phys_cols

__all__ = ["mixpe_design", "mixpe_inputs", "pe_array_area", "pe_verilog", "port_widths"]


def port_widths(cfg: MixpeConfig) -> dict[str, int]:
    """Bits each buffer's port moves per cycle, as the array reads and writes them: ``ibuf``
    one activation per row (west edge), ``wbuf`` one code per column (north edge; the
    dequantise-then-MAC baseline reads its codes at the column heads alike), ``obuf`` one
    result per column (the drain). At least 8 bits (the SRAM table's narrowest port)."""
    dq = cfg.datapath == "dequant_mac"
    return {"ibuf": max(8, cfg.rows * act_bits(cfg)), "wbuf": max(8, cfg.cols * cfg.w_bits),
            "obuf": max(8, cfg.cols * (16 if dq else OUT_BITS))}


def mixpe_design(cfg: MixpeConfig, dram: str = "lpddr4") -> ComponentDesign:
    """The components of a MixPE array and how the model's actions are charged to them.

    Components: ``pe_array`` (the shift-and-add or dequantise-then-MAC PEs, with their
    activation, code, accumulator and result registers; its area is the synthesised PE
    times the PE count, :func:`pe_array_area`), the buffers ``ibuf``, ``wbuf``, ``obuf`` at
    the port widths of :func:`port_widths` (banked for the clock), the sequencer
    (``control``: the systolic periphery's register bits) and the DRAM interface.

    The model counts buffer traffic in words (an activation, a ``w_bits`` code or a slice
    of a group's scale and zero point, a result); a word is charged ``word_bits /
    width_bits`` of an access. DRAM fills and drains are charged on the buffer side: each
    byte read from DRAM is ``8 / width`` of a write of its buffer (``fill_bytes:<buf>``),
    each byte written back ``8 / width`` of an ``obuf`` read (``drain_bytes:obuf``).
    """
    from hwsim.families.mixpe.hdl import CODE_BITS
    from hwsim.families.systolic.cost import systolic_control_bits

    from types import SimpleNamespace

    from hwsim.families.mixpe.timing import check_implemented

    check_implemented(cfg)
    dq = cfg.datapath == "dequant_mac"
    ab, acc = act_bits(cfg), acc_width(cfg)
    wb = 16 if dq else CODE_BITS  # the array's north lanes (dequantised binary16 weights)
    # the fields systolic_control_bits reads, without the generator's 256-PE limit
    arr = SimpleNamespace(rows=cfg.rows, cols=phys_cols(cfg), a_bits=ab, b_bits=wb,
                          acc_bits=16 if dq else array_lane_bits(cfg))
    ctrl = systolic_control_bits(arr)
    w = port_widths(cfg)
    freq = float(cfg.freq_mhz)
    out_bits = 16 if dq else OUT_BITS
    comps = (
        PeArray("pe_array", n_pes=cfg.rows * phys_cols(cfg), a_bits=ab, b_bits=wb, acc_bits=acc,
                reg_bits=ab + wb + 2 * acc),
        SramBuffer("ibuf", part="sram:ibuf", size_bytes=cfg.ibuf_kib * 1024, width_bits=w["ibuf"], freq_mhz=freq,
                   origin="ibuf_kib"),
        SramBuffer("wbuf", part="sram:wbuf", size_bytes=cfg.wbuf_kib * 1024, width_bits=w["wbuf"], freq_mhz=freq,
                   origin="wbuf_kib"),
        SramBuffer("obuf", part="sram:obuf", size_bytes=cfg.obuf_kib * 1024, width_bits=w["obuf"], freq_mhz=freq,
                   origin="obuf_kib"),
        Sequencer("control", bits=ctrl,
                  source=f"{ctrl} periphery register bits of the {arr.rows}x{arr.cols} systolic os array "
                         "(hwsim.families.systolic.cost.systolic_control_bits) written per cycle"),
        DramInterface("dram", kind=dram),
    )

    def word(buf, action, bits):
        return (Route(buf, action, bits / w[buf], f"{bits}-bit word of a {w[buf]}-bit access"),)

    pe = {a: (Route("pe_array", a),) for a in ("add_bits", "mult:16x24", "mult:11x11", "mult:11x5",
                                                 "reg_write_bits")}
    routes = {
        **pe,
        "sram_read:ibuf": word("ibuf", "read", ab),
        "sram_read:wbuf": word("wbuf", "read", cfg.w_bits),
        "sram_read:obuf": word("obuf", "read", out_bits),
        "sram_write:obuf": word("obuf", "write", out_bits),
        "fill_bytes:ibuf": word("ibuf", "write", 8),
        "fill_bytes:wbuf": word("wbuf", "write", 8),
        "fill_bytes:obuf": word("obuf", "write", 8),
        "drain_bytes:obuf": word("obuf", "read", 8),
        "dram_read_bytes": (Route("dram", "read_bytes"),),
        "dram_write_bytes": (Route("dram", "write_bytes"),),
    }
    return ComponentDesign(comps, routes)


def mixpe_inputs(cfg: MixpeConfig, dram: str = "lpddr4") -> CostInputs:
    """Cost inputs of ``cfg`` (``os``; ``ws`` designs raise ConfigError), priced from its
    components (:func:`mixpe_design`); the keyword fields (widths, ``sram`` at the port
    widths, control bits) are kept for :func:`hwsim.cost.energy.energy_from_actions`."""
    design = mixpe_design(cfg, dram)
    pe, ctrl = design.component("pe_array"), design.component("control")
    return CostInputs(
        freq_mhz=float(cfg.freq_mhz), n_pes=pe.n_pes, a_bits=pe.a_bits, b_bits=pe.b_bits,
        acc_bits=pe.acc_bits, pe_reg_bits=pe.reg_bits,
        sram={c.name: SramSpec(c.size_bytes, c.width_bits, origin=c.origin)
              for c in design.components if isinstance(c, SramBuffer)},
        dram=dram, control_bits=ctrl.bits, control_source=ctrl.source, design=design,
    )


def pe_verilog(cfg: MixpeConfig) -> tuple[str, str]:
    """Verilog and top name of one PE of ``cfg`` (:class:`~hwsim.families.mixpe.hdl.MixpePE`,
    :class:`~hwsim.families.mixpe.hdl.MixpeFp16PE`, or the systolic binary16 MAC PE of the
    dequantise-then-MAC baseline)."""
    from amaranth.back import verilog

    from hwsim.families.mixpe.hdl import MixpeFp16PE, MixpePE

    if cfg.datapath == "dequant_mac":
        from hwsim.families.systolic.synth import pe_verilog as systolic_pe_verilog

        return systolic_pe_verilog(array_config(cfg))
    if cfg.act_format == "fp16":
        top, pe = "mixpe_fp16_pe", MixpeFp16PE
    else:
        top, pe = f"mixpe_pe_acc{cfg.acc_bits}", MixpePE
    return verilog.convert(pe(array_config(cfg)), name=top, emit_src=False), top


@lru_cache(maxsize=64)
def _pe_synth(act_format: str, acc_bits: int, liberty, datapath: str = "shift_add"):
    from hwsim.eda.synth import synth_asic

    # the smallest legal design of this PE (it depends on act_format, acc_bits and datapath alone)
    v, top = pe_verilog(MixpeConfig(act_format=act_format, acc_bits=acc_bits, w_bits=2, group_size=16,
                                    datapath=datapath, rows=2, cols=2))
    return synth_asic(v, top, liberty, name=top)


@lru_cache(maxsize=8)
def _dequantiser_synth(liberty):
    from amaranth.back import verilog

    from hwsim.eda.synth import synth_asic
    from hwsim.blocks.fp16 import Fp16Dequantiser

    top = "mixpe_fp16_dequantiser"
    return synth_asic(verilog.convert(Fp16Dequantiser(), name=top, emit_src=False), top, liberty, name=top)


def pe_array_area(cfg: MixpeConfig, liberty=None):
    """Area of the PE grid: one synthesised PE (Yosys on the project's cell library, cached
    on disk) times ``rows x phys_cols``; the dequantise-then-MAC baseline adds its ``cols``
    synthesised dequantisers. The periphery (sequencer, skew) and the per-group
    dequantisation stage are not included."""
    from hwsim.eda.synth import compose_area

    if cfg.datapath == "dequant_mac":
        return compose_area(_pe_synth("fp16", 32, liberty, "dequant_mac"), cfg.rows * cfg.cols,
                            {"dequantisers": cfg.cols * _dequantiser_synth(liberty).area_um2})
    acc = cfg.acc_bits if cfg.act_format == "int8" else 32  # unused by the FP16 PE: one cache entry
    return compose_area(_pe_synth(cfg.act_format, acc, liberty), cfg.rows * phys_cols(cfg))
