"""The event-driven (simpy) DRAM/compute replay against the closed form's perfect overlap."""

from __future__ import annotations

import itertools

import pytest

from hwsim.families.systolic.config import SystolicConfig
from hwsim.families.systolic.memsim import folds, simulate
from hwsim.families.systolic.model import traffic
from hwsim.errors import ConfigError

SHAPES = [(1, 64, 64), (37, 53, 29), (128, 128, 128), (200, 96, 300), (16, 512, 64)]


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
@pytest.mark.parametrize("kb", [1, 64])  # operands that do not fit / fit their buffers
def test_fold_traffic_equals_the_closed_form(dataflow, kb):
    cfg = SystolicConfig(rows=8, cols=4, dataflow=dataflow, ifmap_sram_kb=kb, filter_sram_kb=kb, acc_depth=16)
    for m, k, n in SHAPES:
        fl = folds(cfg, m, k, n)
        t = traffic(cfg.rows, cfg.cols, dataflow, m, k, n, cfg.a_bits, cfg.b_bits, cfg.acc_bits,
                    cfg.ifmap_sram_kb, cfg.filter_sram_kb, cfg.ofmap_sram_kb, cfg.acc_depth)
        assert sum(f.load_bytes for f in fl) == int(t["dram_read_bytes"]), (m, k, n)
        assert sum(f.write_bytes for f in fl) == int(t["dram_write_bytes"]), (m, k, n)


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_event_cycles_are_bounded_by_overlap_and_by_serial_execution(dataflow):
    for (m, k, n), bw in itertools.product(SHAPES, (0.5, 4.0, 64.0, 4096.0)):
        cfg = SystolicConfig(rows=8, cols=8, dataflow=dataflow, dram_bw_bytes_per_cycle=bw, ifmap_sram_kb=4,
                             filter_sram_kb=4, acc_depth=32)
        r = simulate(cfg, m, k, n)
        assert r.closed_form_cycles == max(r.compute_cycles, r.dram_cycles)
        # perfect overlap is a lower bound; nothing overlapping is an upper bound
        assert r.closed_form_cycles <= r.cycles <= r.compute_cycles + r.dram_cycles + 1, (m, k, n, bw)
        assert r.error <= 0


def test_deeper_buffering_never_hurts_and_approaches_the_closed_form():
    cfg = SystolicConfig(rows=8, cols=8, dataflow="ws", dram_bw_bytes_per_cycle=6.0, ifmap_sram_kb=1,
                         filter_sram_kb=1, acc_depth=32)
    cyc = [simulate(cfg, 200, 96, 300, buffers=b).cycles for b in (1, 2, 4, 64)]
    assert cyc == sorted(cyc, reverse=True) and cyc[0] > cyc[-1]
    closed = simulate(cfg, 200, 96, 300).closed_form_cycles
    assert cyc[-1] - closed < 0.05 * closed


def test_bad_arguments():
    cfg = SystolicConfig(rows=4, cols=4)
    with pytest.raises(ConfigError, match="buffers"):
        simulate(cfg, 4, 4, 4, buffers=0)
    with pytest.raises(ConfigError, match="k: must be a positive integer"):
        simulate(cfg, 4, 0, 4)
