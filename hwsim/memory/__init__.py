"""DRAM/HBM memory systems shared by every family that talks to DRAM.

* :mod:`~hwsim.memory.config` -- :class:`DramConfig` (DRAMsim3 ``.ini`` keys, validated)
  and the shipped presets (``hwsim/data/dram/``);
* :mod:`~hwsim.memory.controller` -- the event-driven timing model (banks, row buffers,
  queues, FR-FCFS, refresh, energy), checked against DRAMsim3;
* :mod:`~hwsim.memory.interface` -- the :class:`MemorySystem` interface (demand in,
  completion cycles out) and :class:`DramTimingModel`, its timing-model implementation;
* :mod:`~hwsim.memory.traces` -- DRAMsim3 trace files and a seeded pattern generator;
* :mod:`~hwsim.memory.oracle` -- regenerates the pinned DRAMsim3 figures.
"""

from hwsim.memory.config import PRESETS, DramConfig, load_ini, load_preset, parse_ini
from hwsim.memory.controller import ReplayResult, simulate
from hwsim.memory.interface import DramTimingModel, MemorySystem, ServedDemand

__all__ = ["PRESETS", "DramConfig", "load_ini", "load_preset", "parse_ini", "ReplayResult",
           "simulate", "MemorySystem", "DramTimingModel", "ServedDemand"]
