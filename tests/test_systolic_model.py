"""Systolic array: config validation, golden, closed-form model, SCALE-Sim oracle, CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from hwsim.families.systolic.config import SystolicConfig
from hwsim.families.systolic.golden import golden_gemm, wrap
from hwsim.families.systolic.model import estimate, estimate_arrays, scalesim_cycles, traffic
from hwsim.errors import ConfigError
from hwsim.workloads.ops import GemmOp, IntFormat, parse_gemm


@pytest.mark.parametrize(
    "kw, msg",
    [
        (dict(rows=0), "rows: must be a positive integer, not 0"),
        (dict(cols=-3), "cols: must be a positive integer, not -3"),
        (dict(rows=300), "rows: must be <= 256, not 300"),
        (dict(dataflow="rs"), "dataflow: must be one of 'os', 'ws', 'is', not 'rs'"),
        (dict(a_bits=1), "a_bits: must be >= 2, not 1"),
        (dict(acc_bits=12), "acc_bits: must be >= a_bits + b_bits = 16, not 12"),
        (dict(rows=2.5), "rows: must be an integer, not 2.5"),
        (dict(dram_bw_bytes_per_cycle=0), "dram_bw_bytes_per_cycle: must be a positive number, not 0"),
    ],
)
def test_config_rejects_bad_values(kw, msg):
    with pytest.raises(ConfigError) as e:
        SystolicConfig(**kw)
    assert str(e.value) == msg


def test_config_from_dict_rejects_unknown_key():
    with pytest.raises(ConfigError, match=r"^spec.toml: colz: unknown key"):
        SystolicConfig.from_dict({"rows": 4, "colz": 4}, source="spec.toml")


def test_config_hash_is_stable_and_distinguishes():
    a, b = SystolicConfig(rows=4), SystolicConfig(rows=4)
    assert a.key() == b.key()
    assert a.key() != SystolicConfig(rows=5).key()


def test_wrap_signed_and_unsigned():
    assert wrap(np.array([127, 128, -129, 255]), 8).tolist() == [127, -128, 127, -1]
    assert wrap(np.array([255, 256, -1]), 8, signed=False).tolist() == [255, 0, 255]


def test_golden_matches_exact_product_when_no_overflow(rng):
    cfg = SystolicConfig(acc_bits=32)
    a = rng.integers(-128, 128, (7, 33))
    b = rng.integers(-128, 128, (33, 5))
    assert np.array_equal(golden_gemm(cfg, a, b), a @ b)


def test_golden_wraps_at_accumulator_width():
    cfg = SystolicConfig(a_bits=8, b_bits=8, acc_bits=16)
    a = np.full((1, 4), -128)
    b = np.full((4, 1), -128)
    # 4 * 16384 = 65536 wraps to 0 in 16 bits
    assert golden_gemm(cfg, a, b).tolist() == [[0]]


def test_golden_rejects_out_of_range_operands():
    cfg = SystolicConfig(a_bits=4, b_bits=4, acc_bits=16)
    with pytest.raises(ConfigError, match="A: values outside the 4-bit operand range"):
        golden_gemm(cfg, np.full((2, 2), 8), np.zeros((2, 2), dtype=int))
    with pytest.raises(ConfigError, match="inner dimensions differ"):
        golden_gemm(cfg, np.zeros((2, 3), dtype=int), np.zeros((2, 2), dtype=int))


def test_unsigned_golden():
    cfg = SystolicConfig(a_bits=8, b_bits=8, acc_bits=16, signed=False)
    a = np.full((1, 2), 255)
    b = np.full((2, 1), 255)
    assert golden_gemm(cfg, a, b).tolist() == [[(2 * 255 * 255) % 65536]]


def test_parse_gemm():
    assert parse_gemm("4x5x6") == (4, 5, 6)
    for bad in ("4x5", "0x5x6", "axbxc", ""):
        with pytest.raises(ConfigError, match="--gemm"):
            parse_gemm(bad)


def test_gemm_op_validation():
    with pytest.raises(ConfigError, match="m: must be a positive integer, not 0"):
        GemmOp(0, 4, 4)
    with pytest.raises(ConfigError, match="bits: must be <= 32, not 40"):
        IntFormat(40)


# Compute cycles measured with SCALE-Sim 3.0.0 ("Total Cycles", compute report), one row
# per (dataflow, rows, cols, M, K, N). They pin the closed form; the live oracle test
# below re-runs SCALE-Sim itself on other shapes.
SCALESIM_PINNED = [
    ("os", 4, 4, 8, 12, 8, 71), ("os", 4, 8, 5, 7, 9, 67), ("os", 8, 4, 3, 16, 20, 129),
    ("os", 4, 4, 1, 32, 8, 75), ("ws", 4, 4, 8, 12, 8, 107), ("ws", 4, 8, 3, 16, 20, 203),
    ("ws", 8, 4, 5, 7, 9, 68), ("ws", 8, 4, 16, 3, 4, 33), ("is", 4, 4, 5, 7, 9, 75),
    ("is", 8, 4, 16, 3, 4, 87), ("is", 4, 8, 1, 32, 8, 175), ("is", 8, 4, 3, 16, 20, 75),
]


@pytest.mark.parametrize("df, r, c, m, k, n, expected", SCALESIM_PINNED)
def test_scalesim_mode_matches_pinned_scalesim_cycles(df, r, c, m, k, n, expected):
    assert scalesim_cycles(r, c, df, m, k, n) == expected
    cfg = SystolicConfig(rows=r, cols=c, dataflow=df)
    assert estimate(cfg, GemmOp(m, k, n), mode="scalesim").compute_cycles == expected


LIVE_SHAPES = [(4, 4, 10, 9, 6), (8, 8, 13, 20, 17), (4, 8, 32, 5, 3), (16, 4, 7, 33, 21)]


@pytest.mark.slow
@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_scalesim_mode_equals_live_scalesim(df):
    """The external oracle: SCALE-Sim 3.0.0 run in its own virtual environment."""
    from hwsim.families.systolic.scalesim import run_scalesim

    for r, c, m, k, n in LIVE_SHAPES:
        cfg = SystolicConfig(rows=r, cols=c, dataflow=df)
        got = estimate(cfg, GemmOp(m, k, n), mode="scalesim")
        ref = run_scalesim(cfg, m, k, n)
        assert got.compute_cycles == ref["compute_cycles"], (df, r, c, m, k, n)
        assert got.utilization * 100 == pytest.approx(
            float(ref["report"]["Overall Util %"]), rel=1e-9)


def test_traffic_counts_by_dataflow():
    # OS: A re-read per column fold, B per row fold, C written once.
    t = traffic(4, 4, "os", 8, 12, 8, 8, 8, 32, 64, 64, 64)
    assert (t["sram_read:ifmap"], t["sram_read:filter"], t["sram_write:ofmap"]) == (8 * 12 * 2, 12 * 8 * 2, 64)
    assert t["sram_read:acc"] == 0
    # WS: A re-read per N block, each B tile per M chunk (acc_depth 4 -> 2 chunks), psums
    # over the 3 K blocks read-modify-written in the accumulator buffer twice.
    t = traffic(4, 4, "ws", 8, 12, 8, 8, 8, 32, 64, 64, 64, 4)
    assert t["sram_read:ifmap"] == 96 * 2 and t["sram_read:filter"] == 96 * 2
    assert t["sram_read:acc"] == t["sram_write:acc"] == 64 * 2 and t["sram_write:ofmap"] == 64
    # IS: A re-read per chunk of acc_depth columns of B, B per M block.
    t = traffic(4, 4, "is", 8, 12, 8, 8, 8, 32, 64, 64, 64, 64)
    assert t["sram_read:ifmap"] == 96 and t["sram_read:filter"] == 96 * 2


def test_dram_refetch_when_operand_does_not_fit():
    small = traffic(8, 8, "os", 1024, 1024, 1024, 8, 8, 32, 1, 1024, 4096)
    big = traffic(8, 8, "os", 1024, 1024, 1024, 8, 8, 32, 1024, 1024, 4096)
    assert big["_dram_a"] == 1024 * 1024
    assert small["_dram_a"] == 1024 * 1024 * 128  # re-read for each of the 128 column folds


def test_dram_bound_gemv_stalls():
    cfg = SystolicConfig(rows=32, cols=32, dataflow="ws", dram_bw_bytes_per_cycle=1.0)
    p = estimate(cfg, GemmOp(1, 4096, 4096), mode="scalesim")
    assert p.stall_cycles > 0
    assert p.cycles == pytest.approx(p.total_dram_bytes, rel=1e-6)


def test_count_multiplies_totals():
    cfg = SystolicConfig(rows=4, cols=4)
    one = estimate(cfg, GemmOp(8, 8, 8), mode="scalesim")
    three = estimate(cfg, GemmOp(8, 8, 8, count=3), mode="scalesim")
    assert three.cycles == 3 * one.cycles and three.actions["mac"] == 3 * one.actions["mac"]


@pytest.mark.parametrize("mode", ["scalesim", "hardware"])
def test_estimate_arrays_equals_estimate(rng, mode):
    n = 40
    rows = rng.choice([2, 4, 8, 16], n)
    cols = rng.choice([2, 4, 8, 32], n)
    dfs = rng.choice(["os", "ws", "is"], n)
    m, k, nn = (rng.integers(1, 300, n) for _ in range(3))
    sram = rng.choice([1, 16, 256], n)
    res = estimate_arrays(rows=rows, cols=cols, dataflow=dfs, m=m, k=k, n=nn, ifmap_sram_kb=sram,
                          filter_sram_kb=sram, ofmap_sram_kb=sram, dram_bw_bytes_per_cycle=4.0, mode=mode)
    for i in range(n):
        cfg = SystolicConfig(rows=int(rows[i]), cols=int(cols[i]), dataflow=str(dfs[i]), ifmap_sram_kb=int(sram[i]),
                             filter_sram_kb=int(sram[i]), ofmap_sram_kb=int(sram[i]), dram_bw_bytes_per_cycle=4.0)
        p = estimate(cfg, GemmOp(int(m[i]), int(k[i]), int(nn[i])), mode=mode)
        assert res["cycles"][i] == p.cycles
        assert res["stall_cycles"][i] == p.stall_cycles
        assert res["utilization"][i] == pytest.approx(p.utilization)
        for key, v in p.actions.items():
            assert res[key][i] == v, key
    # 2-D design grids broadcast the same way.
    grid = estimate_arrays(rows=rows.reshape(5, 8), cols=cols.reshape(5, 8), dataflow=dfs.reshape(5, 8),
                           m=m.reshape(5, 8), k=k.reshape(5, 8), n=nn.reshape(5, 8), ifmap_sram_kb=sram.reshape(5, 8),
                           filter_sram_kb=sram.reshape(5, 8), ofmap_sram_kb=sram.reshape(5, 8),
                           dram_bw_bytes_per_cycle=4.0, mode=mode)
    assert np.array_equal(grid["cycles"].reshape(-1), res["cycles"])


def _hwsim(*args):
    return subprocess.run([sys.executable, "-m", "hwsim", *args], capture_output=True, text=True)


def test_cli_run_json():
    r = _hwsim("run", "systolic", "--rows", "4", "--cols", "4", "--dataflow", "ws", "--gemm", "8x12x8",
               "--scalesim-compatible", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    for key in ("cycles", "utilization", "macs", "sram_reads", "sram_writes", "dram_bytes"):
        assert key in d
    assert d["cycles"] == 107 and d["macs"] == 768


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--gemm", "8x0x8"], "--gemm: K must be a positive integer, not 0"),
        (["--gemm", "8x8"], "--gemm: expected MxKxN"),
        (["--gemm", "8x8x8", "--rows", "0"], "--rows: must be a positive integer, not 0"),
        (["--gemm", "8x8x8", "--dataflow", "diag"], "--dataflow: must be one of"),
        (["--gemm", "8x8x8", "--a-bits", "40"], "--a-bits: must be <= 16, not 40"),
        (["--gemm", "8x8x8", "--rows", "x"], "argument --rows: invalid int value"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(args, needle):
    r = _hwsim("run", "systolic", *args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert needle in lines[0]
    assert "Traceback" not in r.stderr


def test_cli_help_explains_options():
    r = _hwsim("run", "systolic", "--help")
    assert r.returncode == 0
    for opt in ("--rows", "--cols", "--dataflow", "--gemm", "--scalesim-compatible", "--json"):
        assert opt in r.stdout
