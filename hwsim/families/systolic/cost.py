"""Cost components of a systolic array: buffers, PE registers and the periphery's control."""

from __future__ import annotations

from hwsim.cost.energy import SramSpec
from hwsim.cost.report import CostInputs
from hwsim.cost.tech import SRAM_MIN_BYTES


#: Flip-flops of the systolic sequencer (counters, state, handshake), counted in the
#: 2x2 OS gate netlist (the periphery's other registers are counted by formula).
SEQUENCER_BITS = 136


def systolic_control_bits(cfg) -> int:
    """Register bits of the systolic RTL's periphery, charged as control each cycle.

    The sequencer (:data:`SEQUENCER_BITS`), the operand skew triangles
    (``a_bits * R(R-1)/2 + b_bits * C(C-1)/2``: exactly the skew flip-flops of the gate
    netlists) and the output de-skew triangle (``acc_bits * C(C-1)/2``: exactly the
    ``ws`` netlists' output flip-flops). Against the flip-flop count of the periphery
    (``acc`` buffer excluded) in the gate netlists this is 3 % / 11 % low for OS 2x2 / 4x4
    and 12 % / 13 % low for WS 2x2 / 4x4; the activity calibration at 2x2 absorbs the
    constant part.
    """
    r, c = cfg.rows, cfg.cols
    tri_r, tri_c = r * (r - 1) // 2, c * (c - 1) // 2
    return SEQUENCER_BITS + cfg.a_bits * tri_r + cfg.b_bits * tri_c + cfg.acc_bits * tri_c


def systolic_inputs(cfg, dram: str = "lpddr4") -> CostInputs:
    """Cost inputs of a :class:`hwsim.families.systolic.config.SystolicConfig`.

    Buffers are word-wide SRAMs of the operand widths (``ifmap``: ``a_bits``, ``filter``:
    ``b_bits``, ``ofmap``: ``acc_bits``), matching the model's word counts. A PE holds an
    ``a``, a ``b`` and an accumulator register. Control is the periphery's register bits
    (:func:`systolic_control_bits`), which grow with the square of the array's sides.
    """
    ctrl = systolic_control_bits(cfg)
    return CostInputs(
        freq_mhz=float(cfg.freq_mhz), n_pes=cfg.pes, a_bits=cfg.a_bits, b_bits=cfg.b_bits, acc_bits=cfg.acc_bits,
        pe_reg_bits=cfg.a_bits + cfg.b_bits + cfg.acc_bits,
        sram={"ifmap": SramSpec(cfg.ifmap_sram_kb * 1024, cfg.a_bits),
              "filter": SramSpec(cfg.filter_sram_kb * 1024, cfg.b_bits),
              "ofmap": SramSpec(cfg.ofmap_sram_kb * 1024, cfg.acc_bits),
              # the ws/is partial-sum buffer of the RTL: acc_depth x cols words (os keeps
              # its sums in the PEs and has none); a buffer smaller than the table's
              # smallest macro is priced as that macro
              **({"acc": SramSpec(max(SRAM_MIN_BYTES, cfg.acc_depth * cfg.cols * cfg.acc_bits // 8), cfg.acc_bits,
                                  origin="acc_depth")}
                 if cfg.dataflow in ("ws", "is") else {})},
        dram=dram,
        control_bits=ctrl,
        control_source=f"{ctrl} periphery register bits (hwsim.families.systolic.cost.systolic_control_bits: sequencer "
                       f"{SEQUENCER_BITS} + skew and de-skew triangles of a {cfg.rows}x{cfg.cols} array) "
                       "written per cycle",
    )
