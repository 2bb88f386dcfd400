"""The memory-system interface: compute emits demand, a memory system serves it.

Demand is a sequence of requests ``(address, is_write, cycle)`` in issue order, one
transaction (``request_bytes``) each, ``cycle`` being the earliest cycle the requester
can issue it. A :class:`MemorySystem` returns, for each request, the cycle it completes
(reads: data returned; writes: accepted, as writes are posted). Two implementations are
meant to sit behind it: a perfect-overlap closed form (bandwidth only) and the DRAM timing
model :class:`DramTimingModel` defined here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from hwsim.memory.config import DramConfig
from hwsim.memory.controller import ReplayResult, simulate


@dataclass(frozen=True)
class ServedDemand:
    """Completion cycle of every request (request order) and the run's totals."""

    completion_cycles: np.ndarray
    cycles: int
    energy_pj: float
    details: ReplayResult | None = None


class MemorySystem(ABC):
    """Serves memory demand and returns completion times."""

    #: Bytes moved by one request.
    request_bytes: int

    @abstractmethod
    def serve(self, addr, is_write, cycle) -> ServedDemand:
        """Serve requests in order; ``cycle`` is each one's earliest issue cycle."""


class DramTimingModel(MemorySystem):
    """The event-driven DRAM/HBM model (:func:`hwsim.memory.controller.simulate`)."""

    def __init__(self, cfg: DramConfig):
        self.cfg = cfg
        self.request_bytes = cfg.request_size_bytes

    def serve(self, addr, is_write, cycle) -> ServedDemand:
        r = simulate(self.cfg, addr, is_write, cycle)
        return ServedDemand(r.completion_cycles, r.cycles, r.energy_pj, r)
