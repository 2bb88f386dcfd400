"""The mapper: the engine's traffic model, the search's guarantees, and the fixed order kept."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from hwsim.errors import ConfigError
from hwsim.families.systolic.config import SystolicConfig
from hwsim.families.systolic.mapping import make_space, tile_gemms
from hwsim.families.systolic.model import compute_cycles, estimate, estimate_arrays, traffic
from hwsim.mapping.engine import CYCLES_RTOL, ORDERS, fetch_multiplier, price
from hwsim.workloads.ops import GemmOp

SHAPES = [(1, 4096, 4096), (37, 53, 29), (200, 96, 300), (512, 4096, 1024), (16, 600, 20)]


def _walk_traffic(m, k, n, tile, order, ab, bb, cb):
    """DRAM bytes of a tile walk, counted by replaying it: a tile is fetched when it is
    not the one resident; a C tile left before its last K tile is written out and read
    back when it returns."""
    mp = {"order": order, "tile_m": tile[0], "tile_k": tile[1], "tile_n": tile[2]}
    res = {"a": None, "b": None, "c": None}
    done_k: dict = {}
    ra = rb = rc = wc = 0
    kt = -(-k // tile[1])
    for m0, k0, n0, tm, tk, tn in tile_gemms(m, k, n, mp):
        if res["a"] != (m0, k0):
            res["a"] = (m0, k0)
            ra += tm * tk * ab
        if res["b"] != (k0, n0):
            res["b"] = (k0, n0)
            rb += tk * tn * bb
        if res["c"] != (m0, n0):
            if res["c"] is not None and done_k[res["c"]] < kt:
                wc += cb * np.prod(res["c_shape"])  # spill a partial tile
            if done_k.get((m0, n0), 0):
                rc += tm * tn * cb  # its partial sums come back
            res["c"], res["c_shape"] = (m0, n0), (tm, tn)
        done_k[(m0, n0)] = done_k.get((m0, n0), 0) + 1
        if done_k[(m0, n0)] == kt:
            wc += tm * tn * cb
    return ra, rb, rc, wc


@pytest.mark.parametrize("order", ORDERS)
def test_fetch_counts_equal_a_replay_of_the_tile_walk(order):
    for (m, k, n), tile in itertools.product([(37, 53, 29), (64, 96, 40), (8, 8, 8)],
                                             [(8, 16, 8), (37, 7, 5), (64, 96, 8), (4, 96, 40)]):
        cfg = dict(rows=np.array([4]), cols=np.array([4]), m=np.array([m]), k=np.array([k]), n=np.array([n]),
                   a_bits=np.array([8]), b_bits=np.array([8]), acc_bits=np.array([32]),
                   ifmap_sram_kb=np.array([64]), filter_sram_kb=np.array([64]), ofmap_sram_kb=np.array([64]),
                   dram_bw_bytes_per_cycle=np.array([8.0]), acc_depth=np.array([16]))
        space = make_space("os", "hardware", **cfg)
        t = [np.array([min(x, e)]) for x, e in zip(tile, (m, k, n))]
        tot = price(space, *t, orders=[order])
        ra, rb, rc, wc = _walk_traffic(m, k, n, [int(x[0]) for x in t], order, 1, 1, 4)
        got = [int(tot[key][0, 0]) for key in ("dram_read_a", "dram_read_b", "dram_read_c", "dram_write_c")]
        assert got == [ra, rb, rc, wc], (m, k, n, tile, order)


def test_fetch_multiplier_ignores_single_trip_loops():
    trips = {"m": np.array([4]), "k": np.array([1]), "n": np.array([3])}
    # k has one trip: "mkn" is "mn" for A (resident across n) and B (re-read per m)
    assert fetch_multiplier("mkn", "a", trips)[0] == 1
    assert fetch_multiplier("mkn", "b", trips)[0] == 4
    assert fetch_multiplier("mkn", "c", trips)[0] == 1
    trips["k"] = np.array([5])
    assert fetch_multiplier("mkn", "c", trips)[0] == 5  # partial sums leave between K tiles


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_fixed_mapping_is_the_closed_form_of_the_rtl_order(dataflow):
    """``mapping="fixed"`` is exactly the fold-order closed form (cycles and traffic)."""
    for (m, k, n), kb, bw in itertools.product(SHAPES, (1, 64), (4.0, 64.0)):
        cfg = SystolicConfig(rows=8, cols=16, dataflow=dataflow, ifmap_sram_kb=kb, filter_sram_kb=kb,
                             dram_bw_bytes_per_cycle=bw, acc_depth=32, mapping="fixed")
        p = estimate(cfg, GemmOp(m, k, n))
        t = traffic(8, 16, dataflow, m, k, n, 8, 8, 32, kb, kb, 64, 32)
        comp = compute_cycles(cfg, m, k, n)
        dram = int(t["dram_read_bytes"] + t["dram_write_bytes"])
        assert p.compute_cycles == comp
        assert p.cycles == max(comp, -(-dram // bw))
        assert p.total_dram_bytes == dram
        assert p.mapping == {"order": "fixed", "tile_m": m, "tile_k": k, "tile_n": n, "objective": "cycles"}


@pytest.mark.parametrize("objective", ["cycles", "dram", "energy"])
@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_search_is_never_worse_than_fixed_and_fits_the_buffers(objective, dataflow):
    from hwsim.families.systolic.mapping import action_energies

    for (m, k, n), kb in itertools.product(SHAPES, (1, 16)):
        cfg = SystolicConfig(rows=8, cols=16, dataflow=dataflow, ifmap_sram_kb=kb, filter_sram_kb=kb,
                             ofmap_sram_kb=kb, dram_bw_bytes_per_cycle=8.0, acc_depth=32,
                             mapping_objective=objective)
        op = GemmOp(m, k, n)
        s, f = estimate(cfg, op), estimate(replace(cfg, mapping="fixed"), op)

        def energy(p):
            e = action_energies(cfg)
            return sum(e[a] * v for a, v in p.actions.items()) + e["cycle"] * p.cycles

        if objective == "cycles":  # cycles at the search's resolution, then DRAM bytes
            assert s.cycles <= f.cycles * (1 + CYCLES_RTOL), (m, k, n, kb)
            assert s.cycles <= f.cycles or s.total_dram_bytes < f.total_dram_bytes
        elif objective == "dram":
            assert s.total_dram_bytes <= f.total_dram_bytes
        else:
            assert energy(s) <= energy(f) * (1 + 1e-12)
        assert s.macs == f.macs and s.actions["mac"] == m * k * n
        mp = s.mapping
        assert mp["objective"] == objective
        if mp["order"] != "fixed":
            tm, tk, tn = mp["tile_m"], mp["tile_k"], mp["tile_n"]
            cap = kb * 1024
            assert 2 * tm * tk <= cap and 2 * tk * tn <= cap and 2 * tm * tn * 4 <= cap
            assert s.actions["sram_write:ofmap"] == -(-k // tk) * m * n
            assert s.actions["sram_read:ofmap"] == (-(-k // tk) - 1) * m * n


def test_prefill_gemm_is_mapped_to_fewer_cycles_and_bytes():
    """The case behind the mapper: a Llama-2-7B projection is DRAM-bound in the fixed order."""
    for df in ("ws", "os"):
        cfg = SystolicConfig(rows=32, cols=32, dataflow=df, dram_bw_bytes_per_cycle=32.0)
        s = estimate(cfg, GemmOp(512, 4096, 4096))
        f = estimate(replace(cfg, mapping="fixed"), GemmOp(512, 4096, 4096))
        assert s.cycles < 0.75 * f.cycles and s.total_dram_bytes < 0.6 * f.total_dram_bytes
        assert s.stall_cycles == 0 and s.mapping["order"] != "fixed"


def test_arrays_carry_the_mapping_and_equal_the_scalar_estimate():
    designs = [dict(rows=8, cols=8, dataflow=df, ifmap_sram_kb=kb, filter_sram_kb=kb, ofmap_sram_kb=kb,
                    dram_bw_bytes_per_cycle=bw, mapping=mp, mapping_objective=obj)
               for df, kb, bw, mp, obj in itertools.product(("os", "ws"), (1, 64), (2.0, 64.0),
                                                            ("fixed", "search"), ("cycles", "energy"))]
    shapes = [(1, 512, 256), (96, 200, 64), (300, 40, 70)]
    cols = {key: np.array([d[key] for d in designs for _ in shapes]) for key in designs[0]}
    m, k, n = (np.array([s[i] for _ in designs for s in shapes]) for i in range(3))
    r = estimate_arrays(**cols, m=m, k=k, n=n, count=3)
    i = 0
    for d in designs:
        for shape in shapes:
            p = estimate(SystolicConfig(**d), GemmOp(*shape, count=3))
            assert int(r["cycles"][i]) == p.cycles and int(r["compute_cycles"][i]) == p.compute_cycles
            assert {key: int(r[key][i]) for key in p.actions} == p.actions
            assert {x: int(r[f"dram_bytes:{x}"][i]) for x in "abc"} == p.dram_bytes
            got = {"order": r["mapping_order"][i], "tile_m": int(r["mapping_tile_m"][i]),
                   "tile_k": int(r["mapping_tile_k"][i]), "tile_n": int(r["mapping_tile_n"][i]),
                   "objective": r["mapping_objective"][i]}
            assert got == p.mapping
            i += 1


def test_mapping_fields_are_validated():
    with pytest.raises(ConfigError, match="mapping"):
        SystolicConfig(mapping="greedy")
    with pytest.raises(ConfigError, match="mapping_objective"):
        SystolicConfig(mapping_objective="area")


@pytest.mark.parametrize("objective", ["cycles", "dram", "energy"])
@pytest.mark.parametrize("core", ["lut", "mac"])
def test_lut_search_is_never_worse_than_fixed_and_is_priced(core, objective):
    from hwsim.evaluate import Point, Workload, evaluate
    from hwsim.families.lut.config import LutConfig
    from hwsim.families.lut.mapping import raw_energies
    from hwsim.families.lut.model import estimate

    for (m, k, n), kb in itertools.product([(512, 4096, 4096), (1, 4096, 4096), (64, 600, 300)], (4, 64)):
        cfg = LutConfig(core=core, w_bits=2, act_sram_kb=kb, weight_sram_kb=kb, out_sram_kb=kb,
                        mapping_objective=objective)
        s, f = estimate(cfg, GemmOp(m, k, n)), estimate(replace(cfg, mapping="fixed"), GemmOp(m, k, n))
        e = raw_energies(cfg)

        def energy(p):
            d = p.dram_bytes
            return (sum(e[a] * v for a, v in p.actions.items() if a in e)
                    + e["psum_reads"] * p.actions.get("sram_read:out", 0)
                    + e["dram_read_a"] * d["A"] + e["dram_read_b"] * d["W"] + e["dram_write_c"] * d["C"]
                    + e["dram_read_c"] * d.get("C_psum", 0) + e["cycles"] * p.cycles)

        if objective == "cycles":
            assert s.cycles <= f.cycles * (1 + CYCLES_RTOL)
            assert s.cycles <= f.cycles or s.total_dram_bytes < f.total_dram_bytes
        elif objective == "dram":
            assert s.total_dram_bytes <= f.total_dram_bytes
        else:
            assert energy(s) <= energy(f) * (1 + 1e-9)
        assert s.macs == f.macs
        if s.mapping["order"] != "fixed":
            tm, tk, tn = s.mapping["tile_m"], s.mapping["tile_k"], s.mapping["tile_n"]
            assert 2 * tm * tk <= kb * 1024 and 2 * tk * tn * 2 <= kb * 1024 * 8
            assert tm % cfg.tile_m == 0 or tm == m
            assert tk % cfg.tile_k == 0 or tk == k
    rec = evaluate(Point("lut", dict(core=core, mapping_objective=objective),
                         Workload.from_gemms("g", [GemmOp(512, 4096, 4096)])))
    assert rec.energy_pj > 0 and rec.dram_bytes > 0


def test_lut_and_mac_cores_get_the_same_buffer_traffic_on_a_prefill_projection():
    """The tiling is chosen per core; a compute-bound LUT core is no longer left with the
    fixed order's re-reads while the DRAM-bound MAC core is mapped."""
    from hwsim.families.lut.config import LutConfig
    from hwsim.families.lut.model import estimate

    lut = estimate(LutConfig(core="lut"), GemmOp(512, 4096, 4096))
    mac = estimate(LutConfig(core="mac"), GemmOp(512, 4096, 4096))
    fixed = estimate(LutConfig(core="lut", mapping="fixed"), GemmOp(512, 4096, 4096))
    assert lut.total_dram_bytes == mac.total_dram_bytes < fixed.total_dram_bytes / 5


