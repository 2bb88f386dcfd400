"""PIM command timing on one HBM channel: G_ACT, COMP, READRES, GWRITE, precharge.

An extension of the DRAM timing model (:mod:`hwsim.memory.controller`) for
processing-in-memory commands, with the same conventions: all times are cycles of the
command clock, constraints are kept as earliest-issue times, and the engine jumps from one
command's issue cycle straight to the next command's (no per-cycle stepping). DRAM timing
values come from a :class:`~hwsim.memory.config.DramConfig`; the PIM rules follow NewtonSim
(``timing.cc``, ``channel_state.cc``; summarised in ``/work/shared/reference/FAMILIES.md``,
section B):

* one command per cycle on the channel's command bus, issued in program order;
* ``G_ACT(rank, bankgroup)`` opens the same row in every bank of the bank group. It needs
  ``tRP`` after the precharge, ``tFAW`` after the previous G_ACT of the same rank (a G_ACT
  counts as a full four-activate window), and ``tRC`` after the previous G_ACT of the same
  banks (``tRRD_L`` with dual row buffers);
* ``COMP`` (all banks of the channel) needs every bank group open, ``tRCDRD`` after the
  last G_ACT, ``t_comp`` after the previous COMP, the global buffer written (GWRITE done)
  and the accumulators read out (previous READRES done);
* ``READRES`` returns the accumulators: ``t_comp * max(comps, adder_tree_fill)`` after the
  first COMP since the last read-out (the adder tree filling), ``t_readres`` after the
  previous READRES, and it occupies the data bus ``t_readres`` cycles;
* ``PRE`` (all banks, PIM precharge) needs ``tRAS`` after every G_ACT and ``tRTP`` after
  the last COMP (0 with dual row buffers);
* ``GWRITE`` writes the channel's global buffer; it waits ``t_comp`` after the last COMP
  (which reads the buffer) and the buffer is ready ``t_gwrite`` cycles after issue.

Refresh is not modelled (a GEMV of a few microseconds meets at most one REF per rank).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hwsim.errors import HwsimError
from hwsim.memory.config import DramConfig

#: PIM command names, as counted in :attr:`PimChannel.counts`.
COMMANDS = ("GWRITE", "G_ACT", "COMP", "READRES", "PRE")


@dataclass(frozen=True)
class PimTiming:
    """Cycle constraints of PIM commands (see the module docstring)."""

    tRP: int
    tRAS: int
    tRC: int
    tRCDRD: int
    tFAW: int
    tRTP: int
    tRRD_L: int
    t_comp: int
    t_gwrite: int
    t_readres: int
    adder_tree_fill: int
    dual_row_buffer: bool

    @classmethod
    def from_dram(cls, cfg: DramConfig, *, t_comp: int, t_gwrite: int, t_readres: int,
                  adder_tree_fill: int, dual_row_buffer: bool) -> "PimTiming":
        return cls(tRP=cfg.tRP, tRAS=cfg.tRAS, tRC=cfg.tRC, tRCDRD=cfg.act_to_read, tFAW=cfg.tFAW,
                   tRTP=cfg.tRTP, tRRD_L=cfg.tRRD_L, t_comp=t_comp, t_gwrite=t_gwrite, t_readres=t_readres,
                   adder_tree_fill=adder_tree_fill, dual_row_buffer=dual_row_buffer)

    @property
    def comp_to_pre(self) -> int:
        """COMP -> PRE: 0 with dual row buffers (NewtonSim), else tRTP."""
        return 0 if self.dual_row_buffer else self.tRTP

    @property
    def gact_same_bank(self) -> int:
        """G_ACT -> G_ACT of the same banks: tRRD_L with dual row buffers, else tRC."""
        return self.tRRD_L if self.dual_row_buffer else self.tRC


class PimCommandError(HwsimError):
    """A PIM program that the hardware cannot execute (e.g. COMP on a closed row)."""


@dataclass
class PimChannel:
    """One channel executing a PIM command program in order.

    Parameters
    ----------
    timing : PimTiming
    ranks, bankgroups : int
        G_ACT targets (one G_ACT opens one bank group of one rank).

    Examples
    --------
    >>> from hwsim.memory.config import load_preset
    >>> t = PimTiming.from_dram(load_preset("hbm2"), t_comp=2, t_gwrite=96, t_readres=2,
    ...                         adder_tree_fill=6, dual_row_buffer=True)
    >>> ch = PimChannel(t, ranks=1, bankgroups=1)
    >>> ch.issue("GWRITE"), ch.issue("G_ACT", 0, 0), ch.issue("COMP"), ch.issue("READRES")
    (0, 1, 96, 108)
    >>> ch.end_cycle
    110
    """

    timing: PimTiming
    ranks: int
    bankgroups: int
    counts: dict = field(default_factory=lambda: dict.fromkeys(COMMANDS, 0))
    end_cycle: int = 0

    def __post_init__(self):
        self._bus = 0                       # next free command-bus slot
        self._open = [[False] * self.bankgroups for _ in range(self.ranks)]
        self._gact = [[None] * self.bankgroups for _ in range(self.ranks)]
        self._rank_gact = [None] * self.ranks
        self._last_gact = None
        self._pre = None
        self._last_comp = None
        self._first_comp = None             # first COMP since the last read-out
        self._comps = 0                     # COMPs since the last read-out
        self._gwrite_ready = None
        self._gwrite_done = False
        self._readres_end = 0
        self._last_readres = None

    def issue(self, kind: str, rank: int | None = None, bankgroup: int | None = None) -> int:
        """Issue the next command of the program at its earliest cycle; returns that cycle."""
        t = self.timing
        at = self._bus
        if kind == "GWRITE":
            if self._last_comp is not None:
                at = max(at, self._last_comp + t.t_comp)
            self._gwrite_ready = at + t.t_gwrite
            self._gwrite_done = True
            self.end_cycle = max(self.end_cycle, self._gwrite_ready)
        elif kind == "G_ACT":
            if self._open[rank][bankgroup]:
                raise PimCommandError(f"G_ACT to open bank group {bankgroup} of rank {rank}")
            if self._pre is not None:
                at = max(at, self._pre + t.tRP)
            if self._rank_gact[rank] is not None:
                at = max(at, self._rank_gact[rank] + t.tFAW)
            if self._gact[rank][bankgroup] is not None:
                at = max(at, self._gact[rank][bankgroup] + t.gact_same_bank)
            self._open[rank][bankgroup] = True
            self._gact[rank][bankgroup] = self._rank_gact[rank] = at
            self._last_gact = at if self._last_gact is None else max(self._last_gact, at)
        elif kind == "COMP":
            if not all(all(r) for r in self._open):
                raise PimCommandError("COMP with a bank group closed")
            if not self._gwrite_done:
                raise PimCommandError("COMP before any GWRITE of the global buffer")
            at = max(at, self._last_gact + t.tRCDRD, self._gwrite_ready, self._readres_end)
            if self._last_comp is not None:
                at = max(at, self._last_comp + t.t_comp)
            if self._comps == 0:
                self._first_comp = at
            self._comps += 1
            self._last_comp = at
        elif kind == "READRES":
            if self._comps == 0 and self._first_comp is None:
                raise PimCommandError("READRES with no COMP since the last read-out")
            if self._comps:
                at = max(at, self._first_comp + t.t_comp * max(self._comps, t.adder_tree_fill))
            if self._last_readres is not None:
                at = max(at, self._last_readres + t.t_readres)
            self._last_readres = at
            self._readres_end = at + t.t_readres
            self._comps = 0
            self.end_cycle = max(self.end_cycle, self._readres_end)
        elif kind == "PRE":
            if self._last_gact is not None:
                at = max(at, self._last_gact + t.tRAS)
            if self._last_comp is not None:
                at = max(at, self._last_comp + t.comp_to_pre)
            self._pre = at
            self._open = [[False] * self.bankgroups for _ in range(self.ranks)]
        else:
            raise PimCommandError(f"unknown PIM command {kind!r} (known: {', '.join(COMMANDS)})")
        self.counts[kind] += 1
        self._bus = at + 1
        self.end_cycle = max(self.end_cycle, at + 1)
        return at

    def run(self, program) -> int:
        """Issue every ``(kind, rank, bankgroup)`` of ``program``; returns :attr:`end_cycle`."""
        for cmd in program:
            self.issue(*cmd)
        return self.end_cycle
