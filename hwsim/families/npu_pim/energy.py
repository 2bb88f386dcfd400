"""Energy of a decode step by engine and command class (a pure function of the counts).

* ``npu:mac`` -- one FP16 multiply plus one FP16 add per MAC (the cost tables' Horowitz
  45 nm ``fp16_mult`` and ``fp16_add``);
* ``npu:vector`` -- one FP16 add per vector-lane element op (same table);
* ``dram:RD`` / ``dram:WR`` / ``dram:ACT`` -- the NPU's streamed reads and writes: one
  read (write) command per transaction and one activate per page, at the HBM2 preset's
  per-command energies (DRAMsim3's IDD formula, :class:`hwsim.memory.config.DramConfig`);
* ``pim:<command>`` -- every PIM command at the PIM family's per-command energy
  (:func:`hwsim.families.pim.cost.command_energy`, NewtonSim's rules).

Background (standby) power is not charged, as in the PIM family.
"""

from __future__ import annotations

import math
from functools import lru_cache

from hwsim.cost.tech import Figure, load_tech


@lru_cache(maxsize=None)
def _tech():
    return load_tech(45)


def per_action(cfg) -> dict[str, Figure]:
    """``{action: Figure(pJ)}`` of every priced action of the system."""
    from hwsim.families.pim.cost import command_energy

    t = _tech()
    mul, _ = t.op("fp16_mult")
    add, _ = t.op("fp16_add")
    d = cfg.pim.dram
    out = {
        # FP16 SWITCH: once the systolic family prices FP16 PEs itself, take its MAC
        # energy here instead of the table's multiply + add.
        "npu:mac": Figure(mul.value + add.value, "pJ", f"fp16 mult [{mul.source}] + fp16 add [{add.source}]"),
        "npu:vector": add,
        "dram:RD": Figure(d.read_energy_pj, "pJ", f"{d.source}: RD (DRAMsim3 IDD formula), per transaction"),
        "dram:WR": Figure(d.write_energy_pj, "pJ", f"{d.source}: WR (DRAMsim3 IDD formula), per transaction"),
        "dram:ACT": Figure(d.act_energy_pj, "pJ", f"{d.source}: ACT (DRAMsim3 IDD formula), per page"),
    }
    for c, fig in command_energy(cfg.pim).items():
        out[f"pim:{c}"] = fig
    return out


def npu_dram_counts(cfg, read_bytes: int, write_bytes: int) -> dict:
    """Commands of the NPU's streamed traffic: transactions and one ACT per page."""
    req = cfg.pim.dram.request_size_bytes
    page = cfg.pim_page_bytes
    return {"dram:RD": math.ceil(read_bytes / req), "dram:WR": math.ceil(write_bytes / req),
            "dram:ACT": math.ceil((read_bytes + write_bytes) / page)}


def energy_pj(cfg, counts: dict) -> dict:
    """``{action: pJ}`` of ``counts`` (``{action: count}``)."""
    e = per_action(cfg)
    return {k: float(v) * e[k].value for k, v in counts.items() if v}
