"""``hwsim sweep``, ``hwsim report`` and ``hwsim export``."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

from hwsim.errors import ConfigError, shorten
from hwsim.fileio import check_output_dir, check_output_file


def register(sub) -> None:
    p = sub.add_parser(
        "sweep",
        help="run a design-space sweep from a spec into a durable store (resumable)",
        description="Evaluate every design point of a sweep spec (sweeps/*.toml) and commit each "
        "record to an SQLite store. Rerunning the same command resumes: stored points are "
        "skipped, so an interrupted sweep completes with every point exactly once.",
    )
    p.add_argument("spec", metavar="SPEC", help="sweep specification (TOML, version = 1)")
    p.add_argument("--store", metavar="PATH",
                   help="SQLite result store (default: reports/<spec name>.db)")
    p.add_argument("--executor", default="local", metavar="{local,dask}",
                   help="local worker processes (default) or a Dask distributed scheduler")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://host:8786")
    p.add_argument("-j", "--jobs", type=int, default=None,
                   help="local worker processes (default: available CPUs; 1 = in this process)")
    p.add_argument("--chunk-size", type=int, default=None, metavar="N",
                   help="points per task (default: a few tasks per worker)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="show a progress bar with rate and ETA (default: when stderr is a terminal)")
    g.add_argument("--no-progress", dest="progress", action="store_false")
    p.set_defaults(func=cmd_sweep)

    r = sub.add_parser(
        "report",
        help="write an HTML report and a Markdown summary from one or more sweep stores",
        description="Read the records of one or more sweep stores and write index.html (interactive "
        "plots, works offline with its assets/ folder) and summary.md (static PNGs): which design wins "
        "for which objective and workload and why, the balanced choice, the swept space, Pareto fronts, "
        "per-layer results, energy and area by component, sensitivity, the families' paper "
        "comparisons, fidelity and provenance. Several stores are compared: the same metrics aligned "
        "per study.",
    )
    r.add_argument("store", nargs="+", metavar="STORE", help="sweep store(s) written by hwsim sweep")
    r.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    r.add_argument("--family", action="append", default=None, metavar="NAME",
                   help="report only this family's records (repeatable)")
    r.add_argument("--objective", action="append", default=None, metavar="METRIC:min|max",
                   help="Pareto objective (repeatable; default: the specs' objectives)")
    r.add_argument("--constraint", action="append", default=None, metavar="METRIC<=X|METRIC>=X",
                   help="feasibility bound (repeatable; default: the specs' constraints)")
    r.add_argument("--top", type=int, default=5, help="designs in the best-design table (default 5)")
    r.set_defaults(func=cmd_report)

    e = sub.add_parser(
        "export",
        help="export sweep stores as tidy CSV or Parquet tables",
        description="Write every record of one or more sweep stores as one row of scalars of a CSV or "
        "Parquet file (chosen by the extension; design fields become design.<name> columns) and, "
        "beside it, long-format tables keyed by point_key: FILE.layers (one row per op), "
        "FILE.layer_energy, FILE.breakdown (energy and area by part), FILE.actions, FILE.rtl_check, "
        "and FILE.provenance (each store's meta data and runs, and each cost provenance once).",
    )
    e.add_argument("store", nargs="+", metavar="STORE")
    e.add_argument("-o", "--output", required=True, metavar="FILE", help="FILE.csv or FILE.parquet")
    e.add_argument("--family", action="append", default=None, metavar="NAME",
                   help="export only this family's records (repeatable)")
    e.set_defaults(func=cmd_export)


def cmd_sweep(args) -> int:
    from hwsim.sweep import load_spec, run_sweep

    spec = load_spec(args.spec)
    store = args.store or str(Path("reports") / f"{spec.name}.db")
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    res = run_sweep(spec, store, executor=args.executor, jobs=args.jobs, scheduler=args.scheduler,
                    progress=progress, chunk_size=args.chunk_size)
    print(f"{spec.name}: {res.planned} points ({res.evaluated} evaluated, {res.reused} already "
          f"stored) in {res.seconds:.1f} s, {res.points_per_s:.3g} points/s -> {store}")
    return 0


_OBJ_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):(min|max)$")
_CON_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=)\s*([-+0-9.eE]+)$")


def parse_objectives(items) -> dict | None:
    if not items:
        return None
    out = {}
    for s in items:
        m = _OBJ_RE.match(s.strip())
        if not m:
            raise ConfigError("--objective", f"expected METRIC:min or METRIC:max, not {shorten(s)}")
        _check_metric(m.group(1), "--objective")
        out[m.group(1)] = m.group(2)
    return out


def _check_metric(name: str, option: str) -> None:
    from hwsim.evaluate import METRICS

    if name not in METRICS:
        raise ConfigError(option, f"unknown metric {shorten(name)} (expected one of {', '.join(METRICS)})")


def parse_constraints(items) -> dict | None:
    if not items:
        return None
    out: dict = {}
    for s in items:
        m = _CON_RE.match(s.strip())
        try:
            value = float(m.group(3)) if m else None
        except ValueError:
            value = None
        if value is None:
            raise ConfigError("--constraint", f"expected METRIC<=NUMBER or METRIC>=NUMBER, not {shorten(s)}")
        if not math.isfinite(value):
            raise ConfigError("--constraint", f"the bound must be a finite number, not {shorten(s)}")
        _check_metric(m.group(1), "--constraint")
        out.setdefault(m.group(1), {})["max" if m.group(2) == "<=" else "min"] = value
    return out


def cmd_report(args) -> int:
    from hwsim.report import write_report

    if args.top < 1:
        raise ConfigError("--top", f"must be a positive integer, not {shorten(args.top)}")
    # Everything the user typed is checked before the store is read or a plot is drawn.
    objectives = parse_objectives(args.objective)
    constraints = parse_constraints(args.constraint)
    _check_families(args.family)
    check_output_dir(args.output, "--output")
    out = write_report(args.store, args.output, objectives=objectives,
                       constraints=constraints, top=args.top, family=args.family)
    print(f"report: {out / 'index.html'} and {out / 'summary.md'}")
    return 0


def _check_families(names) -> None:
    from hwsim.families import registry

    for n in names or ():
        if n not in registry():
            raise ConfigError("--family", f"unknown family {shorten(n)} (expected one of "
                              f"{', '.join(registry())})")


def cmd_export(args) -> int:
    from hwsim.report.data import export, table_path

    _check_families(args.family)
    check_output_file(args.output, "--output")
    n = export(args.store, args.output, family=args.family)
    print(f"export: {n} records -> {args.output}; per-op rows, energy and area by part, actions, RTL "
          f"checks and provenance beside it ({table_path(args.output, '<table>').name})")
    return 0
