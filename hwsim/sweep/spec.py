"""Sweep specifications: versioned TOML files, loaded by validate -> normalise -> build.

A spec names the family and its parameter space, the workloads, the fidelity, the
objectives and constraints, and the search strategy. Everything is declarative: a
parameter's values are a list, a ``{range = [lo, hi, step]}`` (inclusive), a
``{pow2 = [lo, hi]}`` (powers of two from lo to hi) or a ``{log = [lo, hi, num]}``
(``num`` log-spaced numbers). Every error names the file, the key and the reason.
TOML already rejects duplicate keys (reported the same way).

Example
-------
::

    version = 1
    name = "tiny"
    family = "systolic"
    fidelity = "model"         # or "rtl": also run sampled workload tiles on the Verilated RTL
    mode = "hardware"          # the family's timing mode (optional)
    rtl_sample = {tiles = 1, seed = 0}   # tiles per op and their seed (fidelity "rtl" only)

    [fixed]                    # design fields held constant
    a_bits = 8

    [space]                    # design fields swept
    rows = {pow2 = [8, 32]}
    cols = [8, 16]
    dataflow = ["os", "ws"]

    [[workloads]]
    model = "llama-2-7b"
    phase = "decode"
    batch = 1
    context = 1024

    [[workloads]]
    name = "square"
    gemms = ["512x512x512", {m = 1, k = 4096, n = 4096, count = 32}]

    [objectives]               # metric = "min" | "max"
    tops = "max"
    area_um2 = "min"

    [constraints]              # metric = {min = .., max = ..}
    utilization = {min = 0.1}

    [search]
    strategy = "grid"          # "grid" | "random" | "nsga2"
    budget = 100               # designs (random, nsga2)
    seed = 0
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from hwsim.errors import ConfigError, HwsimError, non_finite_in, shorten
from hwsim.evaluate import FAMILIES, FIDELITIES, METRICS, Point, Workload, get_family
from hwsim.workloads.ops import GemmOp, check_macs, parse_gemm

SPEC_VERSION = 1
STRATEGIES = ("grid", "random", "nsga2")
PHASES = ("prefill", "decode")
#: Largest grid a spec may describe (random/nsga2 sample it without enumerating).
MAX_GRID = 10**12
#: Most values one space entry may list or generate (checked before generating them).
MAX_VALUES = 100_000
#: Largest grid the grid strategy enumerates (larger spaces need random or nsga2); a grid
#: streams through the sweep in chunks, so this bounds the run time, not the memory.
MAX_GRID_ENUMERATED = 100_000_000

_TOP_KEYS = ("version", "name", "description", "family", "fidelity", "rtl_sample", "mode", "fixed",
             "space", "workloads", "objectives", "constraints", "search")
_RTL_SAMPLE_KEYS = ("tiles", "seed")
_SEARCH_KEYS = ("strategy", "budget", "seed", "population")
_MODEL_WL_KEYS = ("name", "model", "phase", "batch", "seq_len", "context", "quant")
_GEMM_WL_KEYS = ("name", "gemms", "tokens")
_GEMM_KEYS = ("m", "k", "n", "count", "name")
_TOPOLOGY_WL_KEYS = ("name", "topology", "tokens")


def _unknown(d: dict, known, prefix: str, src: str) -> None:
    for k in d:
        if k not in known:
            raise ConfigError(f"{prefix}{k}", f"unknown key (expected one of {', '.join(known)})", src)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _need(d: dict, key: str, prefix: str, src: str):
    if key not in d:
        raise ConfigError(f"{prefix}{key}", "is required", src)
    return d[key]


def _int(v, key: str, src: str, lo: int | None = None) -> int:
    if not _is_int(v):
        raise ConfigError(key, f"must be an integer, not {shorten(v)}", src)
    if lo is not None and v < lo:
        raise ConfigError(key, f"must be >= {lo}, not {shorten(v)}", src)
    return v


def _str(v, key: str, src: str) -> str:
    if not isinstance(v, str) or not v:
        raise ConfigError(key, f"must be a non-empty string, not {shorten(v)}", src)
    return v


def _table(v, key: str, src: str) -> dict:
    if not isinstance(v, dict):
        raise ConfigError(key, f"must be a table, not {shorten(v)}", src)
    return v


@dataclass(frozen=True)
class WorkloadSpec:
    """One validated workload entry: a model pass or a list of explicit GEMMs."""

    name: str
    model: str | None = None
    phase: str | None = None
    batch: int | None = None
    seq_len: int | None = None
    context: int | None = None
    quant: str | None = None
    gemms: tuple = ()
    tokens: int | None = None

    def build(self, source: str | None = None, key: str = "workloads") -> Workload:
        """Turn the entry into a :class:`Workload` (model entries call the graph builder)."""
        if self.model is None:
            ops = tuple(GemmOp(m=g["m"], k=g["k"], n=g["n"], count=g["count"], name=g["name"])
                        for g in self.gemms)
            return Workload(name=self.name, ops=ops, tokens=self.tokens)
        try:
            from hwsim.workloads.graph import build_ops
        except ModuleNotFoundError as e:
            raise ConfigError(f"{key}.model", f"model workloads need hwsim.workloads.graph ({e})",
                              source) from None
        try:
            ops = build_ops(self.model, self.phase, self.batch, seq_len=self.seq_len,
                            context=self.context, quant=self.quant)
        except ConfigError as e:
            if e.source is not None:  # the model file itself: name both files
                raise ConfigError(f"{key}.model", f"{e.source}: {e.key}: {e.reason}", source) from None
            raise ConfigError(f"{key}.{e.key}", e.reason, source) from None
        tokens = self.batch * self.seq_len if self.phase == "prefill" else self.batch
        return Workload(name=self.name, ops=tuple(ops), tokens=tokens, model=self.model,
                        phase=self.phase, batch=self.batch, quant=self.quant)


@dataclass(frozen=True)
class SweepSpec:
    """A validated, normalised sweep specification.

    Build one with :func:`load_spec` (from a file) or :func:`parse_spec` (from a dict).
    ``space`` maps each swept field to its tuple of values (in the spec's order).
    """

    name: str
    family: str
    fidelity: str
    mode: str
    fixed: dict
    space: dict
    workloads: tuple
    objectives: dict
    constraints: dict
    strategy: str
    budget: int | None
    seed: int
    population: int
    description: str = ""
    rtl_sample: object = None
    source: str | None = None
    text_hash: str = ""
    text: str = field(default="", repr=False)

    # ----------------------------------------------------------------- design space
    @property
    def params(self) -> tuple:
        return tuple(self.space)

    @property
    def grid_size(self) -> int:
        return math.prod(len(v) for v in self.space.values())

    def design_at(self, index: int) -> dict:
        """The ``index``-th design of the grid (last parameter varies fastest)."""
        d = dict(self.fixed)
        for name in reversed(self.params):
            vals = self.space[name]
            index, r = divmod(index, len(vals))
            d[name] = vals[r]
        return {k: d[k] for k in list(self.fixed) + list(self.params)}

    def grid_designs(self):
        names = self.params
        for combo in itertools.product(*(self.space[n] for n in names)):
            d = dict(self.fixed)
            d.update(zip(names, combo))
            yield d

    def random_designs(self) -> list[dict]:
        """``budget`` distinct designs drawn uniformly from the grid (seeded)."""
        return [self.design_at(int(i)) for i in self.random_indices()]

    def check_designs(self, limit: int = 100_000) -> None:
        """Check every design of the grid (up to ``limit`` designs) before anything runs;
        the grid and random strategies check exactly the designs they plan instead."""
        if self.grid_size <= limit:
            self.points(self.grid_designs(), [])

    def build_workloads(self) -> list[Workload]:
        out = []
        for i, w in enumerate(self.workloads):
            try:
                out.append(w.build(self.source, f"workloads[{i}]"))
            except ConfigError as e:
                if e.source is not None:
                    raise
                key = e.key if e.key.startswith("workloads") else f"workloads[{i}].{e.key}"
                raise ConfigError(key, e.reason, self.source) from None
        return out

    def check_design(self, design: dict):
        """The config of ``design``, checked as its evaluation will check it
        (:meth:`Family.check_design`); an invalid one raises ConfigError naming the spec,
        the field (``space.<field>`` or ``fixed.<field>``) and the design."""
        try:
            return FAMILIES[self.family].check_design(design)
        except ConfigError as e:
            shown = ", ".join(f"{k}={shorten(design[k], 30)}" for k in self.params)
            where = ("fixed." if e.key in self.fixed else "space." if e.key in self.space
                     else "")
            raise ConfigError(f"{where}{e.key}", f"{e.reason} (in the design {shown})"
                              if shown else e.reason, self.source) from None

    def random_indices(self) -> np.ndarray:
        """Grid indices of the ``budget`` distinct designs of the random strategy (seeded;
        the designs of :meth:`random_designs`, in the same order)."""
        rng = np.random.default_rng(self.seed)
        n = min(self.budget, self.grid_size)
        return rng.choice(self.grid_size, size=n, replace=False)

    def points(self, designs, workloads) -> list[Point]:
        """Points for every (design, workload) pair; invalid designs raise ConfigError."""
        out = []
        checked: dict = {}
        for d in designs:
            ck = tuple(map(repr, d.values()))
            if ck not in checked:
                self.check_design(d)
                checked[ck] = True
            for wl in workloads:
                out.append(Point(self.family, d, wl, self.fidelity, self.mode, self.seed,
                                 rtl_sample=self.rtl_sample))
        return out


# ----------------------------------------------------------------------- validation
def _check_finite(v, key: str, src) -> None:
    bad = non_finite_in(v, key)
    if bad is not None:
        raise ConfigError(bad[0], f"must be a finite number, not {bad[1]!r}", src)


def _space_values(v, key: str, src: str) -> tuple:
    if isinstance(v, list):
        if not v:
            raise ConfigError(key, "must list at least one value", src)
        if len(v) > MAX_VALUES:
            raise ConfigError(key, f"lists {len(v)} values, more than {MAX_VALUES}", src)
        for x in v:
            if not isinstance(x, (bool, int, float, str)):
                raise ConfigError(key, f"values must be numbers, strings or booleans, not {shorten(x)}", src)
        _check_finite(v, key, src)
        seen = set()
        for x in v:
            r = repr(x) if not isinstance(x, str) else "s" + x
            if r in seen:
                raise ConfigError(key, f"lists a value twice: {shorten(x)}", src)
            seen.add(r)
        return tuple(v)
    if isinstance(v, dict):
        if len(v) != 1 or next(iter(v)) not in ("range", "pow2", "log"):
            raise ConfigError(key, "a table must have exactly one of range, pow2, log; "
                              f"not {sorted(v)}", src)
        kind, args = next(iter(v.items()))
        k2 = f"{key}.{kind}"
        if not isinstance(args, list) or not all(_is_num(a) for a in args):
            raise ConfigError(k2, f"must be a list of numbers, not {shorten(args)}", src)
        _check_finite(args, k2, src)
        if kind == "range":
            if len(args) != 3:
                raise ConfigError(k2, f"must be [lo, hi, step], not {shorten(args)}", src)
            lo, hi, step = args
            if not step > 0:
                raise ConfigError(k2, f"step must be > 0, not {shorten(step)}", src)
            if hi < lo:
                raise ConfigError(k2, f"hi must be >= lo, not {shorten(hi)} < {shorten(lo)}", src)
            # Count before generating: a range of 10**12 values is refused, not built.
            if all(_is_int(a) for a in args):
                n = (hi - lo) // step + 1
            else:
                n = math.floor((hi - lo) / step + 1e-9) + 1
            if n > MAX_VALUES:
                raise ConfigError(k2, f"generates {shorten(n)} values, more than {MAX_VALUES}", src)
            if all(_is_int(a) for a in args):
                return tuple(range(lo, hi + 1, step))
            return tuple(float(round(lo + i * step, 12)) for i in range(n))
        if kind == "pow2":
            if len(args) != 2 or not all(_is_int(a) and a > 0 and a & (a - 1) == 0 for a in args):
                raise ConfigError(k2, f"must be [lo, hi] with powers of two, not {shorten(args)}", src)
            lo, hi = args
            if hi < lo:
                raise ConfigError(k2, f"hi must be >= lo, not {hi} < {lo}", src)
            return tuple(1 << e for e in range(lo.bit_length() - 1, hi.bit_length()))
        if len(args) != 3 or not _is_int(args[2]) or args[2] < 2:
            raise ConfigError(k2, f"must be [lo, hi, num] with num an integer >= 2, not {shorten(args)}", src)
        lo, hi, num = args
        if not (0 < lo < hi):
            raise ConfigError(k2, f"must have 0 < lo < hi, not {shorten(args)}", src)
        if num > MAX_VALUES:
            raise ConfigError(k2, f"generates {shorten(num)} values, more than {MAX_VALUES}", src)
        return tuple(float(x) for x in np.geomspace(lo, hi, num))
    raise ConfigError(key, "must be a list of values or a table {range|pow2|log = [...]}; "
                      f"put constants under [fixed], not {shorten(v)}", src)


def _workload(w, i: int, src: str) -> WorkloadSpec:
    pre = f"workloads[{i}]."
    w = _table(w, f"workloads[{i}]", src)
    if "model" in w:
        _unknown(w, _MODEL_WL_KEYS, pre, src)
        model = _str(w["model"], pre + "model", src)
        phase = _str(_need(w, "phase", pre, src), pre + "phase", src)
        if phase not in PHASES:
            raise ConfigError(pre + "phase", f"must be one of 'prefill', 'decode', not {shorten(phase)}", src)
        batch = _int(w.get("batch", 1), pre + "batch", src, 1)
        seq_len = context = None
        if phase == "prefill":
            seq_len = _int(_need(w, "seq_len", pre, src), pre + "seq_len", src, 1)
            if "context" in w:
                raise ConfigError(pre + "context", "applies to decode only (prefill uses seq_len)", src)
        else:
            context = _int(_need(w, "context", pre, src), pre + "context", src, 1)
            if "seq_len" in w:
                raise ConfigError(pre + "seq_len", "applies to prefill only (decode uses context)", src)
        quant = _str(w["quant"], pre + "quant", src) if "quant" in w else None
        length = f"s{seq_len}" if phase == "prefill" else f"ctx{context}"
        name = _str(w.get("name", f"{model}/{phase}/b{batch}/{length}"), pre + "name", src)
        return WorkloadSpec(name=name, model=model, phase=phase, batch=batch, seq_len=seq_len,
                            context=context, quant=quant)
    if "gemms" in w:
        _unknown(w, _GEMM_WL_KEYS, pre, src)
        name = _str(_need(w, "name", pre, src), pre + "name", src)
        gl = w["gemms"]
        if not isinstance(gl, list) or not gl:
            raise ConfigError(pre + "gemms", f"must be a non-empty list, not {shorten(gl)}", src)
        gemms = []
        for j, g in enumerate(gl):
            gk = f"{pre}gemms[{j}]"
            if isinstance(g, str):
                try:
                    m, k, n = parse_gemm(g, gk)
                except ConfigError as e:
                    raise ConfigError(e.key, e.reason, src) from None
                gemms.append({"m": m, "k": k, "n": n, "count": 1, "name": f"gemm{j}"})
                continue
            g = _table(g, gk, src)
            _unknown(g, _GEMM_KEYS, gk + ".", src)
            d = {x: _int(_need(g, x, gk + ".", src), f"{gk}.{x}", src, 1) for x in "mkn"}
            d["count"] = _int(g.get("count", 1), f"{gk}.count", src, 1)
            try:
                check_macs(gk, d["m"] * d["k"] * d["n"] * d["count"])
            except ConfigError as e:
                raise ConfigError(e.key, e.reason, src) from None
            d["name"] = _str(g.get("name", f"gemm{j}"), f"{gk}.name", src)
            gemms.append(d)
        tokens = _int(w["tokens"], pre + "tokens", src, 1) if "tokens" in w else None
        return WorkloadSpec(name=name, gemms=tuple(gemms), tokens=tokens)
    if "topology" in w:
        _unknown(w, _TOPOLOGY_WL_KEYS, pre, src)
        return topology_workload(_str(w["topology"], pre + "topology", src), src,
                                 name=_str(w["name"], pre + "name", src) if "name" in w else None,
                                 tokens=_int(w["tokens"], pre + "tokens", src, 1) if "tokens" in w else None)
    raise ConfigError(f"workloads[{i}]", "needs model (with phase, batch, seq_len or context), gemms "
                      "(a list of MxKxN) or topology (a SCALE-Sim topology CSV)", src)


def topology_workload(path: str, src: str | None = None, name: str | None = None,
                      tokens: int | None = None) -> WorkloadSpec:
    """A workload entry of a SCALE-Sim topology file (GEMM or convolution format, see
    :mod:`hwsim.workloads.topology`); a relative path is taken from the spec's folder."""
    from pathlib import Path

    from hwsim.workloads.topology import load_topology, topology_name

    p = Path(path)
    if not p.is_absolute() and src is not None:
        p = Path(src).parent / p
    _, ops = load_topology(p)
    gemms = tuple({"m": o.m, "k": o.k, "n": o.n, "count": o.count, "name": o.name} for o in ops)
    return WorkloadSpec(name=name or topology_name(p), gemms=gemms, tokens=tokens)


def parse_spec(data: dict, source: str | None = None, text: str = "") -> SweepSpec:
    """Validate and normalise a spec given as a mapping (the parsed TOML)."""
    src = source
    _unknown(data, _TOP_KEYS, "", src)
    version = _need(data, "version", "", src)
    if not _is_int(version) or version != SPEC_VERSION:
        raise ConfigError("version", f"must be {SPEC_VERSION}, not {shorten(version)}", src)
    name = _str(_need(data, "name", "", src), "name", src)
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ConfigError("description", f"must be a string, not {shorten(description)}", src)
    fam = get_family(_str(_need(data, "family", "", src), "family", src), "family", src)
    fidelity = data.get("fidelity", "model")
    if fidelity not in FIDELITIES:
        raise ConfigError("fidelity", f"must be one of {', '.join(map(repr, FIDELITIES))}, "
                          f"not {shorten(fidelity)}", src)
    rtl_sample = None
    if "rtl_sample" in data:
        if fidelity != "rtl":
            raise ConfigError("rtl_sample", "applies to fidelity 'rtl' only", src)
        rs = _table(data["rtl_sample"], "rtl_sample", src)
        _unknown(rs, _RTL_SAMPLE_KEYS, "rtl_sample.", src)
        from hwsim.fidelity import MAX_TILES, RtlSample

        tiles = _int(rs.get("tiles", 1), "rtl_sample.tiles", src, 1)
        if tiles > MAX_TILES:
            raise ConfigError("rtl_sample.tiles", f"must be <= {MAX_TILES}, not {tiles}", src)
        rtl_sample = RtlSample(tiles, _int(rs.get("seed", 0), "rtl_sample.seed", src, 0))
    if fidelity == "rtl":
        from hwsim.fidelity import RtlSample, check_fidelity_family

        rtl_sample = rtl_sample or RtlSample()
        try:
            check_fidelity_family(fam)
        except ConfigError as e:
            raise ConfigError(e.key, e.reason, src) from None
    mode = data.get("mode", fam.modes[0])
    if mode not in fam.modes:
        raise ConfigError("mode", f"must be one of {', '.join(map(repr, fam.modes))} for "
                          f"family {fam.name!r}, not {shorten(mode)}", src)

    try:
        fields = fam.fields()
    except HwsimError as e:
        raise ConfigError("family", str(e), src) from None
    fixed = dict(_table(data.get("fixed", {}), "fixed", src))
    _unknown(fixed, fields, "fixed.", src)
    _check_finite(fixed, "fixed", src)
    space_in = _table(data.get("space", {}), "space", src)
    _unknown(space_in, fields, "space.", src)
    space = {}
    for k, v in space_in.items():
        if k in fixed:
            raise ConfigError(f"space.{k}", "is also under [fixed]; give it in one place", src)
        space[k] = _space_values(v, f"space.{k}", src)
    # Each value alone must make a valid config (combinations are checked when built).
    try:
        fam.make_config(fixed)
    except ConfigError as e:
        raise ConfigError(f"fixed.{e.key}", e.reason, src) from None
    for k, vals in space.items():
        for v in vals:
            try:
                fam.make_config({**fixed, k: v})
            except ConfigError as e:
                if e.key == k:
                    raise ConfigError(f"space.{k}", f"{e.reason}", src) from None

    wls = data.get("workloads")
    if not isinstance(wls, list) or not wls:
        raise ConfigError("workloads", "must be a non-empty array of tables ([[workloads]])", src)
    workloads = tuple(_workload(w, i, src) for i, w in enumerate(wls))
    names = [w.name for w in workloads]
    if len(set(names)) != len(names):
        raise ConfigError("workloads", f"names must be distinct, not {shorten(names)}", src)

    objectives = {}
    for k, v in _table(data.get("objectives", {}), "objectives", src).items():
        if k not in METRICS:
            raise ConfigError(f"objectives.{k}", f"unknown metric (expected one of {', '.join(METRICS)})", src)
        if v not in ("min", "max"):
            raise ConfigError(f"objectives.{k}", f"must be 'min' or 'max', not {shorten(v)}", src)
        objectives[k] = v
    constraints = {}
    for k, v in _table(data.get("constraints", {}), "constraints", src).items():
        key = f"constraints.{k}"
        if k not in METRICS:
            raise ConfigError(key, f"unknown metric (expected one of {', '.join(METRICS)})", src)
        v = _table(v, key, src)
        _unknown(v, ("min", "max"), key + ".", src)
        if not v:
            raise ConfigError(key, "needs min, max or both", src)
        for b, x in v.items():
            if not _is_num(x):
                raise ConfigError(f"{key}.{b}", f"must be a number, not {shorten(x)}", src)
            _check_finite(x, f"{key}.{b}", src)
        if "min" in v and "max" in v and v["min"] > v["max"]:
            raise ConfigError(key, f"min must be <= max, not {v['min']} > {v['max']}", src)
        constraints[k] = {b: float(x) for b, x in v.items()}

    search = _table(data.get("search", {}), "search", src)
    _unknown(search, _SEARCH_KEYS, "search.", src)
    strategy = search.get("strategy", "grid")
    if strategy not in STRATEGIES:
        raise ConfigError("search.strategy", f"must be one of {', '.join(map(repr, STRATEGIES))}, "
                          f"not {shorten(strategy)}", src)
    seed = _int(search.get("seed", 0), "search.seed", src, 0)
    budget = None
    if strategy == "grid":
        for k in ("budget", "population"):
            if k in search:
                raise ConfigError(f"search.{k}", "applies to the random and nsga2 strategies only", src)
    else:
        budget = _int(_need(search, "budget", "search.", src), "search.budget", src, 1)
    population = 16
    if strategy == "nsga2":
        population = _int(search.get("population", population), "search.population", src, 2)
        if not objectives:
            raise ConfigError("objectives", "the nsga2 strategy needs at least one objective", src)
    elif "population" in search:
        raise ConfigError("search.population", "applies to the nsga2 strategy only", src)

    spec = SweepSpec(name=name, family=fam.name, fidelity=fidelity, mode=mode, fixed=fixed,
                     space=space, workloads=workloads, objectives=objectives,
                     constraints=constraints, strategy=strategy, budget=budget, seed=seed,
                     population=population, description=description, source=src,
                     rtl_sample=rtl_sample,
                     text_hash=hashlib.sha256(text.encode()).hexdigest()[:16], text=text)
    if spec.grid_size > MAX_GRID:
        raise ConfigError("space", f"describes {spec.grid_size} designs, more than {MAX_GRID}", src)
    if strategy == "grid" and spec.grid_size > MAX_GRID_ENUMERATED:
        raise ConfigError("space", f"describes {spec.grid_size} designs; the grid strategy evaluates "
                          f"every one and takes at most {MAX_GRID_ENUMERATED} (use strategy 'random' "
                          "or 'nsga2' with a budget)", src)
    return spec


def load_spec(path) -> SweepSpec:
    """Read, validate and normalise the TOML spec at ``path``.

    Raises
    ------
    ConfigError
        Naming the file, the key and the reason, for any malformed or invalid content.
    """
    from hwsim.fileio import read_toml

    src = str(path)
    text, data = read_toml(path, "spec")
    return parse_spec(data, src, text)
