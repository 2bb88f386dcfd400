"""One suite, every family, every implementation.

Registering a family in :mod:`hwsim.families` runs it here: each implementation (golden,
cycle-level model, Amaranth simulation, Verilator) gets the same seeded jobs (odd shapes,
several tiles in every dimension) and must return the golden result bit for bit, with
exactly the cycle-level model's cycles (stalled cycles excepted under back-pressure),
which in turn equal the closed-form model's compute cycles.
"""

from __future__ import annotations

import ast
import dataclasses
import pathlib
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwsim.evaluate import Point, Workload, evaluate
from hwsim.families import registry
from hwsim.families.contract import IMPLEMENTATIONS
from hwsim.workloads.ops import GemmOp

FAMILIES = registry()
CASES = [(name, i) for name, fam in FAMILIES.items() for i in range(len(fam.examples))]
IMPL_CASES = [(name, i, impl) for name, i in CASES for impl in IMPLEMENTATIONS
              if impl in FAMILIES[name].implementations]
HWSIM = pathlib.Path(__file__).resolve().parents[1] / "hwsim"


def _jobs(fam, cfg, seed=7):
    rng = np.random.default_rng(seed)
    shapes = [(1, 1, 1), (3, 9, 5), (5, 13, 11), (2, 17, 3)]
    return [dict(fam.stimulus(cfg, s, rng), shape=s) for s in shapes]


def _marks(impl):
    return [pytest.mark.rtl, pytest.mark.slow] if impl in ("verilator", "amaranth") else []


@pytest.mark.parametrize("name,idx,impl", [pytest.param(*c, marks=_marks(c[2]), id=f"{c[0]}-{c[1]}-{c[2]}")
                                           for c in IMPL_CASES])
def test_implementation_equals_golden_and_model(name, idx, impl):
    fam = FAMILIES[name]
    cfg = fam.make_config(fam.examples[idx])
    jobs = _jobs(fam, cfg)
    results = fam.implementations[impl](cfg, jobs)
    assert len(results) == len(jobs)
    model = fam.implementations["model"](cfg, jobs) if impl != "model" else results
    for job, res, ref in zip(jobs, results, model):
        assert np.array_equal(res.outputs, fam.golden(cfg, job)), f"{impl} output differs from golden"
        if impl == "golden":
            continue
        assert res.cycles - res.stall_cycles == ref.cycles, f"{impl} cycles differ from the model's"
        perf = fam.estimate(cfg, GemmOp(*job["shape"]), mode=fam.modes[0])
        assert ref.cycles == perf.compute_cycles, "cycle-level model differs from the closed form"


#: RTL whose inputs are not valid/ready streams, so the bench has nothing to withhold.
NO_BACKPRESSURE = {"pim": "the PIM unit's command bus has no valid/ready: commands issue on their timed cycles"}


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("name,impl", [pytest.param(n, i, id=f"{n}-{i}") for n, f in FAMILIES.items()
                                       for i in ("amaranth", "verilator")
                                       if i in f.implementations and n not in NO_BACKPRESSURE])
def test_rtl_under_backpressure(name, impl):
    """Random gaps on the inputs and back-pressure on the outputs (the shared stream
    drivers, under either simulator): same values, the gaps did stall the design, and the
    cycles beyond the model's are exactly the stalls the bench counted."""
    fam = FAMILIES[name]
    cfg = fam.make_config(fam.examples[0])
    jobs = _jobs(fam, cfg, seed=11)
    bp = {"in_gap": 0.3, "out_gap": 0.3}
    res = fam.implementations[impl](cfg, jobs, backpressure=bp)
    model = fam.implementations["model"](cfg, jobs)
    for job, r, m in zip(jobs, res, model):
        assert np.array_equal(r.outputs, fam.golden(cfg, job))
        assert r.cycles - r.stall_cycles == m.cycles
    assert sum(r.stall_cycles for r in res) > 0


@pytest.mark.parametrize("name", list(FAMILIES))
@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 5000), k=st.integers(1, 20000), n=st.integers(1, 5000),
       which=st.integers(0, 7))
