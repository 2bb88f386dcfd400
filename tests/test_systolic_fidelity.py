"""Systolic array: one GEMM check run against every implementation.

The same seeded jobs go through golden, the cycle-level model, the Amaranth simulation
of the generator and the Verilated RTL (cocotb). Every implementation must return
``golden_gemm`` bit for bit, and every timed one must take exactly ``hardware_cycles``
(plus the stalled cycles the bench counted, under back-pressure).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwsim.families.systolic.config import SystolicConfig
from hwsim.families.systolic.cyclesim import simulate
from hwsim.families.systolic.golden import golden_gemm
from hwsim.families.systolic.timing import assemble_output, hardware_cycles, operand_beats, result_beat_count
from hwsim.errors import ConfigError

# Three array shapes x three dataflows, with varied widths, signedness and accumulator
# depths small enough that M (N for "is") is split into several chunks.
CONFIGS = {
    "os-2x2-s8x8-acc16": dict(rows=2, cols=2, dataflow="os", a_bits=8, b_bits=8, acc_bits=16, signed=True),
    "os-4x4-u4x6-acc12": dict(rows=4, cols=4, dataflow="os", a_bits=4, b_bits=6, acc_bits=12, signed=False),
    "os-3x5-s5x3-acc20": dict(rows=3, cols=5, dataflow="os", a_bits=5, b_bits=3, acc_bits=20, signed=True),
    "ws-2x2-u8x8-acc18-d3": dict(rows=2, cols=2, dataflow="ws", a_bits=8, b_bits=8, acc_bits=18,
                                 signed=False, acc_depth=3),
    "ws-4x4-s8x8-acc32-d5": dict(rows=4, cols=4, dataflow="ws", a_bits=8, b_bits=8, acc_bits=32,
                                 signed=True, acc_depth=5),
    "ws-3x5-s3x7-acc11-d4": dict(rows=3, cols=5, dataflow="ws", a_bits=3, b_bits=7, acc_bits=11,
                                 signed=True, acc_depth=4),
    "is-2x2-s6x8-acc15-d3": dict(rows=2, cols=2, dataflow="is", a_bits=6, b_bits=8, acc_bits=15,
                                 signed=True, acc_depth=3),
    "is-4x4-u8x4-acc13-d6": dict(rows=4, cols=4, dataflow="is", a_bits=8, b_bits=4, acc_bits=13,
                                 signed=False, acc_depth=6),
    "is-3x5-s8x8-acc24-d2": dict(rows=3, cols=5, dataflow="is", a_bits=8, b_bits=8, acc_bits=24,
                                 signed=True, acc_depth=2),
}


def _range(bits, is_signed):
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if is_signed else (0, (1 << bits) - 1)


def make_jobs(cfg: SystolicConfig, rng: np.random.Generator, n_random: int = 4):
    """GEMMs covering edge shapes, multi-tile shapes, extreme values and random ones."""
    r, c, d = cfg.rows, cfg.cols, cfg.acc_depth
    lo_a, hi_a = _range(cfg.a_bits, cfg.signed)
    lo_b, hi_b = _range(cfg.b_bits, cfg.signed)

    def rand(m, k, n):
        return rng.integers(lo_a, hi_a + 1, (m, k)), rng.integers(lo_b, hi_b + 1, (k, n))

    shapes = [
        (1, 1, 1),
        (1, 2 * r + 1, 1),                              # M = N = 1, several K folds
        (1, 3, 2 * c + 1),                              # M = 1, several N folds
        (2 * r + 1, 1, 1),                              # K = 1, N = 1
        (r + 1, max(1, r - 1), c + 1),                  # K smaller than rows
        (2 * r + 1, 2 * r + 1, 2 * c + 1),              # multi-tile in every dimension
        (2 * d + 1, r + 1, c + 1),                      # several accumulator chunks in M
        (r + 1, r + 1, 2 * d + 1),                      # ... and in N ("is" chunks N)
    ]
    shapes += [tuple(int(v) for v in rng.integers(1, 2 * max(r, c) + 4, 3)) for _ in range(n_random)]
    jobs = [rand(*s) for s in shapes]
    ek = 2 * r + 3  # long enough to wrap the narrow accumulators
    jobs.append((np.full((r + 1, ek), lo_a), np.full((ek, c + 1), lo_b)))        # all min
    jobs.append((np.full((r + 1, ek), hi_a), np.full((ek, c + 1), hi_b)))        # all max
    a = np.where(rng.random((2, ek)) < 0.5, lo_a, hi_a)
    b = np.where(rng.random((ek, 3)) < 0.5, lo_b, hi_b)
    jobs.append((a, b))                                                          # mixed extremes
    return [(np.asarray(a, np.int64), np.asarray(b, np.int64)) for a, b in jobs]


def _golden(cfg, jobs):
    return [(golden_gemm(cfg, a, b), None) for a, b in jobs]


def _cyclesim(cfg, jobs):
    return [simulate(cfg, a, b) for a, b in jobs]


def _amaranth(cfg, jobs):
    from hwsim.families.systolic.rtl import run_gemms_amaranth

    return run_gemms_amaranth(cfg, jobs)


def _rtl(cfg, jobs):
    from hwsim.families.systolic.rtl import run_gemms

    return run_gemms(cfg, jobs)


IMPLS = {"golden": _golden, "cyclesim": _cyclesim, "amaranth": _amaranth, "rtl": _rtl}


def check_gemms(cfg, jobs, results):
    """The one check: exact outputs; cycles equal the closed form where timed."""
    assert len(results) == len(jobs)
    for (a, b), (c, cycles) in zip(jobs, results):
        m, k = a.shape
        n = b.shape[1]
        want = golden_gemm(cfg, a, b)
        assert c.shape == want.shape
        assert np.array_equal(c, want), f"{m}x{k}x{n}: result differs from golden"
        if cycles is not None:
            assert cycles == hardware_cycles(cfg, m, k, n), f"{m}x{k}x{n}: cycles"


def _params():
    out = []
    for impl in IMPLS:
        for name in CONFIGS:
            marks = []
            if impl == "rtl":
                marks = [pytest.mark.rtl]
            out.append(pytest.param(impl, name, id=f"{impl}-{name}", marks=marks))
    return out


@pytest.mark.parametrize("impl, name", _params())
def test_gemm_fidelity(impl, name):
    cfg = SystolicConfig(**CONFIGS[name])
    rng = np.random.default_rng([20261123, list(CONFIGS).index(name)])
    jobs = make_jobs(cfg, rng)
    check_gemms(cfg, jobs, IMPLS[impl](cfg, jobs))


@pytest.mark.rtl
@pytest.mark.parametrize("name", ["os-3x5-s5x3-acc20", "ws-2x2-u8x8-acc18-d3", "is-3x5-s8x8-acc24-d2"])
def test_rtl_backpressure(name):
    """Random valid/ready gaps: same results, cycles = hardware cycles + stalls."""
    from hwsim.families.systolic.rtl import run_gemms_detailed

    cfg = SystolicConfig(**CONFIGS[name])
    rng = np.random.default_rng([7, list(CONFIGS).index(name)])
    jobs = make_jobs(cfg, rng, n_random=2)[4:10]
    runs = run_gemms_detailed(cfg, jobs, backpressure={"in_gap": 0.3, "out_gap": 0.4}, seed=11)
    total_stalls = 0
    for (a, b), run in zip(jobs, runs):
        m, k = a.shape
        n = b.shape[1]
        assert np.array_equal(run.c, golden_gemm(cfg, a, b))
        assert run.cycles == hardware_cycles(cfg, m, k, n) + run.stall_cycles
        total_stalls += run.stall_cycles
    assert total_stalls > 0  # the gaps did hit the array


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 4), cols=st.integers(1, 4), dataflow=st.sampled_from(["os", "ws", "is"]),
    signed=st.booleans(), a_bits=st.integers(2, 8), b_bits=st.integers(2, 8), extra=st.integers(0, 4),
    depth=st.integers(1, 6), m=st.integers(1, 9), k=st.integers(1, 9), n=st.integers(1, 9),
    seed=st.integers(0, 2**32 - 1),
)
def test_cyclesim_matches_golden_and_closed_form(rows, cols, dataflow, signed, a_bits, b_bits, extra,
                                                 depth, m, k, n, seed):
    cfg = SystolicConfig(rows=rows, cols=cols, dataflow=dataflow, signed=signed, a_bits=a_bits,
                         b_bits=b_bits, acc_bits=a_bits + b_bits + extra, acc_depth=depth)
    rng = np.random.default_rng(seed)
    lo_a, hi_a = _range(a_bits, signed)
    lo_b, hi_b = _range(b_bits, signed)
    a = rng.integers(lo_a, hi_a + 1, (m, k))
    b = rng.integers(lo_b, hi_b + 1, (k, n))
    check_gemms(cfg, [(a, b)], [simulate(cfg, a, b)])


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_hardware_cycles_vectorised_equals_scalar(dataflow):
    cfg = SystolicConfig(rows=3, cols=5, dataflow=dataflow, acc_depth=4)
    m, k, n = np.meshgrid(np.arange(1, 12), np.arange(1, 10), np.arange(1, 13), indexing="ij")
    vec = hardware_cycles(cfg, m, k, n)
    assert vec.shape == m.shape and vec.dtype == np.int64
    scalar = [hardware_cycles(cfg, int(x), int(y), int(z)) for x, y, z in zip(m.flat, k.flat, n.flat)]
    assert vec.ravel().tolist() == scalar


def test_hardware_cycles_pinned():
    """Hand-derived values of the schedule (see hwsim.families.systolic.timing)."""
    os_ = SystolicConfig(rows=4, cols=4, dataflow="os")
    # K >= rows: 4 folds back to back, K each, plus rows + cols to fill and drain
    assert hardware_cycles(os_, 8, 12, 8) == 3 * 12 + 12 + 4 + 4
    # K < rows: folds wait for the rows-beat drain
    assert hardware_cycles(os_, 8, 2, 8) == 3 * 4 + 2 + 4 + 4
    ws = SystolicConfig(rows=4, cols=4, dataflow="ws", acc_depth=8)
    # preload 4, two K folds of max(6, 4) and 6 beats, 4 + 4 pipeline
    assert hardware_cycles(ws, 6, 8, 4) == 4 + 6 + 6 + 4 + 4
    # M = 10 in chunks 8 + 2: folds of 8, then max(2, 4) except the last of 2
    assert hardware_cycles(ws, 10, 4, 4) == 4 + 8 + 2 + 4 + 4
    is_ = SystolicConfig(rows=4, cols=4, dataflow="is", acc_depth=8)
    assert hardware_cycles(is_, 4, 8, 6) == hardware_cycles(ws, 6, 8, 4)


def test_hardware_cycles_rejects_empty_dims():
    with pytest.raises(ConfigError, match="^k: must be a positive integer"):
        hardware_cycles(SystolicConfig(), 4, 0, 4)


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_beats_round_trip(dataflow):
    """Feeding golden rows through the result-beat format reproduces C."""
    cfg = SystolicConfig(rows=3, cols=2, dataflow=dataflow, acc_depth=2)
    rng = np.random.default_rng(3)
    a = rng.integers(-128, 128, (5, 4))
    b = rng.integers(-128, 128, (4, 3))
    west, north = operand_beats(cfg, a, b)
    assert west.shape[1] == cfg.rows and north.shape[1] == cfg.cols and len(west) == len(north)
    c = golden_gemm(cfg, a, b)
    # build the beats the RTL would emit from C itself, then assemble them back
    nb = result_beat_count(cfg, 5, 4, 3)
    if dataflow == "os":
        beats = [np.pad(c[m0:m0 + 3, n0:n0 + 2], ((0, 3 - len(c[m0:m0 + 3])), (0, 2 - c[:, n0:n0 + 2].shape[1])))
                 for n0 in range(0, 3, 2) for m0 in range(0, 5, 3)]
        beats = np.concatenate(beats)
    else:
        y = c.T if dataflow == "is" else c
        beats = np.concatenate([np.pad(y[:, t0:t0 + 2], ((0, 0), (0, 2 - y[:, t0:t0 + 2].shape[1])))
                                for t0 in range(0, y.shape[1], 2)])
    assert len(beats) == nb
    assert np.array_equal(assemble_output(cfg, 5, 4, 3, beats), c)


def test_rtl_runner_rejects_bad_backpressure():
    from hwsim.families.systolic.rtl import run_gemms

    cfg = SystolicConfig(rows=2, cols=2)
    with pytest.raises(ConfigError, match=r"^backpressure.in_gap: must be a probability"):
        run_gemms(cfg, [(np.ones((1, 1), int), np.ones((1, 1), int))], backpressure={"in_gap": 1.5})
    with pytest.raises(ConfigError, match=r"^backpressure.stall: unknown key"):
        run_gemms(cfg, [(np.ones((1, 1), int), np.ones((1, 1), int))], backpressure={"stall": 0.1})
    with pytest.raises(ConfigError, match=r"^A: values outside"):
        run_gemms(cfg, [(np.full((1, 1), 300), np.ones((1, 1), int))])


def test_export_verilog(tmp_path):
    from hwsim.eda.export import export
    from hwsim.families.systolic.family import FAMILY

    cfg = SystolicConfig(rows=2, cols=3, dataflow="ws", acc_depth=4)
    b = export(FAMILY, cfg, tmp_path)
    assert b.name.startswith("systolic_ws_2x3_") and b.files["verilog"].name == f"{b.name}.v"
    text = b.files["verilog"].read_text()
    assert f"module {b.name}(" in text and "operands__ready" in text
    meta = json.loads((tmp_path / f"{b.name}.json").read_text())
    assert SystolicConfig(**meta["config"]) == cfg


def test_pe_is_its_own_component():
    """The PE elaborates and converts alone (for per-PE synthesis)."""
    from amaranth.back import rtlil

    from hwsim.families.systolic.hdl import SystolicPE

    for df in ("os", "ws"):
        text = rtlil.convert(SystolicPE(SystolicConfig(rows=4, cols=4, dataflow=df)), name="pe")
        assert "module \\pe" in text
