"""Cycle-level model of the systolic-array RTL (:mod:`hwsim.families.systolic.hdl`).

:func:`simulate` steps the micro-architecture one clock at a time: the operand skew
registers, every PE's pipeline registers (vectorised over the grid with NumPy), the
``os`` drain multiplexers and de-skew registers, the ``ws``/``is`` tagged weight-preload
path, shadow/active weights, partial-sum pipeline and accumulator buffer, and a
sequencer with the same counters as the RTL's. Operand beats come from
:func:`hwsim.families.systolic.timing.operand_beats` (the feeder's order); the result is
assembled from the result beats the model emits.

It exists to validate the closed form :func:`hwsim.families.systolic.timing.hardware_cycles`
and to explain the RTL register by register; it is slow (a few microseconds per PE per
cycle), so keep shapes small. Cycles are counted as in the RTL: from the cycle the first
operand beat is accepted to the cycle the last result beat leaves, both included, with
no back-pressure.

Example
-------
>>> import numpy as np
>>> from hwsim.families.systolic.config import SystolicConfig
>>> cfg = SystolicConfig(rows=2, cols=2, dataflow="ws", acc_depth=4)
>>> c, cycles = simulate(cfg, np.arange(6).reshape(2, 3), np.ones((3, 2), int))
>>> c.tolist(), cycles
([[3, 3], [12, 12]], 10)
"""

from __future__ import annotations

from collections import deque

import numpy as np

from hwsim.families.systolic.config import SystolicConfig
from hwsim.families.systolic.golden import check_operands, wrap
from hwsim.families.systolic.timing import assemble_output, operand_beats, result_beat_count

__all__ = ["simulate"]


class _Delay:
    """A chain of ``n`` registers (``n >= 0``) holding objects; ``n = 0`` is a wire."""

    def __init__(self, n, fill):
        self.q = deque([fill] * n)
        self.n = n

    def step(self, x):
        if self.n == 0:
            return x
        self.q.append(x)
        return self.q.popleft()


def simulate(cfg: SystolicConfig, a, b) -> tuple[np.ndarray, int]:
    """Run ``A @ B`` through the cycle-level model of the RTL.

    Parameters
    ----------
    cfg : SystolicConfig
    a : array_like, shape (M, K)
    b : array_like, shape (K, N)

    Returns
    -------
    c : ndarray, shape (M, N)
        Bit-exact result (equals :func:`hwsim.families.systolic.golden.golden_gemm`).
    cycles : int
        Hardware-mode cycles (equals :func:`hwsim.families.systolic.timing.hardware_cycles`).
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    check_operands(cfg, a, b)
    m, k = a.shape
    n = b.shape[1]
    west, north = operand_beats(cfg, a, b)
    with np.errstate(over="ignore"):
        if cfg.dataflow == "os":
            beats, cycles = _run_os(cfg, k, west, north, result_beat_count(cfg, m, k, n),
                                    _fp16_pe_sum if cfg.is_fp16 else None)
        else:
            s, t = (n, m) if cfg.dataflow == "is" else (m, n)
            beats, cycles = _run_ws(cfg, s, k, t, west, north)
    return assemble_output(cfg, m, k, n, beats), cycles


def _fp16_pe_sum(acc, a, b):
    """The binary16 PE's next sum: ``fp16_add(acc, fp16_mul(a, b))``."""
    from hwsim.blocks.fp16 import fp16_add, fp16_mul

    return fp16_add(acc, fp16_mul(a, b)).astype(np.int64)


