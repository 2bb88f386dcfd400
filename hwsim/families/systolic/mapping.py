"""The mapper (:mod:`hwsim.mapping.engine`) on a systolic array.

A mapped GEMM is a sequence of tile GEMMs, each one command of the RTL
(:mod:`hwsim.families.systolic.hdl`) run with the RTL's own fold order inside; its
cycles are the tile's :func:`~hwsim.families.systolic.timing.hardware_cycles` (or
SCALE-Sim's in ``scalesim`` mode), summed over the tiles (commands run back to back;
the handshake between two commands is not counted, as the RTL's cycle window of one
GEMM does not count it). Inside a tile every operand is on chip; the tile's SRAM and
register actions are :func:`~hwsim.families.systolic.model.traffic`'s.

Buffers: A in ``ifmap``, B in ``filter``, C (results and K-split partial sums, at the
accumulator width) in ``ofmap``, each double-buffered. The granularity of a tile is what
the array consumes at once: ``os`` M by ``rows``, N by ``cols``, K by ``rows`` (a fold
shorter than ``rows`` idles); ``ws`` K by ``rows``, N by ``cols``, M by ``rows``; ``is``
(the ``ws`` machine on the transposed GEMM) K by ``rows``, M by ``cols``, N by ``rows``.

K-split partial sums are added into the ``ofmap`` buffer (``sram_read:ofmap`` for the
read of each read-modify-write) and wrap modulo ``2**acc_bits`` as the accumulators do.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from hwsim.mapping.engine import Space

#: Actions a tile GEMM emits (the rest of :func:`~hwsim.families.systolic.model.traffic`'s
#: keys are DRAM traffic, which the mapper counts itself).
TILE_ACTIONS = ("mac", "sram_read:ifmap", "sram_read:filter", "sram_read:acc", "sram_write:acc",
                "sram_write:ofmap", "reg_write_bits")


def units(dataflow: str, rows, cols):
    """Tile granularity ``(m, k, n)`` of ``dataflow`` (see the module docstring)."""
    if dataflow == "os":
        return rows, rows, cols
    if dataflow == "ws":
        return rows, rows, cols
    return cols, rows, rows


def make_space(dataflow: str, mode: str, *, rows, cols, m, k, n, a_bits, b_bits, acc_bits, ifmap_sram_kb,
               filter_sram_kb, ofmap_sram_kb, dram_bw_bytes_per_cycle, acc_depth, unit_energy=None) -> Space:
    """The mapping problems of one dataflow (arrays of equal shape, one per problem)."""
    from hwsim.families.systolic.model import _bytes, _folds, scalesim_cycles, traffic
    from hwsim.families.systolic.timing import hardware_cycles_arrays

    def tile_cost(tm, tk, tn, ex, actions=True):
        r, c, d = ex(rows), ex(cols), ex(acc_depth)
        if mode == "scalesim":
            comp = scalesim_cycles(r, c, dataflow, tm, tk, tn)
        else:
            comp = hardware_cycles_arrays(dataflow, r, c, d, tm, tk, tn)
        if not actions:
            return {"compute_cycles": comp}
        t = traffic(r, c, dataflow, tm, tk, tn, ex(a_bits), ex(b_bits), ex(acc_bits), 0, 0, 0, d)
        out = {key: t[key] for key in TILE_ACTIONS}
        out["compute_cycles"] = comp
        out["folds"] = _folds(r, c, dataflow, tm, tk, tn)
        return out

    um, uk, un = units(dataflow, rows, cols)
    return Space(m=m, k=k, n=n, unit_m=um, unit_k=uk, unit_n=un,
                 bits_a=8 * _bytes(a_bits), bits_b=8 * _bytes(b_bits), bits_c=8 * _bytes(acc_bits),
                 cap_a=ifmap_sram_kb * 1024, cap_b=filter_sram_kb * 1024, cap_c=ofmap_sram_kb * 1024,
                 bw=dram_bw_bytes_per_cycle, tile_cost=tile_cost, unit_energy=unit_energy)


def actions_of(tot: dict) -> dict:
    """The model's named actions (and ``_dram_*`` bytes) of priced mappings."""
    ra, rb, rc, wc = tot["dram_read_a"], tot["dram_read_b"], tot["dram_read_c"], tot["dram_write_c"]
    out = {key: tot[key] for key in TILE_ACTIONS}
    out.update({
        "sram_read:ofmap": tot["psum_reads"],
        "dram_read_bytes": ra + rb + rc,
        "dram_write_bytes": wc,
        "fill_bytes:ifmap": ra,
        "fill_bytes:filter": rb,
        "fill_bytes:ofmap": rc,
        "drain_bytes:ofmap": wc,
        "_dram_a": ra, "_dram_b": rb, "_dram_c": wc + rc,
    })
    return out


