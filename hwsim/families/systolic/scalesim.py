"""Run SCALE-Sim v3 (the external oracle for systolic-array compute cycles).

SCALE-Sim 3.0.0 needs ``numpy<2.4``, so it lives in its own virtual environment under
the hwsim cache (created on first use with ``pip``). It is only used by tests and
benchmarks, never by the models.
"""

from __future__ import annotations

import csv
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hwsim.families.systolic.config import SystolicConfig
from hwsim.cache import cache_root

log = logging.getLogger(__name__)

SCALESIM_SPEC = ["scalesim==3.0.0", "numpy<2.4"]

_CONFIG = """[general]
run_name = hwsim

[architecture_presets]
ArrayHeight:    {rows}
ArrayWidth:     {cols}
IfmapSramSzkB:    {ifmap}
FilterSramSzkB:   {filt}
OfmapSramSzkB:    {ofmap}
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Dataflow : {df}
Bandwidth : 10
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""


def venv_python() -> Path:
    """Python of the SCALE-Sim virtual environment, creating it if needed."""
    venv = cache_root() / "scalesim-venv"
    py = venv / "bin" / "python"
    marker = venv / ".hwsim_ready"
    if not marker.exists():
        log.info("creating SCALE-Sim environment in %s", venv)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *SCALESIM_SPEC], check=True)
        marker.write_text("ok\n")
    return py


def run_scalesim(cfg: SystolicConfig, m: int, k: int, n: int) -> dict:
    """Simulate ``C[m,n] = A[m,k] B[k,n]`` with SCALE-Sim; return its compute report.

    Returns a dict with ``compute_cycles`` (SCALE-Sim's "Total Cycles"),
    ``stall_cycles``, ``utilization`` (percent, as SCALE-Sim reports it) and
    ``wall_s``, the wall time of the SCALE-Sim process.
    """
    py = venv_python()
    with tempfile.TemporaryDirectory(prefix="hwsim-scalesim-") as d:
        d = Path(d)
        (d / "cfg.cfg").write_text(
            _CONFIG.format(rows=cfg.rows, cols=cfg.cols, ifmap=cfg.ifmap_sram_kb,
                           filt=cfg.filter_sram_kb, ofmap=cfg.ofmap_sram_kb, df=cfg.dataflow)
        )
        (d / "topo.csv").write_text(f"Layer, M, N, K,\ng0, {m}, {n}, {k},\n")
        (d / "layout.csv").write_text("Layer,\n")
        t0 = time.perf_counter()
        proc = subprocess.run(
            [str(py), "-m", "scalesim.scale", "-c", "cfg.cfg", "-t", "topo.csv", "-l", "layout.csv",
             "-p", "logs", "-i", "gemm"],
            cwd=d, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        wall = time.perf_counter() - t0
        reports = list((d / "logs").rglob("COMPUTE_REPORT.csv"))
        if proc.returncode != 0 or not reports:
            raise RuntimeError(f"SCALE-Sim failed ({proc.returncode}): {proc.stderr[-2000:] or proc.stdout[-2000:]}")
        with open(reports[0]) as fh:
            rows = [[c.strip() for c in r] for r in csv.reader(fh)]
        head, vals = rows[0], rows[1]
        rec = dict(zip(head, vals))
        total = rec["Total Cycles"]
        stall = next((v for h, v in rec.items() if h.lower().startswith("stall cycles")), "0")
        util = next((v for h, v in rec.items() if "compute util" in h.lower()), "nan")
        return {"compute_cycles": int(float(total)), "stall_cycles": int(float(stall)),
                "utilization_pct": float(util), "wall_s": wall, "report": rec}
