"""Pinned activity calibrations: measured factors on table energies, with their runs.

The table-based energy of a systolic array (``energy_from_actions``) is calibrated
against gate-level activity (:mod:`hwsim.eda.activity`): the generated RTL is
synthesised onto the project's cell library, simulated under Verilator on LLM-like INT8
GEMMs, and its toggles are priced with the cells' switching energies. The ratio
(activity / table) per component is pinned in ``hwsim/families/systolic/data/calibration.json``
with the run that produced it; records that use it name that run as the source of the
number. ``tests/test_calibration.py`` re-measures the OS factors and diffs them against
the pinned file; ``python -m hwsim.families.systolic.calibration`` regenerates it.

The calibration runs on a 2x2 array (16x32x16 GEMMs); the factor is applied to arrays of
any size. The table charges control as the periphery's register bits
(:func:`hwsim.families.systolic.cost.systolic_control_bits`, growing with the square of the array's
sides), so the factors carry over. Pinned now (the PE is one shared Verilog module, so
Yosys no longer trims the edge PEs' unused forwarding logic per instance): control 1.39
(OS) / 4.13 (WS), PE array 3.88 / 2.25. Before the PE became a shared module the pinned
factors were 1.38 / 4.09 and 3.51 / 1.72, and a 4x4 re-measurement with the same stimulus
gave control 1.63 / 4.13 and PE array 3.77 / 2.07 (the drift with size). ``is`` uses the
``ws`` factors: it is the same machine with the operands' roles swapped.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from importlib import resources

from hwsim.cost.tech import Figure
from hwsim.errors import ConfigError

log = logging.getLogger(__name__)

#: What the pinned runs measure: array, GEMM shape, number of GEMMs, stimulus, seed.
CALIBRATION_RUN = {"rows": 2, "cols": 2, "shape": (16, 32, 16), "n_gemms": 2, "stimulus": "llm_int8", "seed": 0}
#: Components whose factors are applied.
PARTS = ("pe_array", "control")
#: Stalled-cycle factors (``"<part>/stall_cycle"``), measured by a second run of the same
#: GEMMs with operand gaps (:func:`measure_stall`).
STALL_PARTS = ("pe_array/stall_cycle", "control/stall_cycle")
#: Probability that the calibration's feeder leaves a cycle without an operand beat.
STALL_IN_GAP = 0.5
#: Dataflow whose calibration run each dataflow uses.
SOURCE_DATAFLOW = {"os": "os", "ws": "ws", "is": "ws"}


@lru_cache(maxsize=None)
def _pinned() -> dict:
    text = resources.files("hwsim.families.systolic").joinpath("data", "calibration.json").read_text()
    return json.loads(text)


def systolic_calibration(cfg) -> dict[str, Figure]:
    """``{part: Figure(factor, "x", source)}`` for ``cfg``'s dataflow (see module doc)."""
    df = SOURCE_DATAFLOW[cfg.dataflow]
    entry = _pinned()["dataflows"].get(df)
    if entry is None:
        raise ConfigError("dataflow", f"no pinned activity calibration for {df!r}")
    out = {}
    for part in PARTS + STALL_PARTS:
        if part not in entry and part in STALL_PARTS:
            continue
        c = entry[part]
        note = "" if df == cfg.dataflow else f" (the {df} run, applied to {cfg.dataflow})"
        out[part] = Figure(float(c["factor"]), "x", c["source"] + note)
    return out


