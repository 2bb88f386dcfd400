"""Columnar sweep tasks: a chunk of designs x the sweep's workloads, evaluated as columns.

A :class:`Task` is what a worker (a local process or a Dask worker) receives: the
designs of one chunk (plain dicts, a few hundred bytes each), the workloads and the
settings every point of the sweep shares. :func:`evaluate_task` evaluates every design
on every workload with :func:`hwsim.evaluate.evaluate_designs` (the model and mapper
over designs x ops, the energies as one accumulation of counts times per-action
energies, keys as one hash each) and returns the rows of the store, encoded column-wise
(:func:`hwsim.sweep.chunks.encode_chunk`: one Arrow chunk per block). The sweep commits each task's rows in one
transaction, so a killed sweep loses at most the tasks in flight.

Designs are planned lazily (:func:`design_chunks`): a grid is walked by index and a
random sample drawn index by index, so a 10**7-point sweep never holds its point list.
"""

from __future__ import annotations

import gc
import itertools
from dataclasses import dataclass, field

import numpy as np

from hwsim.errors import ConfigError
from hwsim.evaluate import Pricing, code_version, evaluate_designs
from hwsim.sweep.chunks import encode_chunk
from hwsim.sweep.store import encode


@dataclass(frozen=True)
class Task:
    """One chunk of a sweep: ``designs`` x ``workloads``.

    Parameters
    ----------
    family, fidelity, mode, seed, pricing, rtl_sample
        As :class:`hwsim.evaluate.Point` takes them (shared by every point of a sweep).
    designs : tuple of dict
        Design fields (missing fields take the config defaults).
    workloads : tuple of Workload
    spec : SweepSpec or None
        When given, every design is checked with :meth:`SweepSpec.check_design` (errors
        name the spec file and the field) before anything is evaluated; ``None`` when
        the sweep checked them before it started.
    check_only : bool
        Only check the designs (with ``spec``): the sweep's check of its whole plan
        before it touches the store, spread over the workers.
    """

    family: str
    designs: tuple
    workloads: tuple
    fidelity: str = "model"
    mode: str | None = None
    seed: int = 0
    pricing: Pricing = field(default_factory=Pricing)
    rtl_sample: object = None
    spec: object = None
    check_only: bool = False

    @property
    def n_points(self) -> int:
        return len(self.designs) * len(self.workloads)


@dataclass(frozen=True)
class TaskResult:
    """The encoded rows of a task and the code version the worker evaluated it with
    (a worker with other code gives other point keys: the sweep refuses its rows)."""

    code_version: str
    rows: list
    #: ``(key, reason, source)`` of the ConfigError a design raised (an exception with
    #: its own constructor does not cross a process boundary; the sweep raises it again)
    error: tuple | None = None
    #: the columnar blocks' records (:func:`hwsim.sweep.chunks.encode_chunk`)
    chunks: list = field(default_factory=list)

    @property
    def n_points(self) -> int:
        return len(self.rows) + sum(len(c[0]) for c in self.chunks)

    def raise_error(self) -> None:
        if self.error is not None:
            raise ConfigError(*self.error)


def evaluate_task(task: Task) -> TaskResult:
    """Evaluate every point of ``task`` and encode the records for the store.

    The cyclic garbage collector is paused while it runs: a task allocates many small
    objects that reference counting frees, and the collector's passes over them cost
    about a third of a task's time."""
    was = gc.isenabled()
    gc.disable()
    try:
        return _evaluate_task(task)
    except ConfigError as e:
        return TaskResult(code_version(task.family), [], (e.key, e.reason, e.source))
    finally:
        if was:
            gc.enable()


def _evaluate_task(task: Task) -> TaskResult:
    cfgs = None
    if task.spec is not None:
        cfgs = [task.spec.check_design(d) for d in task.designs]
    if task.check_only:
        return TaskResult(code_version(task.family), [])
    blocks, others = evaluate_designs(task.family, task.designs, task.workloads, fidelity=task.fidelity,
                                      mode=task.mode, seed=task.seed, pricing=task.pricing,
                                      rtl_sample=task.rtl_sample, configs=cfgs)
    memo: dict = {}
    chunks = [encode_chunk(b, memo) for b in blocks if len(b)]
    rows = [encode(r.row()) for r in others]
    return TaskResult(code_version(task.family), rows, chunks=chunks)


def design_chunks(designs, size: int):
    """Lists of at most ``size`` designs from the iterable ``designs`` (consumed lazily)."""
    it = iter(designs)
    while True:
        chunk = list(itertools.islice(it, size))
        if not chunk:
            return
        yield chunk


def grid_designs(spec, start: int = 0, stop: int | None = None, block: int = 65536):
    """The designs of ``spec``'s grid from index ``start`` to ``stop`` (the order of
    :meth:`SweepSpec.grid_designs`: the last parameter varies fastest), decoded from the
    index a block at a time with NumPy, never holding more than one block."""
    stop = spec.grid_size if stop is None else min(stop, spec.grid_size)
    for lo in range(start, stop, block):
        yield from designs_at(spec, np.arange(lo, min(lo + block, stop), dtype=np.int64))


def designs_at(spec, indices):
    """The designs at grid ``indices`` (an integer array), as :meth:`SweepSpec.design_at`
    gives them one by one."""
    names = list(spec.params)
    fixed = dict(spec.fixed)
    if not names:
        for _ in range(len(indices)):
            yield dict(fixed)
        return
    idx = np.asarray(indices, dtype=np.int64)
    digits = []
    for n in reversed(names):
        idx, r = np.divmod(idx, len(spec.space[n]))
        digits.append(r.tolist())
    digits.reverse()
    values = [spec.space[n] for n in names]
    for combo in zip(*digits):
        d = dict(fixed)
        for n, vals, i in zip(names, values, combo):
            d[n] = vals[i]
        yield d
