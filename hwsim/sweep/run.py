"""Run a sweep: plan points, skip the stored ones, evaluate the rest, commit as they finish.

Grid and random searches stream their designs (a grid walked by index, a random sample
drawn by index) through tasks of a chunk of designs x every workload, evaluated as
columns and committed one transaction per task (:mod:`hwsim.sweep.columnar`). The
multi-objective search (Optuna's NSGA-II) asks one generation at a time and evaluates it
in the same tasks; because evaluation is a pure function of the
point key and the sampler is seeded, a resumed search replays the same generations,
finds their points in the store and only evaluates what is missing.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hwsim.errors import ConfigError, HwsimError, shorten
from hwsim.evaluate import FAMILIES, code_version, point_keys
from hwsim.fileio import check_output_file
from hwsim.sweep.executors import check_executor_options, make_executor
from hwsim.sweep.columnar import Task, design_chunks, designs_at, grid_designs
from hwsim.sweep.spec import SweepSpec
from hwsim.sweep.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepResult:
    """What one :func:`run_sweep` call did."""

    store: Path
    run_id: int
    planned: int
    evaluated: int
    reused: int
    seconds: float

    @property
    def points_per_s(self) -> float:
        return self.evaluated / self.seconds if self.seconds > 0 else float("inf")


#: Grids and random samples of at most this many designs are checked design by design
#: before the store is touched (a refused sweep leaves nothing behind) in this process;
#: larger ones are checked chunk by chunk by the workers as they are evaluated (an
#: invalid design then stops the sweep with the same error, the chunks before it
#: committed).
CHECK_AHEAD = 100_000
#: Default points per task: a few tasks per worker, within these bounds.
MIN_CHUNK, MAX_CHUNK = 16, 4096


def _progress_bar(total: int, enabled: bool, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, unit="pt", desc=desc, file=sys.stderr, disable=not enabled,
                dynamic_ncols=True, smoothing=0.1)


def _default_chunk(spec: SweepSpec, n_points: int, workers: int) -> int:
    if spec.fidelity == "rtl":
        # an RTL point takes seconds to minutes: one per task, committed as it finishes,
        # so a killed sweep loses at most the points in flight
        return 1
    return max(MIN_CHUNK, min(MAX_CHUNK, math.ceil(n_points / (4 * workers))))


class _Plan:
    """Tasks of a sweep, made lazily from a stream of designs, and the bookkeeping of
    which of their points the store already holds."""

    def __init__(self, spec: SweepSpec, workloads: list, store: Store, chunk_size: int,
                 check_in_workers: bool, stored: set | None = None):
        self.spec = spec
        self.workloads = list(workloads)
        self.store = store
        self.chunk_size = chunk_size
        self.check_in_workers = check_in_workers
        # the keys already stored (none in a new store: then nothing is looked up)
        self.stored = store.keys() if stored is None else stored
        self.reused = 0

    def _task(self, designs, workloads) -> Task:
        s = self.spec
        return Task(family=s.family, designs=tuple(designs), workloads=tuple(workloads), fidelity=s.fidelity,
                    mode=s.mode, seed=s.seed, rtl_sample=s.rtl_sample,
                    spec=s if self.check_in_workers else None)

    def _unstored(self, designs: list) -> list:
        """The designs with a point the store lacks; the others' points count as reused."""
        if not self.stored:
            return designs
        s = self.spec
        fam = FAMILIES[s.family]
        cfgs = [s.check_design(d) if self.check_in_workers else fam.make_config(d) for d in designs]
        keys = point_keys(s.family, cfgs, self.workloads, fidelity=s.fidelity, mode=s.mode,
                          rtl_sample=s.rtl_sample)
        out = []
        for d, ks in zip(designs, keys):
            have = sum(k in self.stored for k in ks)
            self.reused += have
            if have < len(ks):
                out.append(d)
        return out

    def tasks(self, designs):
        """Tasks of the designs of ``designs`` (an iterable, consumed lazily)."""
        n_wl = len(self.workloads)
        per_task = max(1, self.chunk_size // n_wl)
        for chunk in design_chunks(designs, max(per_task, 256)):
            chunk = self._unstored(chunk)
            for lo in range(0, len(chunk), per_task):
                part = chunk[lo:lo + per_task]
                if self.chunk_size >= n_wl:
                    yield self._task(part, self.workloads)
                else:  # fewer points per task than workloads: split the workloads
                    for wl0 in range(0, n_wl, self.chunk_size):
                        yield self._task(part, self.workloads[wl0:wl0 + self.chunk_size])


def _check_ahead(spec: SweepSpec, designs) -> None:
    """Check every design of the plan before the store is touched (and before any
    worker starts: a sweep killed at any moment after its workers exist has its run
    recorded); the first invalid one raises its ConfigError."""
    for d in designs:
        spec.check_design(d)


def _evaluate(tasks, store: Store, executor, run_id: int, bar, stored: set) -> int:
    """Evaluate ``tasks`` and commit each one's rows in one transaction; return how many
    points were newly stored. ``stored``: the keys the store held when the tasks were
    planned (their points are not stored again)."""
    done = 0
    want = None
    for task, res in executor.imap(tasks):
        res.raise_error()
        if want is None:
            want = code_version(task.family)
        if res.code_version != want:
            raise HwsimError("a worker returned records of other code than this one (code version "
                             f"{res.code_version}, here {want}); install the same hwsim on every worker")
        done += store.put_rows(res.rows, run_id, res.chunks, stored=stored)
        bar.update(res.n_points)
    return done


def run_sweep(spec: SweepSpec, store_path, *, executor: str = "local", jobs: int | None = None,
              scheduler: str | None = None, progress: bool = False,
              chunk_size: int | None = None) -> SweepResult:
    """Run ``spec`` into the store at ``store_path``, resuming whatever is already there.

    Designs stream through in tasks (a chunk of designs x every workload), evaluated as
    columns (:mod:`hwsim.sweep.columnar`) and committed one transaction per task, so the
    memory a sweep needs does not grow with its grid and a killed sweep loses at most the
    tasks in flight.

    Parameters
    ----------
    spec : SweepSpec
    store_path : path-like
        SQLite file; created if absent. A store made from another spec is refused.
    executor : {"local", "dask"}
        Local worker processes (in-process for a single job or chunk) or a Dask scheduler.
    jobs : int, optional
        Local worker processes (default: the CPUs available).
    scheduler : str, optional
        Dask scheduler address (``--executor dask``).
    progress : bool
        Show a progress bar (rate, ETA) on stderr.
    chunk_size : int, optional
        Points per task (default: a few tasks per worker, 16..4096 points each).
    """
    # Validate the whole plan before the store is touched: a refused sweep leaves no
    # file and no run row behind.
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                   or chunk_size < 1):
        raise ConfigError("--chunk-size", f"must be a positive integer, not {shorten(chunk_size)}")
    check_executor_options(executor, jobs, scheduler)
    check_output_file(store_path, "--store")
    Store.check_existing(store_path)
    t0 = time.perf_counter()
    workloads = spec.build_workloads()
    if spec.strategy == "nsga2":
        spec.check_designs()
        n_designs, designs = None, None
    else:
        if spec.strategy == "grid":
            n_designs = spec.grid_size
            designs = lambda: grid_designs(spec)  # noqa: E731
        else:
            idx = spec.random_indices()
            n_designs = len(idx)
            designs = lambda: designs_at(spec, idx)  # noqa: E731
        if n_designs <= CHECK_AHEAD:
            _check_ahead(spec, designs())
    exe = make_executor(executor, jobs, scheduler)
    store = None
    run_id = None
    try:
        store = Store.open_writer(store_path)
        store.bind_spec(spec.name, spec.text_hash, spec.text, spec.source)
        run_id = store.start_run(executor=exe.name if executor == "local" else "dask",
                                 spec_name=spec.name, spec_hash=spec.text_hash,
                                 strategy=spec.strategy, code_version=code_version(spec.family),
                                 planned=None)
        if spec.strategy == "nsga2":
            planned, evaluated, reused = _run_nsga2(spec, workloads, store, exe, run_id,
                                                    chunk_size, progress)
        else:
            n_points = n_designs * len(workloads)
            size = chunk_size or _default_chunk(spec, n_points, exe.workers)
            plan = _Plan(spec, workloads, store, size, check_in_workers=n_designs > CHECK_AHEAD)
            log.info("%s: %d points planned, %d already stored", spec.name, n_points, len(plan.stored))
            with _progress_bar(n_points, progress, spec.name) as bar:
                evaluated = _evaluate(plan.tasks(designs()), store, exe, run_id, bar, plan.stored)
            reused = plan.reused
            planned = evaluated + reused
        store.finish_run(run_id, "done", planned)
    except BaseException as e:
        if run_id is not None:
            store.finish_run(run_id, "interrupted" if isinstance(e, KeyboardInterrupt) else "failed")
        raise
    finally:
        exe.close()
        if store is not None:
            store.close()
    dt = time.perf_counter() - t0
    res = SweepResult(Path(store_path), run_id, planned, evaluated, reused, dt)
    log.info("%s: evaluated %d points in %.2f s (%.0f points/s); %d reused",
             spec.name, evaluated, dt, res.points_per_s, reused)
    return res


