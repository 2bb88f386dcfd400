"""Energies the mapper's energy objective uses: pJ per count of a model's actions."""

from __future__ import annotations


def per_action(design, tech) -> dict:
    """``{model action: pJ per count}`` from a :class:`hwsim.cost.components.ComponentDesign`
    (each action's routes, priced by their components), plus ``"cycle"``: the energy every
    component spends per clock cycle (its per-cycle actions, e.g. control registers).
    Leakage is not included (it grows with cycles, which break the energy ties)."""
    out = {}
    for name, routes in design.routes.items():
        out[name] = float(sum(r.factor * design.component(r.component).action_energy(r.action, tech).value
                              for r in routes))
    out["cycle"] = float(sum(c.action_energy(a, tech).value for c in design.components for a in c.PER_CYCLE))
    return out
