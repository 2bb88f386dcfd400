"""The RTL fidelity of a sweep point: real workload tiles through the Verilated design.

For a point evaluated with ``fidelity="rtl"`` the record's figures still come from the
closed-form model (so they compare with every other point of the sweep); beside them,
:func:`rtl_check` runs sampled tiles of every workload operation through the family's
``"verilator"`` implementation and states, in the record's ``rtl_check`` field, whether
the RTL agrees with the golden function and with the cycle-level model on those tiles.

A tile is a block of the op's output (its rows and columns chosen by the family, at its
array's size) over the op's *full* K, so it exercises the op's real reduction depth and
every quantisation group along it. Its float operands come from

* a real model's captured tensors where the workload has them
  (:func:`hwsim.workloads.realmodel.captured_op`: the MiniLM encoder's linear layers), or
* the seeded synthetic generator (:mod:`hwsim.workloads.synthetic`): heavy-tailed
  activations with outlier channels, Student-t weights; attention operands are built from
  the same activation statistics (keys, values) and a softmax (probabilities).

The family's ``rtl_tile`` hook then quantises them to the design's formats. Which tiles
are drawn depends only on the op, the sample's seed and the tile index (a
``numpy.random.Generator`` seeded with those integers), so the same seed gives the same
tiles on every machine.

Verilator builds are the family's own calls to :func:`hwsim.sim.verilator.build`: one per
distinct Verilog text and flags, cached by content hash under ``$HWSIM_CACHE`` and guarded
by a file lock, so points, sweeps and worker processes share them. A build or simulation
that fails is recorded as the point's failure (``status = "failed"``, the error and the
log path) instead of stopping the sweep.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass

import numpy as np

from hwsim.errors import ConfigError, check_int, shorten
from hwsim.families.contract import TileOperands, TileSource

log = logging.getLogger(__name__)

#: Most tiles per op a sample may ask for (each is one RTL job).
MAX_TILES = 64


@dataclass(frozen=True)
class RtlSample:
    """Which tiles the RTL fidelity runs: ``tiles`` per workload op, drawn with ``seed``.

    >>> RtlSample(tiles=2, seed=7).to_dict()
    {'tiles': 2, 'seed': 7}
    >>> RtlSample(tiles=0)
    Traceback (most recent call last):
    ...
    hwsim.errors.ConfigError: rtl_sample.tiles: must be >= 1, not 0
    """

    tiles: int = 1
    seed: int = 0

    def __post_init__(self):
        check_int("rtl_sample.tiles", self.tiles, 1, MAX_TILES)
        check_int("rtl_sample.seed", self.seed, 0, 2**63 - 1)

    def to_dict(self) -> dict:
        return {"tiles": int(self.tiles), "seed": int(self.seed)}


# ------------------------------------------------------------------------ operands
def _softmax_rows(rng: np.random.Generator, m: int, k: int) -> np.ndarray:
    s = rng.standard_normal((m, k)) * 2.0
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def _window(rng: np.random.Generator, total: int, want: int) -> tuple[int, int]:
    want = max(1, min(int(want), int(total)))
    start = int(rng.integers(0, total - want + 1))
    return start, start + want


def _real_gemm(workload, op, layer: int):
    if workload.model is None:
        return None
    from hwsim.workloads.realmodel import captured_op

    return captured_op(workload.model, op.name, layer)


def tile_operands(workload, op, op_index: int, tile_index: int, sample: RtlSample,
                  m: int, n: int, rng: np.random.Generator) -> TileOperands:
    """Float operands of one tile: ``m`` rows and ``n`` columns of ``op`` over its full K."""
    recipe = None
    if workload.quant:
        from hwsim.workloads.recipes import get_recipe

        recipe = get_recipe(workload.quant)
    layer = int(rng.integers(0, op.count))
    cap = _real_gemm(workload, op, layer)
    if cap is not None and cap.x.shape[1] == op.k and cap.w.shape[1] == op.n:
        r0, r1 = _window(rng, cap.x.shape[0], m)
        c0, c1 = _window(rng, op.n, n)
        return TileOperands(np.ascontiguousarray(cap.x[r0:r1]), np.ascontiguousarray(cap.w[:, c0:c1]),
                            (r0, r1), (c0, c1),
                            f"real {workload.model} {cap.name} (tokens {r0}..{r1 - 1} of "
                            f"{cap.x.shape[0]}, outputs {c0}..{c1 - 1})", recipe)
    from hwsim.workloads import synthetic

    r0, r1 = _window(rng, op.m, m)
    c0, c1 = _window(rng, op.n, n)
    mt, nt, k = r1 - r0, c1 - c0, op.k
    name = op.name or ""
    if name.startswith("attn_score"):
        x, _ = synthetic.activations(rng, mt, k)          # queries
        w = synthetic.activations(rng, nt, k)[0].T        # keys, transposed
        what = "queries x keys from outlier-channel activations"
    elif name.startswith("attn_context"):
        x = _softmax_rows(rng, mt, k)                     # attention probabilities
        w = synthetic.activations(rng, k, nt)[0]          # values
        what = "softmax probabilities x outlier-channel values"
    else:
        x, _ = synthetic.activations(rng, mt, k)
        w = synthetic.weights(rng, k, nt)
        what = "Student-t activations with 1% outlier channels x Student-t weights"
    src = (f"synthetic {what} (op {op_index} tile {tile_index}, seed {sample.seed}; "
           f"rows {r0}..{r1 - 1}, cols {c0}..{c1 - 1})")
    return TileOperands(np.ascontiguousarray(x, np.float32), np.ascontiguousarray(w, np.float32),
                        (r0, r1), (c0, c1), src, recipe)


def tile_rng(sample: RtlSample, op_index: int, tile_index: int) -> np.random.Generator:
    """The generator of one tile: seeded by the sample's seed, the op and the tile only."""
    return np.random.default_rng([int(sample.seed), int(op_index), int(tile_index)])


