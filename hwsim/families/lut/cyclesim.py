"""Cycle-level model of the LUT tile and the MAC baseline tile, handshake by handshake.

It steps the same registers as the RTL in :mod:`hwsim.families.lut.hdl` (table register and its
valid/last flags, plane counter, accumulators, row sums, output register) through the
valid/ready rules of the three streams, with the feeder's beats in the order of
:func:`tile_steps`. Optional per-cycle enable patterns (``act_en``, ``wgt_en``,
``out_en``: strings of ``"0"``/``"1"``, all ones past their end) model a feeder that
cannot always deliver (a beat, once offered, stays offered until taken: the stream rule)
and a consumer that back-pressures; the cocotb bench honours the
same patterns, so RTL cycles can be checked against this model under stalls too. With
no stalls the cycles equal :mod:`hwsim.families.lut.model`'s closed form.

Values are computed with the golden model's table functions, one table per K step, so
the result also checks the tiling against :func:`hwsim.families.lut.golden.golden_lut_gemm`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from hwsim.families.base import Perf
from hwsim.sim.streams import Gaps
from hwsim.families.lut import model
from hwsim.families.lut.config import LutConfig
from hwsim.families.lut.golden import (
    bit_planes,
    build_tables,
    check_operands,
    lookup,
    lut_output,
    weight_values,
    wrap,
)
from hwsim.errors import ConfigError


def tile_steps(cfg: LutConfig, a, q):
    """The feeder's K steps in issue order, after padding to tile multiples.

    Yields ``(row, col, a_block[tile_m, tile_k], q_block[tile_k, tile_n], last)`` for
    M tiles, then N tiles, then K steps (output stationary).
    """
    a = np.asarray(a, dtype=np.int64)
    q = np.asarray(q, dtype=np.int64)
    tm, tn, tk = cfg.tile_m, cfg.tile_n, cfg.tile_k
    m, k = a.shape
    n = q.shape[1]
    mp, kp, np_ = -(-m // tm) * tm, -(-k // tk) * tk, -(-n // tn) * tn
    a_p = np.zeros((mp, kp), dtype=np.int64)
    a_p[:m, :k] = a
    q_p = np.zeros((kp, np_), dtype=np.int64)
    q_p[:k, :n] = q
    ksteps = kp // tk
    for mi in range(0, mp, tm):
        for ni in range(0, np_, tn):
            for s in range(ksteps):
                ks = slice(s * tk, (s + 1) * tk)
                yield mi, ni, a_p[mi:mi + tm, ks], q_p[ks, ni:ni + tn], s == ksteps - 1


def _gaps(pattern: str | None) -> Gaps:
    """The bench's policy for an enable pattern (``None``: never withhold)."""
    return Gaps(pattern=pattern) if pattern is not None else Gaps()


class _Valid:
    """A source's ``valid`` under an enable pattern and the stream rule: a beat is offered
    in the first enabled cycle once there is one, and stays offered until it is taken
    (the pattern is not consulted again until then), as :class:`hwsim.sim.streams.Source`
    offers it."""

    def __init__(self, pattern: str | None):
        self.gaps = _gaps(pattern)
        self.offer = False

    def __call__(self, left: bool, cycle: int) -> bool:
        if not self.offer and left:
            self.offer = self.gaps.go(cycle)
        return self.offer

    def take(self, fired: bool) -> None:
        if fired:
            self.offer = False


