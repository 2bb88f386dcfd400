"""Per-layer results: records keep each op's figures, the store keeps them in a child
table, exports write them as tidy rows, and ``hwsim run`` prints them; SCALE-Sim
topology files are workloads."""

from __future__ import annotations

import json
import math

import pytest

from hwsim.evaluate import LAYER_FIELDS, Point, Workload, evaluate, evaluate_many
from hwsim.families import registry
from hwsim.sweep.spec import WorkloadSpec

FAMILIES = registry()


def _decode():
    return WorkloadSpec(name="d", model="llama-2-7b", phase="decode", batch=1, context=256).build()


@pytest.mark.parametrize("name", list(FAMILIES))
def test_layers_add_up_to_the_record(name):
    """Every op has a layer entry; cycles, MACs, DRAM bytes and energy (in total and by
    part) of the layers add up to the record's totals."""
    fam = FAMILIES[name]
    design = fam.make_config(fam.examples[0]).to_dict()
    wl = _decode()
    if fam.op_kinds and not all(isinstance(op, fam.op_kinds) for op in wl.ops):
        pytest.skip(f"{name} does not run these ops")
    try:
        rec = evaluate(Point(name, design, wl))
    except Exception as e:  # a design too small for the model's weights (e.g. PIM capacity)
        if type(e).__name__ != "ConfigError":
            raise
        wl = Workload.from_gemms("g", [WorkloadSpec(name="x", gemms=(
            {"m": 3, "k": 64, "n": 32, "count": 2, "name": "a"},
            {"m": 1, "k": 128, "n": 16, "count": 1, "name": "b"})).build().ops][0])
        rec = evaluate(Point(name, design, wl))
    assert [ly["name"] for ly in rec.layers] == [op.name for op in wl.ops]
    for ly, op in zip(rec.layers, wl.ops):
        assert set(ly) == set(LAYER_FIELDS)
        assert (ly["m"], ly["k"], ly["n"], ly["count"]) == (op.m, op.k, op.n, op.count)
        assert ly["macs"] == op.total_macs
        assert 0 < ly["utilization"] <= 1
    for f in ("cycles", "compute_cycles", "stall_cycles", "macs", "dram_bytes"):
        assert sum(ly[f] for ly in rec.layers) == getattr(rec, f), f
    if rec.energy_pj is not None:
        assert math.isclose(sum(ly["energy_pj"] for ly in rec.layers), rec.energy_pj, rel_tol=1e-9)
        for part, v in rec.energy_pj_by_part.items():
            got = sum(ly["energy_pj_by_part"].get(part, 0.0) for ly in rec.layers)
            assert math.isclose(got, v, rel_tol=1e-9, abs_tol=1e-6), part


def test_vectorised_layers_equal_scalar():
    """The vectorised path gives the same per-op results as the scalar one."""
    fam = FAMILIES["systolic"]
    wl = _decode()
    pts = [Point("systolic", {"rows": r, "cols": c, "dataflow": df}, wl)
           for r, c, df in ((8, 8, "os"), (16, 4, "ws"), (32, 32, "is"))]
    assert fam.estimate_arrays is not None
    for vec, p in zip(evaluate_many(pts), pts):
        assert vec.layers == evaluate(p).layers


def test_store_keeps_layers_and_export_writes_tidy_rows(tmp_path):
    import pandas as pd

    from hwsim.report.data import export, layers_path, load
    from hwsim.sweep import load_spec, run_sweep

    spec = tmp_path / "s.toml"
    spec.write_text('version = 1\nname = "t"\nfamily = "systolic"\n[space]\nrows = [4, 8]\n'
                    '[[workloads]]\nmodel = "llama-2-7b"\nphase = "decode"\ncontext = 64\n')
    store = tmp_path / "s.db"
    run_sweep(load_spec(spec), store)
    data = load(store)
    assert len(data.records) == 2
    n_ops = int(data.records["n_ops"].iloc[0])
    assert len(data.layers) == 2 * n_ops
    # the stored layers are the record's
    p = Point("systolic", {"rows": 4}, _decode_ctx(64))
    rec = evaluate(p)
    rows = data.layers[data.layers["point_key"] == rec.point_key].sort_values("idx")
    assert list(rows["cycles"]) == [ly["cycles"] for ly in rec.layers]
    out = tmp_path / "x.csv"
    assert export(store, out) == 2
    tidy = pd.read_csv(layers_path(out))
    assert len(tidy) == 2 * n_ops
    assert {"point_key", "idx", "name", "cycles", "energy_pj", "energy_pj.dram"} <= set(tidy.columns)
    flat = pd.read_csv(out)
    assert "layers" not in flat.columns


def _decode_ctx(ctx):
    return WorkloadSpec(name="llama-2-7b/decode/b1/ctx64", model="llama-2-7b", phase="decode", batch=1,
                        context=ctx).build()


