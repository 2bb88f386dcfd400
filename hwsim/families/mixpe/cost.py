"""Cost components of a MixPE array: buffers, PE registers, control, synthesised PE area."""

from __future__ import annotations

from functools import lru_cache

from hwsim.cost.energy import SramSpec
from hwsim.cost.report import CostInputs
from hwsim.families.mixpe.config import MixpeConfig
from hwsim.families.mixpe.model import OUT_BITS, acc_width
from hwsim.families.mixpe.timing import act_bits, array_config, array_lane_bits, phys_cols

__all__ = ["mixpe_inputs", "pe_array_area", "pe_verilog"]


def mixpe_inputs(cfg: MixpeConfig, dram: str = "lpddr4") -> CostInputs:
    """Cost inputs of ``cfg`` (``os``; ``ws`` designs raise ConfigError).

    Buffers are word-wide SRAMs of the model's word counts (``ibuf``: activations,
    ``wbuf``: ``w_bits`` codes, ``obuf``: binary32 results). A PE holds an activation, a
    code, an accumulator and a result register. Control is the systolic periphery's
    register bits (the same sequencer, skew and de-skew), from
    :func:`hwsim.families.systolic.cost.systolic_control_bits` of the array.
    """
    from hwsim.families.mixpe.hdl import CODE_BITS
    from hwsim.families.systolic.cost import systolic_control_bits

    from types import SimpleNamespace

    from hwsim.families.mixpe.timing import check_implemented

    check_implemented(cfg)
    dq = cfg.datapath == "dequant_mac"
    ab, acc = act_bits(cfg), acc_width(cfg)
    # the fields systolic_control_bits reads, without the generator's 256-PE limit
    wb = 16 if dq else CODE_BITS  # the array's north lanes (dequantised binary16 weights)
    arr = SimpleNamespace(rows=cfg.rows, cols=phys_cols(cfg), a_bits=ab, b_bits=wb,
                          acc_bits=16 if dq else array_lane_bits(cfg))
    ctrl = systolic_control_bits(arr)
    return CostInputs(
        freq_mhz=float(cfg.freq_mhz), n_pes=cfg.rows * phys_cols(cfg), a_bits=ab, b_bits=wb,
        acc_bits=acc, pe_reg_bits=ab + wb + 2 * acc,
        sram={"ibuf": SramSpec(cfg.ibuf_kib * 1024, ab, origin="ibuf_kib"),
              # a sub-byte weight word is read from an 8-bit port (the CACTI table's narrowest):
              # this over-prices W2-W4 weight reads by 8 / w_bits until the weight buffer is
              # declared as components with its real port width
              "wbuf": SramSpec(cfg.wbuf_kib * 1024, max(8, cfg.w_bits), origin="wbuf_kib"),
              "obuf": SramSpec(cfg.obuf_kib * 1024, 16 if dq else OUT_BITS, origin="obuf_kib")},
        dram=dram, control_bits=ctrl,
        control_source=f"{ctrl} periphery register bits of the {arr.rows}x{arr.cols} systolic os array "
                       "(hwsim.families.systolic.cost.systolic_control_bits) written per cycle",
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
    from hwsim.families.mixpe.hdl import Fp16Dequantiser

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