def _run_os(cfg, k, west, north, n_out, pe_sum=None):
    """The ``os`` machine on operand beats; ``pe_sum(acc, a, b)`` is the PEs' next
    accumulator over the grid (default: the MAC PE's ``acc + a * b``, wrapped)."""
    R, C, bits, sg = cfg.rows, cfg.cols, cfg.acc_bits, cfg.signed
    folds = len(west) // k
    period = max(k, R)
    # input register + skew: stage d of the pipe feeds lane d
    wpipe = deque([(np.zeros(R, np.int64), False, False)] * R)  # (west, last, final)
    npipe = deque([np.zeros(C, np.int64)] * C)
    a_reg = np.zeros((R, C), np.int64)
    b_reg = np.zeros((R, C), np.int64)
    last_reg = np.zeros((R, C), bool)
    acc = np.zeros((R, C), np.int64)
    out_reg = np.zeros((R, C), np.int64)
    # drain control: pulse pipeline (2 registers), row counter, per-column select skew
    p1 = (False, False)
    dr_active, dr_d, dr_final = False, 0, False
    col_sel = [_Delay(j, (False, 0, False)) for j in range(C)]
    deskew = [_Delay(C - 1 - j, 0) for j in range(C)]

    fold, t, beat = 0, 0, 0
    feeding = True
    out = []
    cycle = 0
    while True:
        # --- sequencer (combinational outputs of this cycle)
        inj_w, inj_n, inj_last, inj_final = np.zeros(R, np.int64), np.zeros(C, np.int64), False, False
        if feeding and t < k:
            inj_w, inj_n = west[beat], north[beat]
            beat += 1
            inj_last = t == k - 1
            inj_final = inj_last and fold == folds - 1
        # --- array edge: lane i of the west pipe's stage i, lane j of the north pipe's stage j
        a_edge = np.array([wpipe[i][0][i] for i in range(R)])
        last_edge = np.array([wpipe[i][1] for i in range(R)])
        b_edge = np.array([npipe[j][j] for j in range(C)])
        a_in = np.concatenate([a_edge[:, None], a_reg[:, :-1]], axis=1)
        last_in = np.concatenate([last_edge[:, None], last_reg[:, :-1]], axis=1)
        b_in = np.concatenate([b_edge[None, :], b_reg[:-1, :]], axis=0)
        total = wrap(acc + a_in * b_in, bits, sg) if pe_sum is None else pe_sum(acc, a_in, b_in)
        # --- drain: column j reads row d_j of its output registers (before they update)
        sel0 = (dr_active, dr_d, dr_final)
        res = np.zeros(C, np.int64)
        sel_last = None
        for j in range(C):
            sj = col_sel[j].step(sel0)
            val = out_reg[sj[1], j] if sj[0] else 0
            res[j] = deskew[j].step(val)
            if j == C - 1:
                sel_last = sj
        if sel_last[0]:
            out.append(res.copy())
            if sel_last[2] and sel_last[1] == R - 1:
                assert len(out) == n_out
                return np.array(out), cycle + 1
        # --- clock edge
        out_reg = np.where(last_in, total, out_reg)
        acc = np.where(last_in, 0, total)
        a_reg, b_reg, last_reg = a_in, b_in, last_in
        wpipe.appendleft((inj_w, inj_last, inj_final))
        wpipe.pop()
        npipe.appendleft(inj_n)
        npipe.pop()
        if p1[0]:
            dr_active, dr_d, dr_final = True, 0, p1[1]
        elif dr_active:
            dr_active = dr_d != R - 1
            dr_d = (dr_d + 1) % R
        p1 = (wpipe[0][1], wpipe[0][2])  # the pulse follows the last beat by one register
        if feeding:
            if inj_final:
                feeding = False
            elif t == period - 1:
                t, fold = 0, fold + 1
            else:
                t += 1
        cycle += 1


