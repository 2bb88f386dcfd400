"""Closed-form model of the MixPE array (INT and FP16 paths, output stationary).

Cycles are the RTL's exactly (:func:`hwsim.families.mixpe.timing.compute_cycles`); the
RTL tests check equality. As in the systolic family, DRAM transfers are assumed to
overlap compute perfectly, so ``cycles = max(compute, dram_bytes / bandwidth)``.

Traffic follows the feeder's fold order (column blocks outer, groups, row blocks inner;
K padded to whole groups). Named actions (priced by :mod:`hwsim.cost`):

``add_bits``
    Per activation-code pair of every active PE (weight columns and, with a zero point,
    the ``S`` column): the PE's tree of ``CODE_BITS - 1`` adds of its ``8 + CODE_BITS``-bit
    shifted terms plus one ``acc_bits`` accumulate (the RTL's structure; clear bits gate
    terms to zero but the adders are there); on the FP16 path the PE's chain of
    ``CODE_BITS`` binary16 adders, each counted as a 16-bit add. Plus the dequantisation's binary32 adds
    (subtracting ``s z S``, summing groups), counted as 32-bit adds.
``mult:16x24``
    Dequantisation multiplies per group and output (``s * P`` and, with a zero point,
    ``(s z) * S``): binary16 scale by a 24-bit significand. **Approximation**: floating-point
    multiplies and adds are priced as integer ones of their significand widths.
``reg_write_bits``
    Activations and codes forwarded between PEs, plus result registers (one per PE and fold).
``sram_read:ibuf``, ``sram_read:wbuf``, ``sram_read:obuf``, ``sram_write:obuf``
    Activations (INT8 or binary16) (re-read per column block), weight codes (``w_bits`` words, re-read
    per row block, with each group's scale and zero point as ``ceil((16 + w_bits) /
    w_bits)`` words), and the binary32 output accumulator (read-modify-write per group).
``dram_read_bytes``, ``dram_write_bytes``
    Activations (1 or 2 bytes), packed codes, binary16 scales and packed zero points; binary32
    results.
``fill_bytes:ibuf``, ``fill_bytes:wbuf``, ``fill_bytes:obuf``, ``drain_bytes:obuf``
    The same DRAM bytes on the buffer side: written into the buffer they fill (``obuf``:
    a mapped GEMM's spilled partial sums read back), read out of ``obuf`` to DRAM.

The dequantise-then-MAC baseline (``datapath="dequant_mac"``) has one fold per row and
column block over all of K, no ``S`` column and no per-group stage: per activation-weight
pair one binary16 multiply (``mult:11x11``) and one binary16 add (16 ``add_bits``); per
weight entering the array (once per row block) one dequantiser multiply (``mult:11x5``,
scale by ``q - z``); results are binary16, written once (``sram_write:obuf``, 2 bytes to
DRAM), never read back.
"""

from __future__ import annotations

import math

import numpy as np

from hwsim.errors import ConfigError, check_choice
from hwsim.families.base import Perf
from hwsim.families.mixpe.config import MixpeConfig
from hwsim.families.mixpe.mapping import actions_of, fixed_energy, make_space, unit_energies
from hwsim.families.mixpe.timing import A_BITS, compute_cycles
from hwsim.mapping.engine import FIXED_ORDER, MAPPINGS, OBJECTIVES, search, searchable
from hwsim.mapping.fields import DEFAULT_MAPPING, DEFAULT_OBJECTIVE, mapping_dict
from hwsim.workloads.ops import GemmOp

MODES = ("default",)
#: Bits of one dequantised result (binary32).
OUT_BITS = 32
#: Bits of one stored scale (binary16).
SCALE_BITS = 16


