"""Closed-form timing, traffic and action counts of the LUT tensor core and its MAC baseline.

Both tiles run a tiled GEMM output-stationary: for every (M-tile, N-tile) pair they step
through K in ``tile_k`` slices and accumulate in place, then emit the ``tile_m x tile_n``
result. The feeder pads M, N and K up to tile multiples (zero activations, so padding
never changes a result).

LUT tile, per K step: the table precompute unit turns the step's ``tile_m x tile_k``
activations into tables in one cycle, overlapped with the previous step's lookups
(the table register is reloaded on the cycle its last bit plane is consumed); the lookup
array then takes ``w_bits * lookup_passes`` cycles, one bit plane per pass. Add one
cycle of table latency at the start and one output register at the end:

    ``cycles = tiles * k_steps * w_bits * lookup_passes + 2``

MAC tile: one K step per cycle (dequantise ``tile_n x tile_k`` weights, ``tile_m x
tile_n x tile_k`` multiplies) plus the output register:

    ``cycles = tiles * k_steps + 1``

Both are exactly what the RTL in :mod:`hwsim.families.lut.hdl` takes when its streams never
stall; :mod:`hwsim.families.lut.cyclesim` covers stalls.

Action counts emitted (the names the cost model prices):

LUT core
    ``table_builds`` (tables of ``k_group`` activations), ``table_build_adds``
    (``k_group - 1`` add/subtracts per stored entry, ``stored_table_bits`` wide),
    ``table_writes`` (entries written), ``rowsum_adds``, ``lut_lookups`` (one
    ``table_entries``-to-1 select), ``lut_negations`` (symmetric table: conditional
    negate per lookup), ``adds`` (accumulator adds, ``acc_bits`` wide), ``shifts``
    (plane shift, planes > 0), ``output_adds`` (weight-mode correction per output),
    ``acc_writes`` (accumulator register updates, ``acc_bits`` wide), ``sram_read:act``,
    ``sram_read:weight``, ``sram_write:out`` (accesses of the widths in
    :func:`sram_widths`: one ``tile_n x tile_k`` bit plane per weight read).
MAC core
    ``mac`` (``a_bits x a_bits`` multiply-accumulates into ``acc_bits``), ``dequant``
    (weight dequantisations, one per weight per K step), ``acc_writes``,
    ``sram_read:act``, ``sram_read:weight``, ``sram_write:out`` (accesses; the weight
    word holds all ``w_bits`` planes of a step).
"""

from __future__ import annotations

import math
from dataclasses import replace

from hwsim.families.base import Perf
from hwsim.families.lut.config import LutConfig
from hwsim.errors import ConfigError, check_choice
from hwsim.workloads.ops import GemmOp

#: Cycles from the first activation beat to the first table lookup.
TABLE_LATENCY_CYCLES = 1
#: Cycles from the last accumulate to the result on the output stream.
OUTPUT_LATENCY_CYCLES = 1


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def tiling(cfg: LutConfig, m: int, k: int, n: int) -> dict:
    """Tile counts for an ``M x K x N`` GEMM (``m_tiles``, ``n_tiles``, ``k_steps``, ``steps``)."""
    mt, nt, kt = _ceil(m, cfg.tile_m), _ceil(n, cfg.tile_n), _ceil(k, cfg.tile_k)
    return {"m_tiles": mt, "n_tiles": nt, "k_steps": kt, "tiles": mt * nt, "steps": mt * nt * kt}


def lut_cycles(cfg: LutConfig, m: int, k: int, n: int) -> int:
    """Cycles of one ``M x K x N`` GEMM on the LUT tile (see the module docstring)."""
    t = tiling(cfg, m, k, n)
    return t["steps"] * cfg.w_bits * cfg.lookup_passes + TABLE_LATENCY_CYCLES + OUTPUT_LATENCY_CYCLES


def mac_cycles(cfg: LutConfig, m: int, k: int, n: int) -> int:
    """Cycles of one ``M x K x N`` GEMM on the MAC baseline tile."""
    return tiling(cfg, m, k, n)["steps"] + OUTPUT_LATENCY_CYCLES


