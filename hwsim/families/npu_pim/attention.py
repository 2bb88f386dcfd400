"""Decode attention of one request on its PIM channel: the command programs and their cycles.

NeuPIMs keeps a request's K and V caches on one channel (``PIMTensor``; placement in
:func:`hwsim.families.pim.layout.kv_cache_layout`) and runs the two GEMVs of every head
there (``PIMGEMV.cc``, summarised in ``/work/shared/reference/FAMILIES.md`` section B):

score ``q . K^T``
    one bank row holds ``page / 2`` FP16 of one token's key (``heads_per_row`` heads of
    ``d_head``); the query is written to the global buffer a row-width chunk at a time
    (GWRITE), and for every 32 tokens (one per bank) the banks open that row (PRE, G_ACT
    per bank group and rank) and, head by head, run ``d_head / lanes`` COMPs and a READRES
    of the per-bank sums;
context ``s . V``
    every bank holds one embedding dimension of up to ``page / 2`` tokens per row; for each
    head and each row-width chunk of its softmax scores (one GWRITE), the head's ``d_head``
    dimensions take ``d_head / banks`` rows of ``tokens / lanes`` COMPs and one READRES.

:func:`score_cycles` / :func:`context_cycles` issue every command through the shared PIM
timing engine (:class:`hwsim.memory.pim.PimChannel`); programs with the same shape have
the same timing, so each shape is simulated once (the score shape changes every 32
tokens, the context shape every ``lanes`` tokens). :func:`score_closed` /
:func:`context_closed` are the max-plus formulas of the same rules for steady-state rows,
checked against the engine in ``tests/test_npu_pim_fidelity.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from hwsim.errors import ConfigError
from hwsim.memory.pim import COMMANDS, PimChannel


@dataclass(frozen=True)
class AttnShape:
    """One request's attention on one device: ``heads`` heads of ``d_head`` over ``seq`` tokens."""

    seq: int
    heads: int
    d_head: int


def _geometry(pim, d_head: int):
    ce = pim.chunk_elems
    if ce % d_head:
        raise ConfigError("pim_page_bytes", f"a row of {ce} FP16 must hold whole heads of {d_head}")
    return ce, ce // d_head, math.ceil(d_head / pim.mac_lanes)


def score_program(pim, seq: int, heads: int, d_head: int):
    """Commands ``(kind, rank, bankgroup)`` of ``q . K^T`` for all heads of one request."""
    ce, hpr, cph = _geometry(pim, d_head)
    rows = math.ceil(seq / pim.banks_per_channel)
    chunks = math.ceil(heads / hpr)
    first = True
    for c in range(chunks):
        hc = min(hpr, heads - c * hpr)
        yield ("GWRITE", None, None)
        for _ in range(rows):
            if not first:
                yield ("PRE", None, None)
            first = False
            for g in range(pim.bankgroups_eff):
                for r in range(pim.ranks_eff):
                    yield ("G_ACT", r, g)
            for _h in range(hc):
                for _c in range(cph):
                    yield ("COMP", None, None)
                for _r in range(pim.readres_per_row):
                    yield ("READRES", None, None)


def context_program(pim, seq: int, heads: int, d_head: int):
    """Commands of ``s . V`` for all heads of one request."""
    ce, _, _ = _geometry(pim, d_head)
    rows = math.ceil(d_head / pim.banks_per_channel)
    chunks = math.ceil(seq / ce)
    first = True
    for _h in range(heads):
        for c in range(chunks):
            ntok = min(ce, seq - c * ce)
            yield ("GWRITE", None, None)
            for _ in range(rows):
                if not first:
                    yield ("PRE", None, None)
                first = False
                for g in range(pim.bankgroups_eff):
                    for r in range(pim.ranks_eff):
                        yield ("G_ACT", r, g)
                for _c in range(math.ceil(ntok / pim.mac_lanes)):
                    yield ("COMP", None, None)
                for _r in range(pim.readres_per_row):
                    yield ("READRES", None, None)


