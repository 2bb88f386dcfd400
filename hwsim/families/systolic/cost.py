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
# synthesised area: the PEs by position, and the periphery from its measured growth

#: Array sizes whose periphery is synthesised to fit its growth (seven sizes for the six
#: terms of :class:`hwsim.eda.synth.GrowthFit`, so the fit shows a residual).
PERIPHERY_FIT_SIZES = ((2, 2), (2, 4), (4, 2), (4, 4), (4, 8), (8, 4), (8, 8))
#: Config fields the periphery's logic depends on besides rows and cols (buffers, clock
#: and DRAM are not in the RTL).
AREA_FIELDS = ("dataflow", "operand_format", "a_bits", "b_bits", "acc_bits", "signed", "acc_depth")
AREA_CACHE_VERSION = 3

_AREA_MEMO: dict = {}


def _machine(cfg) -> str:
    return "os" if cfg.dataflow == "os" else "ws"  # is runs the ws machine


def psum_bits(cfg, row: int) -> int | None:
    """Signed bits that hold the partial sum entering PE row ``row`` of a ``ws``/``is``
    array (the sum of ``row`` products), or ``None`` where it has no such bound (``os``,
    binary16). Row 0's input is the constant 0."""
    if _machine(cfg) == "os" or cfg.is_fp16 or row == 0:
        return None
    prod = cfg.a_bits + cfg.b_bits + (0 if cfg.signed else 1)
    return min(cfg.acc_bits, prod + (row - 1).bit_length())


#: Links between neighbouring PEs: (west-to-east, north-to-south) port stems.
_LINKS = {"os": (("a", "last"), ("b",)), "ws": (("x", "first"), ("w", "w_hops", "w_valid", "psum"))}
#: North-to-south links whose value leaves the bottom row into the periphery.
_READ_AT_SOUTH = {"os": (), "ws": ("psum",)}
#: North-to-south links the top row receives as a constant.
_TIED_AT_NORTH = {"os": {}, "ws": {"psum": 0}}


def column_verilog(cfg, east: bool) -> tuple[str, str]:
    """Verilog of one column of ``cfg``'s array: ``rows`` PEs chained north to south as
    the array chains them, the top row's partial-sum input tied to 0 (``ws``/``is``),
    the bottom row's unread outputs and (``east``) the rows' eastward outputs left
    unconnected: the boundary conditions a flat synthesis of the whole array sees."""
    from hwsim.eda.synth import module_ports
    from hwsim.families.systolic.synth import pe_verilog

    v, pe = pe_verilog(cfg)
    ports = module_ports(v, pe)
    west, north = _LINKS[_machine(cfg)]
    linked = {f"{p}_{d}" for p in west + north for d in ("in", "out")}
    rng = lambda w: f"[{w - 1}:0] " if w > 1 else ""  # noqa: E731
    name = f"{pe}_col{cfg.rows}{'_east' if east else ''}"
    io, decl, body = [], [], []
    for p, (d, w) in ports.items():
        if p not in linked and d == "input":
            io.append(p)
            decl.append(f"  input {rng(w)}{p};")
    for p in north:
        w = ports[f"{p}_in"][1]
        if p not in _TIED_AT_NORTH[_machine(cfg)]:
            io.append(f"{p}_in")
            decl.append(f"  input {rng(w)}{p}_in;")
        if p in _READ_AT_SOUTH[_machine(cfg)]:
            io.append(f"{p}_out")
            decl.append(f"  output {rng(ports[f'{p}_out'][1])}{p}_out;")
    for i in range(cfg.rows):
        conn = []
        for p, (d, w) in ports.items():
            if p not in linked:
                if d == "input":
                    conn.append(f".{p}({p})")
                else:
                    io.append(f"{p}_{i}")
                    decl.append(f"  output {rng(w)}{p}_{i};")
                    conn.append(f".{p}({p}_{i})")
        for p in west:
            w_in, w_out = ports[f"{p}_in"][1], ports[f"{p}_out"][1]
            io.append(f"{p}_in_{i}")
            decl.append(f"  input {rng(w_in)}{p}_in_{i};")
            conn.append(f".{p}_in({p}_in_{i})")
            if not east:
                io.append(f"{p}_out_{i}")
                decl.append(f"  output {rng(w_out)}{p}_out_{i};")
            else:
                decl.append(f"  wire {rng(w_out)}{p}_out_{i};")
            conn.append(f".{p}_out({p}_out_{i})")
        for p in north:
            w = ports[f"{p}_in"][1]
            if i == 0:
                tied = _TIED_AT_NORTH[_machine(cfg)]
                conn.append(f".{p}_in({w}'d{tied[p]})" if p in tied else f".{p}_in({p}_in)")
            else:
                conn.append(f".{p}_in({p}_{i - 1})")
            if i == cfg.rows - 1 and p in _READ_AT_SOUTH[_machine(cfg)]:
                conn.append(f".{p}_out({p}_out)")
            else:
                decl.append(f"  wire {rng(ports[f'{p}_out'][1])}{p}_{i};")
                conn.append(f".{p}_out({p}_{i})")
        body.append(f"  {pe} pe_{i} ({', '.join(conn)});")
    text = v + f"\nmodule {name}({', '.join(io)});\n" + "\n".join(decl) + "\n" + "\n".join(body) + "\nendmodule\n"
    return text, name