def sram_widths(cfg: LutConfig, kind: str = "lut") -> dict:
    """Bits per access of each buffer as the ``sram_*`` actions count them."""
    w = cfg.tile_n * cfg.tile_k * (1 if kind == "lut" else cfg.w_bits)
    return {"act": cfg.tile_m * cfg.tile_k * cfg.a_bits, "weight": w,
            "out": cfg.tile_m * cfg.tile_n * cfg.out_bits}


def _shape(op) -> tuple[int, int, int, int]:
    if isinstance(op, GemmOp):
        return op.m, op.k, op.n, op.count
    if isinstance(op, tuple) and len(op) == 3:
        return (*op, 1)
    raise ConfigError("op", f"must be a GemmOp or an (M, K, N) tuple, not {op!r}")


def _dram(cfg: LutConfig, m: int, k: int, n: int, w_bits: int) -> dict:
    """Off-chip bytes: A is re-read per N tile unless a ``tile_m x K`` block fits its
    buffer; W is re-read per M tile unless all of it fits."""
    t = tiling(cfg, m, k, n)
    a_bytes = cfg.a_bits // 8
    a_block = cfg.tile_m * k * a_bytes
    a_reads = 1 if a_block <= cfg.act_sram_kb * 1024 else t["n_tiles"]
    w_total = math.ceil(k * n * w_bits / 8)
    w_reads = 1 if w_total <= cfg.weight_sram_kb * 1024 else t["m_tiles"]
    return {"A": m * k * a_bytes * a_reads, "W": w_total * w_reads, "C": m * n * cfg.out_bits // 8}


#: ``mode`` of :func:`estimate`: the one timing there is. Which core is evaluated is the
#: config's ``core`` alone (one knob), so a record cannot mix a LUT config with MAC timing.
MODES = ("default",)


def estimate(cfg: LutConfig, op, mode: str = "default") -> Perf:
    """Closed-form performance of ``cfg.core`` on ``op`` (a :class:`GemmOp` or ``(M, K, N)``).

    ``compute_cycles`` is what the RTL takes; ``cycles`` adds the stall when the GEMM's
    DRAM traffic at ``dram_bw_bytes_per_cycle`` takes longer than its compute.

    Examples
    --------
    >>> cfg = LutConfig(w_bits=2, tile_m=2, tile_n=8, tile_k=4)
    >>> p = estimate(cfg, (4, 16, 16))
    >>> p.cycles, p.actions["lut_lookups"]
    (34, 512)
    """
    check_choice("mode", mode, MODES)
    if cfg.mapping == "search":
        from hwsim.families.lut.mapping import estimate_searched
        from hwsim.mapping.engine import searchable

        m, k, n, _ = _shape(op)
        if searchable(m * k * n, cfg.dram_bw_bytes_per_cycle):
            return estimate_searched(cfg, op)
    if cfg.core == "mac":
        return estimate_mac(cfg, op)
    m, k, n, count = _shape(op)
    t = tiling(cfg, m, k, n)
    cycles, actions = lut_counts(cfg, m, k, n)
    steps = t["steps"]
    b = cfg.w_bits
    tm, tn, tk = cfg.tile_m, cfg.tile_n, cfg.tile_k
    return _perf(cfg, cycles, m * k * n, count, tm * tn * tk / (b * cfg.lookup_passes),
                 {"act": steps, "weight": steps * b}, t, _dram(cfg, m, k, n, b), actions, "lut", (m, k, n))


def lut_counts(cfg: LutConfig, m, k, n):
    """Cycles and raw action counts of one GEMM on the LUT tile (element-wise over arrays
    of ``m``, ``k``, ``n``)."""
    t = tiling(cfg, m, k, n)
    b = cfg.w_bits
    steps = t["steps"]
    tm, tn = cfg.tile_m, cfg.tile_n
    builds = steps * tm * cfg.tables_per_row
    lookups = steps * b * cfg.full_lookup_units
    cycles = t["steps"] * cfg.w_bits * cfg.lookup_passes + TABLE_LATENCY_CYCLES + OUTPUT_LATENCY_CYCLES
    corrected = cfg.weight_mode != "symmetric"
    zero = 0 * steps
    actions = {
        "table_builds": builds,
        "table_build_adds": builds * cfg.table_entries * (cfg.k_group - 1),
        "table_writes": builds * cfg.table_entries,
        "rowsum_adds": builds if corrected else zero,
        "lut_lookups": lookups,
        "lut_negations": lookups if cfg.symmetric_table else zero,
        "adds": lookups,
        "shifts": steps * (b - 1) * tm * tn,
        "output_adds": t["tiles"] * tm * tn if corrected else zero,
        "acc_writes": steps * b * tm * tn,
        "sram_read:act": steps,
        "sram_read:weight": steps * b,
        "sram_write:out": t["tiles"],
    }
    return cycles, actions


def _perf(cfg, compute, macs, count, peak, reads, t, dram, actions, mode, shape=None) -> Perf:
    """Scale one instance by ``count`` and add the DRAM-bandwidth stall (the fixed order:
    one command for the whole GEMM)."""
    from hwsim.mapping.fields import mapping_dict

    dram_total = sum(dram.values())
    cycles = max(compute, math.ceil(dram_total / cfg.dram_bw_bytes_per_cycle))
    return Perf(
        cycles=cycles * count,
        macs=macs * count,
        utilization=macs / (cycles * peak),
        sram_reads={key: v * count for key, v in reads.items()},
        sram_writes={"out": t["tiles"] * count},
        dram_bytes={key: v * count for key, v in dram.items()},
        actions={key: v * count for key, v in actions.items()},
        compute_cycles=compute * count,
        stall_cycles=(cycles - compute) * count,
        mode=mode,
        folds=t["tiles"] * count,
        mapping=mapping_dict("fixed", *shape, cfg.mapping_objective) if shape else {},
    )


def priced_actions(cfg: LutConfig, perf: Perf) -> dict:
    """The family's action counts in the cost model's vocabulary
    (:data:`hwsim.cost.energy.ACTION_NAMES`), for ``perf`` from :func:`estimate`.

    LUT: every add/subtract becomes ``add_bits`` at its width (table entries at
    ``table_bits_exact``, negations at ``stored_table_bits``, accumulator, row-sum and
    output adds at ``acc_bits``); table and accumulator register writes become
    ``reg_write_bits``; ``lut_lookup`` (``stored_table_bits`` entries) and ``shift``
    (``acc_bits``) stay. MAC: ``mac`` (``a_bits x a_bits``, the dequantised weight has
    the activation's width), dequantisation as an ``a_bits`` add, accumulator writes.
    Both: SRAM accesses as counted, DRAM bytes from ``perf.dram_bytes``, and the same bytes
    as buffer fills (``fill_bytes:<buf>``) and drains (``drain_bytes:<buf>``).
    """
    a = dict(perf.actions)
    acc = cfg.acc_bits
    if not cfg.is_integer and perf.mode in ("lut", "mac"):
        out = _priced_fp16(cfg, perf.mode, a)
    elif perf.mode == "lut":
        out = {
            "add_bits": a["table_build_adds"] * cfg.table_bits_exact + a["lut_negations"] * cfg.stored_table_bits
            + (a["rowsum_adds"] + a["adds"] + a["output_adds"]) * acc,
            "reg_write_bits": a["table_writes"] * cfg.stored_table_bits + a["acc_writes"] * acc,
            "lut_lookup": a["lut_lookups"],
            "shift": a["shifts"],
        }
    elif perf.mode == "mac":
        out = {"mac": a["mac"], "add_bits": a["dequant"] * cfg.a_bits, "reg_write_bits": a["acc_writes"] * acc}
    else:
        raise ConfigError("perf", f"was not made by the LUT family's estimate (mode {perf.mode!r})")
    for key in ("sram_read:act", "sram_read:weight", "sram_write:out"):
        out[key] = a[key]
    psum = perf.dram_bytes.get("C_psum", 0)  # a mapped GEMM's partial sums read back
    if "sram_read:out" in a:  # a mapped GEMM's K-split partial sums added in the out buffer
        out["sram_read:out"] = a["sram_read:out"]
    if psum:
        out["fill_bytes:out"] = psum
    out["dram_read_bytes"] = perf.dram_bytes.get("A", 0) + perf.dram_bytes.get("W", 0) + psum
    out["dram_write_bytes"] = perf.dram_bytes.get("C", 0)
    # the buffer side of the DRAM traffic: fills of act/weight, the drain of out
    out["fill_bytes:act"] = perf.dram_bytes.get("A", 0)
    out["fill_bytes:weight"] = perf.dram_bytes.get("W", 0)
    out["drain_bytes:out"] = perf.dram_bytes.get("C", 0)
    return out


def _priced_fp16(cfg: LutConfig, mode: str, a: dict) -> dict:
    """Datapath actions of the binary16 tiles (:mod:`hwsim.families.lut.hdl_fp16`).

    LUT: every table-build, row-sum, group and accumulator add is one ``fp16_add``; the
    output stage is one ``fp16_add`` and one ``fp16_shift`` (the halving) per output; each
    bit-plane weight (planes > 0) one ``fp16_shift``; a symmetric-table negation flips one
    bit (``add_bits``); table entries and accumulators are 16-bit register writes.
    MAC: each product is an ``fp16_mult`` and an ``fp16_add``; each dequantisation an
    ``fp16_mult`` (scale) and a 5-bit code-minus-zero subtract."""
    if mode == "lut":
        return {
            "fp16_add": a["table_build_adds"] + a["rowsum_adds"] + a["adds"] + a["output_adds"],
            "fp16_shift": a["shifts"] + a["output_adds"],
            "add_bits": a["lut_negations"],
            "reg_write_bits": (a["table_writes"] + a["acc_writes"]) * 16,
            "lut_lookup": a["lut_lookups"],
        }
    return {"fp16_mult": a["mac"] + a["dequant"], "fp16_add": a["mac"], "add_bits": a["dequant"] * 5,
            "reg_write_bits": a["acc_writes"] * 16}


def estimate_priced(cfg: LutConfig, op, mode: str = "default") -> Perf:
    """:func:`estimate` with the actions already in the cost model's vocabulary
    (:func:`priced_actions`), for the sweep evaluator, which prices ``Perf.actions`` as is."""
    perf = estimate(cfg, op, mode)
    return replace(perf, actions=priced_actions(cfg, perf))


def estimate_mac(cfg: LutConfig, op) -> Perf:
    """Closed-form performance of the MAC baseline tile (same tile shape) on ``op``.

    >>> estimate_mac(LutConfig(tile_m=2, tile_n=8, tile_k=4), (4, 16, 16)).cycles
    17
    """
    m, k, n, count = _shape(op)
    t = tiling(cfg, m, k, n)
    steps = t["steps"]
    tm, tn, tk = cfg.tile_m, cfg.tile_n, cfg.tile_k
    cycles, actions = mac_counts(cfg, m, k, n)
    return _perf(cfg, cycles, m * k * n, count, tm * tn * tk,
                 {"act": steps, "weight": steps}, t, _dram(cfg, m, k, n, cfg.w_bits), actions, "mac", (m, k, n))


def mac_counts(cfg: LutConfig, m, k, n):
    """Cycles and raw action counts of one GEMM on the MAC baseline tile (element-wise)."""
    t = tiling(cfg, m, k, n)
    steps = t["steps"]
    tm, tn, tk = cfg.tile_m, cfg.tile_n, cfg.tile_k
    actions = {
        "mac": steps * tm * tn * tk,
        "dequant": steps * tn * tk,
        "acc_writes": steps * tm * tn,
        "sram_read:act": steps,
        "sram_read:weight": steps,
        "sram_write:out": t["tiles"],
    }
    return steps + OUTPUT_LATENCY_CYCLES, actions


__all__ = [
    "MODES",
    "OUTPUT_LATENCY_CYCLES",
    "TABLE_LATENCY_CYCLES",
    "estimate",
    "estimate_mac",
    "estimate_priced",
    "lut_cycles",
    "mac_cycles",
    "priced_actions",
    "sram_widths",
    "tiling",
]
