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


# --- the fold replay on the DRAM/HBM timing model ---------------------------------------
@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_dram_replay_moves_the_closed_forms_bytes(dataflow):
    """Tiled operands: every fold's requests are its bytes rounded up to whole requests."""
    from hwsim.families.systolic.memsim import fold_requests, folds

    cfg = SystolicConfig(rows=4, cols=8, dataflow=dataflow, acc_depth=6, ifmap_sram_kb=1, filter_sram_kb=1)
    for shape in ((37, 53, 29), (16, 600, 20)):
        fl, rq = folds(cfg, *shape), fold_requests(cfg, *shape)
        assert len(fl) == len(rq)
        for f, (ld, wr) in zip(fl, rq):
            assert f.load_bytes <= 64 * len(ld) < f.load_bytes + 64 * 2  # A and B tiles: <= 1 partial each
            assert f.write_bytes <= 64 * len(wr) < f.write_bytes + 64 + (0 if f.write_bytes else 1)
            assert len(set(ld)) == len(ld) and all(a % 64 == 0 for a in ld + wr)


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_dram_replay_is_never_faster_than_perfect_overlap_at_peak(dataflow):
    from hwsim.families.systolic.memsim import simulate_dram
    from hwsim.memory.config import load_preset

    dram = load_preset("hbm2", channels=1)
    cfg = SystolicConfig(rows=8, cols=8, dataflow=dataflow)
    for shape in ((64, 256, 64), (37, 53, 29)):
        r = simulate_dram(cfg, *shape, dram)
        assert r.converged and r.requests > 0
        assert r.cycles >= r.closed_form_cycles >= r.compute_cycles
        assert r.peak_bytes_per_cycle == pytest.approx(32.0)  # one HBM2 pseudo-channel at the array's 1 GHz


def test_dram_replay_of_a_dram_bound_gemv_runs_near_the_peak():
    """A GEMV streams its weights once: the replay is bound by the memory, within the
    timing model's overheads (refresh, row misses, read latency) of bytes / peak."""
    from hwsim.families.systolic.memsim import simulate_dram
    from hwsim.memory.config import load_preset

    dram = load_preset("hbm2", channels=1)
    # the array at 4 GHz sees one HBM2 pseudo-channel as 8 bytes per array cycle
    cfg = SystolicConfig(rows=16, cols=16, dataflow="os", filter_sram_kb=16, freq_mhz=4000.0)
    r = simulate_dram(cfg, 1, 1024, 128, dram)
    assert r.converged and r.peak_bytes_per_cycle == pytest.approx(8.0)
    assert r.closed_form_cycles > r.compute_cycles  # DRAM-bound in the closed form too
    assert r.closed_form_cycles <= r.cycles <= 1.25 * r.closed_form_cycles
    assert r.row_hit_rate > 0.9
