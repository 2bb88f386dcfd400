"""Cost components of a systolic array: buffers, PE registers and the periphery's control."""

from __future__ import annotations

from hwsim.cost.components import ComponentDesign, DramInterface, PeArray, Route, Sequencer, SramBuffer
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


def port_widths(cfg) -> dict[str, int]:
    """Bits each buffer reads or writes per access: what the array consumes per cycle.

    The streamed operand enters one element per array row (``rows x a_bits`` for the
    ``ifmap`` in ``os``/``ws``), the other one element per column (``cols x b_bits``:
    the filter stream of ``os``, the weight-tile rows preloaded in ``ws``); ``is`` runs
    the ``ws`` machine on the transposed GEMM, so the two swap. Results and partial sums
    leave one per column (``cols x acc_bits``).
    """
    r, c = cfg.rows, cfg.cols
    if cfg.dataflow == "is":
        ifmap, filt = c * cfg.a_bits, r * cfg.b_bits
    else:
        ifmap, filt = r * cfg.a_bits, c * cfg.b_bits
    return {"ifmap": ifmap, "filter": filt, "ofmap": c * cfg.acc_bits, "acc": c * cfg.acc_bits}


def _acc_bytes(cfg) -> int:
    return max(SRAM_MIN_BYTES, cfg.acc_depth * cfg.cols * cfg.acc_bits // 8)


def systolic_design(cfg, dram: str = "lpddr4") -> ComponentDesign:
    """The components of a systolic array and how the model's actions are charged to them.

    Components: ``pe_array`` (``rows x cols`` MAC PEs with an ``a``, a ``b`` and an
    accumulator register each), the SRAM buffers ``ifmap``, ``filter``, ``ofmap`` (and
    ``acc`` for ``ws``/``is``) at the port widths of :func:`port_widths`, banked for the
    clock, the sequencer (``control``) and the DRAM interface (``dram``).

    The model counts buffer traffic in operand words; one port access carries
    ``width / word`` of them, so a word is charged ``word_bits / width_bits`` of an
    access (partially used accesses at fold edges are not rounded up). DRAM fills and
    drains are charged on the buffer side too: each byte read from DRAM is ``8 / width``
    of a write of its buffer, each byte written to DRAM ``8 / width`` of an ``ofmap``
    read (the model emits them as ``fill_bytes:<buf>`` / ``drain_bytes:<buf>``).
    """
    w = port_widths(cfg)
    freq = float(cfg.freq_mhz)
    ctrl = systolic_control_bits(cfg)
    comps = [
        PeArray("pe_array", n_pes=cfg.pes, a_bits=cfg.a_bits, b_bits=cfg.b_bits, acc_bits=cfg.acc_bits,
                reg_bits=cfg.a_bits + cfg.b_bits + cfg.acc_bits),
        SramBuffer("ifmap", part="sram:ifmap", size_bytes=cfg.ifmap_sram_kb * 1024, width_bits=w["ifmap"],
                   freq_mhz=freq, origin="ifmap_sram_kb"),
        SramBuffer("filter", part="sram:filter", size_bytes=cfg.filter_sram_kb * 1024, width_bits=w["filter"],
                   freq_mhz=freq, origin="filter_sram_kb"),
        SramBuffer("ofmap", part="sram:ofmap", size_bytes=cfg.ofmap_sram_kb * 1024, width_bits=w["ofmap"],
                   freq_mhz=freq, origin="ofmap_sram_kb"),
        Sequencer("control", bits=ctrl,
                  source=f"{ctrl} periphery register bits (hwsim.families.systolic.cost.systolic_control_bits: "
                         f"sequencer {SEQUENCER_BITS} + skew and de-skew triangles of a {cfg.rows}x{cfg.cols} "
                         "array) written per cycle"),
        DramInterface("dram", kind=dram),
    ]
    has_acc = cfg.dataflow in ("ws", "is")
    if has_acc:
        # the ws/is partial-sum buffer of the RTL: acc_depth x cols words (os keeps its
        # sums in the PEs and has none); one smaller than the table's smallest macro is
        # priced as that macro
        comps.append(SramBuffer("acc", part="sram:acc", size_bytes=_acc_bytes(cfg), width_bits=w["acc"],
                                freq_mhz=freq, origin="acc_depth"))

    def word(buf, action, bits):
        return (Route(buf, action, bits / w[buf], f"{bits}-bit word of a {w[buf]}-bit access"),)

    routes = {
        "mac": (Route("pe_array", "mac"),),
        "reg_write_bits": (Route("pe_array", "reg_write_bits"),),
        "sram_read:ifmap": word("ifmap", "read", cfg.a_bits),
        "sram_read:filter": word("filter", "read", cfg.b_bits),
        "sram_write:ofmap": word("ofmap", "write", cfg.acc_bits),
        # a mapped GEMM's K-split partial sums: read back for the read-modify-write, or
        # refilled from DRAM after a spill (hwsim.families.systolic.mapping)
        "sram_read:ofmap": word("ofmap", "read", cfg.acc_bits),
        "fill_bytes:ofmap": word("ofmap", "write", 8),
        "sram_read:acc": word("acc", "read", cfg.acc_bits) if has_acc else (),
        "sram_write:acc": word("acc", "write", cfg.acc_bits) if has_acc else (),
        "fill_bytes:ifmap": word("ifmap", "write", 8),
        "fill_bytes:filter": word("filter", "write", 8),
        "drain_bytes:ofmap": word("ofmap", "read", 8),
        "dram_read_bytes": (Route("dram", "read_bytes"),),
        "dram_write_bytes": (Route("dram", "write_bytes"),),
    }
    return ComponentDesign(tuple(comps), routes)


def systolic_inputs(cfg, dram: str = "lpddr4") -> CostInputs:
    """Cost inputs of a :class:`hwsim.families.systolic.config.SystolicConfig`.

    The design is priced from its components (:func:`systolic_design`). The keyword
    fields (widths, ``sram`` at the port widths, control bits) are kept for callers of
    :func:`hwsim.cost.energy.energy_from_actions`.
    """
    ctrl = systolic_control_bits(cfg)
    design = systolic_design(cfg, dram)
    w = port_widths(cfg)
    return CostInputs(
        freq_mhz=float(cfg.freq_mhz), n_pes=cfg.pes, a_bits=cfg.a_bits, b_bits=cfg.b_bits, acc_bits=cfg.acc_bits,
        pe_reg_bits=cfg.a_bits + cfg.b_bits + cfg.acc_bits,
        sram={c.name: SramSpec(c.size_bytes, w[c.name], origin=c.origin)
              for c in design.components if isinstance(c, SramBuffer)},
        dram=dram,
        control_bits=ctrl,
        control_source=design.component("control").source,
        design=design,
    )
