"""The family contract: what every accelerator family (and system) gives the shared engines.

A family is one folder, ``hwsim/families/<name>/``, whose ``__init__.py`` builds one
:class:`Family` object; :mod:`hwsim.families` lists those objects (imported, no strings).
Every shared engine (evaluation, sweeps, reports, the CLI, the contract tests) reaches a
family only through this object, so none of them names a family.

What a family provides
----------------------
config
    A frozen dataclass (:class:`~hwsim.families.base.ConfigMixin`) validated in
    ``__post_init__``. Field metadata made with :func:`param` (help, unit, CLI option,
    range) generates the command-line options and the error keys.
golden
    ``golden(cfg, job) -> np.ndarray``: the bit-exact result the hardware computes.
estimate, estimate_arrays
    The closed-form model: ``estimate(cfg, op, mode) -> Perf`` with named action counts in
    the cost model's vocabulary, and optionally its vectorised form over arrays of design
    fields and op shapes (``array_fields`` names the fields it takes).
implementations
    ``{name: run}`` with one signature, ``run(cfg, jobs) -> list[Result]``: at least
    ``"golden"`` and the cycle-level or event-driven ``"model"``; ``"amaranth"`` and
    ``"verilator"`` when the family has RTL. Contract tests run every one of them on the
    same seeded jobs.
stimulus
    ``stimulus(cfg, shape, rng) -> Job``: one job of the family's operation (operands in
    the formats the design takes) from an explicit ``numpy.random.Generator``.
rtl_tile
    ``rtl_tile(cfg, op, source) -> RtlTile``: how one tile of a workload operation becomes
    a job of the family's RTL: the family picks the tile's rows and columns (its array's
    size), asks ``source`` (a :class:`TileSource`) for the real or synthetic float
    operands over the op's full K, and quantises them to the design's formats. Without
    one, :func:`default_rtl_tile` runs the family's seeded ``stimulus`` at that shape.
op kinds
    The workload operation classes the family's model accepts (a GEMM; a GEMV against a
    KV cache; ...), so an op the family cannot run is refused before any work starts.
hardware
    ``top(cfg) -> (component, module_name)`` for export and synthesis, and :class:`RtlHooks`:
    which config fields shape the RTL, what the top's ports mean (:class:`PortDoc`), the
    test vectors of a job (:class:`TestVectors`) and the family's synthesis extras. From
    these :mod:`hwsim.eda.export` writes a self-describing, self-checking bundle and
    ``hwsim rtl export|synth`` build their options; a family without ``rtl`` has neither.
cost
    :class:`CostHooks`: the components a design is priced from, its compute-array area
    and its calibration factors.
cli
    :class:`CliHooks`: the family's parser of ``hwsim run``.

A *system* (two engines on one workload, e.g. an NPU beside DRAM-PIM) is registered the
same way: its config names the engines' configs, its ``estimate`` runs the scheduler, and
its implementations run each engine's own.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Mapping

import numpy as np

from hwsim.errors import ConfigError

#: Names of the implementations every family may register, in the order of fidelity.
IMPLEMENTATIONS = ("golden", "model", "amaranth", "verilator")


def param(default: Any, *, help: str, unit: str | None = None, cli: str | None = None,
          range: tuple | None = None, choices: tuple | None = None, cli_flag_inverts: bool = False,
          group: str | None = None):
    """A config field with the metadata the CLI and error messages are built from.

    Parameters
    ----------
    default
        Default value (immutable).
    help : str
        One line for ``--help``.
    unit : str, optional
        Unit shown in help (``"KiB"``, ``"MHz"``, ``"bytes/cycle"``).
    cli : str, optional
        The option name (default ``--`` + the field name with dashes).
    range : (lo, hi), optional
        Inclusive bounds, shown in help (the config's ``__post_init__`` enforces them).
    choices : tuple, optional
        Allowed values of a string field.
    cli_flag_inverts : bool
        For a boolean field whose default is True: the option is a flag that sets it False.
    group : str, optional
        Option group in ``--help`` (default: the design's own fields). Commands that do
        not use a group (e.g. ``rtl export`` takes no memory options) leave its fields at
        their defaults.
    """
    meta = {"help": help, "unit": unit, "cli": cli, "range": range, "choices": choices,
            "cli_flag_inverts": cli_flag_inverts, "group": group}
    return field(default=default, metadata=meta)


def option_name(f: dataclasses.Field) -> str:
    """The command-line option of config field ``f``."""
    return f.metadata.get("cli") or "--" + f.name.replace("_", "-")


@dataclass(frozen=True)
class Result:
    """What one implementation returns for one job.

    Attributes
    ----------
    outputs : np.ndarray
        The result matrix (integers, or IEEE bit patterns for floating-point outputs).
    cycles : int or None
        Cycles from the first operand accepted to the last result produced (``None`` for
        the golden function, which has no timing).
    stall_cycles : int
        Cycles lost to back-pressure or memory (0 when the implementation has none).
    """

    outputs: np.ndarray
    cycles: int | None = None
    stall_cycles: int = 0


@dataclass(frozen=True, eq=False)
class TileOperands:
    """Float operands of one tile of a workload operation, over the op's full K.

    Attributes
    ----------
    x : ndarray (m, K) of float32
        Rows of the A operand (activations, queries, attention probabilities).
    w : ndarray (K, n) of float32
        Columns of the B operand (weights, keys, values).
    rows, cols : tuple of int
        Where the tile lies in the op's output (first index, one past the last).
    source : str
        Where the values came from (a real model's captured tensors, or the seeded
        synthetic generator and its statistics).
    recipe : object or None
        The workload's :class:`~hwsim.workloads.recipes.QuantRecipe` (its weight group size
        tells a family with group-wise scales what groups to use).
    """

    x: np.ndarray
    w: np.ndarray
    rows: tuple
    cols: tuple
    source: str
    recipe: Any = None

    @property
    def shape(self) -> tuple:
        return (int(self.x.shape[0]), int(self.x.shape[1]), int(self.w.shape[1]))


class TileSource:
    """What a family's ``rtl_tile`` hook draws one tile from (built by the shared RTL
    fidelity, :mod:`hwsim.fidelity`).

    Parameters
    ----------
    draw : callable
        ``(m, n) -> TileOperands``: ``m`` rows and ``n`` columns of the op (each clipped
        to the op's size), over its whole K.
    rng : numpy.random.Generator
        Seeded generator of this tile, for a hook that draws anything itself.
    """

    def __init__(self, draw: Callable[[int, int], "TileOperands"], rng: np.random.Generator):
        self._draw = draw
        self.rng = rng

    def operands(self, m: int, n: int) -> TileOperands:
        return self._draw(int(m), int(n))


@dataclass(frozen=True, eq=False)
class RtlTile:
    """One workload tile as a job of the family's implementations.

    Attributes
    ----------
    job : Job
        The operands in the design's formats (what ``run(cfg, [job])`` takes).
    shape : (m, K, n)
        The tile's GEMM shape.
    operands : TileOperands or None
        The float operands the job was quantised from (``None`` for seeded stimulus).
    to_float : callable or None
        ``outputs -> float ndarray (m, n)``: the real values an implementation's outputs
        stand for (scales and zero points applied), compared with the float product of
        ``operands`` to measure the numerical error of the hardware path.
    quantisation : str
        How the floats became the job (formats, scale granularity), for the record.
    """

    job: Job
    shape: tuple
    operands: TileOperands | None = None
    to_float: Callable[[np.ndarray], np.ndarray] | None = None
    quantisation: str = ""


def default_rtl_tile(family: "Family", cfg, op, source: TileSource) -> RtlTile:
    """A tile of at most 4 x 4 outputs over the op's full K, from the family's seeded
    ``stimulus`` (no real operands, no numerical error): the fallback of families that
    do not map workload tensors to their formats."""
    shape = (min(op.m, 4), op.k, min(op.n, 4))
    return RtlTile(job=family.stimulus(cfg, shape, source.rng), shape=shape,
                   quantisation="the family's seeded stimulus (no real-operand mapping)")


#: One job: the named operands of one operation (e.g. ``{"a": A, "b": B}``), plus optional
#: harness settings (``"backpressure"``) that only the RTL implementations honour.
Job = Mapping[str, Any]


@dataclass(frozen=True)
class CostHooks:
    """How a design of the family is priced (see :func:`hwsim.cost.report.cost_record`).

    Attributes
    ----------
    inputs : callable
        ``(cfg, dram) -> CostInputs``: the design's cost components and how its model's
        actions are charged to them (``CostInputs.design``, a
        :class:`hwsim.cost.components.ComponentDesign`), plus the keyword widths older
        callers of ``energy_from_actions`` read.
    pe_array_area : callable or None
        ``cfg -> Figure | AsicResult``: the compute array's area when it is not priced from
        the MAC table (non-MAC compute units); ``None`` uses the table.
    calibration : callable or None
        ``cfg -> {component: Figure}``: pinned gate-level activity factors.
    synthesised_area : callable or None
        ``cfg -> (array area, {block: area})`` from a synthesis of the generated RTL, used
        when a point asks for synthesised area (``Pricing.synthesised_area``).
    ignores : tuple of str
        Config fields no hook above reads (DRAM bandwidth, mapping choices): designs that
        differ only in them share one priced cost and one check of it in a sweep. The
        contract tests vary each one and require the cost to stay the same.
    """

    inputs: Callable[..., Any]
    pe_array_area: Callable[[Any], Any] | None = None
    calibration: Callable[[Any], Mapping] | None = None
    synthesised_area: Callable[[Any], tuple] | None = None
    ignores: tuple = ()


@dataclass(frozen=True)
class RunExtras:
    """What a family's own ``hwsim run`` options change (see :attr:`CliHooks.run_extras`).

    Attributes
    ----------
    mode : str or None
        Estimator timing mode the options select (``None``: the family's default).
    synthesised_area : bool
        Price the compute array from a synthesis of its RTL (``Pricing.synthesised_area``).
    report : callable or None
        ``(record, json_dict) -> list[str]``: further figures of the run (e.g. a DRAM
        replay, a synthesis); it adds them to the JSON dict and returns the text lines.
    """

    mode: str | None = None
    synthesised_area: bool = False
    report: Callable[[Any, dict], list] | None = None


@dataclass(frozen=True)
class CliHooks:
    """What the family adds to the generic commands.

    ``hwsim run FAMILY`` is built by :mod:`hwsim.cli.run` for every family from the
    config's field metadata (the design options), the workload options (``--gemm``,
    ``--model``/``--phase``/..., ``--topology``) and the pricing options; a family only
    adds options of its own and what they do.

    Attributes
    ----------
    describe : callable or None
        ``cfg -> str``: a few words naming the design in the run's header line.
    description : str
        Paragraph for ``hwsim run FAMILY --help`` (what the model computes, where its
        cycles and cost come from).
    run_options : callable or None
        ``parser -> None``: add the family's own ``hwsim run`` options.
    run_extras : callable or None
        ``(args, cfg, workload) -> RunExtras``: what those options change; raise
        :class:`~hwsim.errors.ConfigError` naming the option for a bad combination.

    ``hwsim rtl export|synth`` are built from :class:`RtlHooks` for every family.
    """

    describe: Callable[[Any], str] | None = None
    description: str = ""
    run_options: Callable[[Any], None] | None = None
    run_extras: Callable[..., RunExtras] | None = None


@dataclass(frozen=True)
class PortDoc:
    """What the header of an exported top says beyond the port list Amaranth's signature
    gives (names, directions, widths and the bit layout of every packed payload).

    Attributes
    ----------
    meaning : mapping
        ``{port or stream name: one line}`` for every top-level member of the signature
        (a stream is named without its ``__valid/__ready/__payload`` suffix).
    beats : mapping
        ``{stream or port name: text}``: the order of the beats of each stream (which
        matrix elements, in which order) and the packing of plain (non-layout) buses.
    rules : str
        The handshake rules (when ``valid`` may rise or fall, what ``ready`` depends on)
        or, for a design driven by timed commands, the command timing it needs.
    latency : str
        Cycles as a formula of the configuration and the operation's shape.
    """

    meaning: Mapping[str, str]
    beats: Mapping[str, str] = field(default_factory=dict)
    rules: str = ""
    latency: str = ""


@dataclass(frozen=True)
class TestVectors:
    """Stimulus and expected outputs of a testbench that runs without Python.

    Integers are unsigned bit patterns of the port (two's complement already applied).

    Attributes
    ----------
    static : mapping
        ``{input port: value}`` held for the whole run (run-time configuration inputs).
    sources : mapping
        ``{stream: [payload, ...]}`` driven in order on ``<stream>__payload`` with
        ``__valid``/``__ready``.
    sinks : mapping
        ``{stream: [(payload, mask), ...]}`` expected in order on an output stream; only
        the bits set in ``mask`` are compared (padding lanes are don't-care).
    events : sequence
        ``[(cycle, {input port: value}), ...]``: inputs applied for exactly that cycle
        (counted from the first cycle after reset), zero otherwise; cycles ascending.
    flagged : mapping
        ``{output port: (valid port, [(value, mask), ...])}``: values expected, in order,
        in the cycles the valid port is high (an output with no ``ready``).
    """

    static: Mapping[str, int] = field(default_factory=dict)
    sources: Mapping[str, Any] = field(default_factory=dict)
    sinks: Mapping[str, Any] = field(default_factory=dict)
    events: tuple = ()
    flagged: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RtlHooks:
    """What :mod:`hwsim.eda.export` and ``hwsim rtl export|synth`` need from a family.

    Attributes
    ----------
    fields : tuple of str
        Config fields that shape the generated RTL (the others, e.g. buffer sizes or a
        weight precision that is a run-time input, give the same Verilog). Only these are
        options of ``hwsim rtl`` and keys of the exported JSON; the export's name is made
        unique from them.
    doc : callable
        ``cfg -> PortDoc``.
    vectors : callable
        ``(cfg, jobs) -> TestVectors`` for jobs made by the family's ``stimulus``; the
        expected outputs come from the golden function.
    tb_shapes : tuple
        Operation shapes (as ``stimulus`` takes them) of the exported testbench's jobs.
    name : callable or None
        ``cfg -> str``: a readable base for the export's name (default: the top module's
        name); a short hash of the RTL-shaping fields is appended.
    synth_options : callable or None
        ``parser -> None``: the family's extra options of ``hwsim rtl synth``.
    synth_asic : callable or None
        ``(cfg, args) -> dict`` with at least ``area_um2``: the family's own ASIC area (e.g.
        one PE synthesised and composed); default: the whole top synthesised flat.
    run_time_inputs : callable or None
        ``cfg -> {input port: value}``: inputs that set run-time modes (weight precision,
        code kind); written to the JSON and the header so that the user drives them.
    export_options : callable or None
        ``parser -> None``: the family's extra options of ``hwsim rtl export``.
    export_extra : callable or None
        ``(cfg, args) -> writer or None``: checks those options before anything is written
        and returns ``writer(bundle) -> {role: path}``, which writes the family's extra
        files beside the bundle (e.g. a variant of the top with an output stage).
    """

    fields: tuple
    doc: Callable[[Any], PortDoc]
    vectors: Callable[..., TestVectors]
    tb_shapes: tuple = ((4, 8, 4),)
    name: Callable[[Any], str] | None = None
    synth_options: Callable[[Any], None] | None = None
    synth_asic: Callable[..., dict] | None = None
    run_time_inputs: Callable[[Any], Mapping[str, int]] | None = None
    export_options: Callable[[Any], None] | None = None
    export_extra: Callable[..., Mapping] | None = None


@dataclass(frozen=True)
class Family:
    """One accelerator family (or system), as every shared engine sees it.

    Attributes
    ----------
    name : str
        Name used in specs, records and on the command line.
    summary : str
        One line for ``hwsim families`` and ``--help``.
    package : module
        The family's package (its folder is part of every record's code version).
    config : type
        Frozen config dataclass with :func:`param` field metadata.
    golden : callable
        ``golden(cfg, job) -> np.ndarray``.
    estimate : callable
        ``estimate(cfg, op, mode=...) -> Perf`` (priced action names).
    implementations : mapping
        ``{name: run(cfg, jobs) -> list[Result]}``; names from :data:`IMPLEMENTATIONS`.
    stimulus : callable
        ``stimulus(cfg, (m, k, n), rng) -> Job``.
    peak_macs_per_cycle : callable
        ``cfg -> float``: MACs (or MAC-equivalents) per cycle at full use; exact.
    cost : CostHooks
    cli : CliHooks
    top : callable
        ``cfg -> (amaranth component, Verilog module name)``.
    rtl : RtlHooks or None
        Export, testbench and synthesis hooks (``None``: no ``hwsim rtl`` commands).
    op_kinds : tuple of type
        Workload operation classes the model accepts.
    estimate_arrays : callable or None
        Vectorised closed form (see :func:`hwsim.families.systolic.model.estimate_arrays`).
    array_fields : tuple of str
        Config fields ``estimate_arrays`` takes.
    modes : tuple of str
        Estimator timing modes; the first is the default.
    studies : mapping
        ``{name: callable(records DataFrame, Item) -> list[Item]}``: family-specific report
        sections (e.g. a paper's ratios beside ours).
    examples : tuple of dict
        Small designs (config fields) whose RTL builds are cheap: the contract tests run
        every implementation on them, so they double as the family's smoke test.
    estimate_workload : callable or None
        A system's scheduler: ``(cfg, workload, mode) -> Perf | None``, the whole
        workload with its ops overlapped as the system runs them; ``None`` (or a ``None``
        result for a workload it does not schedule) sums the per-op ``estimate``.
    rtl_tile : callable or None
        ``(cfg, op, TileSource) -> RtlTile``: a workload tile as an RTL job (see
        :class:`RtlTile`); ``None`` uses :func:`default_rtl_tile`.
    """

    name: str
    summary: str
    package: ModuleType
    config: type
    golden: Callable[..., np.ndarray]
    estimate: Callable[..., Any]
    implementations: Mapping[str, Callable[..., list]]
    stimulus: Callable[..., Job]
    peak_macs_per_cycle: Callable[[Any], float]
    cost: CostHooks
    cli: CliHooks
    top: Callable[[Any], tuple]
    op_kinds: tuple = ()
    estimate_arrays: Callable[..., dict] | None = None
    array_fields: tuple = ()
    modes: tuple = ("default",)
    studies: Mapping[str, Callable] = field(default_factory=dict)
    examples: tuple = ()
    rtl: RtlHooks | None = None
    estimate_workload: Callable[..., Any] | None = None
    rtl_tile: Callable[..., RtlTile] | None = None

    def __post_init__(self):
        unknown = set(self.implementations) - set(IMPLEMENTATIONS)
        if unknown:
            raise ConfigError("implementations", f"unknown names {sorted(unknown)} in family {self.name!r}")
        for need in ("golden", "model"):
            if need not in self.implementations:
                raise ConfigError("implementations", f"family {self.name!r} lacks {need!r}")
        if not dataclasses.is_dataclass(self.config):
            raise ConfigError("config", f"family {self.name!r}: the config must be a dataclass")
        if self.cost is not None and self.cost.ignores:
            unknown = set(self.cost.ignores) - {f.name for f in dataclasses.fields(self.config)}
            if unknown:
                raise ConfigError("cost.ignores", f"family {self.name!r}: not config fields: {sorted(unknown)}")
        if self.rtl is not None:
            unknown = set(self.rtl.fields) - set(self.fields())
            if unknown:
                raise ConfigError("rtl.fields", f"family {self.name!r}: not config fields: {sorted(unknown)}")

    # ------------------------------------------------------------------ config views
    def fields(self) -> tuple:
        """Names of the config fields, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(self.config))

    def make_config(self, design: Mapping, source: str | None = None):
        return self.config.from_dict(dict(design), source)

    def check_design(self, design: Mapping, source: str | None = None):
        """:meth:`make_config` plus :func:`hwsim.evaluate.check_config`: the config of a
        design that will evaluate without a user error; raises ConfigError otherwise."""
        from hwsim.evaluate import check_config

        cfg = self.make_config(design, source)
        try:
            return check_config(cfg, self)
        except ConfigError as e:
            raise ConfigError(e.key, e.reason, source) from None

    def tile_job(self, cfg, op, source: TileSource) -> RtlTile:
        """One tile of ``op`` as a job of this family (its ``rtl_tile`` hook, or the default)."""
        if self.rtl_tile is not None:
            return self.rtl_tile(cfg, op, source)
        return default_rtl_tile(self, cfg, op, source)

    def freq_mhz(self, cfg) -> float:
        return float(cfg.freq_mhz)

    def dram_bw_bytes_per_cycle(self, cfg) -> float:
        return float(cfg.dram_bw_bytes_per_cycle)

    def check_op(self, op, key: str = "workloads", source: str | None = None) -> None:
        """Refuse an operation the family's model does not take."""
        if self.op_kinds and not isinstance(op, self.op_kinds):
            kinds = ", ".join(k.__name__ for k in self.op_kinds)
            raise ConfigError(key, f"family {self.name!r} runs {kinds} operations, not "
                              f"{type(op).__name__}", source)


def exact_utilization(macs: int, cycles: int, peak_macs_per_cycle: float) -> float:
    """``macs / (cycles * peak)`` without truncating a fractional peak."""
    if cycles <= 0 or not peak_macs_per_cycle > 0 or not math.isfinite(peak_macs_per_cycle):
        return 0.0
    return float(macs / (cycles * peak_macs_per_cycle))


def lazy_hooks(module: str) -> Callable[[str], Callable]:
    """``hook(name)``: a callable that imports ``module`` on its first call and calls its
    ``name`` (families register RTL hooks this way, so that importing a family does not
    import Amaranth or its generators)."""
    def hook(name: str) -> Callable:
        def call(*args, **kwargs):
            import importlib

            return getattr(importlib.import_module(module), name)(*args, **kwargs)
        call.__name__ = call.__qualname__ = name
        call.__doc__ = f"{module}.{name}, imported when first called."
        return call
    return hook