@pytest.mark.parametrize("objective", ["cycles", "dram", "energy"])
def test_mixpe_search_is_never_worse_than_fixed_and_arrays_agree(objective):
    from hwsim.families.mixpe.config import MixpeConfig
    from hwsim.families.mixpe.mapping import action_energies
    from hwsim.families.mixpe.model import ARRAY_FIELDS
    from hwsim.families.mixpe.model import estimate as mx_estimate
    from hwsim.families.mixpe.model import estimate_arrays as mx_arrays

    designs = [MixpeConfig(rows=16, cols=16, group_size=gs, zero_point=zp, act_format=af, ibuf_kib=kb, wbuf_kib=kb,
                           obuf_kib=kb, dram_bw_bytes_per_cycle=32, mapping_objective=objective)
               for gs, zp, af, kb in itertools.product((32, 128), (True, False), ("int8", "fp16"), (8, 128))]
    shapes = [(512, 4096, 1024), (1, 4096, 4096), (100, 1000, 300)]
    cols = {f: np.array([getattr(d, f) for d in designs for _ in shapes]) for f in ARRAY_FIELDS}
    m, k, n = (np.array([s[i] for _ in designs for s in shapes]) for i in range(3))
    r = mx_arrays(**cols, m=m, k=k, n=n, count=2)
    i = 0
    for d in designs:
        e = action_energies(d)
        for shape in shapes:
            op = GemmOp(*shape, count=2)
            s, f = mx_estimate(d, op), mx_estimate(replace(d, mapping="fixed"), op)
            assert int(r["cycles"][i]) == s.cycles and {a: int(r[a][i]) for a in s.actions} == s.actions
            assert r["mapping_order"][i] == s.mapping["order"] and int(r["mapping_tile_k"][i]) == s.mapping["tile_k"]
            i += 1
            if objective == "cycles":
                assert s.cycles <= f.cycles * (1 + CYCLES_RTOL)
                assert s.cycles <= f.cycles or s.total_dram_bytes < f.total_dram_bytes
            elif objective == "dram":
                assert s.total_dram_bytes <= f.total_dram_bytes
            else:
                def energy(p):
                    return sum(e[a] * v for a, v in p.actions.items()) + e["cycle"] * p.cycles
                assert energy(s) <= energy(f) * (1 + 1e-9)
            if s.mapping["order"] != "fixed":
                assert s.mapping["tile_k"] % d.group_size == 0
                assert 2 * s.mapping["tile_m"] * s.mapping["tile_n"] * 4 <= d.obuf_kib * 1024


