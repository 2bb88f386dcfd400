"""Timing and named actions of the SRAM LUT-GEMV units.

Schedule of one unit (the RTL's, :mod:`.hdl`), for each pass of up to ``vectors`` activation vectors
and each tile of ``lanes`` output columns the unit owns (tiles go round-robin to the
``units`` arrays)::

    for each group g of N weights:
        GROUP command accepted            1 cycle   (weights of the group, the batch's activations)
        table build                       2**N - 1 cycles, one row write each (Gray order)
        for each bit plane j (LSB first):
            lookups                       cost_j cycles, one row read each
    DRAIN command accepted                1 cycle
    accumulators out                      one vector per cycle (Bp cycles)

``cost_j`` is the number of vectors of the pass (``Bp``) without pattern reuse. With
pattern reuse one lookup serves every vector whose plane-``j`` pattern equals it and
all-zero patterns are skipped, so ``cost_j = max(1, distinct non-zero patterns)`` (a plane
whose patterns are all zero still takes its one step). The cost depends on the data;
:func:`plane_costs` counts it from the activations, :func:`expected_plane_cost` gives its
expectation for independent uniformly random activation bits (the closed form's
assumption when it has no data).

Named actions: ``operand_load`` (GROUP / DRAIN commands accepted), ``sram_write:carray``
(table entries written), ``build_add`` (entry adds, per lane), ``sram_read:carray`` (lookups),
``acc_add`` (accumulator updates, per lane and vector), ``drain`` (vectors read out),
``convert`` (dequantised outputs), ``sram_read:llc`` (LLC lines read), ``dram_read_bytes``,
``dram_write_bytes``.

Host traffic: the weights stream from DRAM through the LLC into the arrays once per pass;
activations are read once and broadcast to the arrays; outputs are written back as
binary32. The run is bounded by the busiest unit's compute, the DRAM bandwidth and the
LLC slices' line rate (perfect overlap).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hwsim.errors import ConfigError
from hwsim.families.base import Perf
from hwsim.families.contract import exact_utilization
from hwsim.families.sram_gemv.config import SramGemvConfig
from hwsim.families.sram_gemv.golden import check_operands, pad_groups, patterns

#: Named actions of the model (charged to components by :mod:`.cost`).
ACTIONS = ("operand_load", "sram_write:carray", "build_add", "sram_read:carray", "acc_add", "drain", "convert",
           "sram_read:llc", "dram_read_bytes", "dram_write_bytes")
OUT_BYTES = 4


def plane_costs(cfg: SramGemvConfig, pats: np.ndarray, reuse: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(cost[g, j], acc_updates[g, j])`` of one pass from its patterns ``pats[Bp, g, j]``.

    ``acc_updates`` counts vector accumulators updated (per lane): with reuse the vectors
    with a non-zero pattern, without it every vector."""
    reuse = cfg.pattern_reuse if reuse is None else reuse
    bp = pats.shape[0]
    if not reuse:
        c = np.full(pats.shape[1:], bp, np.int64)
        return c, c.copy()
    srt = np.sort(pats, axis=0)
    new = np.ones_like(srt, dtype=bool)
    new[1:] = srt[1:] != srt[:-1]
    distinct = (new & (srt != 0)).sum(axis=0)
    return np.maximum(1, distinct), (pats != 0).sum(axis=0)


def expected_plane_cost(cfg: SramGemvConfig, bp: int) -> float:
    """``E[max(1, distinct non-zero patterns)]`` of ``bp`` vectors with independent
    uniform bits (without reuse: ``bp``)."""
    if not cfg.pattern_reuse:
        return float(bp)
    q = 1.0 - 1.0 / cfg.table_entries
    return (cfg.table_entries - 1) * (1.0 - q ** bp) + (1.0 / cfg.table_entries) ** bp


def passes(cfg: SramGemvConfig, m: int) -> list[int]:
    full, rest = divmod(m, cfg.vectors)
    return [cfg.vectors] * full + ([rest] if rest else [])