@lru_cache(maxsize=1 << 14)
def _run(pim, kind: str, key: tuple, seq: int, heads: int, d_head: int):
    prog = score_program if kind == "score" else context_program
    ch = PimChannel(pim.timing(), pim.ranks_eff, pim.bankgroups_eff)
    end = ch.run(prog(pim, seq, heads, d_head))
    return end, tuple(ch.counts[c] for c in COMMANDS)


def _score_key(pim, seq, heads, d_head):
    return (math.ceil(seq / pim.banks_per_channel), heads, d_head)


def _context_key(pim, seq, heads, d_head):
    ce = pim.chunk_elems
    full, rest = divmod(seq, ce)
    return (full, math.ceil(rest / pim.mac_lanes), heads, d_head)


def score_cycles(pim, seq: int, heads: int, d_head: int) -> tuple[int, dict]:
    """Event-driven cycles (memory clock) and command counts of the score GEMVs."""
    key = _score_key(pim, seq, heads, d_head)
    # one representative length per shape: the programs depend on the key only
    rep = key[0] * pim.banks_per_channel
    end, counts = _run(pim, "score", key, rep, heads, d_head)
    return end, dict(zip(COMMANDS, counts))


def context_cycles(pim, seq: int, heads: int, d_head: int) -> tuple[int, dict]:
    """Event-driven cycles (memory clock) and command counts of the context GEMVs."""
    key = _context_key(pim, seq, heads, d_head)
    full, rest_comps = key[0], key[1]
    rep = full * pim.chunk_elems + rest_comps * pim.mac_lanes
    end, counts = _run(pim, "context", key, rep, heads, d_head)
    return end, dict(zip(COMMANDS, counts))


# ------------------------------------------------------------------------ closed form
def _tile_open(pim) -> int:
    """PRE to the first COMP of a row: PRE, tRP, the G_ACTs (one rank's spaced tFAW), tRCDRD."""
    t = pim.timing()
    nbg, nr = pim.bankgroups_eff, pim.ranks_eff
    span = (nbg - 1) * max(t.tFAW, nr) + nr - 1
    return max(1 + t.tRP, 1) + span + t.tRCDRD


def _readout(pim, comps: int) -> int:
    """First COMP of a group to the end of its READRES burst."""
    t = pim.timing()
    return t.t_comp * max(comps, t.adder_tree_fill) + pim.readres_per_row * t.t_readres


def score_closed(pim, seq: int, heads: int, d_head: int) -> int:
    """Closed-form cycles of :func:`score_program` (steady-state rows, GWRITE overlapped with
    the row opening unless longer)."""
    t = pim.timing()
    ce, hpr, cph = _geometry(pim, d_head)
    rows = math.ceil(seq / pim.banks_per_channel)
    total = 0
    for c in range(math.ceil(heads / hpr)):
        hc = min(hpr, heads - c * hpr)
        body = hc * _readout(pim, cph)
        opening = max(_tile_open(pim), 1 + t.t_gwrite)
        total += opening + body + (rows - 1) * (_tile_open(pim) + body)
    return total


def context_closed(pim, seq: int, heads: int, d_head: int) -> int:
    """Closed-form cycles of :func:`context_program`."""
    t = pim.timing()
    ce, _, _ = _geometry(pim, d_head)
    rows = math.ceil(d_head / pim.banks_per_channel)
    total = 0
    for c in range(math.ceil(seq / ce)):
        ntok = min(ce, seq - c * ce)
        body = _readout(pim, math.ceil(ntok / pim.mac_lanes))
        opening = max(_tile_open(pim), 1 + t.t_gwrite)
        total += opening + body + (rows - 1) * (_tile_open(pim) + body)
    return heads * total


def macs(shape_seq: int, heads: int, d_head: int) -> int:
    """MACs of both GEMVs of one request (score and context)."""
    return 2 * shape_seq * heads * d_head
