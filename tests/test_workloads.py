"""Model files, graph builder and the ``hwsim workloads`` command.

The expected totals are hand calculations from the published configs (written out
below as arithmetic on the raw figures, not via the code under test).
"""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import pytest

from hwsim.cli import main
from hwsim.errors import ConfigError
from hwsim.workloads import models as models_mod
from hwsim.workloads.graph import build_ops, build_workload
from hwsim.workloads.models import ModelSpec, list_models, load_model, parse_model_file

REPO = Path(__file__).resolve().parents[1]

EXPECTED_MODELS = {
    "llama-2-7b", "llama-2-13b", "llama-2-70b", "llama-3-8b", "opt-6.7b", "opt-175b",
    "gpt3-175b", "bitnet-b1.58-3b", "minilm-l6",
}

# --------------------------------------------------------------------------------------
# Model files
# --------------------------------------------------------------------------------------


def test_all_models_present_and_valid():
    assert EXPECTED_MODELS <= set(list_models())
    for name in list_models():
        m = load_model(name)
        assert m.name == name and m.version == 1


def test_shipped_copies_identical_to_repo_models():
    repo = sorted(p.name for p in (REPO / "models").glob("*.yaml"))
    shipped = sorted(p.name for p in models_mod.SHIPPED_DIR.glob("*.yaml"))
    assert repo == shipped
    match, mismatch, errors = filecmp.cmpfiles(REPO / "models", models_mod.SHIPPED_DIR, repo, shallow=False)
    assert mismatch == [] and errors == []


@pytest.mark.parametrize(
    "name, d, layers, heads, kv, ffn, vocab",
    [
        ("llama-2-7b", 4096, 32, 32, 32, 11008, 32000),
        ("llama-2-13b", 5120, 40, 40, 40, 13824, 32000),
        ("llama-2-70b", 8192, 80, 64, 8, 28672, 32000),
        ("llama-3-8b", 4096, 32, 32, 8, 14336, 128256),
        ("opt-6.7b", 4096, 32, 32, 32, 16384, 50272),
        ("opt-175b", 12288, 96, 96, 96, 49152, 50272),
        ("gpt3-175b", 12288, 96, 96, 96, 49152, 50257),
        ("bitnet-b1.58-3b", 3200, 26, 32, 32, 8640, 32002),
        ("minilm-l6", 384, 6, 12, 12, 1536, 30522),
    ],
)
def test_published_figures(name, d, layers, heads, kv, ffn, vocab):
    m = load_model(name)
    assert (m.hidden_size, m.num_layers, m.num_heads, m.num_kv_heads, m.ffn_size, m.vocab_size) == (
        d, layers, heads, kv, ffn, vocab)


def test_parameter_counts_match_model_names():
    # Linear-layer weights + embeddings (+ untied LM head) within 5% of the nominal size.
    nominal = {"llama-2-7b": 6.74e9, "llama-2-13b": 13.0e9, "llama-2-70b": 69.0e9,
               "llama-3-8b": 8.03e9, "opt-6.7b": 6.7e9, "opt-175b": 175e9, "gpt3-175b": 175e9}
    for name, n in nominal.items():
        m = load_model(name)
        emb = m.vocab_size * m.hidden_size * (1 if m.tied_embeddings else 2)
        total = m.linear_params_per_layer() * m.num_layers + emb
        assert abs(total - n) / n < 0.05, (name, total)


