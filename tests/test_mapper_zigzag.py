"""The mapper against ZigZag's own mapping search (figures pinned in
``hwsim/families/systolic/data/zigzag_mapper.json`` by ``benchmarks/bench_mapper_zigzag.py
--zigzag``; this test never runs ZigZag)."""

from __future__ import annotations

import math

import pytest

from hwsim.families.systolic.model import estimate
from hwsim.families.systolic.zigzag import DESIGN, cases, design, load_pinned
from hwsim.workloads.ops import GemmOp

PINNED = {(c["name"], c["dataflow"]): c for c in load_pinned()["cases"]}


def test_every_case_is_pinned():
    assert sorted(PINNED) == sorted((name, df) for name, df, *_ in cases())
    for (name, df), c in PINNED.items():
        got = next((m, k, n) for nm, d, m, k, n in cases() if (nm, d) == (name, df))
        assert (c["m"], c["k"], c["n"]) == got


@pytest.mark.parametrize("name, dataflow, m, k, n", cases())
def test_mapped_is_no_worse_than_zigzags_search(name, dataflow, m, k, n):
    z = PINNED[(name, dataflow)]
    p = estimate(design(dataflow), GemmOp(m, k, n))
    bw = DESIGN["dram_bw_bytes_per_cycle"]
    assert p.total_dram_bytes <= z["dram_bytes"]
    if p.cycles > z["cycles"]:
        # The stated constraint: one DRAM port of ``bw`` bytes per cycle carries every byte,
        # so no schedule of ZigZag's own traffic takes fewer than bytes / bw cycles.
        # ZigZag's latency model lets reads and writes on that port overlap in part and
        # reports less; hwsim is then exactly at that bound with no more bytes.
        bound = math.ceil(z["dram_bytes"] / bw)
        assert z["cycles"] < bound
        assert p.cycles == bound and p.total_dram_bytes == z["dram_bytes"]


def test_the_mapper_wins_where_the_fixed_order_is_dram_bound():
    """Prefill projections: the fixed order moves about twice the mapper's bytes and
    ZigZag's double-buffered search does not reach the mapper's cycles."""
    for name, df, m, k, n in cases():
        if not name.startswith("prefill") or k < 4096:
            continue
        z = PINNED[(name, df)]
        p = estimate(design(df), GemmOp(m, k, n))
        assert p.cycles < z["cycles"] and p.total_dram_bytes < z["dram_bytes"]
