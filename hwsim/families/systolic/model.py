"""Closed-form (vectorisable) model of a systolic array running a tiled GEMM.

Two timing modes share one traffic/action model:

``"scalesim"``
    Compute cycles equal SCALE-Sim v3's "Total Cycles" for all three dataflows
    (checked against SCALE-Sim 3.0.0 in ``tests/test_systolic_model.py``). SCALE-Sim runs
    folds one after another without overlap; per fold it spends the streamed dimension
    plus the array fill/drain::

        os: ceil(M/R) * ceil(N/C) * (K + R + C - 2) - 1
        ws: ceil(K/R) * ceil(N/C) * (M + 2R + C - 2) - 1
        is: ceil(K/R) * ceil(M/C) * (N + 2R + C - 2) - 1

``"hardware"``
    The cycle count of this project's RTL (:mod:`hwsim.families.systolic.hdl`), which streams
    folds back to back and overlaps weight preload with compute;
    :func:`hwsim.families.systolic.timing.hardware_cycles` gives it exactly (the RTL tests
    check equality).

Traffic follows the loop order of the RTL's sequencer (column folds outer for ``os``;
N folds outer, K folds inner for ``ws``; M folds outer, K folds inner for ``is``).
SRAM accesses are counted in words of the buffer's width. DRAM bytes assume each operand
is fetched once if it fits in its buffer and re-fetched on every fold that re-reads it
otherwise; partial sums never leave the chip (``os`` keeps them in the PEs, ``ws``/``is``
in the ``acc_depth x cols`` accumulator buffer ``acc``). **Approximation**: DRAM transfers are assumed to overlap compute
perfectly (double-buffered), so total cycles are ``max(compute, dram_bytes / bandwidth)``;
no DRAM latency, bank or refresh effects are modelled for this family. The event-driven
replay of :mod:`hwsim.families.systolic.memsim` (double-buffered, fold by fold) measures the
error of this bound: within 1.4 % on Llama-2-7B GEMMs on 32x32 arrays, up to 20 % on tiny
GEMMs whose first load and last write-back cannot be hidden.

Named action counts (priced by :mod:`hwsim.cost`):

``mac``
    useful multiply-accumulates (M*K*N);
``sram_read:<buf>``, ``sram_write:<buf>``
    word accesses to the ``ifmap`` (A), ``filter`` (B), ``acc`` (partial sums, ``ws``/``is``)
    and ``ofmap`` (C) buffers;
``dram_read_bytes``, ``dram_write_bytes``
    off-chip traffic;
``fill_bytes:<buf>``, ``drain_bytes:<buf>``
    bytes written into ``ifmap`` / ``filter`` from DRAM, read out of ``ofmap`` to DRAM
    (the buffer side of the DRAM traffic);
``reg_write_bits``
    bits written into PE pipeline registers (operands and partial sums forwarded to
    neighbours, plus stationary-operand preload).
"""

from __future__ import annotations

import numpy as np

from hwsim.families.base import Perf
from hwsim.families.systolic.config import DATAFLOWS, SystolicConfig
from hwsim.errors import check_choice
from hwsim.families.systolic.mapping import actions_of, fixed_energy, make_space, unit_energies
from hwsim.mapping.engine import FIXED_ORDER, MAPPINGS, OBJECTIVES, group_rows, search, searchable
from hwsim.mapping.fields import DEFAULT_MAPPING, DEFAULT_OBJECTIVE, mapping_dict
from hwsim.workloads.ops import GemmOp

MODES = ("hardware", "scalesim")
_DF_CODE = {name: i for i, name in enumerate(DATAFLOWS)}


