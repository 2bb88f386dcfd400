"""Run ZigZag's mapping search on a systolic array (the external oracle of the mapper).

ZigZag (``zigzag-dse`` 3.9.1, KU Leuven) searches temporal mappings (loop order and
blocking over a memory hierarchy) with its LOMA engine and prices them with its own
latency and energy model. It is used only by a benchmark and by the pinned figures in
``data/zigzag_mapper.json`` (which the tests diff against; no test needs ZigZag).

The hierarchy handed to ZigZag is the one the mapper assumes
(:mod:`hwsim.families.systolic.mapping`):

* DRAM, one read/write port of ``dram_bw_bytes_per_cycle`` bytes per cycle, shared by
  all three operands, energy per byte from the design's own cost components;
* three SRAM buffers (``ifmap`` for A, ``filter`` for B, ``ofmap`` for C and its partial
  sums), each of the design's size, **double-buffered** (ZigZag's
  ``force_double_buffering``: a tile may use half the buffer, as in hwsim), ports as wide
  as the array consumes per cycle and energies per access from the cost components;
* one register per PE for the stationary operand (B in ``ws``, C in ``os``);
* the array's spatial unrolling fixed to the dataflow (``ws``: K on rows, N on columns;
  ``os``: M on rows, N on columns): only the temporal mapping is searched.

ZigZag lives in its own virtual environment: ``HWSIM_ZIGZAG_PYTHON`` may name the Python
of an existing one (e.g. a venv that has ``zigzag-dse==3.9.1`` and ``six``); otherwise one
is created under the hwsim cache from PyPI on first use.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from hwsim.cache import cache_root
from hwsim.families.systolic.config import SystolicConfig

log = logging.getLogger(__name__)

#: What the oracle environment installs (ZigZag does not declare its ``six`` dependency).
ZIGZAG_SPEC = ["zigzag-dse==3.9.1", "six"]
ENV_PYTHON = "HWSIM_ZIGZAG_PYTHON"


#: The comparison of the mapper with ZigZag: Llama-2-7B layer GEMMs (prefill of 512
#: tokens, decode of one; ``hwsim.workloads.graph``) on a 32x32 INT8 array with 64 KiB
#: buffers and 32 B/cycle of DRAM, weight and output stationary.
DESIGN = dict(rows=32, cols=32, a_bits=8, b_bits=8, acc_bits=32, ifmap_sram_kb=64, filter_sram_kb=64,
              ofmap_sram_kb=64, dram_bw_bytes_per_cycle=32.0)
#: ``(name, M, K, N)`` of the compared GEMMs (distinct shapes of one layer).
GEMMS = (
    ("prefill q/k/v/o_proj", 512, 4096, 4096),
    ("prefill ffn_gate/up", 512, 4096, 11008),
    ("prefill ffn_down", 512, 11008, 4096),
    ("prefill attn_score", 512, 128, 512),
    ("decode q/k/v/o_proj", 1, 4096, 4096),
    ("decode ffn_gate/up", 1, 4096, 11008),
    ("decode ffn_down", 1, 11008, 4096),
)
DATAFLOWS = ("ws", "os")
#: Pinned results of :func:`run_zigzag` on every case (``benchmarks/bench_mapper_zigzag.py --zigzag``).
PINNED = Path(__file__).parent / "data" / "zigzag_mapper.json"


def cases():
    """``(name, dataflow, m, k, n)`` of every compared case."""
    return [(name, df, m, k, n) for name, m, k, n in GEMMS for df in DATAFLOWS]


def design(dataflow: str, **kw) -> SystolicConfig:
    return SystolicConfig(**DESIGN, dataflow=dataflow, **kw)


def load_pinned() -> dict:
    """``{"meta": ..., "cases": [{name, dataflow, m, k, n, cycles, dram_bytes, ...}]}``."""
    return json.loads(PINNED.read_text())


def venv_python() -> Path:
    """Python of the ZigZag environment (``$HWSIM_ZIGZAG_PYTHON`` or a cached venv)."""
    env = os.environ.get(ENV_PYTHON)
    if env:
        return Path(env)
    venv = cache_root() / "zigzag-venv"
    py = venv / "bin" / "python"
    marker = venv / ".hwsim_ready"
    if not marker.exists():
        log.info("creating ZigZag environment in %s", venv)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *ZIGZAG_SPEC], check=True)
        marker.write_text("ok\n")
    return py


def unit_energies(cfg: SystolicConfig, node_nm: int = 45) -> dict:
    """Energies (pJ) ZigZag is given: per MAC, per buffer access at the buffer's port
    width, per DRAM access of the DRAM port's width; all from the design's components."""
    from hwsim.cost.tech import load_tech
    from hwsim.families.systolic.cost import port_widths, systolic_design

    tech = load_tech(node_nm)
    design = systolic_design(cfg)
    w = port_widths(cfg)
    out = {"mac": design.component("pe_array").action_energy("mac", tech).value}
    for buf in ("ifmap", "filter", "ofmap"):
        c = design.component(buf)
        out[buf] = {"read": c.action_energy("read", tech).value, "write": c.action_energy("write", tech).value,
                    "width_bits": w[buf]}
    dram = design.component("dram")
    port = int(cfg.dram_bw_bytes_per_cycle * 8)
    out["dram"] = {"read": dram.action_energy("read_bytes", tech).value * port / 8,
                   "write": dram.action_energy("write_bytes", tech).value * port / 8, "width_bits": port}
    reg = design.component("pe_array").action_energy("reg_write_bits", tech).value
    out["reg_bit"] = reg
    return out


def _port(name, kind, bw, alloc):
    return {"name": name, "type": kind, "bandwidth_min": bw, "bandwidth_max": bw, "allocation": alloc}


def accelerator_yaml(cfg: SystolicConfig, energies: dict) -> dict:
    """The ZigZag accelerator description of ``cfg`` (see the module docstring)."""
    stationary = {"ws": ("I2", cfg.b_bits), "os": ("O", cfg.acc_bits)}[cfg.dataflow]
    op, bits = stationary
    rd_alloc = [f"{op}, tl"] + ([f"{op}, th"] if op == "O" else [])
    wr_alloc = [f"{op}, fh"] + ([f"{op}, fl"] if op == "O" else [])
    mems = {
        "pe_reg": {
            "size": bits, "r_cost": 0.0, "w_cost": energies["reg_bit"] * bits, "area": 0, "latency": 1,
            "auto_cost_extraction": False, "operands": [op],
            "ports": [_port("r_port_1", "read", bits, rd_alloc), _port("w_port_1", "write", bits, wr_alloc)],
            "served_dimensions": [],
        },
    }
    for buf, opnd, size_kb in (("ifmap", "I1", cfg.ifmap_sram_kb), ("filter", "I2", cfg.filter_sram_kb),
                               ("ofmap", "O", cfg.ofmap_sram_kb)):
        e = energies[buf]
        # wide ports: the buffers never limit the array, DRAM does
        bw = max(e["width_bits"], 2048)
        if opnd == "O":
            ports = [_port("r_port_1", "read", bw, ["O, tl", "O, th"]),
                     _port("w_port_1", "write", bw, ["O, fh", "O, fl"])]
        else:
            ports = [_port("r_port_1", "read", bw, [f"{opnd}, tl"]),
                     _port("w_port_1", "write", bw, [f"{opnd}, fh"])]
        mems[buf] = {
            "size": size_kb * 1024 * 8,
            # energies per access of the buffer's own width, scaled to ZigZag's wide port
            "r_cost": e["read"] * bw / e["width_bits"], "w_cost": e["write"] * bw / e["width_bits"],
            "area": 0, "latency": 1, "operands": [opnd], "ports": ports,
            "served_dimensions": ["D1", "D2"], "force_double_buffering": True,
        }
    d = energies["dram"]
    mems["dram"] = {
        "size": 10**12, "r_cost": d["read"], "w_cost": d["write"], "area": 0, "latency": 1,
        "operands": ["I1", "I2", "O"],
        "ports": [_port("rw_port_1", "read_write", d["width_bits"],
                        ["I1, fh", "I1, tl", "I2, fh", "I2, tl", "O, fh", "O, tl", "O, fl", "O, th"])],
        "served_dimensions": ["D1", "D2"],
    }
    return {
        "name": f"hwsim_systolic_{cfg.dataflow}_{cfg.rows}x{cfg.cols}",
        "memories": mems,
        "operational_array": {"input_precision": [cfg.a_bits, cfg.b_bits], "unit_energy": energies["mac"],
                              "unit_area": 1, "dimensions": ["D1", "D2"], "sizes": [cfg.rows, cfg.cols]},
    }


def workload_yaml(cfg: SystolicConfig, m: int, k: int, n: int) -> list:
    return [{
        "id": 0, "name": "gemm", "operator_type": "Gemm",
        "equation": "O[m][n]+=I[m][k]*W[k][n]",
        "loop_dims": ["M", "N", "K"], "loop_sizes": [m, n, k],
        "operand_precision": {"I": cfg.a_bits, "W": cfg.b_bits, "O": cfg.acc_bits, "O_final": cfg.acc_bits},
        "operand_source": {"I": 0, "W": 0},
    }]


def mapping_yaml(cfg: SystolicConfig) -> list:
    rows_dim = {"ws": "K", "os": "M"}[cfg.dataflow]
    return [{"name": "default",
             "spatial_mapping": {"D1": [f"{rows_dim}, {cfg.rows}"], "D2": [f"N, {cfg.cols}"]},
             "memory_operand_links": {"O": "O", "W": "I2", "I": "I1"}}]


_DRIVER = r'''
import json, logging, sys, time
logging.disable(logging.CRITICAL)
from zigzag.api import get_hardware_performance_zigzag
from zigzag.datatypes import LayerOperand
from zigzag.hardware.architecture.memory_port import DataDirection
from zigzag.mapping.data_movement import DataMoveAttr

job = json.load(open(sys.argv[1]))
d = sys.argv[2]
for name in ("accelerator", "workload", "mapping"):
    json.dump(job[name], open(f"{d}/{name}.yaml", "w"))  # JSON is YAML
t0 = time.perf_counter()
energy, latency, cmes = get_hardware_performance_zigzag(
    f"{d}/workload.yaml", f"{d}/accelerator.yaml", f"{d}/mapping.yaml", opt=job["opt"],
    dump_folder=f"{d}/out", lpf_limit=job["lpf_limit"], loma_show_progress_bar=False)
wall = time.perf_counter() - t0
cme = cmes[0][1][0][0]
top = {}
for opnd in ("I", "W", "O"):
    lo = LayerOperand(opnd)
    mv = cme.mapping.unit_mem_data_movement[lo][-1]
    cnt = mv.get_attribute(DataMoveAttr.DATA_ELEM_MOVE_COUNT)
    prec = mv.get_attribute(DataMoveAttr.DATA_PRECISION)
    top[opnd] = {k.value: int(cnt.get(k)) * int(prec.get(k)) // 8 for k in DataDirection}
tm = cme.temporal_mapping
order = [[str(dim), float(size)] for lvl in tm.mapping_dic_origin[LayerOperand("O")] for dim, size in lvl]
json.dump({"cycles": float(latency), "energy_pj": float(energy), "wall_s": wall, "dram": top,
           "ideal_cycles": float(cme.ideal_temporal_cycle), "temporal_mapping": str(tm),
           "loops_o": order}, sys.stdout)
'''


def run_zigzag(cfg: SystolicConfig, m: int, k: int, n: int, opt: str = "latency", lpf_limit: int = 6) -> dict:
    """ZigZag's best mapping of ``C[m,n] = A[m,k] B[k,n]`` on ``cfg`` under ``opt``.

    Returns ``cycles`` (its ``latency_total2``), ``energy_pj``, ``dram_bytes`` (A and B
    read, C written plus any partial sums read back and written again), ``wall_s`` (its
    search and evaluation, in its own process) and the temporal mapping found.
    """
    job = {"accelerator": accelerator_yaml(cfg, unit_energies(cfg)), "workload": workload_yaml(cfg, m, k, n),
           "mapping": mapping_yaml(cfg), "opt": opt, "lpf_limit": lpf_limit}
    with tempfile.TemporaryDirectory(prefix="hwsim-zigzag-") as d:
        (Path(d) / "job.json").write_text(json.dumps(job))
        (Path(d) / "driver.py").write_text(_DRIVER)
        res = subprocess.run([str(venv_python()), str(Path(d) / "driver.py"), str(Path(d) / "job.json"), d],
                             capture_output=True, text=True, cwd=d)
        if res.returncode != 0:
            raise RuntimeError(f"ZigZag failed on {m}x{k}x{n} {cfg.dataflow}:\n{res.stderr[-3000:]}")
        out = json.loads(res.stdout)
    dr = out["dram"]
    # top level: inputs are read towards the buffers; outputs are written up by the buffer
    # (finals and spilled partial sums) and partial sums read back down
    reads = dr["I"]["rd_out_to_low"] + dr["W"]["rd_out_to_low"] + dr["O"]["rd_out_to_low"]
    writes = dr["O"]["wr_in_by_low"]
    out["dram_bytes"] = int(reads + writes)
    out["dram_read_bytes"], out["dram_write_bytes"] = int(reads), int(writes)
    return out


__all__ = ["DATAFLOWS", "DESIGN", "GEMMS", "PINNED", "cases", "design", "load_pinned", "ENV_PYTHON", "ZIGZAG_SPEC", "accelerator_yaml", "mapping_yaml", "run_zigzag", "unit_energies",
           "venv_python", "workload_yaml"]
