"""The mapper (:mod:`hwsim.mapping.engine`) on the LUT tensor core and its MAC baseline.

A mapped GEMM is a sequence of tile GEMMs, each one command of the core (its own
output-stationary order inside, cycles and actions from
:func:`~hwsim.families.lut.model.lut_counts` / :func:`~hwsim.families.lut.model.mac_counts`:
the table latency and output register are paid per command). Buffer tiles are whole
core tiles (``tile_m``, ``tile_k``, ``tile_n``) unless they cover the extent; A sits in
``act`` (``a_bits`` a value), the packed weight codes in ``weight`` (``w_bits``), C and
its K-split partial sums in ``out`` (``acc_bits``), each double-buffered. A K-split
partial sum is added into ``out`` with a read (``sram_read:out``, one access per core
output tile) before the write the core already counts.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np

from hwsim.families.base import Perf
from hwsim.families.lut.config import LutConfig
from hwsim.mapping.engine import Space, search
from hwsim.mapping.fields import mapping_dict


def _counts(cfg: LutConfig):
    from hwsim.families.lut.model import lut_counts, mac_counts

    return lut_counts if cfg.core == "lut" else mac_counts


def make_space(cfg: LutConfig, m: int, k: int, n: int, unit_energy=None) -> Space:
    counts = _counts(cfg)

    def tile_cost(tm, tk, tn, ex, actions=True):
        cyc, acts = counts(cfg, tm, tk, tn)
        out = {"compute_cycles": cyc}
        if actions:
            out.update({key: v + 0 * tm for key, v in acts.items()})
        return out

    a_bits = 8 * (cfg.a_bits // 8)
    return Space(m=np.array([m]), k=np.array([k]), n=np.array([n]), unit_m=cfg.tile_m, unit_k=cfg.tile_k,
                 unit_n=cfg.tile_n, bits_a=a_bits, bits_b=cfg.w_bits, bits_c=cfg.out_bits,
                 cap_a=cfg.act_sram_kb * 1024, cap_b=cfg.weight_sram_kb * 1024, cap_c=cfg.out_sram_kb * 1024,
                 bw=cfg.dram_bw_bytes_per_cycle, tile_cost=tile_cost, unit_energy=unit_energy)


@lru_cache(maxsize=1024)
def raw_energies(cfg: LutConfig) -> dict:
    """pJ per count of each raw model action of ``cfg.core`` (priced through
    :func:`~hwsim.families.lut.model.priced_actions`, which is linear in them), of each DRAM
    byte class, and per cycle."""
    from hwsim.cost.tech import load_tech
    from hwsim.families.lut.compare import cost_design
    from hwsim.families.lut.model import priced_actions
    from hwsim.mapping.energy import per_action

    per = per_action(cost_design(cfg), load_tech(45))
    _, acts = _counts(cfg)(cfg, 1, 1, 1)
    mode = cfg.core
    out = {}
    probes = {key: ({**dict.fromkeys(acts, 0), key: 1}, {}) for key in acts}
    probes.update({"psum_reads": ({**dict.fromkeys(acts, 0), "sram_read:out": 1}, {}),
                   "dram_read_a": (dict.fromkeys(acts, 0), {"A": 1}),
                   "dram_read_b": (dict.fromkeys(acts, 0), {"W": 1}),
                   "dram_read_c": (dict.fromkeys(acts, 0), {"C_psum": 1}),
                   "dram_write_c": (dict.fromkeys(acts, 0), {"C": 1})})
    for key, (a, d) in probes.items():
        pr = priced_actions(cfg, Perf(cycles=0, macs=0, utilization=0.0, actions=a, dram_bytes=d, mode=mode))
        out[key] = sum(per.get(name, 0.0) * v for name, v in pr.items())
    out["cycles"] = per["cycle"]
    return out


def estimate_searched(cfg: LutConfig, op) -> Perf:
    """:func:`hwsim.families.lut.model.estimate` with ``mapping="search"``."""
    from hwsim.families.lut.model import _shape, estimate, tiling

    m, k, n, count = _shape(op)
    fixed_cfg = replace(cfg, mapping="fixed")
    fixed = estimate(fixed_cfg, (m, k, n))
    core_out = tiling(cfg, m, 1, n)["tiles"]

    def energy_of(p):
        e = raw_energies(cfg)
        acts = sum(e[key] * v for key, v in p.actions.items())
        d = p.dram_bytes
        return acts + e["dram_read_a"] * d["A"] + e["dram_read_b"] * d["W"] + e["dram_write_c"] * d["C"] \
            + e["cycles"] * p.cycles

    def units(rows):
        e = raw_energies(cfg)
        u = {key: np.array([v]) for key, v in e.items()}
        # partial-sum reads are counted in elements by the engine, in core tiles here
        u["psum_reads"] = u["psum_reads"] / (cfg.tile_m * cfg.tile_n)
        return u

    space = make_space(cfg, m, k, n, unit_energy=units)
    choice = search(space, cfg.mapping_objective, {"cycles": np.array([fixed.cycles]),
                                                   "dram": np.array([fixed.total_dram_bytes]),
                                                   "energy": lambda rows: np.array([energy_of(fixed)])})
    if choice.fixed[0]:
        return estimate(fixed_cfg, op)
    tot = {key: int(np.asarray(v).reshape(-1)[0]) for key, v in choice.totals.items()}
    _, names = _counts(cfg)(cfg, 1, 1, 1)
    acts = {key: tot[key] for key in names}
    acts["sram_read:out"] = (tot["trips_k"] - 1) * core_out
    steps_act = acts["sram_read:act"]
    reads = {"act": steps_act, "weight": acts["sram_read:weight"], "out": acts["sram_read:out"]}
    dram = {"A": tot["dram_read_a"], "W": tot["dram_read_b"], "C": tot["dram_write_c"], "C_psum": tot["dram_read_c"]}
    cycles, comp = tot["cycles"], tot["compute_cycles"]
    macs = m * k * n
    return Perf(
        cycles=cycles * count, macs=macs * count, utilization=macs / (cycles * cfg.macs_per_cycle),
        sram_reads={key: v * count for key, v in reads.items()},
        sram_writes={"out": acts["sram_write:out"] * count},
        dram_bytes={key: v * count for key, v in dram.items()},
        actions={key: v * count for key, v in acts.items()},
        compute_cycles=comp * count, stall_cycles=(cycles - comp) * count, mode=cfg.core,
        folds=tot["tiles"] * count,
        mapping=mapping_dict(choice.order[0], choice.tile_m[0], choice.tile_k[0], choice.tile_n[0],
                             cfg.mapping_objective),
    )


__all__ = ["estimate_searched", "make_space", "raw_energies"]
