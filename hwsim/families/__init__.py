"""Accelerator families: each is one folder, ``hwsim/families/<name>/``, that builds one
:class:`~hwsim.families.contract.Family` (its ``family.py``). This module lists them.

Adding a family is one folder plus one line in :func:`registry`; every shared engine
(evaluation, sweeps, reports, the CLI) and the contract tests then reach it.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=None)
def registry() -> dict:
    """``{name: Family}`` of every registered family and system, in CLI order."""
    from hwsim.families.lut.family import FAMILY as lut
    from hwsim.families.mixpe.family import FAMILY as mixpe
    from hwsim.families.npu_pim.family import FAMILY as npu_pim
    from hwsim.families.pim.family import FAMILY as pim
    from hwsim.families.sram_gemv.family import FAMILY as sram_gemv
    from hwsim.families.systolic.family import FAMILY as systolic

    return {f.name: f for f in (systolic, lut, mixpe, pim, sram_gemv, npu_pim)}


def get(name: str, key: str = "family", source: str | None = None):
    """The family called ``name``; an unknown name is a :class:`~hwsim.errors.ConfigError`."""
    from hwsim.errors import ConfigError

    fams = registry()
    if name not in fams:
        raise ConfigError(key, f"must be one of {', '.join(map(repr, fams))}, not {name!r}", source)
    return fams[name]