def tiles_of(fam, cfg, workload, sample: RtlSample) -> list[tuple[int, object, object]]:
    """``[(op_index, op, RtlTile)]``: the sampled tiles of every op, as the family's jobs."""
    out = []
    for i, op in enumerate(workload.ops):
        for t in range(sample.tiles):
            rng = tile_rng(sample, i, t)
            src = TileSource(lambda m, n, op=op, i=i, t=t, rng=rng:
                             tile_operands(workload, op, i, t, sample, m, n, rng), rng)
            out.append((i, op, fam.tile_job(cfg, op, src)))
    return out


# ------------------------------------------------------------------------- errors
def _finite(x):
    return float(x) if x is not None and math.isfinite(x) else None


class _Pooled:
    """Signal and noise power summed over tiles (a pooled SQNR)."""

    def __init__(self):
        self.sig = 0.0
        self.noise = 0.0
        self.n = 0

    def add(self, ref: np.ndarray, out: np.ndarray) -> float | None:
        ref = np.asarray(ref, np.float64)
        d = ref - np.asarray(out, np.float64)
        s, e = float(np.sum(ref * ref)), float(np.sum(d * d))
        self.sig += s
        self.noise += e
        self.n += 1
        return _sqnr(s, e)

    def db(self) -> float | None:
        return _sqnr(self.sig, self.noise) if self.n else None


def _sqnr(sig: float, noise: float) -> float | None:
    if noise == 0.0 or sig == 0.0 or not (math.isfinite(sig) and math.isfinite(noise)):
        return None  # exact (or no signal): no finite figure
    return 10.0 * math.log10(sig / noise)


def _is_linear(op) -> bool:
    name = op.name or ""
    return not name.startswith("attn_")


