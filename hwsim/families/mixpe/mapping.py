"""The mapper (:mod:`hwsim.mapping.engine`) on the MixPE array.

A mapped GEMM is a sequence of tile GEMMs, each a run of the array's own fold order
(column blocks, groups, row blocks; :func:`hwsim.families.mixpe.model._counts` gives its
cycles and actions), back to back. K is padded to whole quantisation groups as the
feeder pads it, and a K tile is a whole number of groups. Buffers: activations in
``ibuf`` (8 or 16 bits), weight codes with each group's binary16 scale and packed zero
point in ``wbuf`` (``w_bits + (16 + w_bits) / group_size`` bits a weight), binary32
results and K-split partial sums in ``obuf``, each double-buffered. A K-split partial
sum is added into ``obuf`` as the array adds its groups: one ``obuf`` read and one
binary32 add per element and extra K tile.
"""

from __future__ import annotations

import numpy as np

from hwsim.mapping.engine import Space

#: Actions a tile GEMM emits (the rest of ``_counts``' keys are DRAM traffic).
TILE_ACTIONS = ("add_bits", "mult:16x24", "reg_write_bits", "sram_read:ibuf", "sram_read:wbuf", "sram_read:obuf",
                "sram_write:obuf")


def make_space(*, rows, cols, w_bits, is_int, group_size, zero_point, acc_bits, m, k, n, ibuf_kib, wbuf_kib,
               obuf_kib, dram_bw_bytes_per_cycle, unit_energy=None) -> Space:
    """The mapping problems (arrays of equal shape, one per problem)."""
    from hwsim.families.mixpe.model import OUT_BITS, SCALE_BITS, _counts

    zp = zero_point.astype(np.int64)
    gs = group_size
    kp = -(-k // gs) * gs  # K padded to whole groups, as the feeder pads it
    big = np.full_like(rows, 1 << 40)  # tiles fit their buffers: the tile itself is never re-read

    def tile_cost(tm, tk, tn, ex, actions=True):
        t = _counts(rows=ex(rows), cols=ex(cols), w_bits=ex(w_bits), is_int=ex(is_int), group_size=ex(gs),
                    zero_point=ex(zero_point), acc_bits=ex(acc_bits), ibuf_kib=ex(big), wbuf_kib=ex(big),
                    m=tm, k=tk, n=tn)
        out = {"compute_cycles": t["_compute_cycles"]}
        if actions:
            out.update({key: t[key] for key in TILE_ACTIONS})
            out["folds"] = t["_folds"]
        return out

    ab = np.where(is_int, 8, 16)
    # widths in 1/group_size bit: a weight carries its share of the group's scale and zero point
    return Space(m=m, k=kp, n=n, unit_m=rows, unit_k=gs, unit_n=cols, bits_a=ab * gs,
                 bits_b=w_bits * gs + SCALE_BITS + zp * w_bits, bits_c=OUT_BITS * gs,
                 cap_a=ibuf_kib * 1024, cap_b=wbuf_kib * 1024, cap_c=obuf_kib * 1024, bw=dram_bw_bytes_per_cycle,
                 tile_cost=tile_cost, unit_energy=unit_energy, bit_scale=gs)


def actions_of(tot: dict) -> dict:
    """The model's named actions (and ``_dram_*`` bytes) of priced mappings."""
    from hwsim.families.mixpe.model import OUT_BITS

    ra, rb, rc, wc = tot["dram_read_a"], tot["dram_read_b"], tot["dram_read_c"], tot["dram_write_c"]
    out = {key: tot[key] for key in TILE_ACTIONS}
    out["add_bits"] = out["add_bits"] + tot["psum_reads"] * OUT_BITS
    out["sram_read:obuf"] = out["sram_read:obuf"] + tot["psum_reads"]
    out.update({"fill_bytes:ibuf": ra, "fill_bytes:wbuf": rb, "fill_bytes:obuf": rc, "drain_bytes:obuf": wc,
                "dram_read_bytes": ra + rb + rc, "dram_write_bytes": wc,
                "_dram_a": ra, "_dram_w": rb, "_dram_c": wc + rc})
    return out


#: How the mapper's totals are charged, as ``(action, count per unit)``.
_ENERGY_KEYS = {key: ((key, 1),) for key in TILE_ACTIONS}
_ENERGY_KEYS.update({"psum_reads": (("sram_read:obuf", 1), ("add_bits", 32)),
                     "dram_read_a": (("dram_read_bytes", 1), ("fill_bytes:ibuf", 1)),
                     "dram_read_b": (("dram_read_bytes", 1), ("fill_bytes:wbuf", 1)),
                     "dram_read_c": (("dram_read_bytes", 1), ("fill_bytes:obuf", 1)),
                     "dram_write_c": (("dram_write_bytes", 1), ("drain_bytes:obuf", 1))})
#: The DRAM traffic actions (priced per byte, at the DRAM and at the buffer's side).
TRAFFIC_ACTIONS = ("dram_read_bytes", "dram_write_bytes", "fill_bytes:ibuf", "fill_bytes:wbuf", "fill_bytes:obuf",
                   "drain_bytes:obuf")


#: Probed energies by config (bounded).
_PROBED: dict = {}


def action_energies(cfg) -> dict:
    """pJ per count of each model action of ``cfg`` (and ``"cycle"``: control and leakage
    per cycle), probed through the cost model the records are priced with (linear in the
    counts)."""
    if cfg in _PROBED:
        return _PROBED[cfg]
    from hwsim.cost.report import cost_record
    from hwsim.cost.tech import load_tech
    from hwsim.families.mixpe.cost import mixpe_inputs

    tech, inputs = load_tech(45), mixpe_inputs(cfg)
    # every action the model emits (the dequantise-then-MAC baseline's multiplies too)
    names = set(TILE_ACTIONS) | set(TRAFFIC_ACTIONS) | {"mult:11x11", "mult:11x5"}

    def dyn(actions, cycles):
        return cost_record("mixpe", cfg.to_dict(), {"cycles": cycles, "macs": 0, "actions": actions}, tech,
                           inputs)["dynamic_energy_pj"]

    base = dyn(dict.fromkeys(names, 0), 0)
    unit = 1_000_000  # large counts: the priced energies are exact floats of them
    out = {a: (dyn({**dict.fromkeys(names, 0), a: unit}, 0) - base) / unit for a in names}
    out["cycle"] = (dyn(dict.fromkeys(names, 0), unit) - base) / unit
    if len(_PROBED) > 4096:
        _PROBED.clear()
    _PROBED[cfg] = out
    return out


def unit_energies(cfgs) -> dict:
    per = [action_energies(c) for c in cfgs]
    out = {key: np.array([sum(p[a] * f for a, f in names) for p in per]) for key, names in _ENERGY_KEYS.items()}
    out["cycles"] = np.array([p["cycle"] for p in per])
    return out


def fixed_energy(actions: dict, cycles, cfgs) -> np.ndarray:
    per = [action_energies(c) for c in cfgs]
    e = np.array([p["cycle"] for p in per]) * np.asarray(cycles, float)
    for key in dict.fromkeys((*TILE_ACTIONS, *TRAFFIC_ACTIONS)):  # a fixed order: the same sum in every process
        e = e + np.array([p[key] for p in per]) * np.asarray(actions[key], float)
    return e


__all__ = ["TILE_ACTIONS", "action_energies", "actions_of", "fixed_energy", "make_space", "unit_energies"]
