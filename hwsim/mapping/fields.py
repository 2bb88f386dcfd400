"""Config fields every buffered family shares to choose its mapping, and the mapping as
a record sees it."""

from __future__ import annotations

import numpy as np

from hwsim.errors import check_choice
from hwsim.families.contract import param
from hwsim.mapping.engine import MAPPINGS, OBJECTIVES

#: ``search``: every GEMM gets the best buffer tiling and loop order under the objective
#: (never worse than ``fixed``, which is one of its candidates).
DEFAULT_MAPPING = "search"
#: Cycles first (what a sweep's latency and throughput come from), then DRAM bytes, then energy.
DEFAULT_OBJECTIVE = "cycles"


def mapping_param():
    return param(DEFAULT_MAPPING, help="buffer tiling and loop order of each GEMM: the family's fixed order, or "
                 "the best found by the mapper", choices=MAPPINGS, cli="--mapping", group="memory and clock")


def objective_param():
    return param(DEFAULT_OBJECTIVE, help="what the mapper minimises (ties broken by the next: cycles, dram, "
                 "energy, cycles)", choices=OBJECTIVES, cli="--mapping-objective", group="memory and clock")


def check_mapping_fields(cfg) -> None:
    check_choice("mapping", cfg.mapping, MAPPINGS)
    check_choice("mapping_objective", cfg.mapping_objective, OBJECTIVES)


#: Columns :func:`mapping_dict` reads from ``estimate_arrays`` results.
COLUMNS = ("mapping_order", "mapping_tile_m", "mapping_tile_k", "mapping_tile_n", "mapping_objective")


def mapping_dict(order, tile_m, tile_k, tile_n, objective) -> dict:
    """The mapping of one op as kept on :class:`~hwsim.families.base.Perf` and in records:
    ``order`` (loop order over buffer tiles, outer to inner, or ``"fixed"``), the tile
    sizes and the objective it was chosen for."""
    return {"order": str(order), "tile_m": int(tile_m), "tile_k": int(tile_k), "tile_n": int(tile_n),
            "objective": str(objective)}


def columns(choice, objective) -> dict:
    """``estimate_arrays`` columns of a :class:`~hwsim.mapping.engine.Choice`."""
    return {"mapping_order": np.asarray(choice.order, dtype=object), "mapping_tile_m": choice.tile_m,
            "mapping_tile_k": choice.tile_k, "mapping_tile_n": choice.tile_n,
            "mapping_objective": np.full(choice.tile_m.shape, objective, dtype=object)}
