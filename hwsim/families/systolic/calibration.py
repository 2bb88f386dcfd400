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
    for part in PARTS:
        c = entry[part]
        note = "" if df == cfg.dataflow else f" (the {df} run, applied to {cfg.dataflow})"
        out[part] = Figure(float(c["factor"]), "x", c["source"] + note)
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
