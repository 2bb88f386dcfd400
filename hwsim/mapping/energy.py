"""Energies the mapper's energy objective uses: pJ per count of a model's actions."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=65536)
def _action_energy(component, action: str, tech) -> float:
    # components are frozen (hashable): a sweep's designs share most of theirs
    return float(component.action_energy(action, tech).value)


def per_action(design, tech) -> dict:
    """``{model action: pJ per count}`` from a :class:`hwsim.cost.components.ComponentDesign`
    (each action's routes, priced by their components), plus ``"cycle"``: the energy every
    component spends per clock cycle (its per-cycle actions, e.g. control registers).
    Leakage is not included (it grows with cycles, which break the energy ties)."""
    out = {}
    by_name = {c.name: c for c in design.components}
    for name, routes in design.routes.items():
        out[name] = sum(r.factor * _action_energy(by_name[r.component], r.action, tech) for r in routes)
    out["cycle"] = sum(_action_energy(c, a, tech) for c in design.components for a in c.PER_CYCLE)
    return out