# ---------------------------------------------------------------------------- NSGA-II
def design_objectives(records: list[dict], objectives: dict) -> list[float]:
    """Objective values of one design: the mean of each metric over its workloads."""
    vals = []
    for metric in objectives:
        xs = [r.get(metric) for r in records]
        if any(x is None for x in xs):
            raise HwsimError(f"objective {metric!r} is not available in the records "
                             f"(cost status: {records[0].get('cost_provenance', {}).get('status', '?')})")
        vals.append(float(sum(xs) / len(xs)))
    return vals


def design_violation(records: list[dict], constraints: dict) -> list[float]:
    """Per constraint, the worst violation over the design's workloads (<= 0: feasible)."""
    out = []
    for metric, b in constraints.items():
        worst = -math.inf
        for r in records:
            x = r.get(metric)
            if x is None:
                raise HwsimError(f"constraint {metric!r} is not available in the records")
            if "max" in b:
                worst = max(worst, x - b["max"])
            if "min" in b:
                worst = max(worst, b["min"] - x)
        out.append(float(worst))
    return out


def _run_nsga2(spec: SweepSpec, workloads, store: Store, exe, run_id, chunk_size, progress):
    import optuna

    directions = ["maximize" if g == "max" else "minimize" for g in spec.objectives.values()]
    prev = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial otherwise
    try:
        sampler = optuna.samplers.NSGAIISampler(population_size=spec.population, seed=spec.seed)
        study = optuna.create_study(directions=directions, sampler=sampler,
                                    study_name=spec.name)
        all_keys: set = set()
        evaluated = reused = 0
        asked = 0
        with _progress_bar(spec.budget, progress, f"{spec.name} (nsga2)") as bar:
            while asked < spec.budget:
                n = min(spec.population, spec.budget - asked)
                trials = [study.ask() for _ in range(n)]
                designs = []
                for t in trials:
                    d = dict(spec.fixed)
                    for p, vals in spec.space.items():
                        d[p] = t.suggest_categorical(p, list(vals))
                    designs.append(d)
                cfgs = [spec.check_design(d) for d in designs]
                keys = point_keys(spec.family, cfgs, workloads, fidelity=spec.fidelity, mode=spec.mode,
                                  rtl_sample=spec.rtl_sample)
                stored = store.keys()
                todo, fresh = [], set()
                for d, ks in zip(designs, keys):
                    new = [k for k in ks if k not in stored and k not in all_keys and k not in fresh]
                    reused += sum(1 for k in ks if k in stored and k not in all_keys)
                    if new:
                        todo.append(d)
                        fresh.update(new)
                    all_keys.update(ks)
                # the generation's designs go to the workers in tasks, as a grid's do
                plan = _Plan(spec, workloads, store, chunk_size or _default_chunk(
                    spec, len(todo) * len(workloads), exe.workers), check_in_workers=False,
                    stored=set())  # the generation's new designs are known not stored
                evaluated += _evaluate(plan.tasks(todo), store, exe, run_id, _NullBar(), stored)
                recs = store.get([k for ks in keys for k in ks])
                for t, ks in zip(trials, keys):
                    rs = [recs[k] for k in ks]
                    # Feasible when every constraint value is <= 0 (NSGA-II's constrained
                    # domination then ranks feasible designs first).
                    for metric, v in zip(spec.constraints, design_violation(rs, spec.constraints)):
                        t.set_constraint(metric, v)
                    study.tell(t, design_objectives(rs, spec.objectives))
                asked += n
                bar.update(n)
    finally:
        optuna.logging.set_verbosity(prev)
    return len(all_keys), evaluated, reused


class _NullBar:
    def update(self, n):
        pass