def _cdiv(a, b):
    return -(-a // b)


def acc_width(cfg: MixpeConfig) -> int:
    """Bits of a PE's accumulator: ``acc_bits`` (INT path) or 16 (binary16)."""
    return cfg.acc_bits if cfg.act_format == "int8" else 16


def _counts(*, rows, cols, w_bits, is_int, group_size, zero_point, acc_bits, ibuf_kib, wbuf_kib, m, k, n,
            dequant_mac=False):
    """:func:`traffic` element-wise over NumPy arrays (or scalars) of its inputs."""
    from hwsim.families.mixpe.hdl import CODE_BITS

    r, c, w, gs = rows, cols, w_bits, group_size
    dq = np.asarray(dequant_mac).astype(bool)
    zp_w = np.asarray(zero_point).astype(np.int64)  # zero points stored with the weights
    zp = np.where(dq, 0, zp_w)  # the S column (shift-and-add only)
    g = _cdiv(k, gs)
    kp = g * gs
    fr, fc = _cdiv(m, r), _cdiv(n, c)
    folds = np.where(dq, 1, g) * fr * fc
    pairs = m * kp * (n + zp * fc)  # the S column repeats per column block
    ab = np.where(is_int, A_BITS, 16)
    acc = np.where(is_int, acc_bits, 16)
    # INT: a tree of CODE_BITS - 1 adds of the shifted terms and the accumulate;
    # FP16: a chain of CODE_BITS binary16 adders
    pe_add = np.where(is_int, (CODE_BITS - 1) * (ab + CODE_BITS) + acc, CODE_BITS * acc)
    pe_add = np.where(dq, acc, pe_add)  # one binary16 add per pair
    outs = np.where(dq, 1, g) * m * n
    deq_adds = np.where(dq, 0, outs * zp + (g - 1) * m * n)
    scale_words = _cdiv(SCALE_BITS + w * zp_w, w)
    a_sz = m * kp * ab // 8
    w_sz = _cdiv(kp * n * w, 8) + g * n * SCALE_BITS // 8 + zp_w * _cdiv(g * n * w, 8)
    dram_a = np.where(a_sz <= ibuf_kib * 1024, a_sz, a_sz * fc)
    dram_w = np.where(_cdiv(kp * c * w, 8) <= wbuf_kib * 1024, w_sz, w_sz * fr)
    dram_c = m * n * np.where(dq, 16, OUT_BITS) // 8
    span = np.where(dq, kp, gs)  # the K beats of one fold
    return {
        "add_bits": pairs * pe_add + deq_adds * OUT_BITS,
        "mult:16x24": np.where(dq, 0, outs * (1 + zp)),
        "mult:11x11": np.where(dq, pairs, 0),
        "mult:11x5": np.where(dq, kp * n * fr, 0),
        "reg_write_bits": pairs * (ab + np.where(dq, 16, CODE_BITS)) + folds * r * (c + zp) * acc,
        "sram_read:ibuf": m * kp * fc,
        "sram_read:wbuf": kp * n * fr + g * n * fr * scale_words,
        "sram_read:obuf": np.where(dq, 0, (g - 1) * m * n),
        "sram_write:obuf": outs,
        "fill_bytes:ibuf": dram_a,
        "fill_bytes:wbuf": dram_w,
        "fill_bytes:obuf": np.zeros_like(dram_c),
        "drain_bytes:obuf": dram_c,
        "dram_read_bytes": dram_a + dram_w,
        "dram_write_bytes": dram_c,
        "_dram_a": dram_a, "_dram_w": dram_w, "_dram_c": dram_c, "_folds": folds,
        # the closed form of hwsim.families.mixpe.timing.compute_cycles, element-wise
        "_compute_cycles": (folds - 1) * np.maximum(span, r) + span + r + c + zp,
    }


def traffic(cfg: MixpeConfig, m: int, k: int, n: int) -> dict:
    """Action counts and DRAM bytes of one GEMM (keys starting with ``_``: bytes per
    operand, folds)."""
    out = _counts(rows=cfg.rows, cols=cfg.cols, w_bits=cfg.w_bits, is_int=cfg.act_format == "int8",
                  group_size=cfg.group_size, zero_point=cfg.zero_point, acc_bits=cfg.acc_bits,
                  ibuf_kib=cfg.ibuf_kib, wbuf_kib=cfg.wbuf_kib, m=m, k=k, n=n,
                  dequant_mac=cfg.datapath == "dequant_mac")
    return {key: int(v) for key, v in out.items() if key != "_compute_cycles"}


def estimate(cfg: MixpeConfig, op, mode: str = "default") -> Perf:
    """Cycles, utilisation, traffic and action counts of ``op`` (``op.count`` repeats).

    Examples
    --------
    >>> p = estimate(MixpeConfig(rows=4, cols=4, group_size=16), GemmOp(8, 32, 8))
    >>> p.compute_cycles == (8 - 1) * 16 + 16 + 4 + 5, p.macs
    (True, 2048)
    """
    check_choice("mode", mode, MODES)
    if not isinstance(op, GemmOp):
        raise ConfigError("op", f"must be a GemmOp, not {op!r}")
    if cfg.mapping == "search" and cfg.datapath == "shift_add" and searchable(op.macs, cfg.dram_bw_bytes_per_cycle):
        return _estimate_searched(cfg, op, mode)
    m, k, n, cnt = op.m, op.k, op.n, op.count
    comp = int(compute_cycles(cfg, m, k, n))
    t = traffic(cfg, m, k, n)
    dram_cycles = math.ceil((t["dram_read_bytes"] + t["dram_write_bytes"]) / cfg.dram_bw_bytes_per_cycle)
    cyc1 = max(comp, dram_cycles)
    cycles, macs = cyc1 * cnt, m * k * n * cnt
    rep = {key: int(v) * cnt for key, v in t.items()}
    return Perf(
        cycles=cycles, macs=macs, utilization=macs / (cycles * cfg.rows * cfg.cols),
        sram_reads={b: rep[f"sram_read:{b}"] for b in ("ibuf", "wbuf", "obuf")},
        sram_writes={"obuf": rep["sram_write:obuf"]},
        dram_bytes={"a": rep["_dram_a"], "w": rep["_dram_w"], "c": rep["_dram_c"]},
        actions={key: v for key, v in rep.items() if not key.startswith("_")},
        compute_cycles=comp * cnt, stall_cycles=(cyc1 - comp) * cnt, mode=mode, folds=int(t["_folds"]),
        mapping=mapping_dict(FIXED_ORDER, m, k, n, cfg.mapping_objective),
    )


def _estimate_searched(cfg: MixpeConfig, op: GemmOp, mode: str) -> Perf:
    """:func:`estimate` with ``mapping="search"``: one point of :func:`estimate_arrays`."""
    r = estimate_arrays(**{f: getattr(cfg, f) for f in ARRAY_FIELDS}, m=op.m, k=op.k, n=op.n, count=op.count,
                        mode=mode)
    one = {key: np.asarray(v).reshape(-1)[0] for key, v in r.items()}
    acts = {key: int(one[key]) for key in _ACTION_KEYS}
    cycles, macs = int(one["cycles"]), int(one["macs"])
    return Perf(
        cycles=cycles, macs=macs, utilization=macs / (cycles * cfg.rows * cfg.cols),
        sram_reads={b: acts[f"sram_read:{b}"] for b in ("ibuf", "wbuf", "obuf")},
        sram_writes={"obuf": acts["sram_write:obuf"]},
        dram_bytes={x: int(one[f"dram_bytes:{x}"]) for x in ("a", "w", "c")},
        actions=acts, compute_cycles=int(one["compute_cycles"]), stall_cycles=int(one["stall_cycles"]), mode=mode,
        folds=int(one["folds"]),
        mapping=mapping_dict(one["mapping_order"], one["mapping_tile_m"], one["mapping_tile_k"],
                             one["mapping_tile_n"], one["mapping_objective"]),
    )


_ACTION_KEYS = ("add_bits", "mult:16x24", "mult:11x11", "mult:11x5", "reg_write_bits", "sram_read:ibuf", "sram_read:wbuf", "sram_read:obuf",
                "sram_write:obuf", "fill_bytes:ibuf", "fill_bytes:wbuf", "fill_bytes:obuf", "drain_bytes:obuf",
                "dram_read_bytes", "dram_write_bytes")

#: Config fields :func:`estimate_arrays` takes (the family's ``array_fields``).
ARRAY_FIELDS = ("rows", "cols", "w_bits", "act_format", "group_size", "zero_point", "acc_bits", "dataflow",
                "ibuf_kib", "wbuf_kib", "dram_bw_bytes_per_cycle", "obuf_kib", "freq_mhz", "mapping",
                "mapping_objective", "datapath")


def estimate_arrays(*, rows, cols, w_bits, act_format, group_size, zero_point, acc_bits, m, k, n, count=1,
                    dataflow="os", ibuf_kib=256, wbuf_kib=128, dram_bw_bytes_per_cycle=128, obuf_kib=128,
                    freq_mhz=500.0, mapping=DEFAULT_MAPPING, mapping_objective=DEFAULT_OBJECTIVE,
                    datapath="shift_add", mode: str = "default") -> dict:
    """Vectorised :func:`estimate` over NumPy arrays of design fields and op shapes.

    Every keyword may be a scalar or an array (broadcast together). Returns a dict of
    arrays: ``cycles``, ``compute_cycles``, ``stall_cycles``, ``macs``, ``utilization``,
    ``folds``, every action count, DRAM bytes per operand (``dram_bytes:a``, ``:w``,
    ``:c``) and the mapping of each op (not multiplied by ``count``): ``mapping_order``,
    ``mapping_tile_m``, ``mapping_tile_k`` (padded to whole groups), ``mapping_tile_n``,
    ``mapping_objective`` (see :attr:`Perf.mapping`); equal to :func:`estimate` point by
    point (tested).
    """
    check_choice("mode", mode, MODES)
    arrs = np.broadcast_arrays(*(np.asarray(x) for x in (
        rows, cols, w_bits, act_format, group_size, zero_point, acc_bits, m, k, n, count, dataflow,
        ibuf_kib, wbuf_kib, dram_bw_bytes_per_cycle, obuf_kib, freq_mhz, mapping, mapping_objective, datapath)))
    shape0 = arrs[0].shape
    arrs = [a.reshape(-1) for a in arrs]
    (rows, cols, w_bits, act_format, group_size, zero_point, acc_bits, m, k, n, count, dataflow,
     ibuf_kib, wbuf_kib, bw, obuf_kib, freq, mapping, objective, datapath) = arrs
    if np.any((datapath == "dequant_mac") & (act_format != "fp16")):
        raise ConfigError("datapath", "'dequant_mac' needs act_format 'fp16'")
    for df in np.unique(dataflow):
        if df != "os":
            raise ConfigError("dataflow", f"only 'os' is modelled beyond golden so far, not {str(df)!r}")
    ints = [x.astype(np.int64) for x in (rows, cols, w_bits, group_size, acc_bits, m, k, n, count,
                                         ibuf_kib, wbuf_kib)]
    rows, cols, w_bits, group_size, acc_bits, m, k, n, count, ibuf_kib, wbuf_kib = ints
    t = _counts(rows=rows, cols=cols, w_bits=w_bits, is_int=act_format == "int8", group_size=group_size,
                zero_point=zero_point.astype(bool), acc_bits=acc_bits, ibuf_kib=ibuf_kib, wbuf_kib=wbuf_kib,
                m=m, k=k, n=n, dequant_mac=datapath == "dequant_mac")
    comp = t["_compute_cycles"]
    dram_total = t["dram_read_bytes"] + t["dram_write_bytes"]
    dram_cycles = np.ceil(dram_total / bw.astype(float)).astype(np.int64)
    cyc1 = np.maximum(comp, dram_cycles)
    folds = t["_folds"]
    for key in np.unique(mapping):
        check_choice("mapping", str(key), MAPPINGS)
    for key in np.unique(objective):
        check_choice("mapping_objective", str(key), OBJECTIVES)
    mcols = {"mapping_order": np.full(m.shape, FIXED_ORDER, dtype=object), "mapping_tile_m": m.copy(),
             "mapping_tile_k": k.copy(), "mapping_tile_n": n.copy(), "mapping_objective": objective.astype(object)}
    # the dequantise-then-MAC baseline keeps the fixed order (the tile search prices the
    # shift-and-add array's per-group traffic)
    searched = (mapping == "search") & (datapath == "shift_add") & searchable(m * k * n, bw)
    is_int = act_format == "int8"
    zpb = zero_point.astype(bool)
    for obj in np.unique(objective[searched]):
        sel = searched & (objective == obj)
        idx = np.flatnonzero(sel)
        sub = dict(rows=rows[sel], cols=cols[sel], w_bits=w_bits[sel], is_int=is_int[sel],
                   group_size=group_size[sel], zero_point=zpb[sel], acc_bits=acc_bits[sel], m=m[sel], k=k[sel],
                   n=n[sel], ibuf_kib=ibuf_kib[sel], wbuf_kib=wbuf_kib[sel], obuf_kib=obuf_kib[sel].astype(np.int64),
                   dram_bw_bytes_per_cycle=bw[sel].astype(float))
        cfgs = _configs(idx, rows, cols, w_bits, act_format, group_size, zero_point, acc_bits, ibuf_kib, wbuf_kib,
                        obuf_kib, freq, bw)
        space = make_space(**sub, unit_energy=lambda r, c=cfgs: unit_energies(c(r)))
        fixed = {"cycles": cyc1[sel], "dram": dram_total[sel],
                 "energy": lambda r, i=idx, c=cfgs: fixed_energy({key: v[i[r]] for key, v in t.items()}, cyc1[i[r]],
                                                                 c(r))}
        choice = search(space, str(obj), fixed)
        w = ~choice.fixed
        if not w.any():
            continue
        acts = actions_of(choice.totals)
        at = idx[w]
        for key, v in acts.items():
            t[key][at] = v[w]
        comp[at] = choice.totals["compute_cycles"][w]
        cyc1[at] = choice.totals["cycles"][w]
        folds[at] = choice.totals["folds"][w]
        mcols["mapping_order"][at] = choice.order[w]
        mcols["mapping_tile_m"][at] = choice.tile_m[w]
        mcols["mapping_tile_k"][at] = choice.tile_k[w]
        mcols["mapping_tile_n"][at] = choice.tile_n[w]
    res = {key: v * count for key, v in t.items() if not key.startswith("_")}
    res["dram_bytes:a"] = t["_dram_a"] * count
    res["dram_bytes:w"] = t["_dram_w"] * count
    res["dram_bytes:c"] = t["_dram_c"] * count
    res["cycles"] = cyc1 * count
    res["compute_cycles"] = comp * count
    res["stall_cycles"] = (cyc1 - comp) * count
    res["macs"] = m * k * n * count
    res["utilization"] = res["macs"] / (res["cycles"] * rows * cols)
    res["folds"] = folds
    res.update(mcols)
    return {key: np.asarray(v).reshape(shape0) for key, v in res.items()}


def _configs(idx, *cols):
    """A function giving the configs of the problems ``rows`` of ``idx`` (only when the
    mapper needs their energies)."""
    names = ("rows", "cols", "w_bits", "act_format", "group_size", "zero_point", "acc_bits", "ibuf_kib", "wbuf_kib",
             "obuf_kib", "freq_mhz", "dram_bw_bytes_per_cycle")

    def build(rows):
        out = []
        for i in idx[rows]:
            kw = {name: c[i].item() for name, c in zip(names, cols)}
            kw["zero_point"] = bool(kw["zero_point"])
            kw["act_format"] = str(kw["act_format"])
            out.append(MixpeConfig(**kw))
        return out

    return build
