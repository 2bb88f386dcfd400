"""The SAIL study section of a report: CPU + SRAM LUT-GEMV units vs the CPU alone.

From stored records of ``sweeps/sail.toml`` (workloads named ``<model>/decode/b<batch>``)
and the CPU baseline (:mod:`.cpu`, a Neoverse-N1 roofline running llama.cpp's
dequantising kernel and T-MAC's LUT kernel on the same weight GEMMs), beside the
paper's published claims (:data:`PAPER_CLAIMS`). Pattern-reuse savings come from record
pairs with reuse on and off (closed form: random activation bits); the numerical error of
each precision from MiniLM's real GEMMs (:func:`.patterns.precision_error`); both MiniLM
measurements are pinned in ``data/measured.json`` (the family's tests re-measure them).
"""

from __future__ import annotations

import re

#: SAIL (arXiv 2509.25853v1) abstract, via /work/shared/reference/FAMILIES.md section C.
PAPER_CLAIMS = (
    {"claim": "speed-up over an ARM Neoverse-N1 CPU (tokens/s)", "value": "up to 10.7x"},
    {"claim": "tokens per dollar over the Neoverse-N1 CPU", "value": "19.9x"},
    {"claim": "cycles saved by the pattern-aware LUT", "value": "13.8 %"},
    {"claim": "hardware overhead", "value": "2 % area, one new instruction"},
)
_WL = re.compile(r"^(?P<model>[^/]+)/decode/b(?P<batch>\d+)$")


def _measured() -> dict:
    """Pinned measurements on MiniLM (``data/measured.json``; tests re-measure and diff)."""
    import json
    from importlib import resources

    return json.loads(resources.files("hwsim.families.sram_gemv").joinpath("data", "measured.json").read_text())


def _errors(bits) -> dict:
    sq = _measured()["sqnr_db"]
    return {b: float(sq.get(str(b), float("nan"))) for b in bits}


def _measured_reuse() -> str:
    """Cycle savings measured on MiniLM's activations and on random codes (A8, N = 4)."""
    parts = [f"batch {v}: real {100 * r['real']['cycle_saving']:.1f} %, random "
             f"{100 * r['random']['cycle_saving']:.1f} %" for v, r in _measured()["reuse"].items()]
    return "cycle-level model on MiniLM activations vs random codes (data/measured.json), " + "; ".join(parts)


def _area_text() -> str:
    """The pinned synthesis figures (``data/area.json``) on each basis (:func:`.synth.overhead_bases`)."""
    from hwsim.families.sram_gemv.synth import overhead_bases

    o = overhead_bases()
    arr = ", ".join(f"{100 * v:.0f} % at batch {b}" for b, v in o["per_array"].items())
    llc = ", ".join(f"{100 * v:.1f} % at batch {b}" for b, v in o["per_llc_slice"].items())
    return (f"per LLC slice (the arrays are cache capacity doing double duty, so only their logic is "
            f"added): {100 * o['per_llc_slice_in_array_acc']:.1f} % with the accumulation in the SRAM rows "
            f"(batch-independent logic only), {llc} with accumulators in flip-flops; over the 8 KiB array "
            f"alone: {arr} (Yosys on the project's 45 nm cells, CACTI 45 nm SRAM; data/area.json)")


def _reuse_match_text() -> str:
    """Where the paper's 13.8 % falls in the closed form (random bits, A8)."""
    from hwsim.families.sram_gemv.config import SramGemvConfig
    from hwsim.families.sram_gemv.patterns import expected_saving

    parts = [f"N = {n}, batch {b}: {100 * expected_saving(SramGemvConfig(group_size=n, vectors=b)):.1f} %"
             for n, b in ((4, 4), (4, 8), (6, 16), (6, 32), (8, 32))]
    return ("the saving grows with the batch and falls with the group size N, neither of which the "
            "abstract states (closed form, random bits: " + "; ".join(parts) + ")")


def _savings_text(savings) -> str:
    got = [x for x in savings if x == x]
    if not got:
        return "no reuse on/off pairs in the records"
    return (f"{100 * min(got):.1f} .. {100 * max(got):.1f} % over the records (closed form, random "
            "activation bits)")