def column_synth(cfg, east: bool, liberty=None):
    """One column of ``cfg``'s array (:func:`column_verilog`) synthesised flat."""
    from hwsim.eda.synth import synth_asic

    v, name = column_verilog(cfg, east)
    return synth_asic(v, name, liberty, flatten=True, name=name)


def pe_array_synth(cfg, liberty=None):
    """The PE grid synthesised directly: ``cols - 1`` columns and the east column at
    ``cfg``'s height (:func:`column_synth`), as a :class:`hwsim.eda.synth.ComposedArea`
    (``hwsim rtl synth``; sweeps take the columns from their height fit,
    :func:`synthesised_area`)."""
    from hwsim.eda.synth import ComposedArea

    total, runs = 0.0, {}
    for east, n in ((False, cfg.cols - 1), (True, 1)):
        if n:
            r = column_synth(cfg, east, liberty)
            total += n * r.area_um2
            runs[f"{n}x {'east ' if east else ''}column"] = r.provenance["run_id"]
    return ComposedArea(total, total / cfg.pes, cfg.pes, {}, {"estimator": "PE columns synthesised flat", "runs": runs})


def _periphery_verilog(cfg) -> tuple[str, str, tuple[str, ...]]:
    """The array's Verilog with its PE module reduced to a stub around a black box
    (``<top>_pe_src``) that takes every PE input and gives every output, the partial sum
    leaving the last row as the ``ws``/``is`` range bound says (:func:`psum_bits`), so
    that the de-skew and accumulate path is synthesised at the width it carries."""
    from hwsim.eda.synth import module_ports
    from hwsim.families.systolic.rtl import top_name, verilog_text

    import re

    top = top_name(cfg)
    v = verilog_text(cfg)
    pe = f"{top}_pe"
    bits = psum_bits(cfg, cfg.rows)
    if bits is None or bits >= cfg.acc_bits:
        return v, top, (pe,)
    ports = module_ports(v, pe)
    rng = lambda w: f"[{w - 1}:0] " if w > 1 else ""  # noqa: E731
    src = f"{pe}_src"
    decl = "\n".join(f"  {d} {rng(w)}{p};" for p, (d, w) in ports.items())
    src_ports = [p for p in ports if p != "psum_out"] + ["psum_lo"]
    src_decl = "\n".join(f"  {d} {rng(w)}{p};" for p, (d, w) in ports.items() if p != "psum_out")
    w = ports["psum_out"][1]
    stub = (f"module {src}({', '.join(src_ports)});\n{src_decl}\n  output {rng(bits)}psum_lo;\nendmodule\n"
            f"module {pe}({', '.join(ports)});\n{decl}\n  wire {rng(bits)}psum_lo;\n"
            f"  {src} src ({', '.join(f'.{p}({p})' for p in src_ports)});\n"
            f"  assign psum_out = {{{{{w - bits}{{psum_lo[{bits - 1}]}}}}, psum_lo}};\nendmodule\n")
    m = re.search(rf"^(?:\(\*[^\n]*\*\)\s*)*module\s+{re.escape(pe)}\b.*?^endmodule\n?", v, re.M | re.S)
    return v[:m.start()] + stub + v[m.end():], top, (src,)