def _sweep_points():
    """Designs x DRAM bandwidths x ops x objectives: compute- and DRAM-bound points,
    repeated bandwidths, tiny buffers (nothing fits: the fixed order), huge bandwidths
    (every candidate compute-bound: the ties go to bytes and energy) and points the
    search cannot take (``searchable`` false at 1e-6 bytes/cycle)."""
    designs = [dict(rows=r, cols=c, dataflow=df, ifmap_sram_kb=kb, filter_sram_kb=kb, ofmap_sram_kb=okb,
                    acc_depth=d, mapping=mp, mapping_objective=obj, freq_mhz=f)
               for r, c, df, kb, okb, d, mp, obj, f in [
                   (8, 8, "os", 64, 64, 32, "search", "cycles", 1000.0),
                   (8, 8, "os", 64, 64, 32, "search", "cycles", 500.0),
                   (4, 16, "ws", 1, 1, 16, "search", "dram", 1000.0),
                   (16, 4, "is", 16, 64, 64, "search", "energy", 1000.0),
                   (8, 16, "ws", 256, 16, 32, "search", "cycles", 1000.0),
                   (8, 16, "ws", 256, 16, 32, "fixed", "cycles", 1000.0),
                   (32, 8, "is", 4, 256, 64, "search", "dram", 800.0),
                   (16, 16, "os", 32, 32, 64, "search", "energy", 1000.0)]]
    bws = [1e-6, 0.5, 3.7, 8.0, 8.0, 21.0, 64.0, 1e9]
    shapes = [(1, 4096, 4096), (512, 4096, 4096), (37, 53, 29), (200, 96, 300), (16, 600, 20), (3, 5, 7)]
    pts = [(d, bw, s) for d in designs for bw in bws for s in shapes]
    cols = {key: np.array([p[0][key] for p in pts]) for key in designs[0]}
    cols["dram_bw_bytes_per_cycle"] = np.array([p[1] for p in pts])
    m, k, n = (np.array([p[2][i] for p in pts]) for i in range(3))
    return cols, m, k, n