#: How the mapper's totals are charged, in the model's action names.
_ENERGY_KEYS = {
    "mac": ("mac",), "reg_write_bits": ("reg_write_bits",),
    "sram_read:ifmap": ("sram_read:ifmap",), "sram_read:filter": ("sram_read:filter",),
    "sram_read:acc": ("sram_read:acc",), "sram_write:acc": ("sram_write:acc",),
    "sram_write:ofmap": ("sram_write:ofmap",), "psum_reads": ("sram_read:ofmap",),
    "dram_read_a": ("dram_read_bytes", "fill_bytes:ifmap"),
    "dram_read_b": ("dram_read_bytes", "fill_bytes:filter"),
    "dram_read_c": ("dram_read_bytes", "fill_bytes:ofmap"),
    "dram_write_c": ("dram_write_bytes", "drain_bytes:ofmap"),
}


@lru_cache(maxsize=4096)
def action_energies(cfg, node_nm: int = 45) -> dict:
    """pJ per count of each model action of ``cfg`` (and ``"cycle"``: the per-cycle
    energy of the control), from the design's cost components."""
    from hwsim.cost.tech import load_tech
    from hwsim.families.systolic.cost import systolic_design
    from hwsim.mapping.energy import per_action

    return per_action(systolic_design(cfg), load_tech(node_nm))


def unit_energies(made) -> dict:
    """``Space.unit_energy`` of problems from ``(configs, index of each problem's config)``."""
    cfgs, inv = made
    per = [action_energies(c) for c in cfgs]
    out = {key: np.array([sum(p.get(a, 0.0) for a in names) for p in per])[inv]
           for key, names in _ENERGY_KEYS.items()}
    out["cycles"] = np.array([p["cycle"] for p in per])[inv]
    return out


def fixed_energy(actions: dict, cycles, made) -> np.ndarray:
    """Energy of the fixed order's actions, priced as the mapper prices a mapping."""
    cfgs, inv = made
    per = [action_energies(c) for c in cfgs]
    e = np.array([p["cycle"] for p in per])[inv] * np.asarray(cycles, float)
    # one fixed order (a set's would follow the string hash seed, which differs between
    # worker processes, and the float sum with it)
    for key in dict.fromkeys(a for names in _ENERGY_KEYS.values() for a in names):
        if key in actions:
            e = e + np.array([p.get(key, 0.0) for p in per])[inv] * np.asarray(actions[key], float)
    return e


def tile_gemms(m: int, k: int, n: int, mapping: dict):
    """The tile GEMMs of a mapped ``m x k x n`` GEMM in issue order.

    Yields ``(m0, k0, n0, tm, tk, tn)``: the tile's corner and shape. ``mapping`` is a
    :attr:`~hwsim.families.base.Perf.mapping`; the ``fixed`` order is one tile.
    """
    order = mapping["order"]
    if order == "fixed":
        yield 0, 0, 0, m, k, n
        return
    size = {"m": (m, mapping["tile_m"]), "k": (k, mapping["tile_k"]), "n": (n, mapping["tile_n"])}

    def walk(dims, at):
        if not dims:
            yield at
            return
        d = dims[0]
        ext, t = size[d]
        for x0 in range(0, ext, t):
            yield from walk(dims[1:], {**at, d: (x0, min(t, ext - x0))})

    for at in walk(order, {}):
        yield at["m"][0], at["k"][0], at["n"][0], at["m"][1], at["k"][1], at["n"][1]


__all__ = ["tile_gemms", "TILE_ACTIONS", "action_energies", "actions_of", "fixed_energy", "make_space", "unit_energies", "units"]
