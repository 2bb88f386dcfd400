"""Quantisers: round trips, hardware path == dequantise-then-matmul, error properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwsim.errors import ConfigError
from hwsim.workloads import synthetic
from hwsim.workloads.error import float32_gemm, gemm_error
from hwsim.workloads.quant import (
    SCHEMES, BlockFloat, Int8Symmetric, LLMInt8, MixedOutput, QTensor, Ternary, WeightOnly, WxAy,
    exact_int_matmul, get_scheme, quantize_asymmetric, quantize_bfp, quantize_symmetric,
    quantize_ternary,
)
from hwsim.workloads.ops import IntFormat


def operands(seed=0, m=32, k=256, n=64, outlier_rate=0.01):
    rng = np.random.default_rng(seed)
    x, idx = synthetic.activations(rng, m, k, outlier_rate=outlier_rate)
    w = synthetic.weights(rng, k, n)
    return x, w, idx


def sqnr(scheme, x, w):
    return scheme.error(x, w).sqnr_db


# --------------------------------------------------------------------------------------
# Every preset: hardware path equals dequantise-then-matmul
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(SCHEMES))
def test_hardware_path_equals_dequantized(name):
    x, w, _ = operands(1)
    qg = SCHEMES[name].quantize(x, w)
    hw, ref = qg.hardware(), qg.dequantized()
    if name.startswith("bfp"):
        # Power-of-two scales: the rescale is exact, so both paths give identical floats.
        np.testing.assert_array_equal(hw, ref)
    else:
        np.testing.assert_allclose(hw, ref, rtol=1e-9, atol=1e-12 * np.max(np.abs(ref)))
    assert gemm_error(float32_gemm(x, w), hw).sqnr_db > 0


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    m=st.integers(1, 8),
    groups=st.integers(1, 4),
    g=st.sampled_from([4, 8, 32]),
    n=st.integers(1, 9),
    kind=st.sampled_from(["wo-sym", "wo-asym", "wxay", "bfp", "mix", "int8", "ternary"]),
)
def test_hardware_path_property(seed, m, groups, g, n, kind):
    rng = np.random.default_rng(seed)
    k = groups * g
    x = rng.standard_normal((m, k)) * rng.uniform(0.01, 10)
    w = rng.standard_normal((k, n)) * rng.uniform(0.001, 1)
    scheme = {
        "wo-sym": WeightOnly(3, g, True), "wo-asym": WeightOnly(2, g, False),
        "wxay": WxAy(4, 4, g), "bfp": BlockFloat(5, g, True), "mix": MixedOutput(0.3, group_size=g),
        "int8": Int8Symmetric("tensor", "token"), "ternary": Ternary(),
    }[kind]
    qg = scheme.quantize(x, w)
    np.testing.assert_allclose(qg.hardware(), qg.dequantized(), rtol=1e-9,
                               atol=1e-12 * (np.max(np.abs(qg.dequantized())) + 1e-300))


# --------------------------------------------------------------------------------------
# Quantised tensors round-trip
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("bits", [2, 3, 4, 8])
@pytest.mark.parametrize("sym", [True, False])
def test_group_quantiser_round_trip(bits, sym):
    rng = np.random.default_rng(bits)
    w = rng.standard_normal((128, 16))
    t = quantize_symmetric(w, bits, 0, 32) if sym else quantize_asymmetric(w, bits, 0, 32)
    assert t.scale.shape == (4, 16) and t.q.dtype == np.int64
    lo, hi = (-(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1) if sym else (0, 2**bits - 1)
    assert t.q.min() >= lo and t.q.max() <= hi
    d = t.dequantize()
    # Round to nearest: every element within half a step of its value.
    assert np.all(np.abs(d - w) <= t.expand(t.scale) / 2 + 1e-12)
    # Quantising the dequantised tensor again gives the same codes (idempotent).
    t2 = quantize_symmetric(d, bits, 0, 32) if sym else quantize_asymmetric(d, bits, 0, 32)
    np.testing.assert_array_equal(t2.q, t.q)
    if not sym:
        np.testing.assert_array_equal(t2.zero, t.zero)


def test_symmetric_layouts():
    x = np.array([[1.0, -2.0, 0.5, 4.0], [0.1, 0.2, -0.4, 0.0]])
    tok = quantize_symmetric(x, 8, 1)
    np.testing.assert_allclose(tok.scale[:, 0], [4 / 127, 0.4 / 127])
    assert tok.q[0].tolist() == [32, -64, 16, 127]  # round(127 * x / 4)
    ten = quantize_symmetric(x, 8, 1, per_tensor=True)
    assert ten.scale.shape == (1, 1) and ten.q[1].tolist() == [3, 6, -13, 0]
    ch = quantize_symmetric(x.T, 8, 0)  # weights (K, N): one scale per column
    np.testing.assert_allclose(ch.scale[0], [4 / 127, 0.4 / 127])


def test_asymmetric_zero_exact_and_positive_data():
    w = np.linspace(0.5, 2.0, 64).reshape(64, 1)  # all positive: range [0, 2]
    t = quantize_asymmetric(w, 4, 0)
    assert t.zero[0, 0] == 0 and math.isclose(t.scale[0, 0], 2.0 / 15)
    z = quantize_asymmetric(np.zeros((8, 2)), 3, 0)
    np.testing.assert_array_equal(z.dequantize(), 0)


def test_ternary_absmean():
    rng = np.random.default_rng(3)
    tern = rng.choice([-1, 0, 1], size=(64, 32), p=[0.45, 0.1, 0.45])
    gamma = 0.05
    t = quantize_ternary(gamma * tern)
    np.testing.assert_array_equal(t.q, tern)  # a ternary tensor maps to its own codes
    assert set(np.unique(t.q)) <= {-1, 0, 1}
    assert math.isclose(t.scale[0, 0], gamma * np.mean(np.abs(tern)))
    w = rng.standard_normal((64, 32))
    t = quantize_ternary(w)
    assert math.isclose(t.scale[0, 0], np.mean(np.abs(w)))
    np.testing.assert_array_equal(t.q, np.clip(np.rint(w / (np.mean(np.abs(w)) + 1e-5)), -1, 1))


def test_bfp_exponents_and_mantissas():
    x = np.array([[0.75, -0.1, 3.0, 0.0, 1e-3, 2e-3, -4e-3, 0.0]])
    t = quantize_bfp(x, 4, 4, 1)
    # Block 1 max 3.0 < 2**2 -> scale 2**(2-3); block 2 max 4e-3 < 2**-7 -> scale 2**-10.
    assert t.exponent.tolist() == [[-1, -10]]
    np.testing.assert_array_equal(t.scale, np.ldexp(1.0, t.exponent))
    assert t.q[0, :4].tolist() == [2, 0, 6, 0]
    assert t.q[0, 4:].tolist() == [1, 2, -4, 0]
    assert np.max(np.abs(t.q)) <= 7
    assert t.storage_bits == 8 * 4 + 2 * 8


def test_qtensor_checks_codes_fit_format():
    with pytest.raises(ConfigError, match="do not fit int4"):
        QTensor(np.full((4, 1), 9, np.int64), np.ones((1, 1)), None, 4, 0, IntFormat(4))
    with pytest.raises(ConfigError) as e:
        quantize_symmetric(np.ones((10, 2)), 4, 0, group_size=4)
    assert e.value.key == "group_size" and "must divide K = 10" in e.value.reason


def test_exact_int_matmul_both_paths():
    rng = np.random.default_rng(0)
    a = rng.integers(-128, 128, (5, 300))
    b = rng.integers(-128, 128, (300, 7))
    np.testing.assert_array_equal(exact_int_matmul(a, b), a @ b)  # float64 BLAS path
    big_a = rng.integers(-(2**30), 2**30, (3, 64))
    big_b = rng.integers(-(2**30), 2**30, (64, 2))
    np.testing.assert_array_equal(exact_int_matmul(big_a, big_b), big_a @ big_b)  # int64 path


# --------------------------------------------------------------------------------------
# Error properties on crafted data
# --------------------------------------------------------------------------------------
def test_llm_int8_beats_int8_on_outlier_columns():
    x, w, idx = operands(5, m=64, k=512, n=128, outlier_rate=0.01)
    assert len(idx) == 5
    qg = LLMInt8().quantize(x, w)
    assert set(idx) <= set(qg.info["outlier_index"].tolist())
    assert qg.info["outlier_dims"] == len(qg.info["outlier_index"]) < 20
    s_llm = sqnr(LLMInt8(), x, w)
    s_tensor = sqnr(Int8Symmetric("tensor", "tensor"), x, w)
    s_token = sqnr(Int8Symmetric("channel", "token"), x, w)
    assert s_llm > s_token + 10 and s_llm > s_tensor + 10


def test_llm_int8_without_and_with_only_outliers():
    x, w, _ = operands(6, outlier_rate=0.0)
    x = np.clip(x, -5, 5)
    qg = LLMInt8().quantize(x, w)
    assert qg.info["outlier_dims"] == 0
    # Without outliers it is vector-wise INT8: per-token activations x per-channel weights.
    np.testing.assert_allclose(qg.hardware(), Int8Symmetric("channel", "token").matmul(x.astype(np.float16), w.astype(np.float16)),
                               rtol=1e-12, atol=1e-12)
    qg = LLMInt8(threshold=1e-9).quantize(x, w)
    assert qg.info["outlier_dims"] == x.shape[1] and len(qg.parts) == 1


def test_error_falls_as_bits_rise():
    x, w, _ = operands(7)
    wo = [sqnr(WeightOnly(b, 64, False), x, w) for b in (2, 3, 4, 8)]
    assert wo == sorted(wo) and wo[-1] - wo[0] > 25
    bfp = [sqnr(BlockFloat(b, 32), x, w) for b in (4, 6, 8)]
    assert bfp == sorted(bfp)
    assert sqnr(WxAy(4, 4), x, w) < sqnr(WxAy(4, 8), x, w)
    ints = [sqnr(Int8Symmetric(bits=b), x, w) for b in (4, 6, 8)]
    assert ints == sorted(ints)


def test_group_size_trades_error_against_storage():
    x, w, _ = operands(8, k=512)
    rows = []
    for g in (32, 64, 128, 512):
        qg = WeightOnly(4, g, False).quantize(x, w)
        rows.append((gemm_error(float32_gemm(x, w), qg.hardware()).sqnr_db,
                     qg.weight_storage_bits / w.size))
    errs = [r[0] for r in rows]
    bits = [r[1] for r in rows]
    assert errs == sorted(errs, reverse=True)  # smaller groups, less error
    assert bits == sorted(bits, reverse=True)  # ... and more storage
    assert bits[0] == pytest.approx(4 + (16 + 4) / 32)


def test_asymmetric_helps_skewed_weights():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((16, 128))
    w = np.abs(rng.standard_normal((128, 32)))  # all positive
    assert sqnr(WeightOnly(3, 32, False), x, w) > sqnr(WeightOnly(3, 32, True), x, w) + 3


def test_per_token_beats_per_tensor_when_tokens_differ():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((32, 128)) * np.logspace(-2, 1, 32)[:, None]
    w = rng.standard_normal((128, 16))
    ref = float32_gemm(x, w)
    tok = Int8Symmetric("channel", "token").matmul(x, w)
    ten = Int8Symmetric("channel", "tensor").matmul(x, w)
    # The quietest token keeps its precision only with its own scale.
    assert gemm_error(ref[:1], tok[:1]).sqnr_db > gemm_error(ref[:1], ten[:1]).sqnr_db + 30
    assert gemm_error(ref, tok).sqnr_db > gemm_error(ref, ten).sqnr_db


def test_bfp_reordering_groups_outliers():
    x, w, idx = operands(11, m=32, k=512, n=64, outlier_rate=0.03)
    qg = BlockFloat(6, 32, reorder=True).quantize(x, w)
    perm = qg.info["perm"]
    assert sorted(perm.tolist()) == list(range(512))
    assert set(perm[: len(idx)].tolist()) == set(idx.tolist())  # outliers first, together
    assert sqnr(BlockFloat(6, 32, True), x, w) > sqnr(BlockFloat(6, 32, False), x, w) + 2


def test_mixllm_fraction():
    x, w, _ = operands(12, n=80)
    s = [sqnr(MixedOutput(f, group_size=64), x, w) for f in (0.0, 0.1, 0.5, 1.0)]
    assert s == sorted(s)
    qg = MixedOutput(0.1, group_size=64).quantize(x, w)
    assert len(qg.info["high_cols"]) == 8
    # Fraction 0 is all-4-bit W4A8 and fraction 1 all-8-bit, with the same activations.
    np.testing.assert_allclose(MixedOutput(0.0, group_size=64).matmul(x, w), WxAy(4, 8, 64).matmul(x, w), rtol=1e-12)
    np.testing.assert_allclose(MixedOutput(1.0, group_size=64).matmul(x, w), WxAy(8, 8, 64).matmul(x, w), rtol=1e-12)
    # The chosen columns are the ones whose 4-bit error hurts the output most.
    lo = WxAy(4, 8, 64).matmul(x, w)
    col_err = np.sum((lo - float32_gemm(x, w)) ** 2, axis=0)
    top = set(np.argsort(-col_err)[:8].tolist())
    assert len(top & set(qg.info["high_cols"].tolist())) >= 6


def test_ternary_scheme_on_ternary_weights_only_activation_error():
    rng = np.random.default_rng(13)
    w = 0.02 * rng.choice([-1.0, 1.0], size=(128, 16))
    x = rng.standard_normal((8, 128))
    s = sqnr(Ternary(), x, w)
    assert s == pytest.approx(sqnr(Int8Symmetric("tensor", "token"), x, w), abs=1e-6)


# --------------------------------------------------------------------------------------
# Metrics, validation, synthetic data
# --------------------------------------------------------------------------------------
def test_gemm_error_values():
    e = gemm_error(np.array([[1.0, 2.0], [2.0, 0.0]]), np.array([[1.0, 2.0], [2.0, 1.0]]))
    assert e.sqnr_db == pytest.approx(10 * math.log10(9.0))
    assert e.rel_fro == pytest.approx(1 / 3) and e.max_abs == 1.0
    assert gemm_error(np.ones((2, 2)), np.ones((2, 2))).sqnr_db == math.inf
    with pytest.raises(ConfigError, match="differs from the reference"):
        gemm_error(np.ones((2, 2)), np.ones((2, 3)))


@pytest.mark.parametrize(
    "make, key, reason",
    [
        (lambda: WeightOnly(bits=1), "bits", "must be >= 2, not 1"),
        (lambda: WeightOnly(group_size=0), "group_size", "must be a positive integer, not 0"),
        (lambda: LLMInt8(threshold=-1), "threshold", "must be a positive number, not -1"),
        (lambda: MixedOutput(fraction=1.5), "fraction", "must be a number in [0, 1], not 1.5"),
        (lambda: MixedOutput(low_bits=8, high_bits=4), "low_bits", "must be <= high_bits 4, not 8"),
        (lambda: Int8Symmetric(weight="row"), "weight", "must be 'tensor' or 'channel', not 'row'"),
        (lambda: BlockFloat(reorder=1), "reorder", "must be true or false, not 1"),
        (lambda: get_scheme("int5"), "scheme", "unknown scheme 'int5'"),
    ],
)
def test_config_errors(make, key, reason):
    with pytest.raises(ConfigError) as e:
        make()
    assert e.value.key == key and reason in e.value.reason


def test_operand_errors():
    with pytest.raises(ConfigError, match="inner dimensions differ"):
        WeightOnly().quantize(np.ones((2, 128)), np.ones((64, 2)))
    with pytest.raises(ConfigError, match="must divide K = 100"):
        WeightOnly(4, 32).quantize(np.ones((2, 100)), np.ones((100, 2)))
    with pytest.raises(ConfigError, match="finite"):
        Ternary().quantize(np.full((2, 4), np.nan), np.ones((4, 2)))


def test_synthetic_reproducible_with_outliers():
    a1, i1 = synthetic.activations(np.random.default_rng(42), 16, 200, outlier_rate=0.02)
    a2, i2 = synthetic.activations(np.random.default_rng(42), 16, 200, outlier_rate=0.02)
    np.testing.assert_array_equal(a1, a2)
    assert len(i1) == 4 and np.array_equal(i1, i2)
    col = np.max(np.abs(a1), axis=0)
    assert np.min(col[i1]) > 5 * np.median(col)
    w = synthetic.weights(np.random.default_rng(0), 512, 256, std=0.02)
    assert w.std() == pytest.approx(0.02, rel=0.05)
    with pytest.raises(ConfigError) as e:
        synthetic.activations(np.random.default_rng(0), 4, 4, outlier_rate=2)
    assert e.value.key == "outlier_rate"
