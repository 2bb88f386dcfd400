"""The pinned energy breakdown of benchmarks/bench_energy_zigzag.py (one Llama-2-7B layer on
a 32x32 INT8 WS array): the current pricing is recomputed and diffed against the pin. The
"before" and ZigZag columns are pinned as measured (they need the old tree and ZigZag)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_energy_zigzag.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_energy_zigzag", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_current_breakdown_matches_the_pin():
    b = _bench()
    pinned = json.loads(b.PINNED.read_text())
    for key, mapping in (("now_fixed", "fixed"), ("now", "search")):
        fresh = b.now_breakdown(mapping)
        for phase in b.PHASES:
            got, want = fresh[phase], pinned[key][phase]
            assert got["cycles"] == want["cycles"] and got["stall_cycles"] == want["stall_cycles"], (key, phase)
            assert set(got["energy_pj_by_part"]) == set(want["energy_pj_by_part"]), (key, phase)
            for part, v in want["energy_pj_by_part"].items():
                assert got["energy_pj_by_part"][part] == pytest.approx(v, rel=1e-9), (key, phase, part)


def test_pin_has_every_column_and_zigzag_saw_the_same_work():
    b = _bench()
    pinned = json.loads(b.PINNED.read_text())
    for phase in b.PHASES:
        before = pinned["before"]["phases"][phase]
        zz = pinned["zigzag"][phase]
        assert before["energy_pj"] > 0 and zz["energy_pj"] > 0
        # ZigZag prices the same MACs at the same MAC energy as hwsim's components
        macs = sum(m * k * n * c for _, m, k, n, c in b.layer_ops(phase))
        mac_pj = pinned["zigzag_unit_energies"]["mac"]
        assert zz["mac_pj"] == pytest.approx(macs * mac_pj, rel=1e-6)
        assert len(zz["gemms"]) == len(b.layer_ops(phase))
