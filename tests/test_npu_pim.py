"""The NPU + PIM system: a decode step computed by hand, the PIM attention programs timed by
hand, configuration errors, the golden decode step, serving and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hwsim.errors import ConfigError
from hwsim.families.npu_pim import attention as att
from hwsim.families.npu_pim.config import NpuPimConfig
from hwsim.families.npu_pim.system import (estimate_step, place_balanced, simulate_step,
                                           split_sub_batches)
from hwsim.families.npu_pim.workload import Shard
from hwsim.workloads.models import ModelSpec

# ------------------------------------------------------------------ the hand-computed case
#: Two layers, hidden 8, two heads of 4, FFN 16; one 4x4 weight-stationary array, one
#: vector unit of 4 lanes, two HBM2 channels of 16 banks (one rank) with 4 lanes per bank
#: and 64-byte rows (32 FP16 per row: one GWRITE holds a whole query).
TINY = ModelSpec(name="tiny", display_name="tiny", source="test", architecture="decoder", hidden_size=8,
                 num_layers=2, num_heads=2, num_kv_heads=2, ffn_size=16, ffn_gated=False, activation="gelu",
                 vocab_size=16, max_position=64, tied_embeddings=True, bias=False, default_quant="w16a16")


def tiny_cfg(schedule: str) -> NpuPimConfig:
    return NpuPimConfig(schedule=schedule, npu_arrays=1, npu_rows=4, npu_cols=4, npu_acc_depth=8,
                        npu_vector_units=1, npu_vector_lanes=4, pim_channels=2, pim_ranks=1,
                        pim_page_bytes=64, pim_mac_lanes=4)


def test_pim_programs_by_hand():
    """HBM2 (tRP 14, tRAS 34, tRCDRD 14, tFAW 30), COMP every 2 cycles, GWRITE 96, adder
    tree filling 6 COMP slots, READRES 2.

    Score (any context <= 16 tokens: one row; two heads, one COMP each): GWRITE @0 (buffer
    ready @96); G_ACT of the 4 bank groups @1, 31, 61, 91 (tFAW apart); head 0: COMP
    @max(91 + 14, 96) = 105, READRES @105 + 2*6 = 117 (done 119); head 1: COMP @119,
    READRES @131, done 133.

    Context (each head: GWRITE of its scores, one row of 4 dimensions, 1 or 2 COMPs): head 0
    as above, READRES @117 (done 119); head 1: GWRITE @118 (ready 214); PRE @91 + tRAS =
    125; G_ACT @125 + 1 + ... = max(126, 125 + tRP) = 139, 169, 199, 229; COMP @229 + 14 =
    243; READRES @243 + 12 = 255, done 257.
    """
    pim = tiny_cfg("neupims").pim
    for seq in (3, 5):
        assert att.score_cycles(pim, seq, 2, 4)[0] == 133
        assert att.context_cycles(pim, seq, 2, 4)[0] == 257
    assert att.context_cycles(pim, 3, 2, 4)[1] == {"GWRITE": 2, "G_ACT": 8, "COMP": 2, "READRES": 2, "PRE": 1}
    assert att.context_cycles(pim, 5, 2, 4)[1]["COMP"] == 4


def test_decode_step_by_hand():
    """Two requests (contexts 3 and 5), two layers; every figure below is worked out by hand.

    NPU GEMMs (ws, 4x4, m = 2 rows, hardware cycles ``10 + 4 Nt Kt``): QKV 2x8x24 = 58, proj
    2x8x8 = 26, FFN1 2x8x16 = 42, FFN2 2x16x8 = 42; their transfers (32 B/cycle per
    channel) are 9, 3, 6, 6 cycles, under the compute. Vector ops (4 lanes): LN 2*8*3/4 = 12,
    residual + LN 16, GELU 8, residual 4; softmax 2*3*3/4 -> 5 and 2*5*3/4 -> 8. NPU side per
    layer: 168 + 40 = 208.

    neupims (dual row buffers; requests on channels 1 and 0): QKV ends at 12 + 58 = 70;
    both scores 70 -> 203; softmax 203 -> 208 and 208 -> 216 (one vector unit); contexts end
    at 465 and 473; then 26 + 16 + 42 + 8 + 42 + 4 = 138: 611 per layer, 1222 in all.

    naive (single row buffer: each change of owner costs tRP + tRCDRD = 28): scores start at
    70 + 28 = 98 and end at 231; softmax to 236 / 244; contexts end at 493 / 501; proj's
    transfer waits the switch back: max(26, 28 + 3) = 31 -> 532; then 16 + 42 + 8 + 42 + 4 ->
    644. Layer 2 starts at 644 and its QKV transfer needs no switch: 644 + 644 = 1288.

    npu-only: attention GEMVs on the array, ``9 + 4 Nt Kt`` each: context 3: 13 + 13, context
    5: 17 + 17; (26 + 34) x 2 heads = 120 (K and V: 4 transfer cycles); softmax 2*8*3/4 = 12;
    per layer 208 + 132 = 340, 680 in all.
    """
    sh = Shard(TINY)
    expect = {"neupims": 1222, "naive": 1288, "npu-only": 680}
    for sched, cycles in expect.items():
        r = simulate_step(tiny_cfg(sched), sh, [3, 5])
        assert r.cycles == cycles, sched
        assert r.npu_macs == 2 * 2 * (8 * 24 + 8 * 8 + 8 * 16 + 16 * 8) + (
            2 * 2 * 2 * 4 * 8 if sched == "npu-only" else 0)
    r = simulate_step(tiny_cfg("naive"), sh, [3, 5])
    assert r.pim_macs == 2 * 2 * 2 * 4 * (3 + 5)
    assert r.switches == 2 * 2 * 2              # two channels, twice a layer, two layers
    assert r.pim_commands["COMP"] == 2 * (2 * 2 + 2 + 4)  # layers x (scores + contexts)
    assert estimate_step(tiny_cfg("npu-only"), sh, [3, 5]) == 680


def test_interleaved_sub_batches_by_hand():
    """The same two requests as two sub-batches of one (``sub_batch_min = 2``): request 1
    (context 5, channel 0) is sub-batch A, request 0 (context 3, channel 1) sub-batch B.

    With one row per GEMM (``9 + 4 Nt Kt``): QKV 57, proj 25, FFN1 41, FFN2 41; vector ops
    of one row: LN 6, residual + LN 8, GELU 4, residual 2. A sub-batch's NPU stage (its
    projection, FFN and the next layer's LN and QKV) holds the NPU.

    A: LN + QKV 0 -> 63; score 63 -> 196; softmax 196 -> 204; context 204 -> 461.
    B: LN + QKV 63 -> 126; score 126 -> 259; softmax 259 -> 264; context 264 -> 521.
    A's stage 461 -> 582 (layer 1 ends) -> 645 (layer 2's QKV); B's stage waits for it:
    645 -> 766 -> 829. A: score 645 -> 778, softmax -> 786, context -> 1043, last stage
    1043 -> 1164. B: score 829 -> 962, softmax -> 967, context -> 1224, last stage 1224 -> 1345.
    """
    import dataclasses

    from hwsim.families.npu_pim.system import StepSim, placement

    cfg = dataclasses.replace(tiny_cfg("neupims"), sub_batch_min=2)
    sim = StepSim(cfg, Shard(TINY), [3, 5], placement(cfg, [3, 5]))
    r = sim.run()
    assert sim.layer_end == [[582, 1164], [766, 1345]]
    assert r.cycles == 1345


def test_placement_and_sub_batches():
    assert place_balanced([3, 5], 2) == [1, 0]
    chans = place_balanced([10, 9, 8, 7, 1, 1], 2)
    assert chans == [0, 1, 1, 0, 0, 1]
    a, b = split_sub_batches([10, 9, 8, 7, 1, 1], chans)
    assert sorted(a + b) == list(range(6)) and abs(len(a) - len(b)) <= 2
    load = lambda g, c: sum(s for i, s in enumerate([10, 9, 8, 7, 1, 1]) if i in g and chans[i] == c)
    for c in (0, 1):
        assert abs(load(a, c) - load(b, c)) <= 10


def test_sub_batches_interleave_at_large_batch():
    """Two sub-batches overlap one's attention with the other's GEMMs: the step is shorter
    than the NPU work plus the attention done one after the other."""
    sh = Shard.of("gpt3-13b")
    seqs = [512] * 512
    one = simulate_step(NpuPimConfig(sub_batch_min=1 << 20), sh, seqs, layers=4)
    two = simulate_step(NpuPimConfig(), sh, seqs, layers=4)
    assert two.cycles < one.cycles
    ser = simulate_step(NpuPimConfig(dual_row_buffer=False), sh, seqs, layers=4)
    assert ser.cycles > two.cycles and ser.switches > 0


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("kw,msg", [
    (dict(schedule="gpu"), "schedule: must be one of 'neupims', 'naive', 'npu-only', not 'gpu'"),
    (dict(npu_rows=0), "npu_rows: must be >= 1, not 0"),
    (dict(pim_mac_lanes=12), "pim_mac_lanes: must be a power of two, not 12"),
    (dict(npu_freq_mhz=-1.0), "npu_freq_mhz: must be a positive number, not -1.0"),
])
def test_config_errors(kw, msg):
    with pytest.raises(ConfigError) as e:
        NpuPimConfig(**kw)
    assert str(e.value) == msg


def test_capacity_and_step_errors():
    from hwsim.families.npu_pim.runner import decode_report

    with pytest.raises(ConfigError, match="^batch: KV caches and weights need"):
        decode_report(NpuPimConfig(), Shard.of("gpt3-13b", tp=1), [2048] * 512, "model")
    with pytest.raises(ConfigError, match="^batch: a decode step needs"):
        simulate_step(NpuPimConfig(), Shard.of("gpt3-7b"), [])
    with pytest.raises(ConfigError, match="^tp: must divide"):
        Shard.of("gpt3-13b", tp=3)


# ------------------------------------------------------------------ golden
def test_golden_decode_matches_float_reference():
    from hwsim.families.npu_pim.golden import golden_decode, golden_gemm

    rng = np.random.default_rng(3)
    h16 = lambda *s: (rng.standard_normal(s) / np.sqrt(s[0])).astype(np.float16)
    a, b = h16(3, 40), h16(40, 6)
    got = golden_gemm(a.view(np.uint16), b.view(np.uint16)).view(np.float16).astype(np.float64)
    ref = a.astype(np.float64) @ b.astype(np.float64)
    assert np.abs(got - ref).max() <= 2 ** -10 * np.abs(ref).max() + 1e-6
    d, f, heads = 8, 16, 2
    layers = [dict(wqkv=h16(d, 3 * d).view(np.uint16), wo=h16(d, d).view(np.uint16),
                   w1=h16(d, f).view(np.uint16), w2=h16(f, d).view(np.uint16)) for _ in range(2)]
    kc = [[h16(2, d).view(np.uint16), h16(4, d).view(np.uint16)] for _ in range(2)]
    vc = [[h16(2, d).view(np.uint16), h16(4, d).view(np.uint16)] for _ in range(2)]
    x = h16(2, d).view(np.uint16)
    pim = tiny_cfg("neupims").pim
    kc64 = [[k.view(np.float16).astype(np.float64) for k in c] for c in kc]
    vc64 = [[v.view(np.float16).astype(np.float64) for v in c] for c in vc]
    out = golden_decode(pim, x, layers, kc, vc, heads).view(np.float16).astype(np.float64)
    assert kc[0][0].shape == (3, d) and vc[1][1].shape == (5, d)      # caches grew by one token
    # float64 reference of the same step
    h = x.view(np.float16).astype(np.float64)
    ln = lambda z: (z - z.mean(-1, keepdims=True)) / np.sqrt(z.var(-1, keepdims=True) + 1e-5)
    for li, w in enumerate(layers):
        W = {k: v.view(np.float16).astype(np.float64) for k, v in w.items()}
        qkv = ln(h) @ W["wqkv"]
        ctx = np.zeros((2, d))
        for r in range(2):
            K = np.vstack([kc64[li][r], qkv[r, d:2 * d]])
            V = np.vstack([vc64[li][r], qkv[r, 2 * d:]])
            for hh in range(heads):
                sl = slice(hh * 4, hh * 4 + 4)
                s = K[:, sl] @ qkv[r, sl] / 2.0
                p = np.exp(s - s.max()); p /= p.sum()
                ctx[r, sl] = p @ V[:, sl]
        h = h + ctx @ W["wo"]
        u = ln(h) @ W["w1"]
        g = 0.5 * u * (1 + np.tanh(np.sqrt(2 / np.pi) * (u + 0.044715 * u ** 3)))
        h = h + g @ W["w2"]
    assert np.abs(out - h).max() < 0.02 * max(1.0, np.abs(h).max())


# ------------------------------------------------------------------ serving
def test_serving_small_run():
    from hwsim.families.npu_pim.serving import request_stream, serve

    sh = Shard.of("gpt3-7b")
    stream = request_stream(6, "8:5!", 0, 2048)
    r = serve(NpuPimConfig(), sh, stream, batch=4)
    s = r.summary()
    assert s["tokens"] == 6 * 5
    assert len(r.latencies_s) == 30
    # 4 admitted, 4 iterations to finish them, then 2 more for 5 iterations
    assert s["iterations"] == 5 + 5
    assert 0 < s["npu_utilization"] < 1 and 0 < s["pim_utilization"] < 1
    assert s["energy_per_token_uj_by_engine"]["PIM"] > 0
    assert s["latency_per_token_ms_p99"] >= s["latency_per_token_ms_mean"]
    a = request_stream(50, "sharegpt", 1, 2048)
    assert a == request_stream(50, "sharegpt", 1, 2048) and a != request_stream(50, "sharegpt", 2, 2048)
    with pytest.raises(ConfigError, match="^--lengths: must be sharegpt"):
        request_stream(2, "long", 0, 2048)


def test_serving_with_poisson_arrivals():
    """A request arriving after the others finished waits for nothing: its first token
    comes one prefill after its arrival, and the run ends later than that arrival."""
    from hwsim.families.npu_pim.serving import arrival_times, serve

    sh = Shard.of("gpt3-7b")
    r = serve(NpuPimConfig(), sh, [(8, 3), (8, 3)], batch=4, arrivals=[0.0, 5.0])
    assert r.seconds > 5.0 and r.tokens == 6
    assert r.latencies_s[0] == pytest.approx(r.latencies_s[3], rel=1e-9) and r.latencies_s[0] < 0.01
    a = arrival_times(100, 50.0, 3)
    assert a == sorted(a) and 1.0 < a[-1] < 3.0 and arrival_times(3, 0, 1) == [0.0] * 3
    with pytest.raises(ConfigError, match="^rate: must be a non-negative"):
        arrival_times(3, -1.0, 0)


# ------------------------------------------------------------------ CLI
def test_cli_decode_and_errors(capsys):
    from hwsim.cli import main

    base = ["run", "npu-pim", "--model", "gpt3-7b", "--phase", "decode", "--batch", "8", "--context", "64"]
    assert main(base + ["--layers", "3", "--schedule", "naive", "--fidelity", "event", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["mode"] == "event" and d["design"]["schedule"] == "naive" and d["tokens"] == 8
    s = d["system"]
    assert s["schedule"] == "naive" and s["batch"] == 8 and s["layers_simulated"] == 3
    assert s["cycles"] == d["cycles"]          # the record and the report time the same step
    assert main(base + ["--layers", "3", "--compare"]) == 0
    assert "neupims_vs_npu_only" in capsys.readouterr().out
    assert main(base + ["--serve", "--requests", "3", "--lengths", "4:2!", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["serving"]["tokens"] == 6
    for argv, msg in ((["--npu-rows", "0"], "--npu-rows: must be >= 1, not 0"),
                      (["--layers", "2"], "--layers: must be >= 3"),
                      (["--fidelity", "rtl"], "--fidelity: must be one of 'closed', 'event'"),
                      (["--serve", "--lengths", "x"], "--lengths: must be sharegpt"),
                      (["--plot", "a.png"], "--plot: applies to --serve")):
        assert main(base + argv) == 2
        assert msg in capsys.readouterr().err
    assert main(["run", "npu-pim", "--gemm", "8x8x8", "--compare"]) == 2
    assert "--compare: needs a model decode workload" in capsys.readouterr().err


def test_energy_by_engine_and_command_class():
    """Each class is its count times one figure: FP16 MAC = Horowitz fp16 mult 1.1 + add 0.4
    pJ; COMP = 4 RD and G_ACT = 4 ACT of the HBM2 preset (NewtonSim); NPU reads one RD per
    64-byte transaction and one ACT per 1 KiB page."""
    from hwsim.families.npu_pim.energy import energy_pj, npu_dram_counts, per_action

    cfg = NpuPimConfig()
    e = per_action(cfg)
    assert e["npu:mac"].value == pytest.approx(1.5)
    assert e["pim:COMP"].value == pytest.approx(4 * e["dram:RD"].value)
    assert e["pim:G_ACT"].value == pytest.approx(4 * e["dram:ACT"].value)
    assert npu_dram_counts(cfg, 4096, 64) == {"dram:RD": 64, "dram:WR": 1, "dram:ACT": 5}
    r = simulate_step(cfg, Shard.of("gpt3-7b"), [100, 300], layers=4)
    got = energy_pj(cfg, r.counts(cfg))
    assert got["pim:COMP"] == pytest.approx(r.pim_commands["COMP"] * e["pim:COMP"].value)
    assert got["npu:mac"] == pytest.approx(r.npu_macs * 1.5)
    assert got["pim:PRE"] == 0.0 and r.pim_commands["PRE"] > 0   # precharge energy is inside ACT
