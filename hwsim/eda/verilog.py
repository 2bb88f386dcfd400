"""Verilog of an Amaranth component with one module per distinct block and plain names.

Amaranth writes one Verilog module per *instance* of a submodule (a 4x4 array gives 16
PE modules called ``\\top.pe_0_0`` ... ``\\top.pe_3_3``) and keeps names that Verilog can
only hold escaped (``\\$1``, ``\\a_in$45``, ``\\sel.row``). :func:`convert` starts from
the same RTLIL that Amaranth's own Verilog back end reads and, before Yosys writes it out:

* merges modules whose bodies are identical into one module named after the block
  (``<top>_pe``), instantiated once per position; a block that differs between
  instances (e.g. two PE kinds) keeps one module per distinct body (``<top>_pe``,
  ``<top>_pe_1``);
* rewrites every name that is not a legal Verilog identifier (``a_in$45`` becomes
  ``a_in_45``, ``sel.row`` becomes ``sel__row``, never colliding with a name already in
  the module); Yosys-internal names (``$1``) are written as ``_001_``-style names.

The logic is unchanged: only module and net names differ from ``amaranth.back.verilog``.
"""

from __future__ import annotations

import contextvars
import re

from amaranth.hdl import Elaboratable

__all__ = ["Shared", "convert", "legal_names", "merge_modules"]

_MODULE_RE = re.compile(r"^((?:attribute [^\n]*\n)*)module (\S+)\n(.*?)^end\n", re.M | re.S)
_IDENT_RE = re.compile(r"\\([^\s\"\\]+)")
_BACKEND_REG = re.compile(r"\\\$auto\$verilog_backend\.cc:\d+:dump_module\$(\d+) ")
_LEGAL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: Verilog / SystemVerilog keywords a generator might use as a signal name.
_KEYWORDS = frozenset("""always and assign begin bit buf byte case default do else end endcase endmodule
for function generate if initial inout input int integer logic module nand negedge nor not or output
packed parameter posedge real reg shortint signed struct time type union unsigned wire xor""".split())


def _block_name(path: str) -> str:
    """``top.grid.pe_2_3`` -> ``pe``: the last path element without instance indices."""
    last = path.rsplit(".", 1)[-1]
    base = re.sub(r"(_[A-Za-z]?\d+)+\Z", "", last)
    return _legal_base(base or last)


def _legal_base(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_]+", "_", name.replace(".", "__")).strip("_") or "n"
    return s if not s[0].isdigit() else "n" + s


_PORT_RE = re.compile(r"^\s*wire width \d+\s+(input|output|inout)\s+\d+\s+(?:signed\s+)?\\(\S+)", re.M)


def _body_key(body: str) -> tuple:
    """What makes two module bodies the same block: their statements in any order, port
    positions and output marks ignored. Amaranth numbers ports in order of first use, which
    differs between instances at an array's edges and inside it, and it demotes an output
    nobody reads (the east edge's forwarded operand) to an internal wire; instances connect
    ports by name, so such modules are one block."""
    body = re.sub(r" (input|inout) \d+ ", r" \1 ", body)
    body = re.sub(r" output \d+ ", " ", body)
    blocks = body.split("\n\n")
    return tuple(sorted(re.sub(r"[ \t]+", " ", b.strip()) for b in blocks if b.strip()))


def _ports(body: str) -> dict:
    return {name: d for d, name in _PORT_RE.findall(body)}


def merge_modules(text: str, top: str) -> str:
    """Merge modules of RTLIL ``text`` that are one block (:func:`_body_key`) into the
    instance with the most ports and name them ``<top>_<block>``; ``top`` keeps its name.

    Blocks are merged bottom up (deepest in the hierarchy first), so that a PE holding
    adders is one module once its adders are."""
    mods = {m.group(2): [m.group(1), m.group(3)] for m in _MODULE_RE.finditer(text)}
    order = list(mods)
    canon: dict[str, str] = {}  # old module name -> new module name
    kept: set[str] = {"\\" + top}
    used = {top}

    def retarget(body: str) -> str:
        return re.sub(r"^(\s*cell )(\S+)", lambda m: m.group(1) + canon.get(m.group(2), m.group(2)), body,
                      flags=re.M)

    depth = {name: name.count(".") for name in mods}
    for d in sorted({v for n, v in depth.items() if n != "\\" + top}, reverse=True):
        level = [n for n in order if depth[n] == d and n != "\\" + top]
        groups: dict[tuple, list] = {}
        for name in level:
            mods[name][1] = retarget(mods[name][1])
            groups.setdefault(_body_key(mods[name][1]), []).append(name)
        for members in groups.values():
            members.sort(key=lambda n: -len(_ports(mods[n][1])))
            classes: list[list] = []  # one class per representative whose ports cover its members'
            for mem in members:
                ports = _ports(mods[mem][1])
                for cls in classes:
                    rep_ports = _ports(mods[cls[0]][1])
                    if all(rep_ports.get(p) == v for p, v in ports.items()) and \
                            {p for p, v in rep_ports.items() if v != "output"} <= set(ports):
                        cls.append(mem)
                        break
                else:
                    classes.append([mem])
            for cls in classes:
                base = f"{top}_{_block_name(cls[0][1:])}"
                new, i = base, 1
                while new in used:
                    new, i = f"{base}_{i}", i + 1
                used.add(new)
                kept.add(cls[0])
                for mem in cls:
                    canon[mem] = "\\" + new
    out = []
    for name in order:
        if name not in kept:
            continue
        attrs, body = mods[name]
        new = name if name == "\\" + top else canon[name]
        out.append(f"{attrs}module {new}\n{retarget(body)}end\n")
    return "\n".join(out)