def _finish(cfg, a, q, outs, first_in, last_out, closed) -> tuple[np.ndarray, int]:
    m, n = a.shape[0], q.shape[1]
    tm, tn = cfg.tile_m, cfg.tile_n
    c = np.zeros((-(-m // tm) * tm, -(-n // tn) * tn), dtype=np.int64)
    for (mi, ni), blk in outs:
        c[mi:mi + tm, ni:ni + tn] = blk
    return c[:m, :n], last_out - first_in + 1


def _operands(cfg: LutConfig, a, q):
    if cfg.is_integer:
        a = np.asarray(a, dtype=np.int64)
        q = np.asarray(q, dtype=np.int64)
        check_operands(cfg, a, q)
        return a, q
    from hwsim.families.lut.golden_fp16 import _check

    return _check(cfg, a, q)


def _out(cfg: LutConfig, c: np.ndarray) -> np.ndarray:
    return c if cfg.is_integer else c.astype(np.uint16)


class _Fp16Ops:
    """The binary16 register updates of the LUT tile (:mod:`hwsim.families.lut.golden_fp16`)."""

    def __init__(self, cfg: LutConfig):
        self.cfg = cfg

    def tables(self, blk, rowsum):
        from hwsim.blocks.fp16 import fp16_add
        from hwsim.families.lut.golden_fp16 import step_rowsum, step_tables

        cfg = self.cfg
        tab = step_tables(cfg, blk.reshape(cfg.tile_m, cfg.tables_per_row, cfg.k_group))
        return tab, fp16_add(rowsum, step_rowsum(tab)).astype(np.int64)

    def accumulate(self, acc, tab, patterns, plane):
        from hwsim.blocks.fp16 import fp16_add
        from hwsim.families.lut.golden_fp16 import plane_contribution

        return fp16_add(acc, plane_contribution(self.cfg, tab, patterns, plane)).astype(np.int64)

    def finalize(self, total, rowsum):
        from hwsim.families.lut.golden_fp16 import finalize

        return finalize(self.cfg, total, rowsum)


def _perf(base: Perf, cycles: int) -> Perf:
    return replace(base, cycles=cycles, stall_cycles=cycles - base.compute_cycles,
                   utilization=base.utilization * base.cycles / cycles)


def simulate_lut(cfg: LutConfig, a, q, act_en: str | None = None, wgt_en: str | None = None,
                 out_en: str | None = None, max_cycles: int = 10_000_000) -> tuple[np.ndarray, Perf]:
    """Run one GEMM through the LUT tile cycle by cycle; return ``(C, Perf)``.

    Examples
    --------
    >>> cfg = LutConfig(w_bits=2, tile_m=2, tile_n=8, tile_k=4)
    >>> rng = np.random.default_rng(0)
    >>> a, q = rng.integers(-128, 128, (4, 16)), rng.integers(0, 4, (16, 16))
    >>> c, perf = simulate_lut(cfg, a, q)
    >>> perf.cycles == model.estimate(cfg, (4, 16, 16)).cycles
    True
    """
    a, q = _operands(cfg, a, q)
    fp = _Fp16Ops(cfg) if not cfg.is_integer else None
    if cfg.lookup_units is not None and cfg.lookup_units != cfg.full_lookup_units:
        raise ConfigError("lookup_units", "the cycle-level model follows the RTL: one unit per lookup")
    k, b = cfg.k_group, cfg.w_bits
    steps = list(tile_steps(cfg, a, q))
    acts = [(mi, ni, blk, last) for mi, ni, blk, _, last in steps]
    # one weight beat per bit plane: patterns[j, n] of the step's groups
    pw = 1 << np.arange(k)
    wgts = []
    for _, _, _, qb, _ in steps:
        planes = bit_planes(cfg, qb)  # (B, tk, tn)
        for pl in planes:
            wgts.append((pl.reshape(cfg.tables_per_row, k, cfg.tile_n) * pw[None, :, None]).sum(axis=1))
    ai = wi = 0
    tab = None
    tab_valid = tab_last = False
    tab_pos = None
    plane = 0
    acc = np.zeros((cfg.tile_m, cfg.tile_n), dtype=np.int64)
    rowsum = np.zeros(cfg.tile_m, dtype=np.int64)
    out_valid = False
    out_reg = None
    outs = []
    first_in = last_out = None
    cycle = 0
    n_out = len({(mi, ni) for mi, ni, *_ in acts})
    act_valid, wgt_valid, out_ready = _Valid(act_en), _Valid(wgt_en), _gaps(out_en)
    while len(outs) < n_out:
        av = act_valid(ai < len(acts), cycle)
        wv = wgt_valid(wi < len(wgts), cycle)
        orr = out_ready.go(cycle)
        last_plane = plane == b - 1
        finishing = tab_valid and tab_last and last_plane
        out_free = (not out_valid) or orr
        wgt_ready = tab_valid and (out_free or not finishing)
        lookup_fire = wv and wgt_ready
        act_ready = (not tab_valid) or (lookup_fire and last_plane)
        act_fire = av and act_ready
        act_valid.take(act_fire)
        wgt_valid.take(lookup_fire)
        if out_valid and orr:
            outs.append(out_reg)
            last_out = cycle
        out_done = out_valid and orr
        # --- register updates (all from this cycle's values) ---
        if lookup_fire:
            if fp is None:
                vals = lookup(cfg, tab[:, :, None, :], wgts[wi][None, :, :]).sum(axis=1)  # (tm, tn)
                total = acc + (vals << plane)
            else:
                total = fp.accumulate(acc, tab, wgts[wi], plane)
            wi += 1
            if finishing:
                out_reg = (tab_pos, lut_output(cfg, total, rowsum) if fp is None else fp.finalize(total, rowsum))
                acc = np.zeros_like(acc)
                rowsum = np.zeros_like(rowsum)
                out_valid = True
            else:
                acc = total
            if last_plane:
                plane = 0
                tab_valid = False
            else:
                plane += 1
        if out_done and not (lookup_fire and finishing):
            out_valid = False
        if act_fire:
            mi, ni, blk, last = acts[ai]
            if fp is None:
                tab = build_tables(cfg, blk.reshape(cfg.tile_m, cfg.tables_per_row, k))  # (tm, G, E)
                rowsum = rowsum - tab[:, :, 0].sum(axis=1)
            else:
                tab, rowsum = fp.tables(blk, rowsum)
            tab_valid, tab_last, tab_pos = True, last, (mi, ni)
            if first_in is None:
                first_in = cycle
            ai += 1
        cycle += 1
        if cycle >= max_cycles:
            raise RuntimeError(f"no progress after {cycle} cycles")
    c, cycles = _finish(cfg, a, q, outs, first_in, last_out, None)
    return _out(cfg, c), _perf(model.estimate(cfg, (a.shape[0], a.shape[1], q.shape[1])), cycles)


def simulate_mac(cfg: LutConfig, a, q, act_en: str | None = None, wgt_en: str | None = None,
                 out_en: str | None = None, max_cycles: int = 10_000_000, scales=None,
                 group_size: int | None = None) -> tuple[np.ndarray, Perf]:
    """Run one GEMM through the MAC baseline tile cycle by cycle; return ``(C, Perf)``
    (``scales``, ``group_size``: the FP16 tile's per-group weight scales)."""
    a, q = _operands(cfg, a, q)
    if cfg.is_integer:
        if scales is not None or group_size is not None:
            raise ConfigError("scales", "the integer tiles take no scales (see hwsim.families.lut.rescale)")
        steps = list(tile_steps(cfg, a, q))
    else:
        from hwsim.families.lut.golden_fp16 import mac_lanes

        steps = list(tile_steps(cfg, a, mac_lanes(cfg, q, scales, group_size)))
    ai = 0
    acc = np.zeros((cfg.tile_m, cfg.tile_n), dtype=np.int64)
    out_valid = False
    out_reg = None
    outs = []
    first_in = last_out = None
    cycle = 0
    n_out = sum(1 for s in steps if s[4])
    act_valid, wgt_valid, out_ready = _Valid(act_en), _Valid(wgt_en), _gaps(out_en)
    while len(outs) < n_out:
        av = act_valid(ai < len(steps), cycle)
        wv = wgt_valid(ai < len(steps), cycle)
        orr = out_ready.go(cycle)
        out_free = (not out_valid) or orr
        last = steps[ai][4] if ai < len(steps) else False
        go = av and wv and (out_free or not last)
        act_valid.take(go)
        wgt_valid.take(go)
        if out_valid and orr:
            outs.append(out_reg)
            last_out = cycle
            out_valid = False
        if go:
            mi, ni, ab, qb, _ = steps[ai]
            if cfg.is_integer:
                total = wrap(acc + ab @ weight_values(cfg, qb), cfg.acc_bits)
            else:
                from hwsim.families.lut.golden_fp16 import dequantise, mac_step

                total = mac_step(acc, ab, dequantise(qb, cfg.weight_mode != "unsigned"))
            if last:
                out_reg = ((mi, ni), total)
                acc = np.zeros_like(acc)
                out_valid = True
            else:
                acc = total
            if first_in is None:
                first_in = cycle
            ai += 1
        cycle += 1
        if cycle >= max_cycles:
            raise RuntimeError(f"no progress after {cycle} cycles")
    c, cycles = _finish(cfg, a, q, outs, first_in, last_out, None)
    return _out(cfg, c), _perf(model.estimate_mac(cfg, (a.shape[0], a.shape[1], q.shape[1])), cycles)


__all__ = ["simulate_lut", "simulate_mac", "tile_steps"]