def sail_items(df, Item) -> list:
    from hwsim.families.sram_gemv import cpu

    need = {"workload", "design.w_bits", "design.pattern_reuse", "tokens_per_s", "energy_per_token_pj"}
    if not need <= set(df.columns):
        return []
    d = df[df["workload"].map(lambda w: bool(_WL.match(str(w))))]
    if d.empty:
        return []
    n1 = cpu.CPUS["neoverse-n1"]
    errs = _errors(sorted(set(int(b) for b in d["design.w_bits"])))
    rows = [["model", "batch", "W bits", "SQNR dB (MiniLM)", "units tok/s", "CPU llama.cpp tok/s",
             "CPU T-MAC tok/s", "speed-up vs llama.cpp", "speed-up vs T-MAC", "CPU bound (llama.cpp)",
             "units mJ/token", "CPU llama.cpp mJ/token", "reuse cycle saving"]]
    best = best_lut = 0.0
    savings = []
    for (wl, wb), g in sorted(d.groupby(["workload", "design.w_bits"]), key=lambda x: x[0]):
        m = _WL.match(wl)
        model, batch, wb = m["model"], int(m["batch"]), int(wb)
        by = {bool(r["design.pattern_reuse"]): r for _, r in g.iterrows()}
        on = by.get(True, by.get(False))
        cpu_dq = cpu.tokens_per_s(n1, "dequant", wb, model, batch)
        cpu_lut = cpu.tokens_per_s(n1, "lut", wb, model, batch)
        e_cpu = cpu.energy_per_token_j(n1, "dequant", wb, model, batch)
        saving = (1 - by[True]["compute_cycles"] / by[False]["compute_cycles"]) if len(by) == 2 else float("nan")
        savings.append(saving)
        sp = on["tokens_per_s"] / cpu_dq
        best = max(best, sp)
        best_lut = max(best_lut, on["tokens_per_s"] / cpu_lut)
        rows.append([model, batch, wb, f"{errs[wb]:.1f}", f"{on['tokens_per_s']:.1f}", f"{cpu_dq:.1f}",
                     f"{cpu_lut:.1f}", f"{sp:.2f}", f"{on['tokens_per_s'] / cpu_lut:.2f}",
                     cpu.bound(n1, "dequant", wb, model, batch),
                     f"{on['energy_per_token_pj'] / 1e9:.1f}", f"{e_cpu * 1e3:.1f}",
                     f"{100 * saving:.1f} %"])
    rows.sort(key=lambda r: (r[0], r[1], r[2]) if isinstance(r[1], int) else ("",))
    claims = [["claim", "paper", "ours"],
              [PAPER_CLAIMS[0]["claim"], PAPER_CLAIMS[0]["value"],
               f"up to {best:.1f}x vs llama.cpp's kernel, up to {best_lut:.1f}x vs T-MAC's (64 cores, "
               f"{n1.sustained_gb_s:g} GB/s measured; the paper's CPU configuration is not public)"],
              [PAPER_CLAIMS[2]["claim"], PAPER_CLAIMS[2]["value"],
               _savings_text(savings) + f"; {_measured_reuse()}; {_reuse_match_text()}"],
              [PAPER_CLAIMS[1]["claim"], PAPER_CLAIMS[1]["value"], "not modelled (no prices)"],
              [PAPER_CLAIMS[3]["claim"], PAPER_CLAIMS[3]["value"], _area_text()]]
    prov = {"records": len(d), "cpu": f"hwsim.families.sram_gemv.cpu ({n1.name}: {n1.source}; kernel constants "
            "fitted to T-MAC's 32 published Llama-2-7B tokens/s, all within 25 %, data/cpu_calibration.json)",
            "paper": "hwsim.families.sram_gemv.study.PAPER_CLAIMS (SAIL abstract)",
            "error": "hwsim.families.sram_gemv.patterns.precision_error (pinned in data/measured.json)"}
    return [Item("sail", "SRAM LUT-GEMV units vs the CPU alone (decode weight GEMMs)",
                 "Tokens/s and energy per token of the units (records) beside a 64-core Neoverse-N1 CPU "
                 "(Graviton2) running the same weight GEMMs with llama.cpp's dequantising kernel and with "
                 "T-MAC's LUT kernel (roofline per GEMM: measured per-core and all-core DRAM bandwidth, SIMD "
                 "issue with fitted instructions per weight), the cycles pattern reuse saves, and the error of "
                 "each weight precision (SQNR on MiniLM's real GEMMs) beside its speed.",
                 prov, table=rows),
            Item("sail-paper", "The SAIL paper's claims beside ours", "Headline claims as published; ours "
                 "with the basis each is measured on.",
                 {"source": "hwsim.families.sram_gemv.study.PAPER_CLAIMS"}, table=claims),
            _cpu_check_item(Item)]


def _cpu_check_item(Item):
    """The CPU baseline against every published point it is fitted to, with the error of
    the fit and the error when the point is left out of the fit (pinned)."""
    import json
    from importlib import resources

    from hwsim.families.sram_gemv import cpu

    pinned = json.loads(resources.files("hwsim.families.sram_gemv").joinpath("data", cpu.CALIBRATION_FILE)
                        .read_text())
    loo = pinned.get("leave_one_out_errors") or [float("nan")] * len(pinned["points"])
    rows = [["machine", "threads", "program", "W bits", "published tok/s", "model tok/s", "error",
             "error, point left out of the fit", "bound"]]
    for e, lo in zip(cpu.errors(), loo):
        dev = cpu.CPUS[e["device"]]
        rows.append([dev.name, e["threads"], "llama.cpp" if e["kernel"] == "dequant" else "T-MAC", e["w_bits"],
                     f"{e['tokens_per_s']:.2f}", f"{e['model_tokens_per_s']:.2f}", f"{100 * e['error']:+.1f} %",
                     f"{100 * lo:+.1f} %",
                     cpu.bound(dev, e["kernel"], e["w_bits"], "llama-2-7b", 1, e["threads"])])
    return Item("sail-cpu", "The CPU baseline against T-MAC's published tokens/s",
                "Every Llama-2-7B W2/W4 decode point of T-MAC's profiling table beside the CPU model "
                "(hwsim.families.sram_gemv.cpu) that the study's Neoverse-N1 baseline uses.",
                {"source": pinned["source"], "fit": pinned["fit"]}, table=rows)


STUDIES = {"sail": sail_items}