def periphery_synth(cfg, liberty=None):
    """The periphery of ``cfg``'s array synthesised alone: the PEs left out as black
    boxes (their partial sums entering the periphery at the width they carry, see
    :func:`_periphery_verilog`), flattened, and the ``ws``/``is`` accumulator memory
    left as a memory cell (it is the ``acc`` SRAM component, priced from the SRAM
    table)."""
    from hwsim.eda.synth import synth_asic

    v, top, bb = _periphery_verilog(cfg)
    return synth_asic(v, top, liberty, blackbox=bb, flatten=True, name=f"{top}-periphery", memories="macro")


def flat_logic_synth(cfg, liberty=None):
    """The whole array synthesised flat, memories as in :func:`periphery_synth` (for
    checking the composed area against)."""
    from hwsim.eda.synth import synth_asic
    from hwsim.families.systolic.rtl import top_name, verilog_text

    top = top_name(cfg)
    return synth_asic(verilog_text(cfg), top, liberty, flatten=True, name=f"{top}-flat", memories="macro")


def _area_key(cfg) -> tuple:
    return tuple((k, getattr(cfg, k)) for k in AREA_FIELDS)


#: Heights of the PE columns synthesised to fit their growth (:class:`hwsim.eda.synth.HeightFit`).
COLUMN_FIT_HEIGHTS = (2, 4, 8, 16)


#: Area fits shipped with the package (``python -m hwsim.families.systolic.cost`` writes
#: them): measured like :func:`area_model` for the default PE configurations, valid while
#: :func:`generator_key` is unchanged, so a fresh cache prices them without Yosys.
PINNED_AREA = "area_fits.json"
#: Configurations pinned: the defaults of each dataflow.
PINNED_DATAFLOWS = ("os", "ws", "is")


def generator_key() -> str:
    """Hash of everything the area fits depend on besides the config: the array and PE
    generator and its Verilog writer, the synthesis flows and wrappers, the cell
    library and the tool versions."""
    import hashlib
    from pathlib import Path

    import hwsim
    from hwsim.eda.synth import _hash, default_liberty_text, tool_versions

    root = Path(hwsim.__file__).resolve().parent
    import inspect

    from hwsim.families.systolic import rtl

    files = ("families/systolic/hdl.py", "families/systolic/synth.py", "families/systolic/cost.py",
             "families/systolic/config.py", "eda/verilog.py", "eda/synth.py", "blocks")
    h = hashlib.sha256()
    # of the RTL runner's module only what writes the Verilog (its simulation drivers do not
    # change the netlist)
    for fn in (rtl.top_name, rtl.verilog_text):
        h.update(inspect.getsource(fn).encode())
    for rel in files:
        p = root / rel
        for f in sorted(p.rglob("*.py")) if p.is_dir() else [p]:
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return _hash("systolic-area", AREA_CACHE_VERSION, h.hexdigest(), hashlib.sha256(default_liberty_text().encode())
                 .hexdigest(), tool_versions(), PERIPHERY_FIT_SIZES, COLUMN_FIT_HEIGHTS)


def _pinned_fits() -> dict:
    from importlib import resources

    import json

    f = resources.files("hwsim.families.systolic").joinpath("data", PINNED_AREA)
    return json.loads(f.read_text()) if f.is_file() else {}


def _measure_fits(cfg) -> dict:
    from dataclasses import replace

    from hwsim.eda.synth import fit_growth, fit_height

    per = [periphery_synth(replace(cfg, rows=r, cols=c)) for r, c in PERIPHERY_FIT_SIZES]
    d = {"version": AREA_CACHE_VERSION, "fields": dict(_area_key(cfg)),
         "periphery": fit_growth(PERIPHERY_FIT_SIZES, per).to_dict()}
    for label, east in (("column", False), ("east", True)):
        cols = [column_synth(replace(cfg, rows=h), east) for h in COLUMN_FIT_HEIGHTS]
        d[label] = fit_height(COLUMN_FIT_HEIGHTS, cols).to_dict()
    return d


