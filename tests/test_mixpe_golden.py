"""MixPE config and golden GEMM.

The golden model must equal the float64 reference exactly where the hardware is exact
(INT path with unit scales, no wrap), stay within the derived error bound elsewhere, and
follow its stated FP16 order of operations (checked against a scalar ``numpy.float16``
loop that knows nothing of the golden model's vectorisation).
"""

import dataclasses

import numpy as np
import pytest

from hwsim.errors import ConfigError
from hwsim.families.mixpe.config import MixpeConfig, cli_options
from hwsim.families.mixpe.golden import (
    dequantized_weights,
    error_bound,
    mixpe_gemm,
    reference_gemm,
    wrap,
)
from hwsim.workloads.quant import quantize_asymmetric, quantize_symmetric


def _acts(cfg: MixpeConfig, rng, m: int, k: int) -> np.ndarray:
    if cfg.act_format == "int8":
        return rng.integers(-128, 128, (m, k))
    return rng.standard_normal((m, k)).astype(np.float16)


def _codes(cfg: MixpeConfig, rng, k: int, n: int):
    lo, hi = cfg.code_range
    wq = rng.integers(lo, hi + 1, (k, n))
    groups = k // cfg.group_size
    zeros = rng.integers(lo, hi + 1, (groups, n)) if cfg.zero_point else None
    return wq, zeros


# --- config ------------------------------------------------------------------------------
def test_every_field_has_cli_metadata():
    for f in dataclasses.fields(MixpeConfig):
        meta = f.metadata
        assert {"help", "unit", "cli", "range"} <= set(meta), f.name
        assert meta["cli"] == "--" + f.name.replace("_", "-")
        assert meta["help"]
        if meta["range"] is not None:
            lo, hi = meta["range"]
            assert lo <= f.default <= hi, f.name
    assert len(cli_options()) == len(dataclasses.fields(MixpeConfig))


RANGES = {f.name: f.metadata["range"] for f in dataclasses.fields(MixpeConfig) if f.metadata["range"] is not None}


