"""The NeuPIMs study: records of whole decode steps through the sweep's evaluation path,
the report section beside the paper's figures, and the spec on disk."""

from __future__ import annotations

import pathlib

import pandas as pd

from hwsim.evaluate import Point, Workload, evaluate
from hwsim.families import registry
from hwsim.report.html import Item
from hwsim.workloads.graph import build_workload

ROOT = pathlib.Path(__file__).resolve().parents[1]
VARIANTS = [dict(schedule="neupims"), dict(schedule="neupims", dual_row_buffer=False),
            dict(schedule="naive"), dict(schedule="npu-only")]


def _records(batch: int, mode: str = "event"):
    wl = build_workload("gpt3-7b", "decode", batch, context=228)
    w = Workload(f"gpt3-7b/decode/b{batch}/ctx228", tuple(wl.ops), tokens=batch, model="gpt3-7b",
                 phase="decode", batch=batch)
    return [evaluate(Point("npu-pim", v, w, mode=mode)) for v in VARIANTS]


def test_decode_step_records_come_from_the_scheduler():
    recs = _records(512)
    by = {(r.design["schedule"], r.design["dual_row_buffer"]): r for r in recs}
    neu, single = by[("neupims", True)], by[("neupims", False)]
    # one device of NeuPIMs' split (tp 4): a quarter of the weights per token
    assert neu.tokens == 512 and neu.estimator.endswith("[event]")
    assert neu.actions["dram_cmd:COMP"] > 0 and by[("npu-only", True)].actions.get("dram_cmd:COMP", 0) == 0
    # at batch 512 interleaving two sub-batches beats the blocked schedule, and dual row
    # buffers beat the single one
    assert neu.tokens_per_s > by[("naive", True)].tokens_per_s > by[("npu-only", True)].tokens_per_s
    assert neu.tokens_per_s > single.tokens_per_s
    closed = _records(512, mode="closed")
    for a, b in zip(recs, closed):
        assert abs(a.cycles / b.cycles - 1) < 0.08


def test_report_section_puts_the_paper_beside_ours():
    rows = []
    for batch in (64, 512):
        for r in _records(batch):
            d = r.to_dict()
            for k, v in r.design.items():
                d["design." + k] = v
            rows.append(d)
    items = registry()["npu-pim"].studies["neupims"](pd.DataFrame(rows), Item)
    assert [i.id for i in items] == ["neupims-points", "neupims-paper", "neupims-gap", "neupims-timeline"]
    assert items[3].png
    table = items[0].table
    assert len(table) == 3 and items[0].png
    paper = {r[0]: r for r in items[1].table[1:]}
    assert paper["throughput NeuPIMs / NPU-only"][1] == "2.4x"
    assert paper["dual row buffers alone"][1] == "+69.7%"
    assert float(paper["throughput NeuPIMs / NPU-only"][2].split("x")[0]) > 1


def test_study_spec_is_valid():
    from hwsim.sweep.spec import load_spec

    spec = load_spec(ROOT / "sweeps" / "neupims.toml")
    assert spec.family == "npu-pim"
    assert len(spec.workloads) == 12


def test_other_workloads_are_estimated_op_by_op():
    from hwsim.workloads.ops import GemmOp

    r = evaluate(Point("npu-pim", {}, Workload.from_gemms("g", [GemmOp(64, 512, 512)])))
    assert r.estimator == "hwsim.families.npu_pim.model[closed]"
    fam = registry()["npu-pim"]
    assert r.cycles == fam.estimate(fam.make_config({}), GemmOp(64, 512, 512)).cycles


def test_gated_models_fall_back_to_op_by_op():
    """The scheduler's layer is GPT-style: a SwiGLU model's decode step is estimated op by
    op (with per-op rows); a GPT-3 step is scheduled (ops overlap: no per-op rows)."""
    llama = build_workload("llama-2-7b", "decode", 4, context=64)
    w = Workload("l", tuple(llama.ops), tokens=4, model="llama-2-7b", phase="decode", batch=4)
    r = evaluate(Point("npu-pim", {}, w))
    assert r.estimator == "hwsim.families.npu_pim.model[closed]" and len(r.layers) == len(w.ops)
    gpt = _records(64, mode="closed")[0]
    assert gpt.estimator == "hwsim.families.npu_pim.model[closed]" and gpt.layers == []
