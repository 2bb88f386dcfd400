"""Run a sweep: plan points, skip the stored ones, evaluate the rest, commit as they finish.

Grid and random searches plan every point up front. The multi-objective search (Optuna's
NSGA-II) asks one generation at a time; because evaluation is a pure function of the
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
from hwsim.evaluate import Point, code_version
from hwsim.fileio import check_output_file
from hwsim.sweep.executors import check_executor_options, make_executor
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


def _chunks(points: list[Point], size: int):
    # Keep chunks within one workload so each is one vectorised call.
    points = sorted(points, key=lambda p: p.workload.name)
    return [points[i:i + size] for i in range(0, len(points), size)]


def _progress_bar(total: int, enabled: bool, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, unit="pt", desc=desc, file=sys.stderr, disable=not enabled,
                dynamic_ncols=True, smoothing=0.1)


def _evaluate(points: list[Point], keys: list[str], store: Store, executor, run_id: int,
              chunk_size: int | None, bar) -> int:
    """Evaluate ``points`` (none stored yet) and commit each chunk; return how many."""
    if not points:
        return 0
    key_of = {id(p): k for p, k in zip(points, keys)}
    if chunk_size is None and points[0].fidelity == "rtl":
        # an RTL point takes seconds to minutes: one per task, committed as it finishes,
        # so a killed sweep loses at most the points in flight
        chunk_size = 1
    elif chunk_size is None:
        chunk_size = max(16, min(2048, math.ceil(len(points) / (4 * executor.workers))))
    chunks = _chunks(points, chunk_size)
    done = 0
    for i, rows in executor.imap(chunks):
        want = [key_of[id(p)] for p in chunks[i]]
        got = [r[0] for r in rows]
        if got != want:
            raise HwsimError("a worker returned records for other point keys than asked: its "
                             "hwsim code differs from this one (code version "
                             f"{code_version(chunks[i][0].family)}); install the same code on every worker")
        done += store.put_rows(rows, run_id)
        bar.update(len(rows))
    return done


def run_sweep(spec: SweepSpec, store_path, *, executor: str = "local", jobs: int | None = None,
              scheduler: str | None = None, progress: bool = False,
              chunk_size: int | None = None) -> SweepResult:
    """Run ``spec`` into the store at ``store_path``, resuming whatever is already there.

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
        Points per task (default: a few tasks per worker, 16..2048 points each).
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
    planned_points = None
    if spec.strategy == "nsga2":
        spec.check_designs()
    else:
        designs = (list(spec.grid_designs()) if spec.strategy == "grid"
                   else spec.random_designs())
        planned_points = spec.points(designs, workloads)
        planned_keys = [p.key for p in planned_points]
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
            points, keys = planned_points, planned_keys
            stored = store.keys()
            todo, todo_keys, seen = [], [], set()
            for p, k in zip(points, keys):
                if k not in stored and k not in seen:
                    seen.add(k)
                    todo.append(p)
                    todo_keys.append(k)
            planned = len(set(keys))
            reused = planned - len(todo)
            log.info("%s: %d points planned, %d already stored, %d to evaluate",
                     spec.name, planned, reused, len(todo))
            with _progress_bar(len(todo), progress, spec.name) as bar:
                evaluated = _evaluate(todo, todo_keys, store, exe, run_id, chunk_size, bar)
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
                per_design = [spec.points([d], workloads) for d in designs]
                keys = [[p.key for p in pts] for pts in per_design]
                stored = store.keys()
                todo, todo_keys = [], []
                for pts, ks in zip(per_design, keys):
                    for p, k in zip(pts, ks):
                        if k not in stored and k not in all_keys and k not in todo_keys:
                            todo.append(p)
                            todo_keys.append(k)
                        elif k not in all_keys and k not in todo_keys:
                            reused += 1
                        all_keys.add(k)
                evaluated += _evaluate(todo, todo_keys, store, exe, run_id, chunk_size, _NullBar())
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