def _write(tmp_path, text, name="toy.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


GOOD = (REPO / "models" / "llama-2-7b.yaml").read_text().replace("name: llama-2-7b", "name: toy")


def test_loader_accepts_valid_copy(tmp_path):
    assert parse_model_file(_write(tmp_path, GOOD)).hidden_size == 4096


def test_duplicate_key_rejected(tmp_path):
    p = _write(tmp_path, GOOD + "hidden_size: 8192\n")
    with pytest.raises(ConfigError) as e:
        parse_model_file(p)
    assert e.value.key == "hidden_size" and "duplicate key" in e.value.reason
    assert e.value.source == str(p)


@pytest.mark.parametrize(
    "edit, key, reason",
    [
        (("bias: false", "bias: false\nbiass: true"), "biass", "unknown key"),
        (("num_layers: 32\n", ""), "num_layers", "missing required key"),
        (("num_layers: 32", "num_layers: 0"), "num_layers", "must be a positive integer, not 0"),
        (("num_layers: 32", "num_layers: '32'"), "num_layers", "must be an integer, not '32'"),
        (("num_kv_heads: 32", "num_kv_heads: 5"), "num_kv_heads", "must divide num_heads 32, not 5"),
        (("num_heads: 32", "num_heads: 24"), "num_heads", "must divide hidden_size 4096"),
        (("ffn_gated: true", "ffn_gated: yes please"), "ffn_gated", "must be true or false"),
        (("version: 1", "version: 2"), "version", "must be 1, not 2"),
        (("activation: silu", "activation: tanh"), "activation", "must be one of"),
        (("default_quant: w16a16", "default_quant: w5a5"), "default_quant", "must be one of"),
        (("name: toy", "name: other"), "name", "must equal the file name 'toy'"),
    ],
)
def test_bad_files_name_file_key_reason(tmp_path, edit, key, reason):
    old, new = edit
    assert old in GOOD
    p = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as e:
        parse_model_file(p)
    assert e.value.key == key
    assert reason in e.value.reason
    assert e.value.source == str(p)
    assert str(p) in str(e.value)


def test_not_a_mapping(tmp_path):
    with pytest.raises(ConfigError, match="must be a mapping"):
        parse_model_file(_write(tmp_path, "- 1\n- 2\n"))


def test_unknown_model_name():
    with pytest.raises(ConfigError) as e:
        load_model("llama-9")
    assert e.value.key == "model" and "llama-2-7b" in e.value.reason


def test_fallback_to_shipped_copy(monkeypatch, tmp_path):
    monkeypatch.setattr(models_mod, "REPO_DIR", tmp_path / "nowhere")
    assert models_mod.models_dir() == models_mod.SHIPPED_DIR
    assert "llama-2-70b" in list_models()


# --------------------------------------------------------------------------------------
# Graph builder: hand calculations
# --------------------------------------------------------------------------------------
# Llama-2-7B: d 4096, 32 layers, 32 heads of 128, FFN 11008 (gated), vocab 32000.
L7_LINEAR_PER_TOKEN = 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008)  # 6,476,005,376
L7_HEAD = 4096 * 32000
# Llama-2-70B: d 8192, 80 layers, 64 heads of 128, 8 KV heads, FFN 28672, vocab 32000.
L70_LINEAR_PER_TOKEN = 80 * (2 * 8192 * 8192 + 2 * 8192 * 1024 + 3 * 8192 * 28672)
L70_HEAD = 8192 * 32000


def test_hand_constants():
    assert L7_LINEAR_PER_TOKEN == 6_476_005_376
    assert L70_LINEAR_PER_TOKEN == 68_451_041_280


@pytest.mark.parametrize("batch, ctx", [(1, 1), (1, 4096), (8, 1000)])
def test_llama2_7b_decode(batch, ctx):
    w = build_workload("llama-2-7b", "decode", batch, context=ctx)
    attn = 32 * 32 * batch * 2 * 128 * ctx  # score + context, every layer and head
    assert w.total_macs == batch * (L7_LINEAR_PER_TOKEN + L7_HEAD) + attn
    assert w.weight_bytes == 2 * (L7_LINEAR_PER_TOKEN + L7_HEAD)  # fp16
    assert w.kv_cache_bytes == 2 * 32 * batch * ctx * 4096 * 2  # K and V, fp16
    ops = {o.name: o for o in w.ops}
    assert (ops["q_proj"].m, ops["q_proj"].k, ops["q_proj"].n, ops["q_proj"].count) == (batch, 4096, 4096, 32)
    assert (ops["attn_score"].m, ops["attn_score"].k, ops["attn_score"].n) == (1, 128, ctx)
    assert (ops["attn_context"].m, ops["attn_context"].k, ops["attn_context"].n) == (1, ctx, 128)
    assert ops["attn_score"].count == batch * 32 * 32 and ops["attn_score"].is_gemv
    assert (ops["ffn_down"].k, ops["ffn_down"].n) == (11008, 4096)
    assert (ops["lm_head"].m, ops["lm_head"].n, ops["lm_head"].count) == (batch, 32000, 1)
    assert [o.name for o in w.ops] == ["q_proj", "k_proj", "v_proj", "attn_score", "attn_context",
                                        "o_proj", "ffn_gate", "ffn_up", "ffn_down", "lm_head"]