def test_run_model_prints_per_layer_table(capsys):
    from hwsim.cli import main

    assert main(["run", "systolic", "--model", "llama-2-7b", "--phase", "decode", "--context", "128",
                 "--rows", "8", "--cols", "8"]) == 0
    out = capsys.readouterr().out
    for name in ("q_proj", "attn_score", "ffn_down", "lm_head", "totals"):
        assert name in out
    assert main(["run", "systolic", "--model", "llama-2-7b", "--phase", "prefill", "--seq-len", "16",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["phase"] == "prefill" and len(d["layers"]) == d["n_ops"] == 10


@pytest.mark.parametrize("argv, key", [
    (["--gemm", "8x8x8", "--phase", "decode"], "--phase"),
    (["--gemm", "8x8x8", "--batch", "4"], "--batch"),
    (["--model", "llama-2-7b"], "--phase"),
    (["--model", "llama-2-7b", "--phase", "decode"], "--context"),
    (["--model", "llama-2-7b", "--phase", "prefill"], "--seq-len"),
    (["--model", "llama-2-7b", "--phase", "decode", "--context", "0"], "--context"),
    (["--model", "no-such-model", "--phase", "decode", "--context", "8"], "--model"),
    (["--model", "llama-2-7b", "--phase", "decode", "--context", "8", "--quant", "w9"], "--quant"),
])
def test_run_workload_errors_name_the_option(argv, key, capsys):
    from hwsim.cli import main

    assert main(["run", "systolic", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and key in err, err


GEMM_TOPO = "Layer, M, N, K,\nfc1, 64, 128, 256,\nfc2, 64, 32, 128,\n"
# SCALE-Sim's convolution format: name, ifmap h, ifmap w, filter h, filter w, channels, filters, stride
CONV_TOPO = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
             "Conv1, 224, 224, 7, 7, 3, 64, 2,\n"
             "Conv2, 56, 56, 3, 3, 64, 64, 1,\n"
             "CB2DP, 16, 16, 3, 3, 32, 1, 1,\n")


def test_topology_gemm_and_conv_lowering(tmp_path):
    from hwsim.workloads.topology import load_topology

    g = tmp_path / "g.csv"
    g.write_text(GEMM_TOPO)
    fmt, ops = load_topology(g)
    assert fmt == "gemm"
    assert [(o.name, o.m, o.k, o.n) for o in ops] == [("fc1", 64, 256, 128), ("fc2", 64, 128, 32)]
    c = tmp_path / "c.csv"
    c.write_text(CONV_TOPO)
    fmt, ops = load_topology(c)
    assert fmt == "conv"
    # ofmap = ceil((224 - 7 + 2) / 2) = 110 -> M = 110 * 110, K = 7 * 7 * 3, N = 64
    assert (ops[0].m, ops[0].k, ops[0].n) == (110 * 110, 147, 64)
    assert (ops[1].m, ops[1].k, ops[1].n) == (54 * 54, 576, 64)
    # depth-wise: one single-channel layer per channel
    assert (ops[2].m, ops[2].k, ops[2].n, ops[2].count) == (14 * 14, 9, 1, 32)


@pytest.mark.parametrize("text, key", [
    ("", "topology"),
    ("Layer, A, B,\n", "line 1: header"),
    ("Layer, M, N, K,\nfc1, 64, 0, 3,\n", "line 2: N"),
    ("Layer, M, N, K,\nfc1, 64, x, 3,\n", "line 2: N"),
    ("Layer, M, N, K,\nfc1, 64, 3,\n", "line 2"),
    ("Layer, M, N, K,\nfc1, 4, 4, 4,\nfc1, 4, 4, 4,\n", "line 3: layer name"),
    ("Layer, M, N, K,\nfc1, 4, 4, 4, 2:4,\n", "line 2: sparsity"),
    (CONV_TOPO.splitlines()[0] + "\nc, 4, 4, 5, 5, 1, 1, 1,\n", "line 2"),
    ("Layer, M, N, K,\n", "topology"),
])
def test_topology_errors(tmp_path, text, key):
    from hwsim.errors import ConfigError
    from hwsim.workloads.topology import load_topology

    f = tmp_path / "t.csv"
    f.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_topology(f)
    assert e.value.key == key and e.value.source == str(f), str(e.value)


def test_topology_in_run_and_spec(tmp_path, capsys):
    from hwsim.cli import main
    from hwsim.sweep import load_spec

    g = tmp_path / "g.csv"
    g.write_text(GEMM_TOPO)
    assert main(["run", "systolic", "--topology", str(g), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["workload"] == "g" and [ly["name"] for ly in d["layers"]] == ["fc1", "fc2"]
    spec = tmp_path / "s.toml"
    spec.write_text('version = 1\nname = "t"\nfamily = "systolic"\n[space]\nrows = [4]\n'
                    '[[workloads]]\ntopology = "g.csv"\n')
    [wl] = load_spec(spec).build_workloads()
    assert [(o.m, o.k, o.n) for o in wl.ops] == [(64, 256, 128), (64, 128, 32)]
    bad = tmp_path / "b.csv"
    bad.write_text("Layer, M, N, K,\nfc1, 64, -1, 3,\n")
    assert main(["run", "systolic", "--topology", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--topology" in err and "b.csv" in err and "line 2" in err