def _cdiv(a, b):
    return -(-a // b)


def _bytes(bits):
    return _cdiv(bits, 8)


def scalesim_cycles(rows, cols, dataflow: str, m, k, n):
    """SCALE-Sim v3 compute cycles ("Total Cycles") of ``C[m,n] = A[m,k] B[k,n]``.

    Works element-wise on NumPy integer arrays.

    >>> scalesim_cycles(4, 4, "os", 8, 12, 8)
    71
    """
    r, c = rows, cols
    if dataflow == "os":
        return _cdiv(m, r) * _cdiv(n, c) * (k + r + c - 2) - 1
    if dataflow == "ws":
        return _cdiv(k, r) * _cdiv(n, c) * (m + 2 * r + c - 2) - 1
    if dataflow == "is":
        return _cdiv(k, r) * _cdiv(m, c) * (n + 2 * r + c - 2) - 1
    check_choice("dataflow", dataflow, DATAFLOWS)
    raise AssertionError("unreachable")


def traffic(rows, cols, dataflow: str, m, k, n, a_bits, b_bits, acc_bits,
            ifmap_kb, filter_kb, ofmap_kb, acc_depth=64):
    """SRAM word accesses, DRAM bytes and register writes for one GEMM.

    The loop order is the RTL's (see :mod:`hwsim.families.systolic.timing`):

    * ``os``: column folds outer, row folds inner; A is re-read for every column fold,
      B for every row fold; each C element is written once.
    * ``ws``: N blocks outer, M chunks of ``acc_depth`` rows, K blocks inner; A is re-read
      for every N block and each B tile for every M chunk; partial sums over the K blocks
      stay in the ``acc_depth x cols`` accumulator buffer (``acc``): every K block but the
      last reads and writes it, the last streams C out.
    * ``is``: the ``ws`` machine on ``C^T = B^T A^T`` (M and N, A and B swapped).

    All arguments may be NumPy arrays (broadcast together). Returns a dict of arrays
    keyed by action name (see the module docstring); keys starting with ``_`` are the
    DRAM bytes per operand.
    """
    r, c, d = rows, cols, acc_depth
    ab, bb, ob = _bytes(a_bits), _bytes(b_bits), _bytes(acc_bits)
    a_sz, b_sz, c_sz = m * k * ab, k * n * bb, m * n * ob
    ifmap_cap, filter_cap = ifmap_kb * 1024, filter_kb * 1024
    macs = m * k * n
    zero = 0 * macs
    if dataflow == "os":
        fr, fc = _cdiv(m, r), _cdiv(n, c)
        rd_a, rd_b = m * k * fc, k * n * fr
        acc_rw = zero
        # A is re-read for every column fold; a K x cols slab of B serves all row folds.
        dram_a = np.where(a_sz <= ifmap_cap, a_sz, a_sz * fc)
        dram_b = np.where(k * c * bb <= filter_cap, b_sz, b_sz * fr)
        regs = macs * (a_bits + b_bits)
    elif dataflow == "ws":
        kt, nt, mc = _cdiv(k, r), _cdiv(n, c), _cdiv(m, d)
        rd_a, rd_b = m * k * nt, k * n * mc
        acc_rw = m * n * (kt - 1)
        dram_a = np.where(a_sz <= ifmap_cap, a_sz, a_sz * nt)
        dram_b = np.where(b_sz <= filter_cap, b_sz, b_sz * mc)
        regs = macs * (a_bits + acc_bits) + k * n * mc * b_bits * r
    elif dataflow == "is":
        kt, mt, nc = _cdiv(k, r), _cdiv(m, c), _cdiv(n, d)
        rd_a, rd_b = m * k * nc, k * n * mt
        acc_rw = m * n * (kt - 1)
        dram_a = np.where(a_sz <= ifmap_cap, a_sz, a_sz * nc)
        dram_b = np.where(b_sz <= filter_cap, b_sz, b_sz * mt)
        regs = macs * (b_bits + acc_bits) + m * k * nc * a_bits * r
    else:
        check_choice("dataflow", dataflow, DATAFLOWS)
        raise AssertionError("unreachable")
    return {
        "mac": macs,
        "sram_read:ifmap": rd_a,
        "sram_read:filter": rd_b,
        "sram_read:acc": acc_rw,
        "sram_write:acc": acc_rw,
        "sram_write:ofmap": m * n + zero,
        "sram_read:ofmap": zero,
        "dram_read_bytes": dram_a + dram_b,
        "dram_write_bytes": c_sz + zero,
        # every byte read from DRAM is written into its buffer, every byte written
        # to DRAM is first read out of the output buffer
        "fill_bytes:ifmap": dram_a,
        "fill_bytes:filter": dram_b,
        "fill_bytes:ofmap": zero,
        "drain_bytes:ofmap": c_sz + zero,
        "reg_write_bits": regs,
        "_dram_a": dram_a,
        "_dram_b": dram_b,
        "_dram_c": c_sz + zero,
    }


def compute_cycles(cfg: SystolicConfig, m, k, n, mode: str = "hardware"):
    """Compute cycles (no DRAM stalls) in the given timing mode; element-wise in m, k, n."""
    check_choice("mode", mode, MODES)
    if mode == "scalesim":
        return scalesim_cycles(cfg.rows, cfg.cols, cfg.dataflow, m, k, n)
    from hwsim.families.systolic.timing import hardware_cycles

    return hardware_cycles(cfg, m, k, n)


def estimate(cfg: SystolicConfig, op: GemmOp, mode: str = "hardware") -> Perf:
    """Cycles, utilisation, traffic and action counts of ``op`` on ``cfg``.

    ``op.count`` repeats of the op are run back to back; counts and cycles are totals.

    Examples
    --------
    >>> from hwsim.workloads.ops import GemmOp
    >>> p = estimate(SystolicConfig(rows=4, cols=4, dataflow="os"), GemmOp(8, 12, 8), mode="scalesim")
    >>> p.cycles, p.macs
    (71, 768)
    """
    check_choice("mode", mode, MODES)
    if cfg.mapping == "search" and mode == "hardware" and searchable(op.macs, cfg.dram_bw_bytes_per_cycle):
        return _estimate_searched(cfg, op, mode)
    m, k, n = op.m, op.k, op.n
    comp = int(compute_cycles(cfg, m, k, n, mode))
    t = traffic(cfg.rows, cfg.cols, cfg.dataflow, m, k, n, cfg.a_bits, cfg.b_bits, cfg.acc_bits,
                cfg.ifmap_sram_kb, cfg.filter_sram_kb, cfg.ofmap_sram_kb, cfg.acc_depth)
    dram_total = int(t["dram_read_bytes"] + t["dram_write_bytes"])
    dram_cycles = int(np.ceil(dram_total / cfg.dram_bw_bytes_per_cycle))
    cyc1 = max(comp, dram_cycles)
    cnt = op.count
    cycles = cyc1 * cnt
    macs = op.macs * cnt
    util = macs / (cycles * cfg.pes) if cycles else 0.0
    rep = {key: int(v) * cnt for key, v in t.items()}
    return Perf(
        cycles=cycles,
        macs=macs,
        utilization=util,
        sram_reads={b: rep[f"sram_read:{b}"] for b in ("ifmap", "filter", "acc", "ofmap")},
        sram_writes={b: rep[f"sram_write:{b}"] for b in ("acc", "ofmap")},
        dram_bytes={"a": rep["_dram_a"], "b": rep["_dram_b"], "c": rep["_dram_c"]},
        actions={**{key: v for key, v in rep.items() if not key.startswith("_")},
                 "stalled_cycles": (cyc1 - comp) * cnt},
        compute_cycles=comp * cnt,
        stall_cycles=(cyc1 - comp) * cnt,
        mode=mode,
        folds=int(_folds(cfg.rows, cfg.cols, cfg.dataflow, m, k, n)),
        mapping=mapping_dict(FIXED_ORDER, m, k, n, cfg.mapping_objective),
    )


def _estimate_searched(cfg: SystolicConfig, op: GemmOp, mode: str) -> Perf:
    """:func:`estimate` with ``mapping="search"`` (the same search as :func:`estimate_arrays`,
    on one problem)."""
    from dataclasses import replace

    fixed = estimate(replace(cfg, mapping="fixed"), replace(op, count=1), mode)
    one = {key: np.array([getattr(cfg, key)]) for key in _SPACE_FIELDS if key not in ("m", "k", "n")}
    space = make_space(cfg.dataflow, mode, **one, m=np.array([op.m]), k=np.array([op.k]), n=np.array([op.n]),
                       unit_energy=lambda rows: unit_energies(([cfg], np.zeros(len(rows), int))))
    choice = search(space, cfg.mapping_objective,
                    {"cycles": np.array([fixed.cycles]), "dram": np.array([fixed.total_dram_bytes]),
                     "energy": lambda rows: fixed_energy(fixed.actions, [fixed.cycles], ([cfg], np.zeros(1, int)))})
    cnt = op.count
    if choice.fixed[0]:
        return estimate(replace(cfg, mapping="fixed"), op, mode)
    tot = {key: np.asarray(v).reshape(-1)[0] for key, v in choice.totals.items()}
    acts = {key: int(v) * cnt for key, v in actions_of(tot).items()}
    rep = {key: acts[key] for key in _ACTION_KEYS}
    cycles, comp = int(tot["cycles"]) * cnt, int(tot["compute_cycles"]) * cnt
    rep["stalled_cycles"] = cycles - comp  # charged by the cost components (clock enable held)
    macs = op.macs * cnt
    return Perf(
        cycles=cycles,
        macs=macs,
        utilization=macs / (cycles * cfg.pes) if cycles else 0.0,
        sram_reads={b: rep[f"sram_read:{b}"] for b in ("ifmap", "filter", "acc", "ofmap")},
        sram_writes={b: rep[f"sram_write:{b}"] for b in ("acc", "ofmap")},
        dram_bytes={"a": acts["_dram_a"], "b": acts["_dram_b"], "c": acts["_dram_c"]},
        actions=rep,
        compute_cycles=comp,
        stall_cycles=cycles - comp,
        mode=mode,
        folds=int(tot["folds"]),
        mapping=mapping_dict(choice.order[0], choice.tile_m[0], choice.tile_k[0], choice.tile_n[0],
                             cfg.mapping_objective),
    )


#: Fields of :func:`hwsim.families.systolic.mapping.make_space`.
_SPACE_FIELDS = ("rows", "cols", "m", "k", "n", "a_bits", "b_bits", "acc_bits", "ifmap_sram_kb", "filter_sram_kb",
                 "ofmap_sram_kb", "dram_bw_bytes_per_cycle", "acc_depth")


#: Config fields :func:`estimate_arrays` takes (the family's ``array_fields``).
ARRAY_FIELDS = ("rows", "cols", "dataflow", "a_bits", "b_bits", "acc_bits", "ifmap_sram_kb",
                "filter_sram_kb", "ofmap_sram_kb", "dram_bw_bytes_per_cycle", "acc_depth", "freq_mhz",
                "mapping", "mapping_objective")
#: Action counts every estimate emits (fixed and mapped alike).
_ACTION_KEYS = ("mac", "sram_read:ifmap", "sram_read:filter", "sram_read:acc", "sram_write:acc",
                "sram_write:ofmap", "sram_read:ofmap", "dram_read_bytes", "dram_write_bytes", "fill_bytes:ifmap",
                "fill_bytes:filter", "fill_bytes:ofmap", "drain_bytes:ofmap", "reg_write_bits")


def _folds(r, c, df, m, k, n):
    if df == "os":
        return _cdiv(m, r) * _cdiv(n, c)
    if df == "ws":
        return _cdiv(k, r) * _cdiv(n, c)
    return _cdiv(k, r) * _cdiv(m, c)


def estimate_arrays(*, rows, cols, dataflow, m, k, n, count=1, a_bits=8, b_bits=8, acc_bits=32,
                    ifmap_sram_kb=64, filter_sram_kb=64, ofmap_sram_kb=64,
                    dram_bw_bytes_per_cycle=16.0, acc_depth=64, freq_mhz=1000.0, mapping=DEFAULT_MAPPING,
                    mapping_objective=DEFAULT_OBJECTIVE, mode: str = "hardware") -> dict:
    """Vectorised :func:`estimate` over NumPy arrays of design points and ops.

    Every keyword may be a scalar or an array; arrays broadcast together. ``dataflow``,
    ``mapping`` and ``mapping_objective`` are string arrays (or single strings);
    ``freq_mhz`` only matters to the energy the mapper minimises or breaks ties with.
    Returns a dict of arrays: ``cycles``, ``compute_cycles``, ``stall_cycles``,
    ``macs``, ``utilization``, ``folds``, every action count, the DRAM bytes per operand
    (``dram_bytes:a``, ``dram_bytes:b``, ``dram_bytes:c``), and the mapping of each op
    (not multiplied by ``count``): ``mapping_order`` (loop order over the buffer tiles,
    outer to inner, or ``"fixed"``), ``mapping_tile_m``, ``mapping_tile_k``,
    ``mapping_tile_n`` and ``mapping_objective`` (see :attr:`Perf.mapping`). Values
    equal :func:`estimate` point by point (tested).
    """
    check_choice("mode", mode, MODES)
    arrs = np.broadcast_arrays(*(np.asarray(x) for x in (
        rows, cols, dataflow, m, k, n, count, a_bits, b_bits, acc_bits,
        ifmap_sram_kb, filter_sram_kb, ofmap_sram_kb, dram_bw_bytes_per_cycle, acc_depth, freq_mhz,
        mapping, mapping_objective)))
    shape0 = arrs[0].shape
    arrs = [a.reshape(-1) for a in arrs]  # 1-D inside (scalars too), shape0 outside
    (rows, cols, dataflow, m, k, n, count, a_bits, b_bits, acc_bits,
     ifk, fik, ofk, bw, acc_depth, freq, mapping, objective) = arrs
    ints = [x.astype(np.int64) for x in (rows, cols, m, k, n, count, a_bits, b_bits, acc_bits, ifk, fik, ofk, acc_depth)]
    rows, cols, m, k, n, count, a_bits, b_bits, acc_bits, ifk, fik, ofk, acc_depth = ints
    bw = bw.astype(float)
    shape = rows.shape
    out: dict[str, np.ndarray] = {}
    comp = np.zeros(shape, dtype=np.int64)
    folds = np.zeros(shape, dtype=np.int64)
    for df in np.unique(dataflow):
        check_choice("dataflow", str(df), DATAFLOWS)
        sel = dataflow == df
        args = [x[sel] for x in (rows, cols)]
        mm, kk, nn = m[sel], k[sel], n[sel]
        folds[sel] = _folds(args[0], args[1], str(df), mm, kk, nn)
        if mode == "scalesim":
            comp[sel] = scalesim_cycles(args[0], args[1], str(df), mm, kk, nn)
        else:
            from hwsim.families.systolic.timing import hardware_cycles

            # hardware_cycles takes one config; group points by the fields it reads.
            keys = [args[0], args[1], a_bits[sel], b_bits[sel], acc_bits[sel], acc_depth[sel]]
            first, inv = group_rows(keys)
            idx = np.flatnonzero(sel)
            sub = np.zeros(idx.shape, dtype=np.int64)
            by = np.argsort(inv, kind="stable")
            ends = np.searchsorted(inv[by], np.arange(first.size + 1))
            for u, f in enumerate(first):
                row = [int(x[f]) for x in keys]
                cfg = SystolicConfig(rows=row[0], cols=row[1], dataflow=str(df), a_bits=row[2], b_bits=row[3],
                                     acc_bits=row[4], acc_depth=row[5])
                w = by[ends[u]:ends[u + 1]]
                sub[w] = np.asarray(hardware_cycles(cfg, mm[w], kk[w], nn[w]), dtype=np.int64)
            comp.reshape(-1)[idx] = sub
        t = traffic(args[0], args[1], str(df), mm, kk, nn, a_bits[sel], b_bits[sel], acc_bits[sel],
                    ifk[sel], fik[sel], ofk[sel], acc_depth[sel])
        for key, v in t.items():
            if key not in out:
                out[key] = np.zeros(shape, dtype=np.int64)
            out[key][sel] = v
    dram_total = out["dram_read_bytes"] + out["dram_write_bytes"]
    dram_cycles = np.ceil(dram_total / bw).astype(np.int64)
    cyc1 = np.maximum(comp, dram_cycles)
    mcols = {"mapping_order": np.full(shape, FIXED_ORDER, dtype=object), "mapping_tile_m": m.copy(),
             "mapping_tile_k": k.copy(), "mapping_tile_n": n.copy(),
             "mapping_objective": objective.astype(object)}
    for key in np.unique(mapping):
        check_choice("mapping", str(key), MAPPINGS)
    for key in np.unique(objective):
        check_choice("mapping_objective", str(key), OBJECTIVES)
    # SCALE-Sim's compatibility mode is its own fold order on the whole GEMM: never mapped
    searched = (mapping == "search") & (mode == "hardware") & searchable(m * k * n, bw)
    if searched.any():
        fields = dict(rows=rows, cols=cols, m=m, k=k, n=n, a_bits=a_bits, b_bits=b_bits, acc_bits=acc_bits,
                      ifmap_sram_kb=ifk, filter_sram_kb=fik, ofmap_sram_kb=ofk, dram_bw_bytes_per_cycle=bw,
                      acc_depth=acc_depth)
        for df in np.unique(dataflow[searched]):
            for obj in np.unique(objective[searched & (dataflow == df)]):
                sel = searched & (dataflow == df) & (objective == obj)
                # one search per distinct problem (a workload repeats shapes, a sweep designs);
                # problems that differ only in DRAM bandwidth share their candidates
                every = np.flatnonzero(sel)
                prob = group_rows([v[every] for key, v in fields.items() if key != "dram_bw_bytes_per_cycle"]
                                  + [freq[every]])[1]
                first, inv = group_rows([prob, bw[every]])
                of = prob[first]  # the problem of each distinct (problem, bandwidth)
                many = np.bincount(of)[of] >= _SHARED_FROM
                for part in (np.flatnonzero(many), np.flatnonzero(~many)):
                    if part.size:
                        _search_part(str(df), str(obj), mode, fields, freq, out, cyc1, dram_total, comp, folds, mcols,
                                     every[first[part]], of[part] if many[part[0]] else None,
                                     every, inv, part, first.size)
    res = {key: v * count for key, v in out.items() if not key.startswith("_")}
    res["dram_bytes:a"] = out["_dram_a"] * count
    res["dram_bytes:b"] = out["_dram_b"] * count
    res["dram_bytes:c"] = out["_dram_c"] * count
    res["cycles"] = cyc1 * count
    res["compute_cycles"] = comp * count
    res["stall_cycles"] = (cyc1 - comp) * count
    res["stalled_cycles"] = res["stall_cycles"]  # the same, as an action the cost components charge
    res["macs"] = m * k * n * count
    res["utilization"] = res["macs"] / (res["cycles"] * rows * cols)
    res["folds"] = folds
    res.update(mcols)
    return {key: v.reshape(shape0) for key, v in res.items()}


#: Problems asked at this many DRAM bandwidths or more are searched once for all of them
#: (:func:`hwsim.mapping.engine.search` with queries); the others one by one.
_SHARED_FROM = 3


def _search_part(df, obj, mode, fields, freq, out, cyc1, dram_total, comp, folds, mcols, idx, of, every, inv, part,
                 nq):
    """Search the distinct problems ``idx`` (points of the arrays; with ``of``, their
    problems without bandwidth, as labels) and give every point of ``every`` whose
    distinct problem (``inv``) is among them (``part`` of the ``nq``) its mapping."""
    sub = {key: v[idx] for key, v in fields.items()}
    qcfgs = _configs(df, sub, freq[idx])
    fixed = {"cycles": cyc1[idx], "dram": dram_total[idx],
             "energy": lambda r: fixed_energy({key: v[idx[r]] for key, v in out.items()}, cyc1[idx[r]], qcfgs(r))}
    if of is None:
        space = make_space(df, mode, **sub, unit_energy=lambda r: unit_energies(qcfgs(r)))
        choice = search(space, obj, fixed)
    else:
        _, rep, of = np.unique(of, return_index=True, return_inverse=True)
        pidx = idx[rep]
        pcfgs = _configs(df, {key: v[pidx] for key, v in fields.items()}, freq[pidx])
        space = make_space(df, mode, **{key: v[pidx] for key, v in fields.items()},
                           unit_energy=lambda r: unit_energies(pcfgs(r)))
        choice = search(space, obj, fixed, bw=fields["dram_bw_bytes_per_cycle"][idx], of=of.reshape(-1))
    w = ~choice.fixed
    if not w.any():
        return
    loc = np.full(nq, -1)
    loc[part] = np.arange(part.size)
    src = loc[inv]
    hit = src >= 0
    hit[hit] = w[src[hit]]
    at, src = every[hit], src[hit]  # every point takes its distinct problem's mapping
    tot = choice.totals
    for key, v in actions_of(tot).items():
        out[key][at] = v[src]
    comp[at] = tot["compute_cycles"][src]
    cyc1[at] = tot["cycles"][src]
    folds[at] = tot["folds"][src]
    mcols["mapping_order"][at] = choice.order[src]
    mcols["mapping_tile_m"][at] = choice.tile_m[src]
    mcols["mapping_tile_k"][at] = choice.tile_k[src]
    mcols["mapping_tile_n"][at] = choice.tile_n[src]


def _configs(dataflow: str, sub: dict, freq):
    """A function giving the distinct configs of the problems ``rows`` of ``sub`` and, per
    problem, the index of its config (built only when the mapper needs their energies).

    The configs are those of the energies per action (:func:`action_energies`), which
    the DRAM bandwidth does not enter (the cost components have no bandwidth): problems
    that differ only in bandwidth share one config, at the default bandwidth."""

    def build(rows):
        keys = ("rows", "cols", "a_bits", "b_bits", "acc_bits", "ifmap_sram_kb", "filter_sram_kb",
                "ofmap_sram_kb", "acc_depth")
        cols = [sub[k][rows] for k in keys] + [freq[rows]]
        first, inv = group_rows(cols)
        made = [SystolicConfig(**{k: int(c[f]) for k, c in zip(keys, cols)}, dataflow=dataflow,
                               freq_mhz=float(cols[-1][f])) for f in first]
        return made, inv

    return build