def _run_ws(cfg, s, k, t_dim, west, north):
    R, C, D = cfg.rows, cfg.cols, cfg.acc_depth
    bits, sg = cfg.acc_bits, cfg.signed
    zr, zc = np.zeros(R, np.int64), np.zeros(C, np.int64)
    wpipe = deque([(zr, False)] * R)  # (west vector, first)
    npipe = deque([(zc, 0, False)] * C)  # (north vector, hops, valid)
    x_reg = np.zeros((R, C), np.int64)
    first_reg = np.zeros((R, C), bool)
    psum = np.zeros((R, C), np.int64)
    wp_data = np.zeros((R, C), np.int64)
    wp_hops = np.zeros((R, C), np.int64)
    wp_valid = np.zeros((R, C), bool)
    shadow = np.zeros((R, C), np.int64)
    active = np.zeros((R, C), np.int64)
    deskew = [_Delay(C - 1 - j, 0) for j in range(C)]
    tokens = _Delay(R + C, None)
    buf = np.zeros((D, C), np.int64)

    # sequencer counters
    state = "preload"
    t = 0
    t0 = c0 = k0 = 0
    beat = 0
    out = []
    cycle = 0
    while True:
        mc = min(D, s - c0)
        last_fold = t0 + C >= t_dim and c0 + D >= s and k0 + R >= k
        inj = (zr, False)
        inj_n = (zc, 0, False)
        token = None
        if state == "preload":
            inj_n = (north[beat], t, True)
            beat += 1
        elif state == "fold":
            period = mc if last_fold else max(mc, R)
            assert t < period
            if t < mc:
                inj = (west[beat], t == 0)
                token = (t, k0 == 0, k0 + R >= k, last_fold and t == mc - 1)
            inj_n = (north[beat], t, t < R and not last_fold)
            beat += 1
        # --- array
        x_edge = np.array([wpipe[i][0][i] for i in range(R)])
        f_edge = np.array([wpipe[i][1] for i in range(R)])
        n_edge = np.array([npipe[j][0][j] for j in range(C)])
        h_edge = np.array([npipe[j][1] for j in range(C)])
        v_edge = np.array([npipe[j][2] for j in range(C)])
        x_in = np.concatenate([x_edge[:, None], x_reg[:, :-1]], axis=1)
        f_in = np.concatenate([f_edge[:, None], first_reg[:, :-1]], axis=1)
        w_in = np.concatenate([n_edge[None, :], wp_data[:-1, :]], axis=0)
        h_in = np.concatenate([h_edge[None, :], wp_hops[:-1, :]], axis=0)
        v_in = np.concatenate([v_edge[None, :], wp_valid[:-1, :]], axis=0)
        p_in = np.concatenate([np.zeros((1, C), np.int64), psum[:-1, :]], axis=0)
        weight = np.where(f_in, shadow, active)
        p_next = _fp16_pe_sum(p_in, x_in, weight) if cfg.is_fp16 else wrap(p_in + x_in * weight, bits, sg)
        # --- bottom edge: de-skew, accumulate, emit
        aligned = np.array([deskew[j].step(psum[R - 1, j]) for j in range(C)])
        tok = tokens.step(token)
        done = False
        if tok is not None:
            addr, kfirst, klast, final = tok
            if cfg.is_fp16:  # the first K fold's sum is stored as it is
                from hwsim.blocks.fp16 import fp16_add

                total = aligned if kfirst else fp16_add(buf[addr], aligned).astype(np.int64)
            else:
                total = wrap((0 if kfirst else buf[addr]) + aligned, bits, sg)
            if klast:
                out.append(total)
                done = final
            else:
                buf[addr] = total
        if done:
            return np.array(out), cycle + 1
        # --- clock edge
        active = weight
        load = v_in & (h_in == 0)
        shadow = np.where(load, w_in, shadow)
        wp_data, wp_hops, wp_valid = w_in, h_in - 1, v_in & (h_in != 0)
        x_reg, first_reg, psum = x_in, f_in, p_next
        wpipe.appendleft(inj)
        wpipe.pop()
        npipe.appendleft(inj_n)
        npipe.pop()
        if state == "preload":
            if t == R - 1:
                state, t = "fold", 0
            else:
                t += 1
        elif state == "fold":
            period = mc if last_fold else max(mc, R)
            if t == period - 1:
                t = 0
                if last_fold:
                    state = "drain"
                elif k0 + R < k:
                    k0 += R
                elif c0 + D < s:
                    k0, c0 = 0, c0 + D
                else:
                    k0, c0, t0 = 0, 0, t0 + C
            else:
                t += 1
        cycle += 1