def _assert_same(a, b):
    assert set(a) == set(b)
    for key in a:
        assert a[key].dtype == b[key].dtype and np.array_equal(a[key], b[key]), key


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast")
def test_bandwidths_of_one_problem_share_its_search(monkeypatch):
    """Problems that differ only in DRAM bandwidth are searched once for all their
    bandwidths (candidates priced once, the cycles and the choice per bandwidth): the
    same results as a search per bandwidth and as every point alone."""
    import hwsim.families.systolic.model as model

    cols, m, k, n = _sweep_points()
    together = estimate_arrays(**cols, m=m, k=k, n=n, count=3)
    assert (together["mapping_order"] != "fixed").sum() > 100
    assert set(together["mapping_objective"]) == {"cycles", "dram", "energy"}
    for share in (1, 10**9):  # every problem shared / none
        monkeypatch.setattr(model, "_SHARED_FROM", share)
        _assert_same(estimate_arrays(**cols, m=m, k=k, n=n, count=3), together)
    monkeypatch.setattr(model, "_SHARED_FROM", 3)
    for bw in np.unique(cols["dram_bw_bytes_per_cycle"]):  # one bandwidth at a time
        sel = cols["dram_bw_bytes_per_cycle"] == bw
        one = estimate_arrays(**{key: v[sel] for key, v in cols.items()}, m=m[sel], k=k[sel], n=n[sel], count=3)
        _assert_same(one, {key: v[sel] for key, v in together.items()})
    for i in range(0, m.size, 7):  # points alone
        one = estimate_arrays(**{key: v[i:i + 1] for key, v in cols.items()}, m=m[i:i + 1], k=k[i:i + 1],
                              n=n[i:i + 1], count=3)
        _assert_same(one, {key: v[i:i + 1] for key, v in together.items()})


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_engine_queries_equal_a_search_per_bandwidth(dataflow):
    """:func:`search` with queries (problem, bandwidth) equals a search of each query as a
    problem of its own, choice and totals, under every objective."""
    from hwsim.families.systolic.mapping import unit_energies
    from hwsim.mapping.engine import OBJECTIVES, search

    rng = np.random.default_rng(7)
    u = 12
    prob = dict(rows=rng.choice([4, 8, 16], u), cols=rng.choice([4, 8, 32], u), m=rng.choice([1, 37, 200, 512], u),
                k=rng.choice([53, 600, 4096], u), n=rng.choice([29, 300, 4096], u), a_bits=np.full(u, 8),
                b_bits=np.full(u, 8), acc_bits=np.full(u, 32), ifmap_sram_kb=rng.choice([1, 16, 256], u),
                filter_sram_kb=rng.choice([1, 16, 256], u), ofmap_sram_kb=rng.choice([16, 64], u),
                dram_bw_bytes_per_cycle=np.full(u, 1.0), acc_depth=np.full(u, 32))
    of = np.repeat(np.arange(u), 6)
    bw = rng.choice([0.25, 2.0, 7.5, 16.0, 1e9], of.size)
    cfgs = [SystolicConfig(rows=int(prob["rows"][i]), cols=int(prob["cols"][i]), dataflow=dataflow,
                           ifmap_sram_kb=int(prob["ifmap_sram_kb"][i]), filter_sram_kb=int(prob["filter_sram_kb"][i]),
                           ofmap_sram_kb=int(prob["ofmap_sram_kb"][i]), acc_depth=32) for i in range(u)]
    per_q = {key: v[of] for key, v in prob.items()}
    per_q["dram_bw_bytes_per_cycle"] = bw
    real = unit_energies((cfgs, np.arange(u)))
    # and unit energies that rank the candidates unlike their bytes (cycles last, as the
    # families have them, and the energy of a cycle sometimes 0)
    odd = {key: rng.uniform(0, 1, u) * rng.choice([1e-3, 1.0, 1e3], u) for key in real if key != "cycles"}
    odd["cycles"] = rng.choice([0.0, 0.5, 50.0], u)
    fixed = {"cycles": rng.integers(10**3, 10**10, of.size), "dram": rng.integers(10**3, 10**10, of.size),
             "energy": rng.uniform(1e3, 1e12, of.size)}
    for objective, ue_p in itertools.product(OBJECTIVES, (real, odd)):
        ue_q = {key: v[of] for key, v in ue_p.items()}
        shared = search(make_space(dataflow, "hardware", **prob, unit_energy=ue_p), objective, fixed, bw=bw, of=of)
        alone = search(make_space(dataflow, "hardware", **per_q, unit_energy=ue_q), objective, fixed)
        assert (~shared.fixed).sum() > 10
        for f in ("fixed", "order", "tile_m", "tile_k", "tile_n"):
            assert np.array_equal(getattr(shared, f), getattr(alone, f)), (objective, f)
        w = ~alone.fixed
        for key, v in alone.totals.items():
            assert np.array_equal(np.asarray(shared.totals[key])[w], np.asarray(v)[w]), (objective, key)