@pytest.mark.parametrize("name", sorted(RANGES))
def test_numeric_ranges_from_metadata(name):
    lo, hi = RANGES[name]
    extra = {"act_format": "fp16"} if name in ("group_size", "w_bits") else {}  # acc_bits stays legal
    for bad in (lo - 1, hi + 1):
        with pytest.raises(ConfigError, match=f"^{name}: must be") as e:
            MixpeConfig(**{name: bad}, **extra)
        assert str(bad) in str(e.value)
    MixpeConfig(**{name: lo}, **({"act_format": "fp16"} if name == "acc_bits" else extra))
    MixpeConfig(**{name: hi}, **extra)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"act_format": "bf16"}, "act_format: must be one of 'int8', 'fp16', not 'bf16'"),
        ({"dataflow": "is"}, "dataflow: must be one of 'os', 'ws', not 'is'"),
        ({"group_size": 96}, "group_size: must be a power of two, not 96"),
        ({"zero_point": 1}, "zero_point: must be true or false, not 1"),
        ({"w_bits": 3.0}, "w_bits: must be an integer, not 3.0"),
        ({"freq_mhz": "fast"}, "freq_mhz: must be a number, not 'fast'"),
        ({"acc_bits": 18}, r"acc_bits: must be >= 19 to hold one group's worst-case sum \(128 x 15 x 128\), not 18"),
        ({"acc_bits": 21, "group_size": 1024}, "acc_bits: must be >= 22"),
    ],
)
def test_config_errors_name_field_and_value(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        MixpeConfig(**kwargs)


def test_min_acc_bits_holds_the_worst_case_exactly():
    """At the minimum width, the extreme group (a = -128, every weight bit set) does not wrap."""
    for w_bits, zero_point in ((2, True), (4, True), (4, False), (3, False)):
        cfg = MixpeConfig(w_bits=w_bits, group_size=16, zero_point=zero_point, acc_bits=64)
        cfg = dataclasses.replace(cfg, acc_bits=cfg.min_acc_bits)
        lo, hi = cfg.code_range
        a = np.full((2, 32), -128)
        a[1] = 127
        wq = np.stack([np.full(32, lo), np.full(32, hi), np.full(32, -1 if lo < 0 else hi)], axis=1)
        zeros = np.zeros((2, 3), dtype=np.int64) if zero_point else None
        s = np.ones((2, 3))
        np.testing.assert_array_equal(mixpe_gemm(cfg, a, wq, s, zeros), reference_gemm(cfg, a, wq, s, zeros))
    with pytest.raises(ConfigError, match="acc_bits"):
        dataclasses.replace(cfg, acc_bits=cfg.min_acc_bits - 1)


def test_fp16_path_does_not_use_acc_bits():
    assert MixpeConfig(act_format="fp16", acc_bits=2).acc_bits == 2


def test_from_dict_and_key():
    cfg = MixpeConfig.from_dict({"w_bits": 3, "act_format": "fp16"})
    assert cfg == MixpeConfig(w_bits=3, act_format="fp16")
    assert cfg.key() == MixpeConfig(w_bits=3, act_format="fp16").key() != MixpeConfig().key()
    with pytest.raises(ConfigError, match="wbits: unknown key"):
        MixpeConfig.from_dict({"wbits": 3})


# --- golden: exact where the hardware is exact -------------------------------------------
def test_wrap():
    assert wrap(np.array([2**15, -2**15 - 1, -2**15, 7]), 16).tolist() == [-2**15, 2**15 - 1, -2**15, 7]
    assert wrap(np.array([2**62]), 64).tolist() == [2**62]


@pytest.mark.parametrize("w_bits", [2, 3, 4])
@pytest.mark.parametrize("zero_point", [True, False])
@pytest.mark.parametrize("group_size", [16, 128])
def test_int_path_exact_with_unit_scales(w_bits, zero_point, group_size):
    """Scale 1: every dequantised group value and every cross-group sum is an integer below
    2**24, so binary32 is exact and the golden result equals ``A @ W`` in float64."""
    cfg = MixpeConfig(w_bits=w_bits, zero_point=zero_point, group_size=group_size)
    rng = np.random.default_rng(100 * w_bits + group_size + zero_point)
    k = 4 * group_size
    a = _acts(cfg, rng, 6, k)
    wq, zeros = _codes(cfg, rng, k, 10)
    s = np.ones((k // group_size, 10))
    got = mixpe_gemm(cfg, a, wq, s, zeros)
    want = reference_gemm(cfg, a, wq, s, zeros)
    assert np.all(np.abs(want) < 2**24)
    np.testing.assert_array_equal(got, want)
    # and A @ W is the integer product it should be
    z = np.repeat(zeros, group_size, axis=0) if zero_point else 0
    np.testing.assert_array_equal(want, a @ (wq - z))


@pytest.mark.parametrize("act_format", ["int8", "fp16"])
@pytest.mark.parametrize("zero_point", [True, False])
def test_within_bound_with_real_quantisers(act_format, zero_point):
    """W4 group-128 weights from the project's quantisers (asymmetric with zero points, or
    symmetric signed codes); the error against float64 stays within :func:`error_bound`."""
    rng = np.random.default_rng(7 + zero_point)
    m, k, n = 8, 512, 24
    w = rng.standard_normal((k, n)) * 0.02
    if zero_point:
        qt = quantize_asymmetric(w, 4, k_axis=0, group_size=128)
    else:
        qt = quantize_symmetric(w, 4, k_axis=0, group_size=128)
    cfg = MixpeConfig(act_format=act_format, zero_point=zero_point)
    a = _acts(cfg, rng, m, k)
    got = mixpe_gemm(cfg, a, qt.q, qt.scale, qt.zero)
    want = reference_gemm(cfg, a, qt.q, qt.scale, qt.zero)
    bound = error_bound(cfg, a, qt.q, qt.scale, qt.zero)
    assert got.dtype == np.float32 and np.all(np.isfinite(got))
    err = np.abs(got.astype(np.float64) - want)
    assert np.all(err <= bound)
    assert err.max() > 0  # the data are inexact: the comparison is not vacuous
    # the fp16-rounded scales are what the reference uses
    ref_w = dequantized_weights(cfg, qt.q, qt.scale, qt.zero)
    assert np.max(np.abs(ref_w - qt.dequantize())) <= np.max(np.abs(qt.scale)) * 16 * 2.0**-11


def test_bound_refuses_when_invalid():
    cfg = MixpeConfig(act_format="fp16", group_size=1024)
    a = np.ones((1, 1024), dtype=np.float16)
    wq = np.full((1024, 1), 15)
    with pytest.raises(ValueError, match="n \\* u < 1"):
        error_bound(cfg, a, wq, np.ones((1, 1)), np.zeros((1, 1), dtype=np.int64))


# --- golden: the FP16 path's order of operations ----------------------------------------
def _scalar_fp16_gemm(cfg: MixpeConfig, a16, wq, scales, zeros):
    """The documented order, one scalar numpy operation at a time (numpy.float16 + and *
    are correctly rounded; a * 2**i is exact)."""
    m, k = a16.shape
    n = wq.shape[1]
    gs, w = cfg.group_size, cfg.w_bits
    c = np.zeros((m, n), dtype=np.float32)
    with np.errstate(all="ignore"):
        for r in range(m):
            for col in range(n):
                acc = None
                for g in range(k // gs):
                    p, s = np.float16(0.0), np.float16(0.0)
                    for kk in range(g * gs, (g + 1) * gs):
                        bits = int(wq[kk, col]) & ((1 << w) - 1)
                        for i in range(w):
                            if bits >> i & 1:
                                t = a16[r, kk] * np.float16(2.0**i)
                                if not cfg.zero_point and i == w - 1:
                                    t = -t
                                p = np.float16(p + t)
                        s = np.float16(s + a16[r, kk])
                    sc = np.float32(np.float16(scales[g, col]))
                    y = sc * np.float32(p)
                    if cfg.zero_point:
                        y = y - (sc * np.float32(zeros[g, col])) * np.float32(s)
                    acc = y if acc is None else np.float32(acc + y)
                c[r, col] = acc
    return c


@pytest.mark.parametrize("zero_point", [True, False])
def test_fp16_path_follows_documented_order(zero_point):
    cfg = MixpeConfig(act_format="fp16", w_bits=4, group_size=16, zero_point=zero_point)
    rng = np.random.default_rng(11)
    # wide dynamic range (subnormal to ~1e3) so that rounding happens on most adds
    a = (rng.standard_normal((3, 48)) * np.exp2(rng.integers(-20, 10, (3, 48)))).astype(np.float16)
    wq, zeros = _codes(cfg, rng, 48, 4)
    scales = rng.uniform(0.001, 0.1, (3, 4))
    got = mixpe_gemm(cfg, a, wq, scales, zeros)
    want = _scalar_fp16_gemm(cfg, a, wq, scales, zeros)
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


def test_fp16_path_propagates_inf_and_nan():
    cfg = MixpeConfig(act_format="fp16", group_size=16, zero_point=False)
    a = np.ones((2, 16), dtype=np.float16)
    a[0, 3] = np.inf
    a[1, 3] = np.nan
    wq = np.zeros((16, 2), dtype=np.int64)
    wq[3, 0] = 1  # the inf/nan is used by column 0 only
    got = mixpe_gemm(cfg, a, wq, np.ones((1, 2)))
    assert got[0, 0] == np.inf and np.isnan(got[1, 0])
    assert got[0, 1] == 0 and got[1, 1] == 0


# --- operand checks ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cfg_kw", "change", "message"),
    [
        ({}, {"a": np.full((2, 16), 128)}, r"A: values \[128, 128\] lie outside \[-128, 127\]"),
        ({}, {"a": np.zeros((2, 16))}, "A: must hold integers, not float64"),
        ({"act_format": "fp16"}, {"a": np.zeros((2, 16))}, "A: must be float16 values or uint16"),
        ({"zero_point": False}, {"wq": np.full((16, 3), 8)}, r"Wq: values \[8, 8\] lie outside \[-8, 7\]"),
        ({}, {"wq": np.zeros((15, 3), dtype=np.int64)}, r"Wq: must have shape \(K=16, N\)"),
        ({}, {"scales": np.ones((2, 3))}, r"scales: must have shape \(1, 3\), not \(2, 3\)"),
        ({}, {"zeros": None}, "zeros: are required when zero_point is true"),
        ({"zero_point": False}, {"zeros": np.zeros((1, 3), dtype=np.int64)}, "zeros: must be None"),
    ],
)
def test_operand_errors(cfg_kw, change, message):
    cfg = MixpeConfig(group_size=16, **cfg_kw)
    ops = {"a": np.zeros((2, 16), dtype=np.int64 if cfg.act_format == "int8" else np.float16),
           "wq": np.zeros((16, 3), dtype=np.int64), "scales": np.ones((1, 3)),
           "zeros": np.zeros((1, 3), dtype=np.int64) if cfg.zero_point else None}
    ops.update(change)
    with pytest.raises(ConfigError, match=message):
        mixpe_gemm(cfg, ops["a"], ops["wq"], ops["scales"], ops["zeros"])


def test_k_must_fill_groups():
    cfg = MixpeConfig(group_size=16, zero_point=False)
    with pytest.raises(ConfigError, match="K: must be a multiple of group_size = 16, not 24"):
        mixpe_gemm(cfg, np.zeros((1, 24), dtype=np.int64), np.zeros((24, 1), dtype=np.int64), np.ones((1, 1)))
