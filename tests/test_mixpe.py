"""MixPE family: what the contract tests (tests/test_contract.py) do not already cover.

The RTL examples and this file share one Verilator build (3 x 5 PEs, acc 20): weight
precision and code kind are run-time inputs of the array.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwsim.errors import ConfigError
from hwsim.families import registry
from hwsim.families.mixpe.config import MixpeConfig
from hwsim.families.mixpe.golden import _fp16_partials, _int_partials
from hwsim.families.mixpe.timing import compute_cycles, pad_k, phys_cols
from hwsim.workloads.ops import GemmOp

FAM = registry()["mixpe"]
EXAMPLES = [FAM.make_config(d) for d in FAM.examples]


def _cdiv(a, b):
    return -(-a // b)


# --- the RTL --------------------------------------------------------------------------
def test_one_build_serves_every_precision_and_code_kind():
    from hwsim.families.mixpe.rtl import verilog_text

    texts = {verilog_text(dataclasses.replace(cfg, w_bits=w)) for cfg in EXAMPLES[:2] for w in (2, 3, 4)}
    assert len(texts) == 1
    # the FP16 array is large to convert: its two code kinds at two precisions
    fp16 = [EXAMPLES[2], dataclasses.replace(EXAMPLES[2], w_bits=2, zero_point=False, cols=5)]
    assert len({verilog_text(cfg) for cfg in fp16}) == 1
    assert verilog_text(dataclasses.replace(EXAMPLES[0], acc_bits=24)) != verilog_text(EXAMPLES[0])


def test_pe_is_a_parameter_of_the_array():
    """The MixPE array is the systolic generator with another PE; only the PE's run-time
    input is new at the top."""
    import re

    from hwsim.families.mixpe.rtl import verilog_text
    from hwsim.families.mixpe.timing import array_config
    from hwsim.families.systolic.rtl import verilog_text as systolic_verilog

    ports = [set(re.findall(r"^\s*(?:input|output)\s.*?(\w+);$", v, re.M))
             for v in (verilog_text(EXAMPLES[0]), systolic_verilog(array_config(EXAMPLES[0])))]
    assert ports[0] - ports[1] == {"msb_negative"} and ports[1] <= ports[0]


def _extreme_and_random(cfg: MixpeConfig, rng):
    """Worst-case group sums (a = -128 / 127 against the extreme codes) and random operands."""
    lo, hi = cfg.code_range
    k = 2 * cfg.group_size
    a = rng.integers(-128, 128, (4, k))
    a[0], a[1] = -128, 127
    wq = rng.integers(lo, hi + 1, (k, 6))
    wq[:, 0], wq[:, 1] = lo, hi
    return a, wq


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("idx", [0, 1])
def test_rtl_partial_sums_equal_golden(idx):
    """P (and S with a zero point) straight from the array, before the binary32 stage
    (which can round two different sums to one result), at a precision the examples
    do not use: W3 runs on the same build."""
    from hwsim.families.mixpe.rtl import run_partials

    cfg = dataclasses.replace(EXAMPLES[idx], w_bits=3)
    rng = np.random.default_rng(3 + idx)
    a, wq = _extreme_and_random(cfg, rng)
    [r] = run_partials(cfg, [(a, wq)])
    p, s = _int_partials(cfg, a, wq)
    assert np.array_equal(r["p"], p)
    if cfg.zero_point:
        assert np.array_equal(r["s"], s)
    assert r["cycles"] == compute_cycles(cfg, *a.shape, wq.shape[1])


SPECIALS = np.array([np.inf, -np.inf, np.nan, -0.0, 2.0**-24, -2.0**-14, 65504.0, 1.0], dtype=np.float16)


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("zero_point", [True, False])
def test_rtl_fp16_partial_sums_equal_golden(zero_point):
    """Binary16 P (and S) patterns straight from the array, W2 on the FP16 build, with
    rounding, cancellation, subnormals, overflow and special values in the operands."""
    from hwsim.families.mixpe.rtl import run_partials

    cfg = dataclasses.replace(EXAMPLES[2], w_bits=2, zero_point=zero_point, cols=5 - zero_point)
    rng = np.random.default_rng(5 + zero_point)
    job = FAM.stimulus(cfg, (4, 2 * cfg.group_size, 6), rng)
    a = job["a"]
    a[0, :len(SPECIALS)] = SPECIALS
    a[1] = np.float16(60000.0)  # sums overflow to infinity
    a16 = a.view(np.uint16).astype(np.int64)
    [r] = run_partials(cfg, [(a16, job["wq"])])
    p, s = (x.astype(np.float16).view(np.uint16) for x in _fp16_partials(cfg, a16, job["wq"]))
    assert np.array_equal(r["p"], p)
    if zero_point:
        assert np.array_equal(r["s"], s)
    assert np.isnan(p.view(np.float16)).any() and np.isinf(p.view(np.float16)).any()
    assert r["cycles"] == compute_cycles(cfg, *a.shape, job["wq"].shape[1])


# --- models -----------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(m=st.integers(1, 300), k=st.integers(1, 3000), n=st.integers(1, 300), rows=st.integers(1, 40),
       cols=st.integers(1, 40), gs=st.sampled_from([16, 32, 128]), zp=st.booleans())
def test_closed_form_is_the_systolic_sequencer_on_the_folded_gemm(m, k, n, rows, cols, gs, zp):
    """The written-out formula equals the systolic array's own closed form on the command
    the feeder issues (the RTL runs that command; the RTL tests check its cycles)."""
    from hwsim.families.mixpe.timing import array_config, array_dims
    from hwsim.families.systolic.timing import hardware_cycles

    # the fixed order: the whole GEMM as the one command the feeder issues
    cfg = MixpeConfig(rows=rows, cols=cols, group_size=gs, zero_point=zp, mapping="fixed")
    want = hardware_cycles(array_config(cfg), *array_dims(cfg, m, k, n))
    assert compute_cycles(cfg, m, k, n) == want
    p = FAM.estimate(cfg, GemmOp(m, k, n))
    assert p.compute_cycles == want and p.folds == _cdiv(k, gs) * _cdiv(m, rows) * _cdiv(n, cols)
    assert p.macs == m * k * n and 0 < p.utilization <= 1


def test_closed_form_covers_arrays_wider_than_the_generator():
    cfg = MixpeConfig(rows=512, cols=512)
    assert FAM.estimate(cfg, GemmOp(1024, 4096, 1024)).compute_cycles > 0
    assert FAM.cost.inputs(cfg).n_pes == 512 * 513
    with pytest.raises(ConfigError, match="^rows: the array generator"):
        FAM.top(cfg)


def test_vectorised_estimate_and_sweep_records_equal_the_scalar_ones():
    from hwsim.evaluate import Point, Workload, evaluate, evaluate_many

    rng = np.random.default_rng(9)
    designs = [dict(rows=int(rng.integers(1, 64)), cols=int(rng.integers(1, 64)), w_bits=int(rng.integers(2, 5)),
                    act_format=str(rng.choice(["int8", "fp16"])), group_size=int(rng.choice([16, 64, 128])),
                    zero_point=bool(rng.integers(2)), ibuf_kib=int(rng.choice([1, 256])),
                    wbuf_kib=int(rng.choice([1, 128])), dram_bw_bytes_per_cycle=int(rng.choice([4, 128])))
               for _ in range(12)]
    ops = [GemmOp(int(rng.integers(1, 600)), int(rng.integers(1, 5000)), int(rng.integers(1, 600)), count=2)
           for _ in range(4)]
    wl = Workload.from_gemms("g", ops)
    points = [Point("mixpe", d, wl) for d in designs]
    for p in points:
        cfg = p.config()
        for op in ops:
            want = FAM.estimate(cfg, op).to_dict()
            got = FAM.estimate_arrays(**{f: getattr(cfg, f) for f in FAM.array_fields},
                                      m=op.m, k=op.k, n=op.n, count=op.count)
            for key in ("cycles", "compute_cycles", "stall_cycles", "macs", "folds"):
                assert int(got[key]) == want[key], key
            assert {a: int(got[a]) for a in want["actions"]} == want["actions"]
    many = evaluate_many(points)
    for p, rec in zip(points, many):
        one = evaluate(p)
        assert (rec.cycles, rec.actions, rec.energy_pj) == (one.cycles, one.actions, one.energy_pj)


def test_partial_last_group_is_zero_padded(rng):
    """A K that does not fill its last group gives what the zero-padded GEMM gives."""
    cfg = EXAMPLES[0]
    job = FAM.stimulus(cfg, (3, 21, 5), rng)
    kp = pad_k(cfg, 21)
    padded = dict(job, a=np.pad(job["a"], ((0, 0), (0, kp - 21))), wq=np.pad(job["wq"], ((0, kp - 21), (0, 0))))
    out = FAM.golden(cfg, job)
    assert out.dtype == np.uint32
    assert np.array_equal(out, FAM.golden(cfg, padded))
    assert np.array_equal(FAM.implementations["model"](cfg, [job])[0].outputs, out)
    assert FAM.estimate(cfg, GemmOp(3, 21, 5)).compute_cycles == FAM.estimate(cfg, GemmOp(3, kp, 5)).compute_cycles


def test_zero_point_column_costs_one_column_of_pes():
    zp, signed = (MixpeConfig(rows=4, cols=4, zero_point=z) for z in (True, False))
    assert phys_cols(zp) == phys_cols(signed) + 1
    assert FAM.cost.inputs(zp).n_pes == 4 * 5 and FAM.cost.inputs(signed).n_pes == 4 * 4
    a_zp, a_s = (FAM.estimate(c, GemmOp(8, 256, 8)).actions for c in (zp, signed))
    assert a_zp["mult:16x24"] == 2 * a_s["mult:16x24"]


@pytest.mark.parametrize(("design", "key"), [({"dataflow": "ws"}, "dataflow")])
def test_designs_beyond_golden_are_refused_by_name(design, key):
    with pytest.raises(ConfigError, match=f"^{key}: only"):
        FAM.check_design(design)


def test_evaluate_prices_every_action():
    from hwsim.evaluate import Point, Workload, evaluate

    rec = evaluate(Point("mixpe", FAM.examples[0], Workload.from_gemms("g", [GemmOp(64, 256, 64)])))
    assert rec.energy_pj > 0 and rec.area_um2 > 0
    assert set(rec.actions) >= {"add_bits", "mult:16x24", "sram_read:wbuf", "dram_read_bytes"}


# --- CLI --------------------------------------------------------------------------------
def test_cli_run_and_export(tmp_path, capsys):
    from hwsim.cli import main
    from hwsim.families.mixpe.rtl import top_name, verilog_text

    args = ["--rows", "3", "--cols", "4", "--group-size", "16", "--acc-bits", "20"]
    assert main(["run", "mixpe", "--gemm", "8x40x8", *args, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    cfg = EXAMPLES[0]
    assert d["cycles"] == FAM.estimate(cfg, GemmOp(8, 40, 8)).cycles and d["energy_pj"] > 0
    assert main(["rtl", "export", "mixpe", *args[:4], "--acc-bits", "20", "--no-zero-point", "-o", str(tmp_path)]) == 0
    signed = dataclasses.replace(cfg, zero_point=False)
    [path] = [p for p in tmp_path.glob(f"{top_name(signed)}_*.v") if not p.stem.endswith(("_tb", "_fpga"))]
    # the exported top is the simulated one, renamed
    assert path.read_text().split("\nmodule ", 1)[1].replace(path.stem, top_name(signed)) == \
        verilog_text(signed).split("\nmodule ", 1)[1]
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["run_time_inputs"] == {"msb_negative": 1}


@pytest.mark.parametrize(("args", "msg"), [
    (["--w-bits", "5"], "--w-bits: must be <= 4, not 5"),
    (["--group-size", "96"], "--group-size: must be a power of two, not 96"),
    (["--dataflow", "ws"], "--dataflow: only 'os'"),
])
def test_cli_errors_are_one_line_and_name_the_option(capsys, args, msg):
    from hwsim.cli import main

    assert main(["run", "mixpe", "--gemm", "8x32x8", *args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and msg in err
