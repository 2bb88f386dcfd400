"""Where points are evaluated: in this process, in local worker processes, or on Dask.

Every executor runs the same pure function,
:func:`hwsim.sweep.columnar.evaluate_task`, on the sweep's tasks (a chunk of designs x
the workloads) and yields each task with its encoded records as it completes, so the
results do not depend on the executor (the tests compare local and Dask record for
record). Tasks are taken from their (lazy) stream only as workers free up: a few per
worker are in flight, so a sweep's memory does not grow with its grid.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time

from hwsim.errors import ConfigError, HwsimError, shorten
from hwsim.evaluate import evaluate_many
from hwsim.sweep.columnar import evaluate_task
from hwsim.sweep.store import encode

log = logging.getLogger(__name__)

EXECUTORS = ("local", "dask")
#: Tasks in flight per worker (one running, the next ones queued so no worker idles).
IN_FLIGHT_PER_WORKER = 2


def evaluate_chunk(points) -> list[tuple]:
    """Evaluate ``points`` (vectorised where the family allows) and encode the records."""
    return [encode(r.row()) for r in evaluate_many(list(points))]


_PR_SET_PDEATHSIG = 1


def _watch_parent(parent_pid: int, period_s: float = 1.0) -> None:
    while True:
        if os.getppid() != parent_pid:
            os._exit(1)
        time.sleep(period_s)


def worker_init(parent_pid: int) -> None:
    """Initializer of every local worker: die with the parent.

    On Linux the kernel sends SIGKILL to the worker when its parent dies
    (``prctl(PR_SET_PDEATHSIG)``); elsewhere, and as a fallback, a daemon thread exits the
    worker once its parent pid changes (the parent died and the worker was re-parented).
    A ``kill -9`` of a sweep so leaves no worker (and, with them gone, the
    multiprocessing resource tracker sees its pipe close and exits too).
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the thread remains
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True,
                     name="hwsim-parent-watch").start()


def _windowed(submit, wait_first, tasks, window: int):
    """Submit tasks from the iterator ``tasks`` keeping at most ``window`` in flight;
    yield ``(task, result)`` as each completes. ``submit(task) -> future``;
    ``wait_first(futures) -> (done future, ...)``."""
    it = iter(tasks)
    pending: dict = {}
    try:
        for t in itertools.islice(it, window):
            pending[submit(t)] = t
        while pending:
            for f in wait_first(list(pending)):
                t = pending.pop(f)
                res = f.result()
                nxt = next(it, None)
                if nxt is not None:
                    pending[submit(nxt)] = nxt
                yield t, res
    finally:
        for f in pending:
            f.cancel()


class InProcessExecutor:
    """Evaluate tasks one after another in this process (tiny sweeps, ``--jobs 1``)."""

    name = "inprocess"
    workers = 1

    def imap(self, tasks):
        for t in tasks:
            yield t, evaluate_task(t)

    def close(self):
        pass


class LocalExecutor:
    """A pool of local worker processes (``spawn``: no state inherited from the parent).

    Parameters
    ----------
    jobs : int or None
        Worker processes; ``None`` uses every CPU the process may run on.
    """

    name = "local"

    def __init__(self, jobs: int | None = None):
        if jobs is None:
            jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        check_jobs(jobs)
        self.workers = jobs
        self._pool = None

    def imap(self, tasks):
        it = iter(tasks)
        first = list(itertools.islice(it, 2))
        if self.workers == 1 or len(first) <= 1:  # one task (or one worker): no pool to start
            yield from InProcessExecutor().imap(itertools.chain(first, it))
            return
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                initializer=worker_init, initargs=(os.getpid(),))
        pool = self._pool

        def wait_first(fs):
            done, _ = cf.wait(fs, return_when=cf.FIRST_COMPLETED)
            return done

        yield from _windowed(lambda t: pool.submit(evaluate_task, t), wait_first,
                             itertools.chain(first, it), IN_FLIGHT_PER_WORKER * self.workers + 1)

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor:
    """Tasks are submitted to a Dask distributed scheduler.

    Parameters
    ----------
    scheduler : str
        Address of a running scheduler (``tcp://host:8786``). The workers must have the
        same hwsim installed: a worker whose code version differs produces records with
        other point keys, which the sweep rejects.
    """

    name = "dask"

    def __init__(self, scheduler: str):
        if not scheduler:
            raise ConfigError("--scheduler", "is required with --executor dask (e.g. tcp://host:8786)")
        try:
            from distributed import Client
        except ImportError as e:  # pragma: no cover - dask is a dependency
            raise HwsimError(f"the dask executor needs dask.distributed ({e})") from None
        try:
            self._client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as e:
            raise ConfigError("--scheduler", f"cannot connect to {shorten(scheduler)} ({shorten(str(e))})") from None
        self.workers = max(1, sum(self._client.nthreads().values()))

    def imap(self, tasks):
        from distributed import wait

        client = self._client

        def wait_first(fs):
            return wait(fs, return_when="FIRST_COMPLETED").done

        yield from _windowed(lambda t: client.submit(evaluate_task, t, pure=False), wait_first, tasks,
                             IN_FLIGHT_PER_WORKER * self.workers + 1)

    def close(self):
        self._client.close()


#: Most local worker processes a sweep may ask for.
MAX_JOBS = 1024


def check_jobs(jobs) -> int:
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError("--jobs", f"must be a positive integer, not {shorten(jobs)}")
    if jobs > MAX_JOBS:
        raise ConfigError("--jobs", f"must be at most {MAX_JOBS}, not {shorten(jobs)}")
    return jobs


def check_executor_options(name: str = "local", jobs: int | None = None,
                           scheduler: str | None = None) -> None:
    """Validate the executor options without starting anything (no process, no
    connection), so that a sweep can refuse them before touching its store."""
    if name not in EXECUTORS:
        raise ConfigError("--executor", f"must be one of {', '.join(map(repr, EXECUTORS))}, "
                          f"not {shorten(name)}")
    if name == "local":
        if scheduler:
            raise ConfigError("--scheduler", "applies to --executor dask only")
        if jobs is not None:
            check_jobs(jobs)
    else:
        if jobs is not None:
            raise ConfigError("--jobs", "applies to --executor local only (Dask workers are "
                              "set up with the scheduler)")
        if not scheduler:
            raise ConfigError("--scheduler", "is required with --executor dask (e.g. tcp://host:8786)")
        if not isinstance(scheduler, str) or "\n" in scheduler or len(scheduler) > 512:
            raise ConfigError("--scheduler", f"must be an address like tcp://host:8786, not "
                              f"{shorten(scheduler)}")


def make_executor(name: str = "local", jobs: int | None = None, scheduler: str | None = None):
    """Build an executor by name (``"local"`` or ``"dask"``)."""
    check_executor_options(name, jobs, scheduler)
    if name == "local":
        return LocalExecutor(jobs)
    return DaskExecutor(scheduler)