@pytest.mark.parametrize("batch, seq", [(1, 128), (4, 2048)])
def test_llama2_7b_prefill(batch, seq):
    w = build_workload("llama-2-7b", "prefill", batch, seq_len=seq)
    attn = 32 * 32 * batch * 2 * seq * seq * 128
    assert w.total_macs == batch * seq * L7_LINEAR_PER_TOKEN + batch * L7_HEAD + attn
    assert w.weight_bytes == 2 * (L7_LINEAR_PER_TOKEN + L7_HEAD)
    assert w.kv_cache_bytes == 2 * 32 * batch * seq * 4096 * 2
    ops = {o.name: o for o in w.ops}
    assert ops["q_proj"].m == batch * seq
    assert (ops["attn_score"].m, ops["attn_score"].k, ops["attn_score"].n) == (seq, 128, seq)


@pytest.mark.parametrize("batch, ctx", [(1, 4096), (16, 512)])
def test_llama2_70b_decode_gqa(batch, ctx):
    w = build_workload("llama-2-70b", "decode", batch, context=ctx)
    attn = 80 * 64 * batch * 2 * 128 * ctx  # every query head still does its dot products
    assert w.total_macs == batch * (L70_LINEAR_PER_TOKEN + L70_HEAD) + attn
    assert w.weight_bytes == 2 * (L70_LINEAR_PER_TOKEN + L70_HEAD)
    assert w.kv_cache_bytes == 2 * 80 * batch * ctx * 8 * 128 * 2  # only the 8 KV heads
    ops = {o.name: o for o in w.ops}
    assert (ops["k_proj"].k, ops["k_proj"].n) == (8192, 1024)
    # 8 query heads share a KV head: one m=8 op per (sequence, KV head, layer).
    assert (ops["attn_score"].m, ops["attn_score"].k, ops["attn_score"].n, ops["attn_score"].count) == (
        8, 128, ctx, batch * 8 * 80)
    per_head = build_workload("llama-2-70b", "decode", batch, context=ctx, group_query_heads=False)
    ph = {o.name: o for o in per_head.ops}
    assert (ph["attn_score"].m, ph["attn_score"].count) == (1, batch * 64 * 80)
    assert per_head.total_macs == w.total_macs


def test_llama2_70b_prefill_gqa():
    batch, seq = 2, 1024
    w = build_workload("llama-2-70b", "prefill", batch, seq_len=seq)
    attn = 80 * 64 * batch * 2 * seq * seq * 128
    assert w.total_macs == batch * seq * L70_LINEAR_PER_TOKEN + batch * L70_HEAD + attn
    assert w.kv_cache_bytes == 2 * 80 * batch * seq * 1024 * 2
    ops = {o.name: o for o in w.ops}
    assert (ops["attn_score"].m, ops["attn_score"].n) == (8 * seq, seq)


def test_quant_recipes_change_formats_and_bytes():
    w4 = build_workload("llama-2-7b", "decode", 1, context=100, quant="w4a16-g128")
    assert w4.weight_bytes == (L7_LINEAR_PER_TOKEN + L7_HEAD) // 2  # 4 bits per weight
    groups = (L7_LINEAR_PER_TOKEN + L7_HEAD) // 128
    assert w4.weight_scale_bytes == groups * 3  # fp16 scale + 4-bit zero point in a byte
    q = w4.ops[0]
    assert (q.a_fmt.bits, q.b_fmt.bits, q.b_fmt.group_size) == (16, 4, 128)
    w8 = build_workload("llama-2-7b", "decode", 1, context=100, quant="w8a8")
    assert w8.kv_cache_bytes == 2 * 32 * 100 * 4096  # INT8 KV cache
    assert w8.ops[3].a_fmt.bits == 8 and w8.ops[3].b_fmt.bits == 8
    bn = build_workload("bitnet-b1.58-3b", "decode", 1, context=10)  # its default recipe
    assert bn.recipe.name == "w1.58a8" and bn.ops[0].b_fmt.bits == 2 and bn.ops[0].a_fmt.bits == 8