# ------------------------------------------------------------------------ the check
def rtl_check(point, cfg) -> dict:
    """Run the point's sampled workload tiles through golden, model and Verilator.

    Returns the record's ``rtl_check`` dict. The numerical errors are SQNRs pooled over
    tiles (signal power over error power, both against the float32 product):
    ``recipe_sqnr_db`` of the workload recipe's quantiser and ``rtl_sqnr_db`` of the RTL's
    outputs scaled back, both on the linear-layer tiles (where the recipe applies), and
    ``rtl_sqnr_db_attention`` of the RTL on the attention tiles. Never raises for a failing build or
    simulation: the failure is the point's result (``status = "failed"``, ``error``,
    ``log``). A :class:`KeyboardInterrupt` still stops the sweep.
    """
    from hwsim.evaluate import FAMILIES
    from hwsim.sim import verilator

    fam = FAMILIES[point.family]
    sample = point.rtl_sample or RtlSample()
    out: dict = {"status": "failed", "sample": sample.to_dict(), "recipe": point.workload.quant,
                 "tiles_per_op": sample.tiles, "implementation": "verilator"}
    t_start = time.perf_counter()
    mark = len(verilator.activity())
    stage = "tiles"
    try:
        tiles = tiles_of(fam, cfg, point.workload, sample)
        jobs = [t.job for _, _, t in tiles]
        stage = "golden"
        gold = fam.implementations["golden"](cfg, jobs)
        stage = "model"
        model = fam.implementations["model"](cfg, jobs)
        stage = "verilator"
        rtl = fam.implementations["verilator"](cfg, jobs)
    except KeyboardInterrupt:
        raise
    except (Exception, SystemExit) as e:
        out.update(error=f"{stage}: {type(e).__name__}: {shorten(str(e), 600)}",
                   log=str(getattr(e, "log_path", None) or "") or None)
        _timings(out, verilator.activity()[mark:], t_start)
        log.warning("RTL check of %s failed at %s: %s", point.family, stage, e)
        return out
    rows = []
    rec_err, hw_err, hw_attn = _Pooled(), _Pooled(), _Pooled()
    quant = {}
    for (i, op, tile), g, md, r in zip(tiles, gold, model, rtl):
        m, k, n = tile.shape
        est = fam.estimate(cfg, dataclasses.replace(op, m=m, n=n, count=1), mode=point.mode)
        equal = bool(np.array_equal(np.asarray(r.outputs), np.asarray(g.outputs)))
        row = {"op": op.name, "op_index": i, "shape": [m, k, n], "equal": equal,
               "rtl_cycles": int(r.cycles), "model_cycles": int(md.cycles),
               "model_equal": bool(np.array_equal(np.asarray(md.outputs), np.asarray(g.outputs))),
               "estimate_cycles": int(est.compute_cycles)}
        ops = tile.operands
        if ops is not None:
            row.update(rows=list(ops.rows), cols=list(ops.cols), source=ops.source)
            from hwsim.workloads.error import float32_gemm

            ref = float32_gemm(ops.x, ops.w)
            if tile.to_float is not None:
                pool = hw_err if _is_linear(op) else hw_attn
                row["rtl_sqnr_db"] = pool.add(ref, tile.to_float(np.asarray(r.outputs)))
            if ops.recipe is not None and _is_linear(op):
                from hwsim.workloads.quant import get_scheme

                y = get_scheme(ops.recipe.scheme).matmul(ops.x, ops.w)
                row["recipe_sqnr_db"] = rec_err.add(ref, y)
        else:
            row["source"] = "family stimulus"
        quant.setdefault(tile.quantisation, None)
        rows.append(row)
    n_t = len(rows)
    cyc_err = [abs(r["rtl_cycles"] - r["model_cycles"]) for r in rows]
    rel = [abs(r["rtl_cycles"] - r["model_cycles"]) / max(1, r["model_cycles"]) for r in rows]
    est_rel = [abs(r["estimate_cycles"] - r["rtl_cycles"]) / max(1, r["rtl_cycles"]) for r in rows]
    out.update(
        status="ok", tiles_checked=n_t,
        outputs_equal=sum(r["equal"] for r in rows),
        cycles_equal=sum(e == 0 for e in cyc_err),
        cycles_max_abs_error=max(cyc_err, default=0),
        cycles_max_rel_error=float(max(rel, default=0.0)),
        estimate_max_rel_error=float(max(est_rel, default=0.0)),
        recipe_sqnr_db=_finite(rec_err.db()), rtl_sqnr_db=_finite(hw_err.db()),
        rtl_exact=bool(hw_err.n and hw_err.noise == 0.0),
        rtl_sqnr_db_attention=_finite(hw_attn.db()),
        quantisation=list(quant), tiles=rows,
    )
    out["agree"] = bool(out["outputs_equal"] == n_t and out["cycles_equal"] == n_t)
    _timings(out, verilator.activity()[mark:], t_start)
    return out


def _timings(out: dict, acts: list[dict], t_start: float) -> None:
    builds = [a for a in acts if a["kind"] == "build"]
    out["builds"] = sorted({(a["name"], bool(a["cached"])) for a in builds})
    out["builds"] = [{"name": nm, "cached": c} for nm, c in out["builds"]]
    out["build_s"] = float(sum(a["seconds"] for a in builds))
    out["sim_s"] = float(sum(a["seconds"] for a in acts if a["kind"] == "run"))
    out["wall_s"] = float(time.perf_counter() - t_start)


def summary(check: dict | None) -> str:
    """One line for a table cell: ``"8/8 equal, cycles 8/8"`` or the failure."""
    if not check:
        return "model only"
    if check.get("status") != "ok":
        return f"RTL failed: {check.get('error', '?')}"
    return (f"outputs {check['outputs_equal']}/{check['tiles_checked']} equal, "
            f"cycles {check['cycles_equal']}/{check['tiles_checked']} equal "
            f"(max error {check['cycles_max_abs_error']})")


def check_fidelity_family(fam) -> None:
    """Refuse the RTL fidelity for a family without a Verilator implementation."""
    if "verilator" not in fam.implementations:
        raise ConfigError("fidelity", f"family {fam.name!r} has no Verilator implementation, so "
                          "it cannot be evaluated at fidelity 'rtl'")