def test_utilisation_never_exceeds_one(name, m, k, n, which):
    fam = FAMILIES[name]
    design = dict(fam.examples[which % len(fam.examples)])
    rec = evaluate(Point(name, design, Workload.from_gemms("g", [GemmOp(m, k, n)])))
    assert 0 < rec.utilization <= 1.0
    assert rec.peak_tops == pytest.approx(2 * rec.peak_macs_per_cycle * rec.freq_mhz * 1e6 / 1e12)


def test_fractional_peak_is_exact():
    """A LUT tile whose lookups take several passes has a fractional peak (e.g. 512/3):
    it is kept exact, so a fully busy tile is at utilisation <= 1, not 1.0038."""
    fam = FAMILIES["lut"]
    cfg = fam.make_config(dict(w_bits=1, weight_mode="symmetric", tile_m=2, tile_n=64, tile_k=4, lookup_units=48))
    peak = fam.peak_macs_per_cycle(cfg)
    assert peak != int(peak)
    rec = evaluate(Point("lut", cfg.to_dict(), Workload.from_gemms("g", [GemmOp(64, 4096, 4096)])))
    assert rec.peak_macs_per_cycle == peak and rec.utilization <= 1.0


def test_every_family_fulfils_the_contract():
    for name, fam in FAMILIES.items():
        assert fam.examples, f"{name} gives no example designs"
        for d in fam.examples:
            fam.make_config(d)
        for f in dataclasses.fields(fam.config):
            assert f.default is not dataclasses.MISSING, f"{name}.{f.name} has no default"
        for impl in ("golden", "model"):
            assert impl in fam.implementations
        # a system's name may hold a dash ("a-b"); its package is then hwsim.families.a_b
        assert fam.package.__name__ == f"hwsim.families.{name.replace('-', '_')}"


# Shared engines: everything in hwsim/ outside hwsim/families/<name>/.
_OWN_DIRS = [pathlib.Path(f.package.__file__).resolve().parent for f in FAMILIES.values()]
_SHARED = [p for p in HWSIM.rglob("*.py")
           if not any(p.is_relative_to(d) for d in _OWN_DIRS)
           and p.name != "__init__.py" or p == HWSIM / "families" / "__init__.py"]


#: Generic hardware terms that share a word with a family's name: a lookup table is a
#: primitive of the cost vocabulary (any family may count table lookups).
_GENERIC_TERMS = {"lut_lookup", "lut_entry_bits", "lut_lookup_energy"}


@pytest.mark.parametrize("path", [p for p in _SHARED if p != HWSIM / "families" / "__init__.py"],
                         ids=lambda p: str(p.relative_to(HWSIM)))
