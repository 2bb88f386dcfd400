"""What every family's model returns, and the family registry.

A model reports *named action counts* (MACs by width, SRAM reads by buffer, DRAM bytes,
table lookups, ...) next to its cycle count; cost is computed from those counts
elsewhere (:mod:`hwsim.cost`), never inside a model.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from hwsim.errors import ConfigError


class ConfigMixin:
    """Views shared by every family's frozen config dataclass.

    ``to_dict`` (plain JSON-able fields), ``from_dict`` (rejects unknown keys and names
    the file they came from) and ``key`` (a stable content hash, used for build and
    synthesis caches).
    """

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, source: str | None = None):
        """Build from a mapping, rejecting unknown keys (naming ``source``)."""
        known = set(cls.__dataclass_fields__)
        for k in d:
            if k not in known:
                raise ConfigError(k, f"unknown key (expected one of {', '.join(sorted(known))})", source)
        try:
            return cls(**d)
        except ConfigError as e:
            raise ConfigError(e.key, e.reason, source) from None

    def key(self) -> str:
        """Content hash of the configuration (stable across runs)."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(frozen=True)
class Perf:
    """Performance of one operation on one design, as predicted by a model.

    Attributes
    ----------
    cycles : int
        Clock cycles from the first operand accepted to the last result produced.
    macs : int
        Useful multiply-accumulates (M*K*N, padding excluded).
    utilization : float
        ``macs / (cycles * peak MACs per cycle)``.
    sram_reads, sram_writes : dict[str, int]
        Word accesses per on-chip buffer (``"ifmap"``, ``"filter"``, ``"ofmap"``, ...).
    dram_bytes : dict[str, int]
        Off-chip bytes per operand (read for inputs, written for outputs).
    actions : dict[str, int]
        Named action counts for the cost model (see :mod:`hwsim.cost`).
    compute_cycles : int
        Cycles with the array busy, excluding stalls for DRAM bandwidth.
    stall_cycles : int
        Cycles added because DRAM could not deliver operands in time (model only).
    mode : str
        Which timing the cycles follow (``"hardware"`` or ``"scalesim"`` for systolic).
    folds : int
        Folds (array passes) the op took.
    mapping : dict
        The op's buffer-level mapping (:func:`hwsim.mapping.fields.mapping_dict`):
        ``order`` (loop order over the buffer tiles, outer to inner, e.g. ``"mnk"``, or
        ``"fixed"`` for the family's own order on the whole GEMM), ``tile_m``, ``tile_k``,
        ``tile_n`` and the ``objective`` it was chosen for. Empty for families without
        buffers to tile.
    """

    cycles: int
    macs: int
    utilization: float
    sram_reads: dict = field(default_factory=dict)
    sram_writes: dict = field(default_factory=dict)
    dram_bytes: dict = field(default_factory=dict)
    actions: dict = field(default_factory=dict)
    compute_cycles: int = 0
    stall_cycles: int = 0
    mode: str = "hardware"
    folds: int = 0
    mapping: dict = field(default_factory=dict)

    @property
    def total_sram_reads(self) -> int:
        return int(sum(self.sram_reads.values()))

    @property
    def total_sram_writes(self) -> int:
        return int(sum(self.sram_writes.values()))

    @property
    def total_dram_bytes(self) -> int:
        return int(sum(self.dram_bytes.values()))

    def to_dict(self) -> dict:
        return {
            "cycles": int(self.cycles),
            "compute_cycles": int(self.compute_cycles),
            "stall_cycles": int(self.stall_cycles),
            "utilization": float(self.utilization),
            "macs": int(self.macs),
            "folds": int(self.folds),
            "mode": self.mode,
            "sram_reads": self.total_sram_reads,
            "sram_writes": self.total_sram_writes,
            "dram_bytes": self.total_dram_bytes,
            "sram_reads_by_buffer": {k: int(v) for k, v in self.sram_reads.items()},
            "sram_writes_by_buffer": {k: int(v) for k, v in self.sram_writes.items()},
            "dram_bytes_by_operand": {k: int(v) for k, v in self.dram_bytes.items()},
            "actions": {k: int(v) for k, v in self.actions.items()},
            "mapping": dict(self.mapping),
        }
