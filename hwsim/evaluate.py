"""Evaluate one design point on one workload: ``evaluate(point) -> Record``.

A :class:`Point` is a family name, a design configuration (a plain mapping that the
family's config class validates), a :class:`Workload` (a named list of
:class:`~hwsim.workloads.ops.GemmOp`), a fidelity and an estimator mode. Its
:attr:`Point.key` is a content hash of all of these plus the code version, so an
evaluation is a pure function of the key: sweeps resume by skipping keys already
stored and distribute by shipping points to any worker.

A :class:`Record` is one tidy row with a versioned schema (:data:`SCHEMA_VERSION`),
explicit units in field names and provenance columns. Families are found through a
registry (:data:`FAMILIES`), never through ``isinstance`` chains: each entry names the
config class, the scalar ``estimate`` function and, if the family has one, the
vectorised ``estimate_arrays`` used by :func:`evaluate_many` for fast sweeps.

Cost integration point
----------------------
``energy_pj``, ``area_um2`` and their per-part breakdowns, ``tops_per_w`` and
``tops_per_mm2`` are filled from :func:`hwsim.cost.report.cost_record` when that
function is importable; otherwise they stay ``None`` and ``cost_estimator`` says why.
No cost figure is ever invented here.

Examples
--------
>>> from hwsim.workloads.ops import GemmOp
>>> wl = Workload.from_gemms("g", [GemmOp(64, 64, 64)])
>>> p = Point("systolic", {"rows": 8, "cols": 8, "dataflow": "os"}, wl, mode="scalesim")
>>> r = evaluate(p)
>>> r.cycles, r.macs
(4991, 262144)
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import importlib
import importlib.util
import inspect
import json
import logging
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from hwsim import __version__
from hwsim import families
from hwsim.errors import ConfigError, check_choice
from hwsim.families.contract import Family, exact_utilization
from hwsim.workloads.ops import GemmOp, IntFormat, check_macs

log = logging.getLogger(__name__)

#: Version of the :class:`Record` schema; bump when a field changes meaning or name.
SCHEMA_VERSION = 3  # 2: quant, sqnr_db, rel_fro_error, error_source; 3: layers

#: Fidelities a sweep can evaluate. ``"model"``: the closed-form model. ``"rtl"``: the same
#: figures, plus sampled tiles of every workload op run through the Verilated RTL, the
#: golden function and the cycle-level model (:func:`hwsim.fidelity.rtl_check`, recorded
#: in :attr:`Record.rtl_check`).
FIDELITIES = ("model", "rtl")


# --------------------------------------------------------------------------- workloads
@dataclass(frozen=True)
class Workload:
    """A named list of GEMM/GEMV operations evaluated together as one workload.

    Parameters
    ----------
    name : str
        Label used in records and reports (e.g. ``"llama-2-7b/decode/b1/ctx1024"``).
    ops : tuple of GemmOp
        The operations; each op's ``count`` says how many times it runs.
    tokens : int or None
        Tokens produced (decode) or consumed (prefill) by one pass over ``ops``; used for
        per-token figures. ``None`` when the workload is not an LLM pass.
    model, phase : str or None
        The model and phase the ops were built from, if any.
    batch : int or None
        Batch size, if any.
    quant : str or None
        Quantisation recipe (:data:`hwsim.workloads.recipes.RECIPES`) the ops' formats come
        from; records of such workloads carry the recipe's numerical error.
    """

    name: str
    ops: tuple
    tokens: int | None = None
    model: str | None = None
    phase: str | None = None
    batch: int | None = None
    quant: str | None = None

    def __post_init__(self):
        if not self.ops:
            raise ConfigError("workloads", f"workload {self.name!r} has no operations")
        for op in self.ops:
            if not isinstance(op, GemmOp):
                raise ConfigError("workloads", f"workload {self.name!r} holds {op!r}, not a GemmOp")
        check_macs("workloads", sum(op.total_macs for op in self.ops),
                   f"the total of workload {self.name!r}")

    @classmethod
    def from_gemms(cls, name: str, ops, tokens: int | None = None) -> "Workload":
        """A workload of explicit GEMMs."""
        return cls(name=name, ops=tuple(ops), tokens=tokens)

    @property
    def macs(self) -> int:
        return int(sum(op.total_macs for op in self.ops))

    def to_dict(self) -> dict:
        """JSON-able description (every op in full), the input of :attr:`key`."""
        return {
            "name": self.name, "tokens": self.tokens, "model": self.model,
            "phase": self.phase, "batch": self.batch, "quant": self.quant,
            "ops": [_op_dict(op) for op in self.ops],
        }

    @property
    def key(self) -> str:
        return _hash(self.to_dict())


def _fmt_dict(f: IntFormat) -> dict:
    return {"bits": f.bits, "signed": f.signed, "group_size": f.group_size}


def _op_dict(op: GemmOp) -> dict:
    return {"name": op.name, "m": op.m, "k": op.k, "n": op.n, "count": op.count,
            "a_fmt": _fmt_dict(op.a_fmt), "b_fmt": _fmt_dict(op.b_fmt)}


def _hash(obj) -> str:
    return _sha(_json_key(obj))


def _json_key(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


# ---------------------------------------------------------------------------- registry
def family_of_config(cfg) -> "Family | None":
    """The registered family whose config class ``cfg`` is an instance of."""
    for fam in FAMILIES.values():
        if type(cfg) is fam.config:
            return fam
    return None


@lru_cache(maxsize=4096)
def _sram_reason(size_bytes: int, width_bits: int) -> str | None:
    try:
        _tech().sram(size_bytes, width_bits)
    except ConfigError as e:
        return e.reason
    return None


def check_config(cfg, fam: "Family | None" = None):
    """Everything about a design that its evaluation will check, checked now.

    A config class checks its own fields; a design can still be impossible to price
    (an SRAM buffer over or under the technology table's range). Raising that here, with
    the design field that set it (``ifmap_sram_kb``, not the cost model's ``size_bytes``),
    lets a sweep refuse the design before its store is touched and lets ``hwsim run``
    name the option. Returns ``cfg``.
    """
    fam = fam or family_of_config(cfg)
    if fam is None or fam.cost is None or _cost_fn() is None:
        return cfg
    key = _cost_key(fam, cfg)
    if _cached(_CHECKED, key) is None:
        _check_cost(cfg, fam, key)
        _remember(_CHECKED, key, True)
    return cfg


#: Cost keys (:func:`_cost_key`) of the designs :func:`check_config` passed.
_CHECKED: dict = {}
#: Most entries each of this module's caches holds (then it starts again, empty).
_CACHE_MAX = 4096


def _cached(cache: dict, key):
    """``cache[key]``, or ``None`` when absent (or the key is ``None`` or unhashable)."""
    if key is None:
        return None
    try:
        return cache.get(key)
    except TypeError:
        return None


def _remember(cache: dict, key, value, limit: int = _CACHE_MAX):
    """``cache[key] = value`` (nothing for a ``None`` or unhashable key), the cache
    emptied first when full; returns ``value``."""
    if key is not None:
        try:
            hash(key)
        except TypeError:
            return value
        if len(cache) >= limit:
            cache.clear()
        cache[key] = value
    return value


def _cost_key(fam: "Family", cfg, design: dict | None = None):
    """What a design's cost is computed from among its fields: the family and the design
    without the fields its cost hooks ignore (``CostHooks.ignores``), hashable; ``None``
    for a design with a value that cannot be frozen."""
    if design is None:
        design = getattr(cfg, "__dict__", None)
        if design is None or len(design) != len(_field_names(type(cfg))):
            design = _design_dict(cfg)
    ign = fam.cost.ignores
    get = _kept_getter(tuple(design), ign)
    key = (fam.name, type(cfg), get(design))
    try:
        hash(key)
    except TypeError:  # nested values: by content
        key = (fam.name,) + tuple((k, _frozen(v)) for k, v in design.items() if k not in ign)
        try:
            hash(key)
        except TypeError:
            return None
    return key


@lru_cache(maxsize=256)
def _kept_getter(names: tuple, ignores: tuple):
    """A function giving the tuple of a design dict's values but ``ignores``'."""
    kept = [n for n in names if n not in ignores]
    if len(kept) == 1:
        return lambda d: (d[kept[0]],)
    return operator.itemgetter(*kept) if kept else (lambda d: ())


def _cost_inputs(fam: "Family", cfg, ckey=None, **kw):
    """``fam.cost.inputs(cfg, **kw)``, shared by the designs with one cost key ``ckey``
    (:func:`_cost_key`, computed when not given): the check of a design and its pricing
    then build them once."""
    ckey = _cost_key(fam, cfg) if ckey is None else ckey
    key = None if ckey is None else (ckey, tuple(sorted(kw.items())))
    hit = _cached(_INPUTS, key)
    return hit if hit is not None else _remember(_INPUTS, key, fam.cost.inputs(cfg, **kw))


_INPUTS: dict = {}
#: Components whose area and leakage priced without error (frozen, compared by value).
_PRICED: dict = {}


def _check_cost(cfg, fam: "Family", ckey=None) -> None:
    fields = {f.name for f in dataclasses.fields(cfg)}
    try:
        inputs = _cost_inputs(fam, cfg, ckey)
    except ConfigError as e:
        raise ConfigError(e.key if e.key in fields else "design", e.reason) from None
    design = getattr(inputs, "design", None)
    if design is not None:
        # every component prices its area and leakage now (an SRAM outside the CACTI
        # table, a clock no banking can serve), named by the design field behind it
        for comp in design.components:
            if _cached(_PRICED, comp):  # an equal component priced before
                continue
            try:
                comp.area(_tech())
                comp.leakage(_tech())
                _remember(_PRICED, comp, True, limit=100_000)
            except ConfigError as e:
                key = getattr(comp, "origin", None)
                key = key if key in fields else "design"
                size = getattr(comp, "size_bytes", None)
                what = f"the {comp.name} buffer of {size} bytes" if size is not None else f"component {comp.name}"
                # the reason names the user's field, never the cost model's internal key
                raise ConfigError(key, f"{what} cannot be priced ({e.reason})") from None
        return
    for buf, spec in getattr(inputs, "sram", {}).items():
        reason = _sram_reason(spec.size_bytes, spec.width_bits)
        if reason is not None:
            key = getattr(spec, "origin", None) or f"{buf}_sram_kb"
            if key not in fields:
                key = f"sram:{buf}"
            raise ConfigError(key, f"the {buf} buffer of {spec.size_bytes} bytes cannot be priced "
                              f"(SRAM size {reason})")


def get_family(name: str, key: str = "family", source: str | None = None) -> Family:
    """The registered family ``name`` (see :mod:`hwsim.families`)."""
    return families.get(name, key, source)


class _Registry(Mapping):
    """Read-only view of :func:`hwsim.families.registry` (imported on first use)."""

    def __getitem__(self, name):
        return families.registry()[name]

    def __iter__(self):
        return iter(families.registry())

    def __len__(self):
        return len(families.registry())


#: name -> :class:`~hwsim.families.contract.Family`.
FAMILIES: Mapping[str, Family] = _Registry()


# ------------------------------------------------------------------------ code version
#: Shared modules every record depends on beyond what a family's folder imports.
_ROOT_MODULES = ("hwsim.evaluate",)


def _module_file(name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not Path(spec.origin).is_file():
        return None
    return Path(spec.origin)


def _imports(path: Path, package: str) -> set[str]:
    """Modules of ``hwsim`` that the source at ``path`` imports (top level or inside
    functions), resolved to module names."""
    tree = ast.parse(path.read_bytes())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "hwsim")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            if mod.split(".")[0] != "hwsim":
                continue
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)  # submodules imported by name
    return out


def dependency_files(roots) -> list[Path]:
    """Every source file and data file under ``hwsim`` reachable from the modules
    ``roots`` by imports (module-level or inside functions), plus the data folders of
    every package reached (``data/`` beside the module)."""
    seen: dict[str, Path] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(name)
        if path is None:
            continue
        seen[name] = path
        pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
        if name != families.__name__:  # the registry imports every family: not followed
            todo.extend(_imports(path, pkg))
        # importing hwsim.a.b runs hwsim/a/__init__.py too
        parts = name.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
    files = set(seen.values())
    for path in list(files):
        data = path.parent / "data"
        if data.is_dir():
            files.update(f for f in data.rglob("*") if f.is_file() and "__pycache__" not in f.parts)
    return sorted(files)


@lru_cache(maxsize=None)
def code_version(family: str) -> str:
    """``"<package version>+<hash of every file the family's records depend on>"``.

    Computed, not listed: the family's folder, and every shared module and data folder
    reachable from it or from this module by imports (cost tables, calibrations, cell
    data, workload code, the quantisers behind ``sqnr_db``). Editing any of them gives
    new point keys, so a resumed sweep never reuses records of older code. Workload
    graphs are covered by the workload hash (every op is hashed in full).
    """
    fam = FAMILIES[family]
    pkg_dir = Path(fam.package.__file__).parent
    roots = list(_ROOT_MODULES) + [fam.package.__name__]
    roots += [f"{fam.package.__name__}.{f.stem}" for f in sorted(pkg_dir.glob("*.py"))]
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    files = set(dependency_files(roots))
    files.update(f for f in pkg_dir.rglob("*") if f.is_file() and "__pycache__" not in f.parts)
    for f in sorted(files):
        f = Path(f).resolve()
        rel = f.relative_to(root) if f.is_relative_to(root) else f.name
        h.update(f"{rel}:".encode())
        h.update(f.read_bytes())
    return f"{__version__}+{h.hexdigest()[:12]}"


# ------------------------------------------------------------------------------ point
@dataclass(frozen=True)
class Pricing:
    """How a point's cost is priced (the defaults are what sweeps use).

    Parameters
    ----------
    node_nm : int
        Technology node of the tables (45 nm data, scaled to 28/16/7 nm).
    dram : str or None
        DRAM type priced for off-chip traffic (``None``: the family's default).
    synthesised_area : bool
        Price the compute array from a synthesis of the generated RTL (cached by content
        hash) where the family offers it (the default); ``False`` prices it from the MAC
        area table alone, and the record's ``cost_provenance["area_mode"]`` says so.
    calibrated : bool
        Scale the table's dynamic energy by the family's pinned gate-level activity
        factors where it has them (the default); ``False`` prices from the table alone
        (the record's ``cost_provenance["calibration"]`` is then empty).
    clock_gating : {"none", "icg"}
        Whether the array's clock enable gates the clock in stalled cycles: ``"none"``
        (the default: the RTL as written, every flip-flop still clocked) or ``"icg"``
        (clock-gating cells); for families whose cost inputs take it.
    """

    node_nm: int = 45
    dram: str | None = None
    synthesised_area: bool = True
    calibrated: bool = True
    clock_gating: str = "none"

    def key_dict(self) -> dict:
        """The non-default settings (part of the point key)."""
        return {k: v for k, v in dataclasses.asdict(self).items()
                if v != getattr(Pricing, k)}


@dataclass(frozen=True)
class Point:
    """One design evaluated on one workload.

    Parameters
    ----------
    family : str
        A key of :data:`FAMILIES`.
    design : dict
        Design fields; missing fields take the config class defaults.
    workload : Workload
    fidelity : str
        One of :data:`FIDELITIES`.
    mode : str or None
        The family's estimator timing mode (``None``: the family default).
    seed : int
        Recorded as provenance (closed-form models draw no random numbers).
    pricing : Pricing
        Technology node, DRAM type and area source of the cost figures.
    rtl_sample : hwsim.fidelity.RtlSample or None
        Tiles per op and seed of the RTL fidelity (default one tile per op, seed 0);
        ignored (``None``) at the model fidelity.
    """

    family: str
    design: dict
    workload: Workload
    fidelity: str = "model"
    mode: str | None = None
    seed: int = 0
    pricing: Pricing = Pricing()
    rtl_sample: object = None

    def __post_init__(self):
        fam = get_family(self.family)
        check_choice("fidelity", self.fidelity, FIDELITIES)
        if self.mode is None:
            object.__setattr__(self, "mode", fam.modes[0])
        check_choice("mode", self.mode, fam.modes)
        if self.fidelity == "rtl":
            from hwsim.fidelity import RtlSample, check_fidelity_family

            check_fidelity_family(fam)
            if self.rtl_sample is None:
                object.__setattr__(self, "rtl_sample", RtlSample())
            elif not isinstance(self.rtl_sample, RtlSample):
                raise ConfigError("rtl_sample", f"must be an RtlSample, not {self.rtl_sample!r}")
        else:
            object.__setattr__(self, "rtl_sample", None)

    def config(self):
        return FAMILIES[self.family].make_config(self.design)

    @property
    def design_full(self) -> dict:
        """Every config field, defaults filled in (what the hash covers)."""
        return self.config().to_dict()

    @property
    def design_id(self) -> str:
        return _hash({"family": self.family, "design": self.design_full})

    @property
    def key(self) -> str:
        return point_key(self.family, self.design_full, self.workload.key, self.fidelity,
                         self.mode, code_version(self.family), self.pricing, self.rtl_sample)


def point_key(family, design_full, workload_key, fidelity, mode, code_ver, pricing: Pricing | None = None,
              rtl_sample=None) -> str:
    return _hash(_key_dict(family, design_full, workload_key, fidelity, mode, code_ver, pricing, rtl_sample))


def _key_dict(family, design, workload_key, fidelity, mode, code_ver, pricing, rtl_sample) -> dict:
    """What a point key hashes (:func:`point_key`)."""
    d = {"family": family, "design": design, "workload": workload_key,
         "fidelity": fidelity, "mode": mode, "code": code_ver}
    extra = pricing.key_dict() if pricing is not None else {}
    if extra:
        d["pricing"] = extra
    if rtl_sample is not None:
        d["rtl_sample"] = rtl_sample.to_dict()
    return d


# ----------------------------------------------------------------------------- record
@dataclass(frozen=True)
class Record:
    """The result of evaluating one :class:`Point`: one tidy row.

    Units are in the field names; ``None`` means "not available" (never zero). Dict
    fields hold named breakdowns. Throughput is in operations (2 per MAC) per second.
    """

    schema_version: int
    point_key: str
    design_id: str
    family: str
    fidelity: str
    mode: str
    estimator: str
    code_version: str
    seed: int
    design: dict
    workload: str
    workload_key: str
    model: str | None
    phase: str | None
    batch: int | None
    tokens: int | None
    n_ops: int
    # performance
    cycles: int
    compute_cycles: int
    stall_cycles: int
    macs: int
    ops: int
    utilization: float
    freq_mhz: float
    latency_s: float
    throughput_ops_per_s: float
    tops: float
    peak_macs_per_cycle: float
    peak_tops: float
    dram_bw_bytes_per_s: float
    sram_reads: int
    sram_writes: int
    dram_bytes: int
    ops_per_dram_byte: float | None
    tokens_per_s: float | None
    actions: dict
    # cost (integration point: hwsim.cost.report.cost_record)
    energy_pj: float | None = None
    area_um2: float | None = None
    energy_pj_by_part: dict = field(default_factory=dict)
    area_um2_by_part: dict = field(default_factory=dict)
    energy_per_op_pj: float | None = None
    energy_per_token_pj: float | None = None
    tops_per_w: float | None = None
    tops_per_mm2: float | None = None
    cost_estimator: str | None = None
    cost_provenance: dict = field(default_factory=dict)
    # numerical error of the workload's quantisation recipe (None without a recipe)
    quant: str | None = None
    sqnr_db: float | None = None
    rel_fro_error: float | None = None
    error_source: str | None = None
    # per-op results, in workload order (see :data:`LAYER_FIELDS`)
    layers: list = field(default_factory=list)
    # the RTL fidelity's check of sampled workload tiles ({} at the model fidelity; see
    # hwsim.fidelity.rtl_check): agreement with golden and the cycle-level model, the
    # numerical error on those tiles, Verilator build and run time, or the failure
    rtl_check: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Every field, nested dicts and lists copied (the record stays unchanged)."""
        return {name: _plain_copy(getattr(self, name)) for name in _RECORD_FIELDS}

    def row(self) -> dict:
        """Every field without copying the nested values: for read-only consumers
        (encoding for the store) that must not pay for a deep copy."""
        return {name: getattr(self, name) for name in _RECORD_FIELDS}

    @classmethod
    def from_dict(cls, d: dict) -> "Record":
        return cls(**{f.name: d.get(f.name) for f in dataclasses.fields(cls)
                      if f.name in d or f.default_factory is dataclasses.MISSING})


_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(Record))


def _plain_copy(v):
    t = type(v)
    if t is dict:
        return {k: _plain_copy(x) for k, x in v.items()}
    if t is list:
        return [_plain_copy(x) for x in v]
    if t is tuple:
        return tuple(_plain_copy(x) for x in v)
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return dataclasses.asdict(v)
    return v


#: Fields of each entry of :attr:`Record.layers` (one per workload op, ``count`` runs
#: included in its figures): the op's name and shape, its cycles, compute and stall
#: cycles, MACs, utilisation, DRAM bytes, energy (total and by part; ``None`` without
#: cost) and the mapping its model chose (``{}`` for a family without a mapper).
LAYER_FIELDS = ("name", "m", "k", "n", "count", "cycles", "compute_cycles", "stall_cycles", "macs",
                "utilization", "dram_bytes", "energy_pj", "energy_pj_by_part", "mapping")

#: Numeric record fields usable as objectives and constraints.
METRICS = tuple(
    f.name for f in dataclasses.fields(Record)
    if f.type in ("int", "float", "float | None", "int | None")
    and f.name not in ("schema_version", "seed", "batch")
)


# -------------------------------------------------------------------------- evaluation
#: Largest ratio of a derived count (cycles, bits written, bytes moved) to the MACs,
#: with margin; and the bound int64 totals must stay under in the vectorised path.
_INT64_HEADROOM = 2**14
_INT64_SAFE = 2**62
_PERF_KEYS = frozenset(("cycles", "compute_cycles", "stall_cycles", "macs", "utilization", "folds"))
#: ``estimate_arrays`` columns that are neither summed nor actions: the op's mapping
#: (``mapping_order``, ``mapping_tile_m``, ...) and DRAM bytes per operand (``dram_bytes:a``).
_NOT_SUMMED = ("mapping_", "dram_bytes:")


def _estimator_name(fam: Family, mode: str) -> str:
    # The scalar and vectorised paths give equal records, so both carry the model's name.
    return f"{fam.estimate.__module__}[{mode}]"


@lru_cache(maxsize=None)
def _cost_fn():
    """:func:`hwsim.cost.report.cost_record` if present, else ``None``."""
    try:
        mod = importlib.import_module("hwsim.cost.report")
    except ModuleNotFoundError as e:
        if e.name in ("hwsim.cost", "hwsim.cost.report"):
            return None
        raise
    return getattr(mod, "cost_record", None)


@lru_cache(maxsize=None)
def _tech(node_nm: int = 45):
    from hwsim.cost.tech import load_tech

    try:
        return _memo_tech(load_tech(node_nm))
    except ConfigError as e:
        raise ConfigError("node_nm", e.reason) from None


#: Methods of :class:`hwsim.cost.tech.Tech` memoised by :func:`_memo_tech`: lookups and
#: arithmetic on the tables, pure functions of their arguments.
_TECH_MEMO = ("sram", "op", "mult_energy", "mult_area", "add_energy", "add_area", "mac_energy",
              "mac_area", "mac_leakage", "reg_bit_energy", "reg_bit_area", "reg_bit_leakage",
              "rf_bit_energy", "shift_energy", "lut_lookup_energy", "dram_energy_per_bit", "source",
              "provenance")


def _memo_tech(tech):
    """``tech`` with its table lookups memoised (:data:`_TECH_MEMO`): each is a pure
    function of its arguments and the tables, and pricing a design asks for the same few
    figures dozens of times (every action, area and leakage of every component). A
    lookup that raises is not memoised."""
    base = type(tech)
    memo: dict = {}

    def wrap(name):
        fn = getattr(base, name)

        def method(self, *args, **kw):
            k = (name, args, tuple(sorted(kw.items())))
            try:
                return memo[k]
            except KeyError:
                pass
            except TypeError:  # an unhashable argument: not memoised
                return fn(self, *args, **kw)
            if len(memo) > 65536:
                memo.clear()
            v = memo[k] = fn(self, *args, **kw)
            return v

        method.__name__ = name
        method.__doc__ = fn.__doc__
        return method

    ns = {name: wrap(name) for name in _TECH_MEMO if callable(getattr(base, name, None))}
    cls = type(base.__name__, (base,), ns)
    out = cls.__new__(cls)
    out.__dict__.update(tech.__dict__)
    return out


def cost_status(family: str | None = None) -> str:
    """One line saying whether cost figures are wired (recorded and shown in reports)."""
    if _cost_fn() is None:
        return "not available: hwsim.cost.report.cost_record is not importable"
    if family is not None and FAMILIES[family].cost is None:
        return f"not available: family {family!r} has no cost inputs registered"
    return "hwsim.cost.report.cost_record"


def _compact_provenance(c: dict) -> dict:
    """The cost provenance without per-record counts (so that it repeats across records)."""
    p = c.get("provenance", {})
    return {
        "status": "hwsim.cost.report.cost_record",
        "cost_record_version": c.get("cost_record_version"),
        "node_nm": c.get("node_nm"),
        "tech": p.get("tech"),
        "area_sources": p.get("area_sources"),
        "energy_sources": [{k: ln.get(k) for k in ("component", "action", "energy_each_pj", "source")}
                           for ln in p.get("energy_lines", [])],
        "leakage_sources": [{k: ln.get(k) for k in ("component", "source")}
                            for ln in p.get("leakage_lines", [])],
        "calibration": p.get("calibration"),
        "area_mode": p.get("area_mode"),
        "synthesis_run_id": p.get("synthesis_run_id"),
        "tools": p.get("tools"),
    }


#: Energy coefficients per design and pricing (see :class:`_Linear`), shared by the
#: points of a sweep that evaluate one design on several workloads.
_LINEAR: dict = {}
_LINEAR_MAX = 4096


class _Linear:
    """A design's energy as a linear function of its action counts and cycles.

    Pricing is linear (every action costs a fixed energy, leakage and per-cycle actions
    scale with cycles, calibration factors multiply), so the energy by part of any run is
    ``sum_a n_a * E[a] + cycles * E[cycle]``; the coefficients are measured by pricing
    one action (or one cycle) at a time with the cost model itself, once per design and
    pricing, and the per-op energies of a record are then dot products. A test checks
    that the per-op energies add up to the priced total.
    """

    def __init__(self, price, coefficients=None):
        self.price = price
        #: priced from components: the record's total energy is this same linear form
        self.components = coefficients is not None
        if coefficients is not None:  # a design priced from components: read off its components
            self.per_action, self.per_cycle = coefficients
        else:
            self.per_action = {}
            self.per_cycle = self._unit(1, {})

    def _unit(self, cycles: int, actions: dict) -> dict:
        return {k: float(v) for k, v in self.price(cycles, 0, actions)["energy_pj_by_part"].items()}

    def by_part(self, cycles: int, actions: dict) -> dict:
        out = {k: v * cycles for k, v in self.per_cycle.items()}
        for a, n in actions.items():
            if not n:
                continue
            coef = self.per_action.get(a)
            if coef is None:
                coef = self.per_action[a] = self._unit(0, {a: 1})
            for k, v in coef.items():
                out[k] = out.get(k, 0.0) + v * n
        return out


def _pricer(point: Point, fam: Family, cfg, design: dict):
    """``(price, linear)``: ``price(cycles, macs, actions) -> cost dict`` for this point's
    design and pricing and its :class:`_Linear` form, or ``(None, None)`` when the family
    (or hwsim) has no cost model."""
    return _design_pricer(point.family, point.pricing, fam, cfg, design)


def _cost_parts(family: str, pr: Pricing, fam: Family, cfg, ckey=None):
    """What pricing a design needs: ``(tech, inputs, pe_array_area, extra_area,
    calibration)`` (see :func:`hwsim.cost.report.cost_record`); ``ckey`` its
    :func:`_cost_key` when the caller has it."""
    tech = _tech(pr.node_nm)
    kw = {}
    if pr.dram is not None:
        tech.dram_energy_per_bit(pr.dram)  # an unknown DRAM type is an error naming "dram"
        kw["dram"] = pr.dram
    if pr.clock_gating != "none":
        if "clock_gating" not in inspect.signature(fam.cost.inputs).parameters:
            raise ConfigError("clock_gating", f"family {family!r} prices no clock-gating choice")
        kw["clock_gating"] = pr.clock_gating
    inputs = _cost_inputs(fam, cfg, ckey, **kw)
    area = fam.cost.pe_array_area(cfg) if fam.cost.pe_array_area else None
    extra = None
    if pr.synthesised_area and fam.cost.synthesised_area is not None:
        area, extra = fam.cost.synthesised_area(cfg)
    cal = fam.cost.calibration(cfg) if fam.cost.calibration and pr.calibrated else None
    return tech, inputs, area, extra, cal


def _price_fn(cost, family: str, design: dict, parts):
    tech, inputs, area, extra, cal = parts

    def price(cycles: int, macs: int, actions: dict) -> dict:
        return cost(family, design, {"cycles": cycles, "macs": macs, "actions": actions},
                    tech, inputs, pe_array_area=area, extra_area=extra, calibration=cal)

    return price


def _design_pricer(family: str, pr: Pricing, fam: Family, cfg, design: dict, cache: bool = True, parts=None):
    """:func:`_pricer` of a design and pricing (no point needed); ``cache=False`` for a
    caller that prices each design once (skips the cache's key); ``parts`` the design's
    :func:`_cost_parts` when the caller has them."""
    cost = _cost_fn()
    if cost is None or fam.cost is None:
        return None, None
    # hwsim.cost prices a run's action counts with the family's components
    parts = _cost_parts(family, pr, fam, cfg) if parts is None else parts
    tech, inputs, area, extra, cal = parts
    price = _price_fn(cost, family, design, parts)

    if not cache:
        from hwsim.cost.report import energy_coefficients

        return price, _Linear(price, energy_coefficients(tech, inputs, cal))
    key = json.dumps([family, design, dataclasses.asdict(pr)], sort_keys=True, default=str)
    lin = _LINEAR.get(key)
    if lin is None:
        if len(_LINEAR) >= _LINEAR_MAX:
            _LINEAR.clear()
        from hwsim.cost.report import energy_coefficients

        lin = _LINEAR[key] = _Linear(price, energy_coefficients(tech, inputs, cal))
    return price, lin


def _layer(op: GemmOp, perf: dict, peak: float, linear) -> dict:
    """One entry of :attr:`Record.layers` from an op's model figures (see LAYER_FIELDS)."""
    cycles, macs = int(perf["cycles"]), int(perf["macs"])
    d = {"name": op.name, "m": int(op.m), "k": int(op.k), "n": int(op.n), "count": int(op.count),
         "cycles": cycles, "compute_cycles": int(perf["compute_cycles"]),
         "stall_cycles": int(perf["stall_cycles"]), "macs": macs,
         "utilization": exact_utilization(macs, cycles, peak), "dram_bytes": int(perf["dram_bytes"]),
         "energy_pj": None, "energy_pj_by_part": {}, "mapping": dict(perf.get("mapping") or {})}
    if linear is not None:
        parts = linear.by_part(cycles, {k: int(v) for k, v in perf["actions"].items()})
        d["energy_pj"] = float(sum(parts.values()))
        d["energy_pj_by_part"] = parts
    return d


def _make_record(point: Point, cfg, totals: dict, actions: dict, estimator: str,
                 per_op: list[dict]) -> Record:
    fam = FAMILIES[point.family]
    wl = point.workload
    cycles = int(totals["cycles"])
    macs = int(totals["macs"])
    freq = fam.freq_mhz(cfg)
    peak = float(fam.peak_macs_per_cycle(cfg))
    latency = cycles / (freq * 1e6)
    ops = 2 * macs
    thr = ops / latency if latency > 0 else 0.0
    dram = int(totals["dram_bytes"])
    design = cfg.to_dict()
    rec = dict(
        schema_version=SCHEMA_VERSION,
        point_key=point_key(point.family, design, wl.key, point.fidelity, point.mode,
                            code_version(point.family), point.pricing, point.rtl_sample),
        design_id=_hash({"family": point.family, "design": design}),
        family=point.family, fidelity=point.fidelity, mode=point.mode, estimator=estimator,
        code_version=code_version(point.family), seed=int(point.seed), design=design,
        workload=wl.name, workload_key=wl.key, model=wl.model, phase=wl.phase, batch=wl.batch,
        tokens=wl.tokens, n_ops=len(wl.ops),
        cycles=cycles, compute_cycles=int(totals["compute_cycles"]),
        stall_cycles=int(totals["stall_cycles"]), macs=macs, ops=ops,
        utilization=exact_utilization(macs, cycles, peak),
        freq_mhz=float(freq), latency_s=float(latency), throughput_ops_per_s=float(thr),
        tops=float(thr / 1e12), peak_macs_per_cycle=peak,
        peak_tops=float(2 * peak * freq * 1e6 / 1e12),
        dram_bw_bytes_per_s=float(fam.dram_bw_bytes_per_cycle(cfg) * freq * 1e6),
        sram_reads=int(totals["sram_reads"]), sram_writes=int(totals["sram_writes"]),
        dram_bytes=dram, ops_per_dram_byte=float(ops / dram) if dram else None,
        tokens_per_s=float(wl.tokens / latency) if wl.tokens and latency > 0 else None,
        actions={k: int(v) for k, v in sorted(actions.items())},
    )
    price, linear = _pricer(point, fam, cfg, design)
    rec["layers"] = [_layer(op, perf, peak, linear) for op, perf in zip(wl.ops, per_op)]
    if price is None:
        rec["cost_provenance"] = {"status": cost_status(point.family)}
    else:
        c = price(cycles, macs, rec["actions"])
        rec["energy_pj"] = float(c["energy_pj"])
        rec["area_um2"] = float(c["area_um2"])
        rec["energy_pj_by_part"] = {k: float(v) for k, v in c["energy_pj_by_part"].items()}
        rec["area_um2_by_part"] = {k: float(v) for k, v in c["area_um2_by_part"].items()}
        rec["cost_estimator"] = f"hwsim.cost.report.cost_record v{c.get('cost_record_version')} " \
                                f"({c.get('node_nm')} nm table)"
        rec["cost_provenance"] = _compact_provenance(c)
        e = rec["energy_pj"]
        rec["energy_per_op_pj"] = e / ops if ops else None
        rec["energy_per_token_pj"] = e / wl.tokens if wl.tokens else None
        rec["tops_per_w"] = float(c["tops_per_w"])
        rec["tops_per_mm2"] = float(c["tops_per_mm2"])
    if wl.quant:
        from hwsim.workloads.error import recipe_error

        err = recipe_error(wl.quant, int(point.seed))
        rec.update(quant=wl.quant, sqnr_db=float(err["sqnr_db"]), rel_fro_error=float(err["rel_fro"]),
                   error_source=err["error_source"])
    if point.fidelity == "rtl":
        from hwsim.fidelity import rtl_check

        rec["rtl_check"] = rtl_check(point, cfg)
    return Record(**rec)


def _scalar(v):
    """A numpy scalar as the Python value a scalar estimate would give."""
    return v.item() if hasattr(v, "item") else v


def evaluate(point: Point) -> Record:
    """Evaluate ``point`` with the family's scalar estimator (one op at a time), or with a
    system's scheduler when it times the workload as a whole (``estimate_workload``).

    Pure: the same point (and code version) always gives the same record.
    """
    fam = FAMILIES[point.family]
    cfg = point.config()
    est = fam.estimate
    totals = dict.fromkeys(("cycles", "compute_cycles", "stall_cycles", "macs", "sram_reads",
                            "sram_writes", "dram_bytes"), 0)
    actions: dict[str, int] = {}
    whole = fam.estimate_workload(cfg, point.workload, mode=point.mode) if fam.estimate_workload else None
    if whole is not None:
        # a system's scheduler timed the workload as a whole: its ops overlap (and may run
        # on a shard of the model), so the record has no per-op rows
        d = whole.to_dict()
        totals = {k: int(d[k]) for k in totals}
        actions = {k: int(v) for k, v in d["actions"].items()}
        return _make_record(point, cfg, totals, actions, f"{fam.estimate_workload.__module__}[{point.mode}]", [])
    per_op = []
    for op in point.workload.ops:
        perf = est(cfg, op, mode=point.mode)
        d = perf.to_dict()
        for k in totals:
            totals[k] += int(d[k])
        for k, v in d["actions"].items():
            actions[k] = actions.get(k, 0) + int(v)
        d["mapping"] = getattr(perf, "mapping", None)
        per_op.append(d)
    return _make_record(point, cfg, totals, actions, _estimator_name(fam, point.mode), per_op)


def _estimate_block(fam: Family, cfgs: list, wl: Workload, mode: str) -> dict:
    """The family's ``estimate_arrays`` over ``cfgs`` x the ops of ``wl``.

    Returns ``per_op`` (``{column: (designs, ops) array}`` of the counts, the op's
    performance figures and its actions), ``summed`` (the same summed over the ops),
    ``actions`` (the action columns, in the model's order), ``sram_reads`` and
    ``sram_writes`` (the columns summed into the record's SRAM totals) and ``mapping``
    (``{field: (designs, ops) array}`` of the chosen mapping).
    """
    kw = {}
    for f in fam.array_fields:
        kw[f] = np.asarray([getattr(c, f) for c in cfgs])[:, None]
    kw["m"] = np.array([op.m for op in wl.ops])[None, :]
    kw["k"] = np.array([op.k for op in wl.ops])[None, :]
    kw["n"] = np.array([op.n for op in wl.ops])[None, :]
    kw["count"] = np.array([op.count for op in wl.ops])[None, :]
    # Designs x ops, flattened to 1-D (the estimators are element-wise).
    shape = (len(cfgs), len(wl.ops))
    flat = {k: (np.broadcast_to(v, shape).ravel() if not isinstance(v, str) else v)
            for k, v in kw.items()}
    res = fam.estimate_arrays(mode=mode, **flat)
    # per-op columns: the chosen mapping ("mapping_<field>") is not a count, and the
    # DRAM bytes per operand are already in the read/write totals
    mapping_cols = {k[len("mapping_"):]: np.asarray(v).reshape(shape) for k, v in res.items()
                    if k.startswith("mapping_")}
    per_op = {k: np.asarray(v).reshape(shape) for k, v in res.items()
              if k not in ("utilization", "folds") and not k.startswith(_NOT_SUMMED)}
    summed = {k: v.sum(axis=1) for k, v in per_op.items()}
    return {"per_op": per_op, "summed": summed, "mapping": mapping_cols,
            "actions": [k for k in summed if k not in _PERF_KEYS],
            "sram_reads": [k for k in summed if k.startswith("sram_read:")],
            "sram_writes": [k for k in summed if k.startswith("sram_write:")]}


def _int64_safe(fam: Family, cfg, wl_macs: int) -> bool:
    """Whether the vectorised (int64) path is exact for ``cfg`` on a workload of
    ``wl_macs`` MACs: derived counts reach a few thousand times the MACs (bits written
    per MAC) and DRAM cycles scale with 1 / bandwidth. Designs whose counts could pass
    2**62 take the scalar path (Python integers, exact)."""
    bw = float(fam.dram_bw_bytes_per_cycle(cfg))
    return wl_macs * _INT64_HEADROOM < _INT64_SAFE * min(1.0, bw)


def evaluate_many(points: list[Point]) -> list[Record]:
    """Evaluate many points, vectorising over designs that share a workload.

    Uses the family's ``estimate_arrays`` when it has one (records equal those of
    :func:`evaluate`, which the tests check); otherwise falls back to :func:`evaluate`
    per point. The order of the result follows ``points``.
    """
    out: list[Record | None] = [None] * len(points)
    groups: dict[tuple, list[int]] = {}
    for i, p in enumerate(points):
        groups.setdefault((p.family, p.workload.key, p.fidelity, p.mode), []).append(i)
    for (family, _, _, mode), idx in groups.items():
        fam = FAMILIES[family]
        if fam.estimate_arrays is None:
            for i in idx:
                out[i] = evaluate(points[i])
            continue
        wl_macs = points[idx[0]].workload.macs
        safe = []
        for i in idx:
            if _int64_safe(fam, points[i].config(), wl_macs):
                safe.append(i)
            else:
                out[i] = evaluate(points[i])
        idx = safe
        if not idx:
            continue
        pts = [points[i] for i in idx]
        cfgs = [p.config() for p in pts]
        wl = pts[0].workload
        est = _estimate_block(fam, cfgs, wl, mode)
        per_op_arr, summed, act_keys = est["per_op"], est["summed"], est["actions"]
        mapping_cols, sram_r, sram_w = est["mapping"], est["sram_reads"], est["sram_writes"]
        estimator = _estimator_name(fam, mode)
        n_ops = len(wl.ops)
        for j, (p, cfg) in enumerate(zip(pts, cfgs)):
            totals = {
                "cycles": summed["cycles"][j], "compute_cycles": summed["compute_cycles"][j],
                "stall_cycles": summed["stall_cycles"][j], "macs": summed["macs"][j],
                "sram_reads": sum(summed[k][j] for k in sram_r),
                "sram_writes": sum(summed[k][j] for k in sram_w),
                "dram_bytes": summed["dram_read_bytes"][j] + summed["dram_write_bytes"][j],
            }
            actions = {k: int(summed[k][j]) for k in act_keys}
            per_op = [{"cycles": per_op_arr["cycles"][j, i], "compute_cycles": per_op_arr["compute_cycles"][j, i],
                       "stall_cycles": per_op_arr["stall_cycles"][j, i], "macs": per_op_arr["macs"][j, i],
                       "dram_bytes": per_op_arr["dram_read_bytes"][j, i] + per_op_arr["dram_write_bytes"][j, i],
                       "actions": {k: int(per_op_arr[k][j, i]) for k in act_keys},
                       "mapping": {f: _scalar(v[j, i]) for f, v in mapping_cols.items()}}
                      for i in range(n_ops)]
            out[idx[j]] = _make_record(p, cfg, totals, actions, estimator, per_op)
    return out  # type: ignore[return-value]


# ------------------------------------------------------------------ columnar evaluation
@dataclass(eq=False)
class LayerBlock:
    """The per-op results (:attr:`Record.layers`) of ``P`` points on one workload, as
    ``(P, ops)`` arrays; row ``j`` belongs to record ``j`` of its :class:`Block`.

    ``energy_parts`` maps each energy part to its ``(P, ops)`` array and
    ``energy_present`` to where that part is a key of the op's ``energy_pj_by_part``
    (a part is listed when its design charges it per cycle or an action with a nonzero
    count is routed to it, as :class:`_Linear` lists it); both are empty without cost.
    """

    ops: tuple
    cycles: np.ndarray
    compute_cycles: np.ndarray
    stall_cycles: np.ndarray
    macs: np.ndarray
    dram_bytes: np.ndarray
    utilization: np.ndarray
    energy_pj: np.ndarray | None
    energy_parts: dict
    energy_present: dict
    mapping: dict

    def __len__(self) -> int:
        return int(self.cycles.shape[0])

    def dicts(self, j: int) -> list[dict]:
        """The layers of record ``j`` as :data:`LAYER_FIELDS` dicts."""
        out = []
        for i, op in enumerate(self.ops):
            d = {"name": op.name, "m": int(op.m), "k": int(op.k), "n": int(op.n), "count": int(op.count),
                 "cycles": int(self.cycles[j, i]), "compute_cycles": int(self.compute_cycles[j, i]),
                 "stall_cycles": int(self.stall_cycles[j, i]), "macs": int(self.macs[j, i]),
                 "utilization": float(self.utilization[j, i]), "dram_bytes": int(self.dram_bytes[j, i]),
                 "energy_pj": None if self.energy_pj is None else float(self.energy_pj[j, i]),
                 "energy_pj_by_part": {p: float(v[j, i]) for p, v in self.energy_parts.items()
                                       if self.energy_present[p][j, i]},
                 "mapping": {f: _scalar(v[j, i]) for f, v in self.mapping.items()}}
            out.append(d)
        return out


@dataclass(eq=False)
class Masked:
    """A column of numbers with ``None`` where ``mask`` is true."""

    values: np.ndarray
    mask: np.ndarray

    def tolist(self) -> list:
        return [None if m else v for v, m in zip(self.values.tolist(), self.mask.tolist())]


@dataclass(eq=False)
class DictColumn:
    """A dict-valued column whose records all have the keys ``names``: ``columns[i]``
    holds key ``names[i]`` of every record (an array or a list)."""

    names: tuple
    columns: list
    n: int = 0  # records (the length of a column without keys)

    def tolist(self) -> list:
        cols = [_as_list(c) for c in self.columns]
        return [dict(zip(self.names, row)) for row in zip(*cols)] if cols else [{} for _ in range(self.n)]


def _as_list(col) -> list:
    """A block column's values as a list (see :class:`Block`)."""
    return col.tolist() if hasattr(col, "tolist") else col


@dataclass(eq=False)
class Block:
    """Records of several designs on one workload, evaluated as columns.

    ``const`` holds the fields every record of the block shares and ``columns`` the
    others, one value per record (a list, an array, a :class:`Masked` array or a
    :class:`DictColumn`; a design's config and cost provenance are one object shared by
    its records); ``layers`` holds their per-op results as arrays. :attr:`records`
    gives the records as dicts (every :class:`Record` field but ``layers``) and
    :meth:`to_records` the :class:`Record` objects, equal to what :func:`evaluate` gives
    point by point.
    """

    const: dict
    columns: dict
    layers: LayerBlock
    #: the JSON text of some columns' values (the designs': the text their keys hash)
    texts: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def records(self) -> list[dict]:
        names = list(self.columns)
        cols = [_as_list(c) for c in self.columns.values()]
        return [{**self.const, **dict(zip(names, row))} for row in zip(*cols)]

    def to_records(self) -> list[Record]:
        return [Record(**{**_plain_copy(r), "layers": self.layers.dicts(j)})
                for j, r in enumerate(self.records)]


_SCALARS = (int, float, str, bool, type(None))
_SCALAR_TYPES = frozenset(_SCALARS)


def _design_dict(cfg) -> dict:
    """``cfg.to_dict()``, without ``dataclasses.asdict``'s deep copy when every field is
    a plain scalar (the same dict; nested configs take ``to_dict``)."""
    from hwsim.families.base import ConfigMixin

    cls = type(cfg)
    if cls.to_dict is ConfigMixin.to_dict:
        names = _field_names(cls)
        d = getattr(cfg, "__dict__", None)
        if d is not None and len(d) == len(names) and tuple(d) == names:  # the fields only
            d = dict(d)
        else:
            d = {f: getattr(cfg, f) for f in names}
        if _SCALAR_TYPES.issuperset(map(type, d.values())):
            return d
    return cfg.to_dict()


def _design_json(d: dict) -> str:
    """``_json_key(d)`` of a design dict, its scalar values' texts memoised (a sweep's
    designs repeat a few values per field)."""
    names = tuple(d)
    heads = _JSON_HEADS.get(names)
    if heads is None:
        heads = _JSON_HEADS[names] = tuple((k, json.dumps(k) + ":") for k in sorted(d))
    memo = _JSON_SCALARS
    parts = []
    try:
        for k, h in heads:
            v = d[k]
            signed_zero = v == 0 and type(v) is float  # -0.0 == 0.0: not memoised
            t = None if signed_zero else memo.get((type(v), v))
            if t is None:
                t = json.dumps(v, separators=(",", ":"))
                if len(memo) < 100_000 and not signed_zero:
                    memo[(type(v), v)] = t
            parts.append(h + t)
    except TypeError:  # an unhashable value
        return _json_key(d)
    return "{" + ",".join(parts) + "}"


_JSON_SCALARS: dict = {}
_JSON_HEADS: dict = {}


@lru_cache(maxsize=None)
def _field_names(cls) -> tuple:
    return tuple(f.name for f in dataclasses.fields(cls))


def _key_template(family, workload_key, fidelity, mode, code_ver, pricing, rtl_sample) -> tuple[str, str]:
    """The text :func:`point_key` hashes, split around the design: ``prefix + design
    JSON + suffix`` (so that a block's keys are one string join and one hash each)."""
    mark = "@hwsim-design@"
    d = _key_dict(family, mark, workload_key, fidelity, mode, code_ver, pricing, rtl_sample)
    prefix, suffix = _json_key(d).split(json.dumps(mark), 1)
    return prefix, suffix


@dataclass(eq=False)
class _DesignCost:
    """What a design's records share about its cost: the linear energy coefficients
    over a block's actions, its area and the cost provenance."""

    price: object
    linear: object
    base: dict  # cost_record of a one-cycle run with every action at zero
    parts: tuple  # keys of a record's energy_pj_by_part
    provenance: dict
    estimator: str
    area_by_part: dict | None = None


#: Provenance parts seen in this process, by content: designs that share a part (the
#: technology table's sources, one SRAM macro's energy line, a calibration) then share
#: one object, which the store writes once (:func:`hwsim.sweep.chunks.encode_chunk`).
_INTERNED: dict = {}


def _frozen(v):
    t = type(v)
    if t is dict:
        return ("d",) + tuple((k, _frozen(x)) for k, x in v.items())
    if t is list or t is tuple:
        return ("l",) + tuple(_frozen(x) for x in v)
    return v


def _intern(v):
    try:
        k = _frozen(v)
        hit = _INTERNED.get(k)
    except TypeError:  # unhashable leaf: not shared
        return v
    if hit is None:
        if len(_INTERNED) > 100_000:
            _INTERNED.clear()
        hit = _INTERNED[k] = v
    return hit


def _shared_provenance(p: dict) -> dict:
    """``p`` with its dict parts and the dict elements of its list parts interned."""
    out = {}
    for k, v in p.items():
        if type(v) is dict and v:
            out[k] = _intern(v)
        elif type(v) is list:
            out[k] = [_intern(x) if type(x) is dict else x for x in v]
        else:
            out[k] = v
    return out


#: Design costs by what they are computed from (the priced components, areas and
#: calibration, the pricing and the block's actions): designs that differ only in fields
#: their cost does not read (DRAM bandwidth, mapping choices) share one.
_DCOST: dict = {}


def _design_cost(family, pricing, fam, cfg, design, act_keys) -> "_DesignCost | None":
    cost = _cost_fn()
    if cost is None or fam.cost is None:
        return None
    acts = tuple(sorted(act_keys))
    # designs equal but for fields the cost ignores (DRAM bandwidth, mapping choices)
    ckey = _cost_key(fam, cfg, design)
    if ckey is not None:
        key = (ckey, pricing, acts)
        hit = _DCOST.get(key)
        if hit is not None:  # one object: its price reads only the components it shares
            return hit
    parts = _cost_parts(family, pricing, fam, cfg, ckey)
    if ckey is None:
        # everything a design's cost is computed from, by value (the frozen component
        # dataclasses' and figures' reprs): designs with other fields and the same priced
        # components share it too
        key = (family, pricing, repr(parts[1:]), acts)
        hit = _DCOST.get(key)
        if hit is not None:
            return _remember(_DCOST, key, dataclasses.replace(hit, price=_price_fn(cost, family, design, parts)))
    return _remember(_DCOST, key, _new_design_cost(family, pricing, fam, cfg, design, act_keys, parts))


def _new_design_cost(family, pricing, fam, cfg, design, act_keys, parts) -> "_DesignCost":
    price, lin = _design_pricer(family, pricing, fam, cfg, design, cache=False, parts=parts)
    # the provenance lists one energy line per priced action (whatever its count) and the
    # per-cycle lines of a run of at least one cycle: a zero run gives every record's
    base = price(1, 0, dict.fromkeys(sorted(act_keys), 0))
    return _DesignCost(price, lin, base, tuple(base["energy_pj_by_part"]),
                       _shared_provenance(_compact_provenance(base)),
                       f"hwsim.cost.report.cost_record v{base.get('cost_record_version')} "
                       f"({base.get('node_nm')} nm table)")


def _coefficients(costs: list, act_keys: list, counts: np.ndarray) -> tuple:
    """``(parts, C, PC, C_nz, PC_nz)`` of a block: ``C[d, a, p]`` the energy of one count
    of action ``a`` charged to part ``p`` by design ``d``, ``PC[d, p]`` per cycle, and
    where each is a key of the design's coefficients. ``counts`` (designs x actions) is
    only read to raise, with the cost model's own message, for an action a design
    cannot price."""
    # designs that share a priced cost share its _Linear: one row of coefficients each
    uniq: dict[int, int] = {}
    first: list = []
    inv = np.empty(len(costs), dtype=np.int64)
    for j, c in enumerate(costs):
        u = uniq.get(id(c.linear))
        if u is None:
            u = uniq[id(c.linear)] = len(first)
            first.append(j)
        inv[j] = u
    parts: dict[str, int] = {}
    for j in first:
        c = costs[j]
        for p in c.linear.per_cycle:
            parts.setdefault(p, len(parts))
        for p in c.parts:
            parts.setdefault(p, len(parts))
    rows = []
    for u, j in enumerate(first):
        lin = costs[j].linear
        coef = []
        for ai, a in enumerate(act_keys):
            v = lin.per_action.get(a)
            if v is None:
                lin.by_part(0, {a: 1})  # measures it (or raises for an action the design lacks)
                v = lin.per_action[a]
            if not v:
                hit = np.flatnonzero((inv == u) & (counts[:, ai] != 0))
                if hit.size:  # raises: no component takes it
                    costs[hit[0]].price(1, 0, {a: int(counts[hit[0], ai])})
            for p in v:
                parts.setdefault(p, len(parts))
            coef.append(v)
        rows.append(coef)
    # one order of the parts whatever designs share the block (sums follow it)
    parts = {p: i for i, p in enumerate(sorted(parts))}
    U, A, P = len(first), len(act_keys), len(parts)
    C = np.zeros((U, A, P))
    C_nz = np.zeros((U, A, P), dtype=bool)
    PC = np.zeros((U, P))
    PC_nz = np.zeros((U, P), dtype=bool)
    for u, (j, coef) in enumerate(zip(first, rows)):
        for p, v in costs[j].linear.per_cycle.items():
            PC[u, parts[p]] = v
            PC_nz[u, parts[p]] = True
        for ai, v in enumerate(coef):
            for p, x in v.items():
                C[u, ai, parts[p]] = x
                C_nz[u, ai, parts[p]] = True
    C, PC, C_nz, PC_nz = C[inv], PC[inv], C_nz[inv], PC_nz[inv]
    return tuple(parts), C, PC, C_nz, PC_nz


def point_keys(family: str, cfgs: list, workloads, *, fidelity: str = "model", mode: str | None = None,
               pricing: Pricing = Pricing(), rtl_sample=None) -> list[list[str]]:
    """``keys[d][w]``: the :attr:`Point.key` of config ``cfgs[d]`` on ``workloads[w]``,
    one string join and one hash each (the point key's JSON split around the design)."""
    fam = FAMILIES[family]
    mode = mode or fam.modes[0]
    if fidelity == "rtl" and rtl_sample is None:
        from hwsim.fidelity import RtlSample

        rtl_sample = RtlSample()
    rtl_sample = rtl_sample if fidelity == "rtl" else None
    code_ver = code_version(family)
    tpl = [_key_template(family, wl.key, fidelity, mode, code_ver, pricing, rtl_sample) for wl in workloads]
    out = []
    for c in cfgs:
        dj = _json_key(_design_dict(c))
        out.append([_sha(pre + dj + suf) for pre, suf in tpl])
    return out


#: Most design x op problems one call of a family's ``estimate_arrays`` gets from
#: :func:`evaluate_designs` (a mapper's search holds its candidates for all of them:
#: about 0.2 MiB per problem for the systolic search).
ESTIMATE_PROBLEMS = 4096


def evaluate_designs(family: str, designs, workloads, *, fidelity: str = "model", mode: str | None = None,
                     seed: int = 0, pricing: Pricing = Pricing(), rtl_sample=None,
                     configs: list | None = None) -> tuple[list[Block], list[Record]]:
    """Evaluate every design of ``designs`` on every workload of ``workloads``, as columns.

    The columnar form of :func:`evaluate_many` for sweeps: the model runs once over
    designs x ops per workload (the family's ``estimate_arrays``, mapper included), the
    energy of every record and every op is one accumulation of action counts times the
    designs' per-action energies (the linear form of the cost model, :class:`_Linear`),
    keys are one hash of a string join each, and the records' other fields follow
    :func:`_make_record` exactly. Points the columnar form does not cover (a family
    without ``estimate_arrays`` or timed as a whole, the RTL fidelity, a design whose
    counts could overflow int64) are evaluated with :func:`evaluate`.

    Returns ``(blocks, records)``: one :class:`Block` per workload with the columnar
    records, and the :class:`Record` of every other point. Values equal the records of
    :func:`evaluate` (integers and text exactly; energies, summed in another order,
    within a few units in the last place; the tests check).

    ``configs``, when given, are the designs' configs (already built and checked).
    """
    fam = FAMILIES[family]
    mode = mode or fam.modes[0]
    designs = list(designs)
    workloads = list(workloads)
    check_choice("fidelity", fidelity, FIDELITIES)
    check_choice("mode", mode, fam.modes)
    fallback: list[Record] = []
    columnar = fidelity == "model" and fam.estimate_arrays is not None and fam.estimate_workload is None
    if not columnar:
        for d in designs:
            for wl in workloads:
                fallback.append(evaluate(Point(family, d, wl, fidelity, mode, seed, pricing, rtl_sample)))
        return [], fallback
    cfgs = configs if configs is not None else [fam.make_config(d) for d in designs]
    code_ver = code_version(family)
    estimator = _estimator_name(fam, mode)
    fam_json = json.dumps(family)
    full = [_design_dict(c) for c in cfgs]
    djson = [_design_json(f) for f in full]
    design_ids = [_sha(f'{{"design":{dj},"family":{fam_json}}}') for dj in djson]
    freq = [float(fam.freq_mhz(c)) for c in cfgs]
    peak = [float(fam.peak_macs_per_cycle(c)) for c in cfgs]
    bw_s = [float(fam.dram_bw_bytes_per_cycle(c) * f * 1e6) for c, f in zip(cfgs, freq)]
    peak_tops = [float(2 * p * f * 1e6 / 1e12) for p, f in zip(peak, freq)]
    costs: dict[tuple, list] = {}  # action keys -> per design _DesignCost (None: no cost)
    status = None if _cost_fn() is not None and fam.cost is not None else {"status": cost_status(family)}
    blocks = []
    for wl in workloads:
        wl_key = wl.key
        prefix, suffix = _key_template(family, wl_key, fidelity, mode, code_ver, pricing, None)
        wl_macs = wl.macs
        safe = [j for j, c in enumerate(cfgs) if _int64_safe(fam, c, wl_macs)]
        if len(safe) < len(cfgs):
            ok = set(safe)
            fallback += [evaluate(Point(family, designs[j], wl, fidelity, mode, seed, pricing, rtl_sample))
                         for j in range(len(cfgs)) if j not in ok]
        # the model (and its mapper's candidates) over at most ESTIMATE_PROBLEMS
        # design x op problems at a time: bounded memory whatever the task's size
        per = max(1, ESTIMATE_PROBLEMS // len(wl.ops))
        for lo in range(0, len(safe), per):
            sub = safe[lo:lo + per]
            est = _estimate_block(fam, [cfgs[j] for j in sub], wl, mode)
            blocks.append(_block(fam, family, wl, est, sub, cfgs, full, djson, design_ids, freq, peak, bw_s,
                                 peak_tops, costs, status, prefix, suffix, code_ver, estimator, fidelity,
                                 mode, seed, pricing))
    return blocks, fallback


def _block(fam, family, wl, est, safe, cfgs, full, djson, design_ids, freq, peak, bw_s, peak_tops,
           costs, status, prefix, suffix, code_ver, estimator, fidelity, mode, seed, pricing) -> Block:
    per_op, summed, act_keys = est["per_op"], est["summed"], est["actions"]
    D, O = per_op["cycles"].shape
    cyc_op = per_op["cycles"]
    macs_op = per_op["macs"]
    dram_op = per_op["dram_read_bytes"] + per_op["dram_write_bytes"]
    peak_s = np.array([peak[j] for j in safe])
    with np.errstate(divide="ignore", invalid="ignore"):
        den = cyc_op * peak_s[:, None]
        ok = (cyc_op > 0) & (peak_s[:, None] > 0) & np.isfinite(peak_s[:, None])
        util_op = np.where(ok, macs_op / np.where(ok, den, 1.0), 0.0)
    counts_op = np.stack([per_op[a] for a in act_keys], axis=-1) if act_keys else np.zeros((D, O, 0), np.int64)
    counts = counts_op.sum(axis=1)  # designs x actions, equal to the summed columns
    # cost of every design (once per design and action set, shared by its workloads)
    dcost = None
    if status is None:
        per = costs.setdefault(tuple(act_keys), [None] * len(cfgs))
        for j in safe:
            if per[j] is None:
                per[j] = _design_cost(family, pricing, fam, cfgs[j], full[j], act_keys)
        dcost = [per[j] for j in safe]
    energy_parts, energy_present, energy_op = {}, {}, None
    E = None
    if dcost is not None:
        parts, C, PC, C_nz, PC_nz = _coefficients(dcost, act_keys, counts)
        # the linear form, accumulated action by action in one fixed order (so that a
        # record's figures never depend on which other designs share its block)
        cycles = summed["cycles"].astype(float)
        E = cycles[:, None] * PC
        EL = cyc_op.astype(float)[:, :, None] * PC[:, None, :]
        present = np.broadcast_to(PC_nz[:, None, :], (D, O, len(parts))).copy()
        for ai in range(len(act_keys)):
            n = counts[:, ai].astype(float)
            E += n[:, None] * C[:, ai, :]
            nl = counts_op[:, :, ai]
            EL += nl.astype(float)[:, :, None] * C[:, None, ai, :]
            present |= (nl != 0)[:, :, None] & C_nz[:, None, ai, :]
        energy_op = np.zeros((D, O))
        for i in range(len(parts)):  # part by part: the same sum whatever the block's shape
            energy_op += np.where(present[:, :, i], EL[:, :, i], 0.0)
        energy_parts = {p: EL[:, :, i] for i, p in enumerate(parts)}
        energy_present = {p: present[:, :, i] for i, p in enumerate(parts)}
        pidx = {p: i for i, p in enumerate(parts)}
    layers = LayerBlock(ops=tuple(wl.ops), cycles=cyc_op, compute_cycles=per_op["compute_cycles"],
                        stall_cycles=per_op["stall_cycles"], macs=macs_op, dram_bytes=dram_op,
                        utilization=util_op, energy_pj=energy_op, energy_parts=energy_parts,
                        energy_present=energy_present, mapping=est["mapping"])
    quant = {}
    if wl.quant:
        from hwsim.workloads.error import recipe_error

        err = recipe_error(wl.quant, int(seed))
        quant = dict(quant=wl.quant, sqnr_db=float(err["sqnr_db"]), rel_fro_error=float(err["rel_fro"]),
                     error_source=err["error_source"])
    # per-record fields as columns (the expressions of _make_record, element by element:
    # the same IEEE operations in the same order give the same values)
    cyc = summed["cycles"].astype(np.int64)
    macs = summed["macs"].astype(np.int64)
    f = np.array([freq[j] for j in safe], dtype=float)
    cycf = cyc.astype(float)
    latency = cycf / (f * 1e6)
    ops = 2 * macs
    opsf = ops.astype(float)
    dram = (summed["dram_read_bytes"] + summed["dram_write_bytes"]).astype(np.int64)
    tokens = wl.tokens
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = latency > 0
        thr = np.where(pos, opsf / np.where(pos, latency, 1.0), 0.0)
        pk_ok = (cyc > 0) & (peak_s > 0) & np.isfinite(peak_s)
        util = np.where(pk_ok, macs.astype(float) / np.where(pk_ok, cycf * peak_s, 1.0), 0.0)
        per_byte = Masked(opsf / np.where(dram != 0, dram.astype(float), 1.0), dram == 0)
        tok = (Masked(tokens / np.where(pos, latency, 1.0), ~pos) if tokens
               else Masked(np.zeros(D), np.ones(D, bool)))
    sr = sum(summed[k] for k in est["sram_reads"]) if est["sram_reads"] else np.zeros(D, np.int64)
    sw = sum(summed[k] for k in est["sram_writes"]) if est["sram_writes"] else np.zeros(D, np.int64)
    sorted_acts = sorted(act_keys)
    const = dict(schema_version=SCHEMA_VERSION, family=family, fidelity=fidelity, mode=mode,
                 estimator=estimator, code_version=code_ver, seed=int(seed), workload=wl.name,
                 workload_key=wl.key, model=wl.model, phase=wl.phase, batch=wl.batch, tokens=tokens,
                 n_ops=len(wl.ops), rtl_check={}, quant=None, sqnr_db=None, rel_fro_error=None, error_source=None)
    const.update(quant)
    cols = dict(
        point_key=[_sha(prefix + djson[j] + suffix) for j in safe], design_id=[design_ids[j] for j in safe],
        design=[full[j] for j in safe], cycles=cyc, compute_cycles=summed["compute_cycles"].astype(np.int64),
        stall_cycles=summed["stall_cycles"].astype(np.int64), macs=macs, ops=ops, utilization=util, freq_mhz=f,
        latency_s=latency, throughput_ops_per_s=thr, tops=thr / 1e12, peak_macs_per_cycle=peak_s.astype(float),
        peak_tops=np.array([peak_tops[j] for j in safe], dtype=float),
        dram_bw_bytes_per_s=np.array([bw_s[j] for j in safe], dtype=float),
        sram_reads=np.asarray(sr, np.int64), sram_writes=np.asarray(sw, np.int64), dram_bytes=dram,
        ops_per_dram_byte=per_byte, tokens_per_s=tok,
        actions=DictColumn(tuple(sorted_acts), [counts[:, act_keys.index(a)].astype(np.int64) for a in sorted_acts], D))
    if dcost is None:
        const.update(energy_pj=None, area_um2=None, energy_pj_by_part={}, area_um2_by_part={},
                     energy_per_op_pj=None, energy_per_token_pj=None, tops_per_w=None, tops_per_mm2=None,
                     cost_estimator=None, cost_provenance=status or {})
    else:
        cols.update(_cost_columns(dcost, E, pidx, cyc, macs, ops, tokens, act_keys, counts, sorted_acts))
    return Block(const, cols, layers, {"design": [djson[j] for j in safe]})


def _cost_columns(dcost: list, E, pidx: dict, cyc, macs, ops, tokens, act_keys, counts, sorted_acts) -> dict:
    """The cost fields of a block's records as columns (see :func:`_block`)."""
    D = len(dcost)
    parts = {dc.parts for dc in dcost}
    legacy: dict = {}  # record -> the cost model's own record (designs priced by the legacy tables)
    if len(parts) == 1 and all(dc.linear.components for dc in dcost):
        (names,) = parts
        pcols = [E[:, pidx[p]] for p in names]
        e = np.zeros(D)
        for c in pcols:  # in the parts' order, as sum() over the record's dict adds them
            e = e + c
        by_part = DictColumn(names, pcols, D)
    else:  # parts differing between designs, or designs priced by the legacy tables
        e = np.zeros(D)
        by_part = []
        E_l = E.tolist()
        for r, dc in enumerate(dcost):
            if dc.linear.components:
                bp = {p: E_l[r][pidx[p]] for p in dc.parts}
                e[r] = float(sum(bp.values()))
            else:  # the cost model, point by point
                c = legacy[r] = dc.price(int(cyc[r]), int(macs[r]),
                                         {a: int(counts[r, act_keys.index(a)]) for a in sorted_acts})
                bp = {k: float(v) for k, v in c["energy_pj_by_part"].items()}
                e[r] = float(c["energy_pj"])
            by_part.append(bp)
    base_f = np.array([dc.base["freq_mhz"] for dc in dcost], dtype=float)
    area = np.array([float(dc.base["area_um2"]) for dc in dcost])
    runtime = cyc.astype(float) / (base_f * 1e6)
    energy_j = e * 1e-12
    area_mm2 = area * 1e-6
    mf = 2.0 * macs.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        tops_c = np.where(runtime > 0, mf / np.where(runtime > 0, runtime, 1.0) / 1e12, 0.0)
        tpw = np.where(energy_j > 0, mf / np.where(energy_j > 0, energy_j, 1.0) / 1e12, 0.0)
        tpm = np.where(area_mm2 > 0, tops_c / np.where(area_mm2 > 0, area_mm2, 1.0), 0.0)
        per_op = Masked(e / np.where(ops != 0, ops.astype(float), 1.0), ops == 0)
        per_tok = Masked(e / tokens, np.zeros(D, bool)) if tokens else Masked(np.zeros(D), np.ones(D, bool))
    for r, c in legacy.items():  # the cost model's own figures
        tpw[r] = float(c["tops_per_w"])
        tpm[r] = float(c["tops_per_mm2"])
    return dict(energy_pj=e, area_um2=area, energy_pj_by_part=by_part,
                area_um2_by_part=[_area_by_part(dc) for dc in dcost],
                cost_estimator=[dc.estimator for dc in dcost], cost_provenance=[dc.provenance for dc in dcost],
                energy_per_op_pj=per_op, energy_per_token_pj=per_tok, tops_per_w=tpw, tops_per_mm2=tpm)


def _area_by_part(dc: "_DesignCost") -> dict:
    """The design's area by part (one dict per priced design, shared by its records)."""
    a = dc.area_by_part
    if a is None:
        a = dc.area_by_part = {k: float(v) for k, v in dc.base["area_um2_by_part"].items()}
    return a