def test_group_rows_is_unique_rows():
    from hwsim.mapping.engine import group_rows

    rng = np.random.default_rng(3)
    cols = [rng.integers(0, 3, 500), rng.choice([0.5, 2.0, 1e9], 500), np.full(500, 7), rng.integers(0, 2**40, 500) % 5]
    first, inv = group_rows(cols)
    _, f0, i0 = np.unique(np.stack([c.astype(float) for c in cols], axis=1), axis=0, return_index=True,
                          return_inverse=True)
    assert np.array_equal(first, f0) and np.array_equal(inv, i0.reshape(-1))


def test_action_energies_do_not_depend_on_the_bandwidth():
    """What lets designs that differ only in DRAM bandwidth share their energies."""
    from hwsim.families.systolic.mapping import action_energies

    for df in ("os", "ws", "is"):
        cfg = SystolicConfig(rows=8, cols=16, dataflow=df, dram_bw_bytes_per_cycle=16.0)
        assert action_energies(cfg) == action_energies(replace(cfg, dram_bw_bytes_per_cycle=3.7))


@pytest.mark.parametrize("layout", ["cycles last", "cycles first", "cycles paid back"])
def test_engine_queries_keep_every_trade_off(layout):
    """The same with a made-up array whose compute cycles grow with the tile (compute
    cycles, DRAM bytes and energy pull apart), and unit energies that sum the cycles'
    term first or price a cycle below zero (nothing is left out then)."""
    from hwsim.mapping.engine import OBJECTIVES, Space, search

    rng = np.random.default_rng(11)
    u = 16

    def space(idx, bw):
        def tile_cost(tm, tk, tn, ex, actions=True):
            vol = tm * tk * tn
            out = {"compute_cycles": vol // ex(par[idx]) + ex(lat[idx]) + vol * vol // ex(big[idx])}
            if actions:
                out["sram"] = tm * tk + tk * tn + tm * tn
            return out

        ue = {"sram": e_sram[idx], "dram_read_a": e_a[idx], "dram_read_b": e_b[idx], "dram_read_c": e_c[idx],
              "dram_write_c": e_c[idx], "cycles": e_cyc[idx]}
        if layout == "cycles first":
            ue = {"cycles": ue.pop("cycles"), **ue}
        elif layout == "cycles paid back":
            ue["cycles"] = ue["cycles"] - 0.5
        return Space(m=dims[0][idx], k=dims[1][idx], n=dims[2][idx], unit_m=4, unit_k=4, unit_n=4, bits_a=8,
                     bits_b=8, bits_c=32, cap_a=caps[0][idx], cap_b=caps[1][idx], cap_c=caps[2][idx], bw=bw,
                     tile_cost=tile_cost, unit_energy=ue)

    dims = [rng.integers(1, 300, u) for _ in range(3)]
    caps = [rng.choice([256, 2048, 65536], u) for _ in range(3)]
    par, lat = rng.choice([4, 16, 64], u), rng.choice([0, 10, 1000], u)
    big = rng.choice([10**6, 10**8, 10**10], u)
    e_sram, e_a, e_b, e_c = (rng.uniform(0, 1, u) * rng.choice([1e-3, 1.0, 1e3], u) for _ in range(4))
    e_cyc = rng.choice([0.0, 1.0, 100.0], u)
    of = np.repeat(np.arange(u), 8)
    bw = rng.choice([0.01, 0.3, 1.0, 4.0, 64.0, 1e9], of.size)
    fixed = {"cycles": rng.integers(10**3, 10**9, of.size), "dram": rng.integers(10**3, 10**9, of.size),
             "energy": rng.uniform(1e3, 1e12, of.size)}
    for objective in OBJECTIVES:
        shared = search(space(np.arange(u), np.ones(u)), objective, fixed, bw=bw, of=of)
        alone = search(space(of, bw), objective, fixed)
        assert (~shared.fixed).sum() > 20
        for f in ("fixed", "order", "tile_m", "tile_k", "tile_n"):
            assert np.array_equal(getattr(shared, f), getattr(alone, f)), (objective, f)
        w = ~alone.fixed
        for key, v in alone.totals.items():
            assert np.array_equal(np.asarray(shared.totals[key])[w], np.asarray(v)[w]), (objective, key)
