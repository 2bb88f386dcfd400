"""The mapper: per op and design, the buffer-level tiling and loop order of a GEMM.

:mod:`hwsim.mapping.engine` holds the search (no family in it); each family with on-chip
buffers adapts it in its own folder (``hwsim/families/<name>/mapping.py``): the tile
GEMM's cost on its array, its buffers and its energies. Config fields of those families
(:func:`mapping_params`) choose ``fixed`` (the family's own order, today's closed form)
or ``search``, and the objective.
"""

from hwsim.mapping.engine import (FIXED_ORDER, MAPPINGS, OBJECTIVES, ORDERS, TIE_BREAKS, Choice, Space,
                                  price, search)
from hwsim.mapping.fields import DEFAULT_MAPPING, DEFAULT_OBJECTIVE, check_mapping_fields, mapping_dict, mapping_param, objective_param

__all__ = ["Choice", "DEFAULT_MAPPING", "DEFAULT_OBJECTIVE", "FIXED_ORDER", "MAPPINGS", "OBJECTIVES", "ORDERS",
           "Space", "TIE_BREAKS", "check_mapping_fields", "mapping_dict", "mapping_param", "objective_param",
           "price", "search"]