def tiles(cfg: SramGemvConfig, n: int) -> int:
    return -(-n // cfg.lanes)


def busiest_tiles(cfg: SramGemvConfig, n: int) -> int:
    return -(-tiles(cfg, n) // cfg.units)


def groups(cfg: SramGemvConfig, k: int) -> int:
    return max(1, -(-k // cfg.group_size))


def tile_cycles(cfg: SramGemvConfig, bp: int, lookup_cycles: int, n_groups: int) -> int:
    """Cycles of one tile in one pass: groups (load + build + lookups), drain."""
    return n_groups * cfg.table_entries + lookup_cycles + 1 + bp


@dataclass(frozen=True)
class Run:
    """Cycle-level result: the busiest unit's cycles and the actions of all units."""

    cycles: int
    actions: dict


def _actions(cfg, m, k, n, lookups, acc_updates) -> dict:
    """Actions of all units; ``lookups`` and ``acc_updates`` summed over passes (one tile)."""
    nt, ng, ps = tiles(cfg, n), groups(cfg, k), passes(cfg, m)
    npass = len(ps)
    kp = ng * cfg.group_size
    wbytes = math.ceil(kp * n * cfg.w_bits / 8)
    abytes = math.ceil(m * kp * cfg.a_bits / 8)
    return {
        "operand_load": nt * npass * (ng + 1),
        "sram_write:carray": nt * npass * ng * (cfg.table_entries - 1),     # table entries written
        "build_add": nt * npass * ng * (cfg.table_entries - 1) * cfg.lanes,
        "sram_read:carray": nt * int(lookups),                             # lookups
        "acc_add": nt * int(acc_updates) * cfg.lanes,
        "drain": nt * m,
        "convert": m * n,
        "sram_read:llc": math.ceil((npass * wbytes + abytes) / cfg.llc_line_bytes),  # lines
        "dram_read_bytes": npass * wbytes + abytes,
        "dram_write_bytes": m * n * OUT_BYTES,
    }


def simulate(cfg: SramGemvConfig, a, w) -> Run:
    """Cycle-level model on the job's operands: walks every pass, group and bit plane of
    the busiest unit, counting lookups from the actual activation bit patterns."""
    a, w = check_operands(cfg, a, w)
    (m, k), n = a.shape, w.shape[1]
    ap, _ = pad_groups(cfg, a, w)
    pats = patterns(cfg, ap)
    cyc, lookups, updates, m0 = 0, 0, 0, 0
    for bp in passes(cfg, m):
        cost, upd = plane_costs(cfg, pats[m0:m0 + bp])
        m0 += bp
        lookups += int(cost.sum())
        updates += int(upd.sum())
        cyc += tile_cycles(cfg, bp, int(cost.sum()), groups(cfg, k))
    return Run(cyc * busiest_tiles(cfg, n), _actions(cfg, m, k, n, lookups, updates))


def closed_form(cfg: SramGemvConfig, m: int, k: int, n: int) -> Run:
    """Without operands: lookups from :func:`expected_plane_cost` (exact without reuse)."""
    ng = groups(cfg, k)
    cyc, lookups, updates = 0, 0, 0
    for bp in passes(cfg, m):
        look = int(round(ng * cfg.a_bits * expected_plane_cost(cfg, bp)))
        upd = ng * cfg.a_bits * (bp if not cfg.pattern_reuse else bp * (1 - 1 / cfg.table_entries))
        lookups += look
        updates += int(round(upd))
        cyc += tile_cycles(cfg, bp, look, ng)
    return Run(cyc * busiest_tiles(cfg, n), _actions(cfg, m, k, n, lookups, updates))


def perf_of(cfg: SramGemvConfig, m: int, k: int, n: int, run: Run, mode: str = "default") -> Perf:
    """:class:`Perf` of a run: compute cycles, bounded by DRAM and LLC bandwidth."""
    act = run.actions
    dram_bytes = act["dram_read_bytes"] + act["dram_write_bytes"]
    dram_cycles = math.ceil(dram_bytes / (cfg.dram_efficiency * cfg.dram_bw_bytes_per_cycle))
    llc_cycles = math.ceil(act["sram_read:llc"] / cfg.slices)
    cycles = max(run.cycles, dram_cycles, llc_cycles)
    macs = m * k * n
    kp = groups(cfg, k) * cfg.group_size
    return Perf(
        cycles=cycles, macs=macs,
        utilization=exact_utilization(macs, cycles, cfg.peak_macs_per_cycle),
        sram_reads={"carray": act["sram_read:carray"], "llc": act["sram_read:llc"]},
        sram_writes={"carray": act["sram_write:carray"]},
        dram_bytes={"weights": math.ceil(kp * n * cfg.w_bits / 8) * len(passes(cfg, m)),
                    "activations": math.ceil(m * kp * cfg.a_bits / 8), "outputs": act["dram_write_bytes"]},
        actions=dict(act), compute_cycles=run.cycles, stall_cycles=cycles - run.cycles, mode=mode,
        folds=len(passes(cfg, m)) * busiest_tiles(cfg, n))


def estimate(cfg: SramGemvConfig, op, mode: str = "default") -> Perf:
    """Closed-form :class:`Perf` of ``op`` (M vectors x K x N weights); pattern reuse at its
    expectation for uniformly random activation bits (:func:`expected_plane_cost`)."""
    if mode != "default":
        raise ConfigError("mode", f"must be 'default', not {mode!r}")
    m, k, n = int(op.m), int(op.k), int(op.n)
    perf = perf_of(cfg, m, k, n, closed_form(cfg, m, k, n), mode)
    cnt = int(getattr(op, "count", 1))
    if cnt == 1:
        return perf
    return _times(perf, cnt)


def _times(p: Perf, c: int) -> Perf:
    return Perf(cycles=p.cycles * c, macs=p.macs * c, utilization=p.utilization,
                sram_reads={k: v * c for k, v in p.sram_reads.items()},
                sram_writes={k: v * c for k, v in p.sram_writes.items()},
                dram_bytes={k: v * c for k, v in p.dram_bytes.items()},
                actions={k: v * c for k, v in p.actions.items()}, compute_cycles=p.compute_cycles * c,
                stall_cycles=p.stall_cycles * c, mode=p.mode, folds=p.folds * c)


#: Config fields :func:`estimate_arrays` takes (the ones timing and traffic depend on).
ARRAY_FIELDS = ("cols", "group_size", "w_bits", "a_bits", "vectors", "pattern_reuse", "arrays_per_slice", "slices",
                "freq_mhz", "llc_line_bytes", "dram_bw_gb_s", "dram_efficiency")


def _cdiv(a, b):
    return -(-a // b)


def estimate_arrays(*, cols, group_size, w_bits, a_bits, vectors, pattern_reuse, arrays_per_slice, slices, freq_mhz,
                    llc_line_bytes, dram_bw_gb_s, dram_efficiency, m, k, n, count=1, mode="default") -> dict:
    """:func:`estimate` element-wise over NumPy arrays of design fields and op shapes
    (equal to it point by point, tested): ``{cycles, compute_cycles, stall_cycles, macs,
    utilization, folds, <action>: ...}``."""
    if mode != "default":
        raise ConfigError("mode", f"must be 'default', not {mode!r}")
    cols, N, wb, ab, B = (np.asarray(x, np.int64) for x in (cols, group_size, w_bits, a_bits, vectors))
    reuse = np.asarray(pattern_reuse, bool)
    units = np.asarray(arrays_per_slice, np.int64) * np.asarray(slices, np.int64)
    m, k, n, cnt = (np.asarray(x, np.int64) for x in (m, k, n, count))
    te = np.left_shift(1, N)
    eb = wb + np.array([(int(g) - 1).bit_length() for g in np.ravel(N)], np.int64).reshape(np.shape(N))
    lanes = cols // eb
    ng = np.maximum(1, _cdiv(k, N))
    nt = _cdiv(n, lanes)
    busy = _cdiv(nt, units)
    full, rest = m // B, m % B
    npass = full + (rest > 0)

    def plane(bp):
        q = 1.0 - 1.0 / te
        exp = (te - 1) * (1.0 - q ** bp) + (1.0 / te) ** bp
        return np.where(reuse, exp, bp.astype(float))

    def pass_terms(bp):
        look = np.rint(ng * ab * plane(bp)).astype(np.int64)
        upd = np.where(reuse, np.rint(ng * ab * bp * (1 - 1 / te)), ng * ab * bp).astype(np.int64)
        cyc = ng * te + look + 1 + bp
        return look, upd, cyc

    lf, uf, cf = pass_terms(B)
    lr, ur, cr = pass_terms(np.maximum(rest, 1))
    has_rest = rest > 0
    lookups = full * lf + np.where(has_rest, lr, 0)
    updates = full * uf + np.where(has_rest, ur, 0)
    compute = (full * cf + np.where(has_rest, cr, 0)) * busy
    kp = ng * N
    wbytes = _cdiv(kp * n * wb, 8)
    abytes = _cdiv(m * kp * ab, 8)
    act = {
        "operand_load": nt * npass * (ng + 1),
        "sram_write:carray": nt * npass * ng * (te - 1),
        "build_add": nt * npass * ng * (te - 1) * lanes,
        "sram_read:carray": nt * lookups,
        "acc_add": nt * updates * lanes,
        "drain": nt * m,
        "convert": m * n,
        "sram_read:llc": _cdiv(npass * wbytes + abytes, np.asarray(llc_line_bytes, np.int64)),
        "dram_read_bytes": npass * wbytes + abytes,
        "dram_write_bytes": m * n * OUT_BYTES,
    }
    bw = np.asarray(dram_efficiency, float) * np.asarray(dram_bw_gb_s, float) * 1e3 / np.asarray(freq_mhz, float)
    dram_cycles = np.ceil((act["dram_read_bytes"] + act["dram_write_bytes"]) / bw).astype(np.int64)
    llc_cycles = _cdiv(act["sram_read:llc"], np.asarray(slices, np.int64))
    cycles = np.maximum(compute, np.maximum(dram_cycles, llc_cycles))
    macs = m * k * n
    peak = units * lanes * N * B / (te + ab)
    out = {"cycles": cycles * cnt, "compute_cycles": compute * cnt, "stall_cycles": (cycles - compute) * cnt,
           "macs": macs * cnt, "utilization": macs / (cycles * peak), "folds": npass * busy * cnt}
    out.update({a: v * cnt for a, v in act.items()})
    return out
