"""Pattern-aware reuse measured on activations: real (MiniLM) and random.

The gain of pattern reuse depends on how often vectors of a batch share a bit pattern in
a group, which the closed form cannot know. Here it is counted from activation codes with
the cycle-level model's rule (:func:`hwsim.families.sram_gemv.model.plane_costs`):

* real activations: every linear layer's input of all-MiniLM-L6-v2 on the project's
  sentences (:func:`hwsim.workloads.realmodel.capture_gemms`), quantised per token,
  symmetric, to ``a_bits`` (:func:`hwsim.workloads.quant.quantize_symmetric`);
* random activations: codes uniform over the same range, same shapes (seeded).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from hwsim.families.sram_gemv.config import SramGemvConfig
from hwsim.families.sram_gemv.golden import act_range, pad_groups, patterns
from hwsim.families.sram_gemv.model import groups, passes, plane_costs, tile_cycles


def cycles_and_lookups(cfg: SramGemvConfig, a: np.ndarray) -> tuple[int, int]:
    """``(tile cycles, lookup cycles)`` of one tile over all passes of activations ``a[M, K]``."""
    ap, _ = pad_groups(cfg, np.asarray(a, np.int64), np.zeros((a.shape[1], 1), np.int64))
    pats = patterns(cfg, ap)
    cyc = look = m0 = 0
    for bp in passes(cfg, a.shape[0]):
        cost, _ = plane_costs(cfg, pats[m0:m0 + bp])
        m0 += bp
        look += int(cost.sum())
        cyc += tile_cycles(cfg, bp, int(cost.sum()), groups(cfg, a.shape[1]))
    return cyc, look


def reuse_gain(cfg: SramGemvConfig, a: np.ndarray) -> dict:
    """Fraction of cycles (and of lookups) pattern reuse saves on ``a``."""
    on = dataclasses.replace(cfg, pattern_reuse=True)
    off = dataclasses.replace(cfg, pattern_reuse=False)
    c1, l1 = cycles_and_lookups(on, a)
    c0, l0 = cycles_and_lookups(off, a)
    return {"cycles_off": c0, "cycles_on": c1, "cycle_saving": 1 - c1 / c0,
            "lookups_off": l0, "lookups_on": l1, "lookup_saving": 1 - l1 / l0}


def real_activations(a_bits: int) -> list[tuple[str, np.ndarray]]:
    """``[(layer name, codes[tokens, K])]`` of MiniLM's linear-layer inputs, per-token
    symmetric ``a_bits`` codes (needs the optional MiniLM package, see
    :mod:`hwsim.workloads.realmodel`)."""
    from hwsim.workloads.quant import quantize_symmetric
    from hwsim.workloads.realmodel import capture_gemms

    return [(g.name, quantize_symmetric(g.x, a_bits, k_axis=1).q) for g in capture_gemms()]


def measure(cfg: SramGemvConfig, seed: int = 0) -> dict:
    """Savings summed over every MiniLM layer input, real vs uniform random codes of the
    same shapes. Needs ``cfg.act_signed`` (the real codes are symmetric)."""
    rng = np.random.default_rng(seed)
    lo, hi = act_range(cfg)
    tot = {"real": np.zeros(4), "random": np.zeros(4)}
    for _, a in real_activations(cfg.a_bits):
        r = rng.integers(lo, hi + 1, a.shape)
        for kind, x in (("real", a), ("random", r)):
            g = reuse_gain(cfg, x)
            tot[kind] += [g["cycles_off"], g["cycles_on"], g["lookups_off"], g["lookups_on"]]
    out = {}
    for kind, (c0, c1, l0, l1) in tot.items():
        out[kind] = {"cycle_saving": float(1 - c1 / c0), "lookup_saving": float(1 - l1 / l0)}
    return out


def precision_error(w_bits: int, a_bits: int = 8) -> dict:
    """Numerical error of this family's arithmetic at ``w_bits`` on MiniLM's real GEMMs:
    weights per output column and activations per token, symmetric round-to-nearest
    (:func:`hwsim.workloads.quant.quantize_symmetric`), integer GEMV, binary32 rescale.
    Returns the SQNR (dB) over all layers against the float32 GEMMs and its source."""
    from hwsim.workloads.quant import quantize_symmetric
    from hwsim.workloads.realmodel import capture_gemms

    sig = err = 0.0
    for g in capture_gemms():
        ref = g.x.astype(np.float64) @ g.w.astype(np.float64)
        qa = quantize_symmetric(g.x, a_bits, k_axis=1)
        qw = quantize_symmetric(g.w, w_bits, k_axis=0)
        y = (qa.q @ qw.q) * qa.scale * qw.scale
        sig += float((ref ** 2).sum())
        err += float(((ref - y) ** 2).sum())
    return {"sqnr_db": 10 * np.log10(sig / err),
            "source": "all-MiniLM-L6-v2 linear layers on the project's sentences (hwsim.workloads.realmodel), "
                      f"W{w_bits} per-column / A{a_bits} per-token symmetric"}


def expected_saving(cfg: SramGemvConfig, k: int = 4096) -> float:
    """Fraction of a unit's cycles pattern reuse saves on uniformly random activation bits
    (the closed form, :func:`hwsim.families.sram_gemv.model.closed_form`) for one full pass
    of ``cfg.vectors`` vectors over ``k`` inputs."""
    from hwsim.families.sram_gemv.model import closed_form

    on = closed_form(dataclasses.replace(cfg, pattern_reuse=True), cfg.vectors, k, cfg.lanes).cycles
    off = closed_form(dataclasses.replace(cfg, pattern_reuse=False), cfg.vectors, k, cfg.lanes).cycles
    return 1 - on / off