def legal_names(text: str) -> str:
    """Rename, per module, every public RTLIL name that is not a Verilog identifier."""
    def fix(m: re.Match) -> str:
        attrs, name, body = m.group(1), m.group(2), m.group(3)
        names = set(_IDENT_RE.findall(body))
        taken = {n for n in names if _LEGAL.match(n) and n not in _KEYWORDS}
        ren = {}
        for n in sorted(names - taken):
            base = _legal_base(n.replace("$", "_"))
            base = base + "_" if base in _KEYWORDS else base
            new, i = base, 1
            while new in taken:
                new, i = f"{base}_{i}", i + 1
            taken.add(new)
            ren[n] = new
        if ren:
            body = _IDENT_RE.sub(lambda x: "\\" + ren.get(x.group(1), x.group(1)), body)
        return f"{attrs}module {name}\n{body}end\n"

    return _MODULE_RE.sub(fix, text)


class _Definitions:
    """The modules :class:`Shared` blocks defined during one :func:`convert` call."""

    def __init__(self, top: str):
        self.top = top
        self.texts: list[str] = []  # RTLIL of every defined module (and of its own blocks)
        self.by_key: dict[tuple, tuple] = {}  # body key -> (module name, ports)
        self.used = {top}

    def define(self, block, kind: str) -> tuple[str, list]:
        """The module of ``block`` (converted now, or an identical one converted before) and
        its ports ``[(direction, name), ...]``."""
        from amaranth.back import rtlil

        placeholder = f"{self.top}_{kind}__new"
        text = rtlil.convert(block, name=placeholder, emit_src=False)
        text = merge_modules(text, placeholder)
        mods = {m.group(2): m for m in _MODULE_RE.finditer(text)}
        body = mods["\\" + placeholder].group(3)
        key = _body_key(body) + tuple(sorted(_body_key(m.group(3)) for n, m in mods.items()
                                             if n != "\\" + placeholder))
        if key not in self.by_key:
            base = f"{self.top}_{_legal_base(kind)}"
            name, i = base, 1
            while name in self.used:
                name, i = f"{base}_{i}", i + 1
            self.used.add(name)
            ports = [("i" if d == "input" else "o", n) for d, n in _PORT_RE.findall(body)]
            self.texts.append(text.replace(placeholder, name))
            self.by_key[key] = (name, ports)
        return self.by_key[key]


_DEFS: contextvars.ContextVar = contextvars.ContextVar("hwsim_verilog_definitions", default=None)


class Shared(Elaboratable):
    """A block that :func:`convert` writes as one Verilog module however often it is used.

    In simulation (and in any other back end) it elaborates as ``block`` itself. Under
    :func:`convert` it becomes an instance of a module written once per distinct block, so
    a ``rows x cols`` array of identical PEs has one PE module (Amaranth alone would write
    one module per instance, specialised to its surroundings).

    Parameters
    ----------
    block : amaranth.lib.wiring.Component
        The block; its signature gives the instance's ports (plus ``clk``/``rst`` when it
        has synchronous logic).
    kind : str
        Name of the block's module, after the top's name: ``<top>_<kind>``.
    """

    def __init__(self, block, kind: str):
        self.block = block
        self.kind = kind

    def elaborate(self, platform):
        from amaranth.hdl import ClockSignal, Instance, ResetSignal, Value

        defs = _DEFS.get()
        if defs is None:
            return self.block
        name, ports = defs.define(self.block, self.kind)
        values = {"__".join(map(str, path)): Value.cast(v)
                  for path, _m, v in self.block.signature.flatten(self.block)}
        values.update(clk=ClockSignal(), rst=ResetSignal())
        return Instance(name, *[(d, p, values[p]) for d, p in ports])


def convert(component, name: str) -> str:
    """Verilog of the Amaranth ``component`` (a ``wiring.Component``) as module ``name``.

    Parameters
    ----------
    component : amaranth.lib.wiring.Component
        Its signature gives the ports (flattened as Amaranth does: ``cmd__payload``).
    name : str
        Name of the top module; submodules are called ``<name>_<block>``.
    """
    from amaranth._toolchain.yosys import find_yosys
    from amaranth.back import rtlil

    defs = _Definitions(name)
    token = _DEFS.set(defs)
    try:
        text = rtlil.convert(component, name=name, emit_src=False)
    finally:
        _DEFS.reset(token)
    text = "\n".join([merge_modules(text, name), *defs.texts])
    text = legal_names(text)
    yosys = find_yosys(lambda ver: ver >= (0, 40))
    strip = "-remove generator -remove top -remove src -remove amaranth.hierarchy -remove amaranth.decoding"
    script = [f"read_rtlil <<rtlil\n{text}\nrtlil", "proc -nomux -norom", "memory_collect",
              f"attrmap {strip}", f"attrmap -modattr {strip}", "write_verilog"]
    # Yosys warns that not every process can be written as Verilog; Amaranth emits only the
    # ones that can (the same call in amaranth.back.verilog ignores it for that reason).
    text = yosys.run(["-q", "-"], "\n".join(script), ignore_warnings=True)
    # write_verilog's own helper register (it makes combinational blocks run once at time 0)
    return _BACKEND_REG.sub(lambda m: f"_sim_start_{m.group(1)}_", text)