def test_non_gated_and_encoder():
    opt = {o.name: o for o in build_ops("opt-6.7b", "decode", 1, context=10)}
    assert "ffn_gate" not in opt and (opt["ffn_up"].n, opt["lm_head"].n) == (16384, 50272)
    enc = build_workload("minilm-l6", "prefill", 2, seq_len=64)
    assert "lm_head" not in [o.name for o in enc.ops] and enc.kv_cache_bytes == 0
    assert enc.total_macs == 2 * 64 * 6 * (4 * 384 * 384 + 2 * 384 * 1536) + 6 * 12 * 2 * 2 * 64 * 64 * 32


@pytest.mark.parametrize(
    "kwargs, key",
    [
        (dict(phase="decode", batch=1), "context"),
        (dict(phase="prefill", batch=1), "seq_len"),
        (dict(phase="decode", batch=1, context=5000), "context"),
        (dict(phase="decode", batch=0, context=10), "batch"),
        (dict(phase="train", batch=1, context=10), "phase"),
        (dict(phase="decode", batch=1, seq_len=10), "seq_len"),
        (dict(phase="decode", batch=1, context=10, quant="w5a5"), "quant"),
    ],
)
def test_graph_errors(kwargs, key):
    with pytest.raises(ConfigError) as e:
        build_workload("llama-2-7b", **kwargs)
    assert e.value.key == key


def test_encoder_has_no_decode():
    with pytest.raises(ConfigError, match="encoder"):
        build_ops("minilm-l6", "decode", 1, context=8)


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------
def test_cli_list(capsys):
    assert main(["workloads", "list"]) == 0
    out = capsys.readouterr().out
    for name in EXPECTED_MODELS:
        assert name in out
    assert "w4a16-g128" in out


def test_cli_show_json_matches_hand_totals(capsys):
    assert main(["workloads", "show", "llama-2-70b", "--phase", "decode", "--batch", "2",
                 "--context", "1024", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert all({"name", "m", "k", "n", "count"} <= set(r) for r in rows)
    assert sum(r["total_macs"] for r in rows) == 2 * (L70_LINEAR_PER_TOKEN + L70_HEAD) + 80 * 64 * 2 * 2 * 128 * 1024
    assert sum(r["m"] * r["k"] * r["n"] * r["count"] for r in rows) == sum(r["total_macs"] for r in rows)
    assert sum(r["kv_cache_bytes"] for r in rows) == 2 * 80 * 2 * 1024 * 1024 * 2


def test_cli_show_text(capsys):
    assert main(["workloads", "show", "llama-2-7b", "--phase", "prefill", "--seq", "16"]) == 0
    out = capsys.readouterr().out
    total = 16 * L7_LINEAR_PER_TOKEN + L7_HEAD + 32 * 32 * 2 * 16 * 16 * 128
    assert f"total MACs          {total}" in out
    assert "ffn_gate" in out


@pytest.mark.parametrize(
    "argv, msg",
    [
        (["llama-2-7b", "--phase", "decode"], "--context: is required"),
        (["llama-2-7b", "--phase", "decode", "--context", "0"], "--context: must be a positive integer, not 0"),
        (["llama-2-7b", "--phase", "prefill", "--seq", "8", "--quant", "w9"], "--quant: must be one of"),
        (["nope", "--phase", "prefill", "--seq", "8"], "unknown model 'nope'"),
    ],
)
def test_cli_errors_one_line_exit_2(capsys, argv, msg):
    assert main(["workloads", "show", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and msg in err and err.startswith("hwsim workloads: error:")


def test_modelspec_from_dict_roundtrip():
    m = load_model("llama-3-8b")
    assert ModelSpec.from_dict(m.to_dict()) == m


def test_recipes_match_their_quantisers():
    import numpy as np

    from hwsim.workloads.quant import SCHEMES, QTensor
    from hwsim.workloads.recipes import RECIPES

    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 256))
    w = rng.standard_normal((256, 8))
    for r in RECIPES.values():
        assert r.scheme in SCHEMES, r.name
        qg = SCHEMES[r.scheme].quantize(x, w)
        for part in qg.parts:
            if isinstance(part.b, QTensor) and part.label != "outliers-fp16":
                assert part.b.fmt.bits == r.weight.bits and part.b.fmt.signed == r.weight.signed, r.name
                if r.weight.group_size is not None:
                    assert part.b.group_size == r.weight.group_size, r.name
            if isinstance(part.a, QTensor):
                assert part.a.fmt.bits == r.act.bits, r.name