def measure_stall(dataflow: str, rows: int = 2, cols: int = 2, in_gap: float = STALL_IN_GAP) -> dict:
    """Energy of a stalled cycle, gate-level against the table (``clock_gating="none"``).

    The calibration GEMMs (:data:`CALIBRATION_RUN`) run twice on the same netlist: as
    fast as the array takes them, and with the feeder missing an operand beat with
    probability ``in_gap`` (the array's clock enable drops, as when DRAM is late). The
    difference in activity energy of each part over the difference in stalled cycles is
    the measured energy of one stalled cycle; the table's is the components'
    ``stall_cycle`` action. Returns ``{"<part>/stall_cycle": {factor, measured_pj,
    table_pj, stall_cycles, source}}``; the ``ws``/``is`` accumulator memory is left out
    (the cost model prices it as an SRAM, which a stall does not clock).
    """
    from hwsim.cost.tech import load_tech
    from hwsim.families.systolic.activity import activity_report
    from hwsim.families.systolic.config import SystolicConfig
    from hwsim.families.systolic.cost import systolic_design

    r = CALIBRATION_RUN
    cfg = SystolicConfig(rows=rows, cols=cols, dataflow=dataflow)
    kw = dict(n_gemms=r["n_gemms"], seed=r["seed"], shape=tuple(r["shape"]), stimulus=r["stimulus"])
    base = activity_report(cfg, **kw)
    held = activity_report(cfg, **kw, backpressure={"in_gap": in_gap})
    for rep in (base, held):
        if not rep["outputs_match_golden"]:
            raise RuntimeError(f"stall calibration run of {dataflow} {rows}x{cols} is not bit exact")
    n = held["stall_cycles_rtl"] - base["stall_cycles_rtl"]
    if n <= 0 or held["cycles_rtl"] - base["cycles_rtl"] != n:
        raise RuntimeError(f"the run with operand gaps added {held['cycles_rtl'] - base['cycles_rtl']} cycles "
                           f"but {n} stalled cycles")
    design = systolic_design(cfg)
    tech = load_tech(45)
    out = {}
    for key in STALL_PARTS:
        part = key.split("/")[0]
        measured = (held["activity_pj_by_part"][part] - base["activity_pj_by_part"][part]) / n
        table = design.component(part).action_energy("stall_cycle", tech).value
        src = (f"activity: stalled cycles of {base['top']}, gate-level runs of netlist "
               f"{base['provenance']['netlist_run_id']} on {r['n_gemms']} {r['stimulus']} GEMMs "
               f"{'x'.join(map(str, r['shape']))} with and without in_gap={in_gap:g} ({n} stalled cycles): "
               f"{measured:.4f} pJ per stalled cycle against the table's {table:.4f} pJ")
        out[key] = {"family": "systolic", "part": key, "factor": measured / table, "measured_pj": measured,
                    "table_pj": table, "stall_cycles": n, "rows": rows, "cols": cols, "source": src}
    return out


def check_stall(dataflow: str, sizes=((4, 4), (8, 8))) -> dict:
    """The pinned 2x2 stall factors checked at larger arrays: ``{"RxC": {part: {measured_pj,
    predicted_pj, drift}}}`` with ``predicted = table x pinned factor`` and ``drift =
    measured / predicted - 1``."""
    from hwsim.families.systolic.config import SystolicConfig

    pinned = systolic_calibration(SystolicConfig(dataflow=dataflow))
    out = {}
    for rows, cols in sizes:
        m = measure_stall(dataflow, rows, cols)
        out[f"{rows}x{cols}"] = {k: {"measured_pj": v["measured_pj"], "predicted_pj": v["table_pj"] * pinned[k].value,
                                     "drift": v["measured_pj"] / (v["table_pj"] * pinned[k].value) - 1}
                                 for k, v in m.items()}
    return out


def measure_systolic(dataflow: str) -> dict:
    """Run the calibration for one dataflow (gate-level build + simulation)."""
    from hwsim.families.systolic.config import SystolicConfig
    from hwsim.families.systolic.activity import activity_report

    r = CALIBRATION_RUN
    cfg = SystolicConfig(rows=r["rows"], cols=r["cols"], dataflow=dataflow)
    rep = activity_report(cfg, n_gemms=r["n_gemms"], seed=r["seed"], shape=tuple(r["shape"]),
                          stimulus=r["stimulus"])
    if not rep["outputs_match_golden"] or rep["cycles_rtl"] != rep["cycles_model"]:
        raise RuntimeError(f"calibration run of {dataflow} is not bit/cycle exact; not pinning it")
    return {part: rep["calibration"][part] for part in PARTS}


def main() -> int:  # pragma: no cover - regenerates the pinned file by hand
    import pathlib

    logging.basicConfig(level=logging.INFO)
    out = {"version": 1, "run": CALIBRATION_RUN,
           "dataflows": {df: measure_systolic(df) for df in ("os", "ws")}}
    path = pathlib.Path(__file__).resolve().parent / "data" / "calibration.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