def test_shared_code_names_no_family(path):
    """Shared engines reach families only through the registry: no string equal to a
    family's name (a per-family branch), no identifier named after one (``<name>_...``),
    no import of a family's package."""
    tree = ast.parse(path.read_text())
    names = set(FAMILIES)
    ident = re.compile(r"^(" + "|".join(map(re.escape, names)) + r")(_|$)", re.I)
    hits = []
    for node in ast.walk(tree):
        where = f"line {getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() in names:
            hits.append(f"{where}: string {node.value!r}")
        elif isinstance(node, (ast.Name, ast.Attribute, ast.FunctionDef, ast.ClassDef, ast.arg)):
            text = getattr(node, "id", None) or getattr(node, "attr", None) or getattr(node, "name", None) \
                or getattr(node, "arg", None)
            if text and ident.match(text) and text not in _GENERIC_TERMS:
                hits.append(f"{where}: name {text!r}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            mods = [getattr(node, "module", None) or ""] + [a.name for a in node.names]
            for m in mods:
                parts = m.split(".")
                if "families" in parts and any(n in parts for n in names):
                    hits.append(f"{where}: import {m!r}")
    assert not hits, f"{path.relative_to(HWSIM)} names a family: " + "; ".join(hits[:5])


@pytest.mark.parametrize("name", list(FAMILIES))
def test_cli_options_come_from_the_config_fields(name):
    """Every config field with metadata is an option of ``hwsim run FAMILY`` (except the
    ones the family's run command sets itself), and a config error names the option."""
    import argparse

    from hwsim.cli import build_parser
    from hwsim.cli.options import config_fields
    from hwsim.families.contract import option_name

    fam = FAMILIES[name]
    parser = build_parser()
    run = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["run"]
    sub = next(a for a in run._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
    opts = {o for a in sub._actions for o in a.option_strings}
    fields = config_fields(fam.config)
    assert fields, f"{name}'s config has no field metadata"
    for f in fields:
        assert option_name(f) in opts, f"{name}: {f.name} has no option {option_name(f)}"
        assert f.metadata["help"], f"{name}: {f.name} has no help"


@pytest.mark.parametrize("name", list(FAMILIES))
def test_run_prints_the_record_a_sweep_stores(name, capsys):
    """``hwsim run FAMILY`` and a sweep share one metrics path: the run's JSON holds the
    same record a sweep would store for that design and GEMM."""
    import json

    from hwsim.cli import main

    fam = FAMILIES[name]
    design = fam.make_config(fam.examples[0])
    argv = ["run", name, "--gemm", "7x33x9", "--json"]
    for f in dataclasses.fields(fam.config):
        if "help" not in f.metadata or f.metadata.get("group"):
            continue
        v = getattr(design, f.name)
        opt = f.metadata.get("cli") or "--" + f.name.replace("_", "-")
        if isinstance(f.default, bool):
            if v != f.default:
                inverted = f.metadata.get("cli_flag_inverts") or not f.default
                argv.append(opt if inverted else "--no-" + opt[2:])
        elif v is not None:
            argv += [opt, str(v)]
    assert main(argv) == 0
    d = json.loads(capsys.readouterr().out)
    cfg = fam.make_config(d["design"])
    assert cfg == design
    # the workload a sweep spec's entry {name = "gemm", gemms = ["7x33x9"]} builds
    from hwsim.sweep.spec import WorkloadSpec

    wl = WorkloadSpec(name="gemm", gemms=({"m": 7, "k": 33, "n": 9, "count": 1, "name": "gemm0"},)).build()
    rec = evaluate(Point(name, cfg.to_dict(), wl)).to_dict()
    for key, v in rec.items():
        assert d[key] == v, f"{key}: run {d[key]!r} != record {v!r}"


_IGNORED_VALUES = {"dram_bw_bytes_per_cycle": lambda v: v * 2, "mapping": lambda v: "fixed" if v == "search" else "search",
                   "mapping_objective": lambda v: "dram" if v != "dram" else "energy"}


@pytest.mark.parametrize("name", [n for n, f in FAMILIES.items() if f.cost is not None and f.cost.ignores])
def test_fields_the_cost_ignores_do_not_change_the_cost(name):
    """``CostHooks.ignores`` lets a sweep share one priced cost between designs that differ
    only in those fields: each one, varied, leaves everything pricing reads unchanged."""
    import hwsim.evaluate as ev

    fam = FAMILIES[name]
    for ex in fam.examples:
        cfg = fam.make_config(dict(ex))
        base = ev._cost_parts(name, ev.Pricing(), fam, cfg)
        for f in fam.cost.ignores:
            vary = _IGNORED_VALUES[f]
            other = dataclasses.replace(cfg, **{f: vary(getattr(cfg, f))})
            got = ev._cost_parts(name, ev.Pricing(), fam, other)
            assert repr(got[1:]) == repr(base[1:]), (name, f)
            assert ev._cost_key(fam, other) == ev._cost_key(fam, cfg)
        # a field the cost reads (the clock) changes the key
        assert "freq_mhz" not in fam.cost.ignores
        faster = dataclasses.replace(cfg, freq_mhz=cfg.freq_mhz * 2)
        assert ev._cost_key(fam, faster) != ev._cost_key(fam, cfg)
