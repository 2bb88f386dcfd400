"""DRAM/HBM timing model: configuration, traces, hand-derived bounds, interface, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hwsim.cli import main
from hwsim.errors import ConfigError, HwsimError
from hwsim.memory import DramTimingModel, MemorySystem, load_preset, parse_ini, simulate
from hwsim.memory.config import PRESETS, DramConfig, load_ini, preset_path
from hwsim.memory.traces import PATTERNS, Trace, format_trace, generate, parse_trace, read_trace


def _reads(cfg, addrs, cycle=None):
    n = len(addrs)
    return simulate(cfg, np.array(addrs, dtype=np.uint64), np.zeros(n, bool),
                    np.zeros(n, np.int64) if cycle is None else cycle)


@pytest.fixture(scope="module")
def hbm2():
    return load_preset("hbm2", 1)


# ---- configuration -------------------------------------------------------------------------
def test_hbm2_derived_values_follow_dramsim3_rules(hbm2):
    # facts of HBM2_8Gb_x128 under DRAMsim3's rules (reference doc)
    assert hbm2.request_size_bytes == 64
    assert hbm2.page_bytes == 2048
    assert hbm2.ranks == 1 and hbm2.banks == 16
    assert (hbm2.RL, hbm2.WL, hbm2.read_delay, hbm2.write_delay, hbm2.tRC) == (14, 4, 16, 6, 48)
    assert hbm2.act_energy_pj == pytest.approx(828)
    assert hbm2.read_energy_pj == pytest.approx(804)
    assert hbm2.write_energy_pj == pytest.approx(1068)
    assert hbm2.ref_energy_pj == pytest.approx(60840)
    assert (hbm2.active_standby_pj_per_cycle, hbm2.precharge_standby_pj_per_cycle) == (
        pytest.approx(66), pytest.approx(48))


def test_mapping_matches_reference_bit_layout():
    cfg = load_preset("hbm2", 8)
    # byte bits: column [10:6], channel [13:11], bank [15:14], bankgroup [17:16], row [32:18]
    a = (5 << 6) | (3 << 11) | (2 << 14) | (1 << 16) | (1234 << 18)
    assert cfg.decode(a) == (3, 0, 1, 2, 1234, 5)
    assert cfg.decode(a + (1 << 33)) == cfg.decode(a)  # wraps modulo the 8 GiB capacity
    assert cfg.capacity_bytes == 8 << 30


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_load_and_round_trip_addresses(name):
    cfg = load_preset(name)
    assert "Source:" in preset_path(name).read_text() or "DERIVED" in preset_path(name).read_text()
    rng = np.random.default_rng(0)
    for a in rng.integers(0, cfg.capacity_bytes // cfg.request_size_bytes, 50) * cfg.request_size_bytes:
        assert cfg.encode(*cfg.decode(int(a))) == int(a)


@pytest.mark.parametrize("kw, key", [
    ({"tRCD": -1}, "tRCD"), ({"channels": 3}, "channels"), ({"protocol": "GDDR6"}, "protocol"),
    ({"address_mapping": "rorabgbachch"}, "address_mapping"), ({"tCK": 0.0}, "tCK"),
    ({"row_buf_policy": "CLOSE_PAGE"}, "row_buf_policy"), ({"BL": 6}, "BL"),
    ({"tRRD_S": 9, "tRRD_L": 6}, "tRRD_L"), ({"cmd_queue_size": True}, "cmd_queue_size"),
])
def test_config_errors_name_key_and_value(kw, key):
    with pytest.raises(ConfigError) as e:
        DramConfig(**kw)
    assert e.value.key == key
    assert str(list(kw.values())[-1]) in str(e.value) or key == "address_mapping"


def test_ini_errors_name_file_and_key(tmp_path):
    p = tmp_path / "x.ini"
    p.write_text("[timing]\ntRCD = fast\n")
    with pytest.raises(ConfigError, match=r"x\.ini: tRCD: must be an integer, not 'fast'"):
        load_ini(p)
    with pytest.raises(HwsimError, match="not a valid .ini"):
        parse_ini("tRCD = 3\n", "y.ini")
    cfg = parse_ini("[dram_structure]\nprotocol = HBM\n[timing]\ntRCDRD = 7 ; comment\n")
    assert cfg.protocol == "HBM" and cfg.act_to_read == 7 and cfg.tRP == 10  # default


# ---- traces -------------------------------------------------------------------------------
def test_trace_parse_errors_name_file_and_line(tmp_path):
    p = tmp_path / "t.trace"
    for text, msg in [("0x40 READ 0\nzz READ 1\n", r"t\.trace:2: address 'zz'"),
                      ("0x40 FETCHX 0\n", r"t\.trace:1: operation 'FETCHX'"),
                      ("0x40 READ 5\n0x80 READ 4\n", r"t\.trace:2: cycle 4 is before"),
                      ("0x40 READ\n", r"t\.trace:1: expected"),
                      ("\n", r"t\.trace: no transactions")]:
        p.write_text(text)
        with pytest.raises(HwsimError, match=msg):
            read_trace(p)


def test_generator_is_deterministic_and_round_trips(hbm2):
    for pat in PATTERNS:
        t1, t2 = generate(pat, hbm2, 300, seed=7), generate(pat, hbm2, 300, seed=7)
        assert np.array_equal(t1.addr, t2.addr) and np.array_equal(t1.is_write, t2.is_write)
        back = parse_trace(format_trace(t1))
        assert np.array_equal(back.addr, t1.addr) and np.array_equal(back.cycle, t1.cycle)
    assert not np.array_equal(generate("random", hbm2, 300, 1).addr, generate("random", hbm2, 300, 2).addr)
    s = format_trace(generate("sequential", hbm2, 3), sentinel=True).splitlines()
    assert len(s) == 4 and int(s[-1].split()[2]) > 10**18


# ---- hand-derived bounds (HBM2, one channel) -------------------------------------------------
def test_streaming_reaches_the_burst_rate_and_refresh_costs_a_refresh_window(hbm2):
    n = 4000
    addrs = np.arange(n) * 64
    no_ref = _reads(hbm2.replace(tREFI=10**9), addrs)
    peak = hbm2.peak_bytes_per_cycle  # 64 B per max(BL/2, tCCD_S) = 2 cycles
    assert peak == 32
    assert no_ref.bandwidth_bytes_per_cycle <= peak
    assert no_ref.bandwidth_bytes_per_cycle >= 0.97 * peak  # row misses hide behind other banks
    with_ref = _reads(hbm2, addrs)
    assert with_ref.ref == with_ref.cycles // hbm2.tREFI
    lost = (with_ref.cycles - no_ref.cycles) / with_ref.ref
    # each REF stops the channel for tRFC plus the precharge/re-activate around it
    assert hbm2.tRFC <= lost <= hbm2.tRFC + hbm2.tRC + hbm2.tRP


def test_one_bank_row_misses_are_trc_bound(hbm2):
    cfg = hbm2.replace(tREFI=10**9)
    n = 400
    r = _reads(cfg, [cfg.encode(0, 0, 0, 0, i, 0) for i in range(n)])
    assert r.act == n
    assert (n - 1) * cfg.tRC <= r.cycles <= n * cfg.tRC + cfg.read_delay + 4


def test_bank_parallel_misses_are_tfaw_bound(hbm2):
    cfg = hbm2.replace(tREFI=10**9)
    n = 400
    # every access opens a new row, rotating over all 16 banks: tRC/16 = 3 < tRRD_S = 4 <
    # tFAW/4 = 7.5, so the four-activate window sets the rate
    r = _reads(cfg, [cfg.encode(0, 0, i % 4, (i // 4) % 4, i, 0) for i in range(n)])
    assert r.act == n
    per_act = r.cycles / n
    assert cfg.tFAW / 4 <= per_act <= 1.05 * cfg.tFAW / 4
    # within one bank group, four banks: tRC/4 = 12 > tRRD_L, tFAW/4
    r = _reads(cfg, [cfg.encode(0, 0, 0, i % 4, i, 0) for i in range(n)])
    assert cfg.tRC / 4 <= r.cycles / n <= 1.05 * cfg.tRC / 4


def test_idle_memory_refreshes_every_trefi(hbm2):
    # two reads far apart: the channel idles in between, refreshing every tREFI
    gap = 100 * hbm2.tREFI + 17
    r = _reads(hbm2, [0, 64 * 1000], cycle=np.array([0, gap]))
    assert r.ref == (r.cycles - 1) // hbm2.tREFI
    # all banks closed while idle: background is mostly the precharge-standby rate
    bg = r.energy_by_kind_pj["background"]
    assert hbm2.precharge_standby_pj_per_cycle * r.cycles <= bg < 1.01 * hbm2.precharge_standby_pj_per_cycle * r.cycles
    assert r.energy_by_kind_pj["refresh"] == pytest.approx(r.ref * hbm2.ref_energy_pj)


def test_reads_complete_after_act_and_cas(hbm2):
    r = _reads(hbm2, [0])
    # accepted at cycle 1 and moved to its bank queue in that cycle's tick; ACT at 2,
    # RD at 2 + tRCDRD, data done RL + BL/2 later
    assert r.completion_cycles[0] == 2 + hbm2.act_to_read + hbm2.read_delay
    assert r.cycles == r.completion_cycles[0] + 1
    assert r.avg_read_latency_cycles == 1 + hbm2.act_to_read + hbm2.read_delay


def test_posted_writes_and_forwarding(hbm2):
    addr = np.array([0, 0, 64], dtype=np.uint64)
    r = simulate(hbm2, addr, np.array([True, False, False]), np.zeros(3, np.int64))
    assert r.completion_cycles[0] == 2  # accepted at 1, posted: done one cycle later
    assert r.completion_cycles[1] == 3  # read forwarded from the write buffer
    assert r.reads == 1 and r.writes == 0  # the lone write stays buffered (fewer than 9)


# ---- interface --------------------------------------------------------------------------
def test_memory_system_interface(hbm2):
    m = DramTimingModel(hbm2)
    assert isinstance(m, MemorySystem) and m.request_bytes == 64
    t = generate("mix_random", hbm2, 500, 3)
    s = m.serve(t.addr, t.is_write, t.cycle)
    assert s.cycles == s.completion_cycles.max() + 1
    assert np.all(s.completion_cycles > t.cycle)
    assert s.energy_pj == s.details.energy_pj
    with pytest.raises(ValueError):
        m.serve(t.addr, t.is_write[:-1], t.cycle)


def test_channels_scale_random_bandwidth():
    one = load_preset("hbm2", 1)
    eight = load_preset("hbm2", 8)
    r1 = simulate(one, *_trace_arrays(generate("random", one, 1500, 5)))
    r8 = simulate(eight, *_trace_arrays(generate("random", eight, 1500, 5)))
    assert r8.bandwidth_bytes_per_cycle > 4 * r1.bandwidth_bytes_per_cycle
    assert r8.bandwidth_bytes_per_cycle <= 64  # the front end accepts one request per cycle


def _trace_arrays(t: Trace):
    return t.addr, t.is_write, t.cycle


# ---- CLI ----------------------------------------------------------------------------------
def test_cli_replay_json(tmp_path, capsys, hbm2):
    p = tmp_path / "seq.trace"
    p.write_text(format_trace(generate("sequential", hbm2, 300, 1)))
    assert main(["dram", "replay", str(p), "--standard", "hbm2", "--channels", "1", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    for k in ("cycles", "act", "pre", "ref", "reads", "writes", "bandwidth_bytes_per_cycle",
              "avg_read_latency_cycles", "energy_pj"):
        assert k in d
    t = generate("sequential", hbm2, 300, 1)
    assert d["cycles"] == simulate(hbm2, t.addr, t.is_write, t.cycle).cycles
    ini = tmp_path / "c.ini"
    ini.write_text(preset_path("hbm2").read_text())
    assert main(["dram", "replay", str(p), "--config", str(ini)]) == 0
    assert "cycles" in capsys.readouterr().out


@pytest.mark.parametrize("args, msg", [
    (["dram", "replay", "{bad}"], r"^hwsim dram: error: .*bad\.trace:2: operation 'RAED'"),
    (["dram", "replay", "{missing}"], r"^hwsim dram: error: .*missing\.trace: cannot read"),
    (["dram", "replay", "{good}", "--channels", "6"], r"^hwsim dram: error: --channels: .* 6"),
    (["dram", "replay", "{good}", "--config", "{ini}"], r"^hwsim dram: error: .*c\.ini: tRP: must be >= 0, not -3"),
])
def test_cli_errors_are_one_line(tmp_path, capsys, args, msg):
    paths = {"bad": tmp_path / "bad.trace", "missing": tmp_path / "missing.trace",
             "good": tmp_path / "good.trace", "ini": tmp_path / "c.ini"}
    paths["bad"].write_text("0x0 READ 0\n0x40 RAED 1\n")
    paths["good"].write_text("0x0 READ 0\n")
    paths["ini"].write_text("[timing]\ntRP = -3\n")
    assert main([a.format(**{k: str(v) for k, v in paths.items()}) for a in args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert __import__("re").search(msg, err)


@pytest.mark.slow
def test_livelocked_trace_stops_with_a_one_line_error(hbm2):
    """A 49,152-transaction read/write mix on which DRAMsim3 stalls (26,504 done after 3 M
    cycles: a write drain meets a pending read to the same address with the write buffer
    full): the replay stops with DramLivelock instead of running on."""
    from hwsim.memory.controller import DramLivelock

    t = generate("mix_random", hbm2, 49152, seed=0)
    with pytest.raises(DramLivelock, match="no RD/WR issued for 200,000 cycles") as e:
        simulate(hbm2, t.addr, t.is_write, t.cycle)
    assert "\n" not in str(e.value)