def area_model(cfg) -> dict:
    """The growth fits of ``cfg``'s PE configuration: ``{"periphery": GrowthFit,
    "column": HeightFit, "east": HeightFit}`` (:mod:`hwsim.eda.synth`).

    Measured once per configuration (:data:`AREA_FIELDS`): seven periphery syntheses
    (:data:`PERIPHERY_FIT_SIZES`) and two columns at each of :data:`COLUMN_FIT_HEIGHTS`,
    each run cached by content hash; the fits are kept as JSON under
    ``$HWSIM_CACHE/synth`` keyed by those fields and :func:`generator_key`, under a file
    lock so that concurrent sweeps measure them once. The default configurations are
    shipped measured (:data:`PINNED_AREA`) and used while the generator key matches.
    """
    from hwsim.cache import locked
    from hwsim.eda.synth import GrowthFit, HeightFit, _hash, synth_root

    import json

    mk = _area_key(cfg)
    hit = _AREA_MEMO.get(mk)
    if hit is None:
        gen = generator_key()
        pinned = _pinned_fits()
        d = None
        if pinned.get("generator_key") == gen:
            d = next((c for c in pinned["configs"] if c["fields"] == dict(mk)), None)
        if d is None:
            key = _hash(gen, mk)
            path = synth_root() / f"systolic-area-{key}.json"
            with locked(synth_root() / f".systolic-area-{key}.lock"):
                if path.exists():
                    d = json.loads(path.read_text())
                else:
                    d = _measure_fits(cfg)
                    path.write_text(json.dumps(d, indent=1))
        hit = _AREA_MEMO[mk] = {"periphery": GrowthFit.from_dict(d["periphery"]),
                                "column": HeightFit.from_dict(d["column"]), "east": HeightFit.from_dict(d["east"])}
    return hit


def periphery_fit(cfg):
    """The periphery's :class:`hwsim.eda.synth.GrowthFit` (:func:`area_model`)."""
    return area_model(cfg)["periphery"]


def synthesised_area(cfg):
    """``(pe_array, {"periphery": area})`` as sweeps record them: ``cols - 1`` PE columns
    and the east column from their height fits, and the periphery's logic from its
    growth fit, at ``cfg``'s size (:func:`area_model`); SRAM buffers (the ``ws``/``is``
    accumulator memory too) are priced from the SRAM table by their components.

    Cost: a cold configuration runs seven periphery and eight column syntheses (one to
    two minutes for an INT8 array on these machines; each run cached by content hash
    under ``$HWSIM_CACHE``); any array size of a known configuration then costs nothing
    but reading the fits.
    """
    from hwsim.eda.synth import ComposedArea

    m = area_model(cfg)
    col, east = m["column"], m["east"]
    total = (cfg.cols - 1) * col.area_um2(cfg.rows) + east.area_um2(cfg.rows)
    where = ("at one of" if cfg.rows in col.heights else "within" if col.covers(cfg.rows)
             else "extrapolated beyond")
    pe = ComposedArea(total, total / cfg.pes, cfg.pes, {},
                      {"estimator": f"PE columns of height {cfg.rows} from their height fit ({where} the "
                                    f"synthesised heights {', '.join(map(str, col.heights))}; largest residual "
                                    f"{100 * max(col.max_rel_residual, east.max_rel_residual):.1f} %)",
                       "runs": {"column": ",".join(col.runs), "east": ",".join(east.runs)}})
    return pe, {"periphery": m["periphery"].at(cfg.rows, cfg.cols)}


def main() -> int:  # pragma: no cover - regenerates the pinned fits by hand
    """``python -m hwsim.families.systolic.cost``: measure and pin the default
    configurations' area fits."""
    import json
    import pathlib

    from hwsim.families.systolic.config import SystolicConfig

    out = {"generator_key": generator_key(), "note": "hwsim.families.systolic.cost.area_model fits, "
           "measured by python -m hwsim.families.systolic.cost", "configs": []}
    for df in PINNED_DATAFLOWS:
        out["configs"].append(_measure_fits(SystolicConfig(dataflow=df)))
    path = pathlib.Path(__file__).resolve().parent / "data" / PINNED_AREA
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
