"""Bad input, as a hostile but fair user gives it: one line, exit status 2, nothing lost.

Each case runs the installed ``hwsim`` as a subprocess and checks: exit status 2,
exactly one line on stderr, no traceback, the file and key (or option) named, user
values shortened, and no store (nor lock file) written. The classes follow issue 10:
unreadable files, unbounded inputs, non-finite numbers, validation before side effects,
internal names, output paths, corrupt stores, integer overflow, faults (kill -9) and
tool failures.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

HWSIM = Path(sys.executable).with_name("hwsim")
CMD = [str(HWSIM)] if HWSIM.exists() else [sys.executable, "-m", "hwsim"]

GOOD = """\
version = 1
name = "tiny"
family = "systolic"
[fixed]
a_bits = 8
[space]
rows = [4, 8]
cols = [4]
dataflow = ["os", "ws"]
[[workloads]]
name = "sq"
gemms = ["64x64x64"]
"""

ALIAS_BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
name: *i
"""

MODEL_OK = """\
version: 1
name: {name}
display_name: Tiny
source: test
architecture: decoder
hidden_size: 64
num_layers: 2
num_heads: 4
num_kv_heads: 4
ffn_size: 128
ffn_gated: true
activation: silu
vocab_size: 100
max_position: 128
tied_embeddings: false
bias: false
default_quant: w8a8
"""


def run(args, cwd, timeout=60):
    env = {**os.environ, "HWSIM_CACHE": str(Path(cwd) / ".cache")}
    return subprocess.run([*CMD, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


def stores_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file() and p.suffix in (".db", ".lock"))


def assert_one_line(res, *needles, absent=()):
    err = res.stderr
    assert res.returncode == 2, (res.returncode, err[-2000:])
    assert "Traceback" not in err, err[-2000:]
    lines = err.splitlines()
    assert len(lines) == 1, err[-2000:]
    assert len(lines[0]) <= 400, lines[0][:500]
    for n in needles:
        assert n in lines[0], (n, lines[0])
    for n in absent:
        assert n not in lines[0], (n, lines[0])
    return lines[0]


def spec_with(tmp_path, old, new, name="spec.toml"):
    assert old in GOOD
    p = tmp_path / name
    p.write_text(GOOD.replace(old, new, 1))
    return p


# --------------------------------------------------------------------------- cases
# Each case: (id, setup(tmp) -> argv, needles). Needles may use "{tmp}".

def _file(name, data: bytes):
    def make(tmp):
        p = tmp / name
        p.write_bytes(data)
        return p
    return make


def _dir(name):
    def make(tmp):
        p = tmp / name
        p.mkdir()
        return p
    return make


def _write(tmp, text, name="spec.toml"):
    p = tmp / name
    p.write_text(text)
    return p


def _spec(old, new):
    return lambda tmp: spec_with(tmp, old, new)


def _sweep(make, *extra):
    return lambda tmp: ["sweep", make(tmp), "--store", tmp / "out.db", "-j", "1", *extra]


def _model(make):
    return lambda tmp: ["workloads", "show", make(tmp), "--phase", "decode", "--context", "4"]


def _model_text(text, name="m.yaml"):
    return _file(name, text.encode())


def _liberty(make):
    return lambda tmp: ["rtl", "synth", "systolic", "--rows", "2", "--cols", "2", "--liberty", make(tmp)]


def _spec_model(make):
    """A spec whose model workload is a file path."""
    def setup(tmp):
        m = make(tmp)
        p = tmp / "spec.toml"
        p.write_text(GOOD.replace('name = "sq"\ngemms = ["64x64x64"]',
                                  f'model = "{m}"\nphase = "decode"\ncontext = 4'))
        return ["sweep", p, "--store", tmp / "out.db", "-j", "1"]
    return setup


_BIG = "x" * 5000

CASES = [
    # 1. unreadable files
    ("spec-invalid-utf8", _sweep(_file("spec.toml", b"version = 1\nname = '\xff\xfe'\n")),
     ["spec.toml", "spec:", "UTF-8"]),
    ("spec-binary", _sweep(_file("spec.toml", b"\x00\x01\x02binary")), ["spec.toml", "binary"]),
    ("spec-directory", _sweep(_dir("spec.toml")), ["spec.toml", "directory"]),
    ("spec-missing", lambda tmp: ["sweep", tmp / "nope.toml", "--store", tmp / "out.db"],
     ["nope.toml", "no such file"]),
    ("spec-gzip-named", _sweep(_file("spec.toml", gzip.compress(GOOD.encode()))), ["spec.toml", "binary"]),
    ("model-invalid-utf8", _model(_file("m.yaml", b"version: 1\nname: \xc3\x28\n")),
     ["m.yaml", "model:", "UTF-8"]),
    ("model-binary", _model(_file("m.yaml", b"\x00\x00\x00")), ["m.yaml", "binary"]),
    ("model-directory", _model(_dir("m.yaml")), ["m.yaml", "directory"]),
    ("model-missing", lambda tmp: ["workloads", "show", tmp / "gone.yaml", "--phase", "decode",
                                   "--context", "4"], ["gone.yaml", "no such file"]),
    ("liberty-not-gzip", _liberty(_file("cells.lib.gz", b"not gzip at all")),
     ["cells.lib.gz", "--liberty", "gzip"]),
    ("liberty-gzip-of-binary", _liberty(_file("cells.lib.gz", gzip.compress(b"\x00\xff"))),
     ["cells.lib.gz", "--liberty", "binary"]),
    ("liberty-invalid-utf8", _liberty(_file("cells.lib", b"library(x) { \xff }")),
     ["cells.lib", "--liberty", "UTF-8"]),
    ("liberty-directory", _liberty(_dir("cells.lib")), ["cells.lib", "--liberty", "directory"]),
    ("spec-model-file-unreadable", _spec_model(_file("m.yaml", b"\xff\xff")),
     ["m.yaml", "UTF-8"]),
    # 2. unbounded inputs
    ("model-alias-bomb", _model(_model_text(ALIAS_BOMB)), ["m.yaml", "yaml", "aliases"]),
    ("spec-model-alias-bomb", _spec_model(_model_text(ALIAS_BOMB)), ["m.yaml", "aliases"]),
    ("range-1e12", _sweep(_spec("cols = [4]", "cols = {range = [1, 1000000000000, 1]}")),
     ["spec.toml", "space.cols.range", "100000"]),
    ("float-range-1e12", _sweep(_spec("cols = [4]", "freq_mhz = {range = [1.0, 1e12, 1.0]}")),
     ["spec.toml", "space.freq_mhz.range"]),
    ("log-1e12", _sweep(_spec("cols = [4]", "freq_mhz = {log = [1.0, 1000.0, 1000000000000]}")),
     ["spec.toml", "space.freq_mhz.log"]),
    ("grid-too-large", _sweep(_spec("cols = [4]", "cols = {range = [1, 256, 1]}\n"
                                    "ifmap_sram_kb = {range = [1, 1000, 1]}\n"
                                    "filter_sram_kb = {range = [1, 1000, 1]}")),
     ["spec.toml", "space", "grid strategy"]),
    ("long-string-value", _sweep(lambda tmp: _write(tmp, GOOD.replace('dataflow = ["os", "ws"]', "")
                                                    .replace("a_bits = 8", f'dataflow = "{_BIG}"'))),
     ["spec.toml", "fixed.dataflow", "chars)"]),
    ("long-space-string", _sweep(_spec('dataflow = ["os", "ws"]', f'dataflow = ["os", "{_BIG}"]')),
     ["spec.toml", "space.dataflow"]),
    ("huge-int-value", _sweep(_spec("a_bits = 8", "a_bits = 9223372036854775807")),
     ["spec.toml", "fixed.a_bits"]),
    ("long-gemm-option", lambda tmp: ["run", "systolic", "--gemm", "9" * 5000], ["--gemm", "chars)"]),
    ("long-model-key", _model(_model_text(MODEL_OK.format(name="m") + "k" * 1000 + ": 1\n")),
     ["m.yaml", "unknown key"]),
    # 3. non-finite numbers
    ("fixed-freq-inf", _sweep(_spec("a_bits = 8", "freq_mhz = inf")),
     ["spec.toml", "fixed.freq_mhz", "finite"]),
    ("fixed-bw-nan", _sweep(_spec("a_bits = 8", "dram_bw_bytes_per_cycle = nan")),
     ["spec.toml", "fixed.dram_bw_bytes_per_cycle", "finite"]),
    ("space-inf", _sweep(_spec("cols = [4]", "freq_mhz = [1000.0, inf]")),
     ["spec.toml", "space.freq_mhz", "finite"]),
    ("range-inf", _sweep(_spec("cols = [4]", "freq_mhz = {range = [1.0, inf, 1.0]}")),
     ["spec.toml", "space.freq_mhz.range", "finite"]),
    ("log-nan", _sweep(_spec("cols = [4]", "freq_mhz = {log = [nan, 10.0, 3]}")),
     ["spec.toml", "space.freq_mhz.log", "finite"]),
    ("constraint-nan", _sweep(_spec("[[workloads]]", "[constraints]\nutilization = {min = nan}\n"
                                    "[[workloads]]")),
     ["spec.toml", "constraints.utilization.min", "finite"]),
    ("constraint-inf", _sweep(_spec("[[workloads]]", "[constraints]\ntops = {max = -inf}\n[[workloads]]")),
     ["spec.toml", "constraints.tops.max", "finite"]),
    ("run-freq-inf", lambda tmp: ["run", "systolic", "--gemm", "8x8x8", "--freq-mhz", "inf"],
     ["--freq-mhz", "finite"]),
    ("run-bw-nan", lambda tmp: ["run", "systolic", "--gemm", "8x8x8", "--dram-bw", "nan"],
     ["--dram-bw", "finite"]),
    ("run-bw-minus-inf", lambda tmp: ["run", "systolic", "--gemm", "8x8x8", "--dram-bw=-inf"],
     ["--dram-bw", "finite"]),
    ("lut-freq-inf", lambda tmp: ["run", "lut", "--gemm", "2x64x64", "--freq-mhz", "1e999"],
     ["--freq-mhz", "finite"]),
    ("synth-freq-nan", lambda tmp: ["rtl", "synth", "systolic", "--target", "ice40", "--freq-mhz", "nan"],
     ["--freq-mhz", "finite"]),
    ("report-constraint-inf", lambda tmp: ["report", tmp / "none.db", "-o", tmp / "r",
                                           "--constraint", "utilization>=1e999"],
     ["--constraint", "finite"]),
    ("model-inf", _model(_model_text(MODEL_OK.format(name="m").replace("hidden_size: 64",
                                                                         "hidden_size: .inf"))),
     ["m.yaml", "hidden_size", "finite"]),
    # 4. validation before side effects (no store, no run row)
    ("jobs-zero", _sweep(lambda tmp: spec_with(tmp, "a", "a"), "-j", "0"), ["--jobs"]),
    ("jobs-negative", lambda tmp: ["sweep", spec_with(tmp, "a", "a"), "--store", tmp / "out.db",
                                   "--jobs", "-3"], ["--jobs"]),
    ("executor-bogus", lambda tmp: ["sweep", spec_with(tmp, "a", "a"), "--store", tmp / "out.db",
                                    "--executor", "threads"], ["--executor", "'threads'"]),
    ("scheduler-with-local", lambda tmp: ["sweep", spec_with(tmp, "a", "a"), "--store",
                                          tmp / "out.db", "--scheduler", "tcp://x:1"], ["--scheduler"]),
    ("dask-no-scheduler", lambda tmp: ["sweep", spec_with(tmp, "a", "a"), "--store", tmp / "out.db",
                                       "--executor", "dask"], ["--scheduler", "required"]),
    ("chunk-size-zero", _sweep(lambda tmp: spec_with(tmp, "a", "a"), "--chunk-size", "0"),
     ["--chunk-size"]),
    ("acc-bits-combination", _sweep(_spec("a_bits = 8\n[space]", "acc_bits = 20\n[space]\n"
                                          "a_bits = [4, 12]\nb_bits = [4, 12]")),
     ["spec.toml", "acc_bits", "a_bits=12", "b_bits=12"]),
    ("sram-over-limit-fixed", _sweep(_spec("a_bits = 8", "ifmap_sram_kb = 1000000000000")),
     ["spec.toml", "fixed.ifmap_sram_kb"]),
    ("sram-over-limit-space", _sweep(_spec("cols = [4]", "ofmap_sram_kb = [64, 100000000]")),
     ["spec.toml", "space.ofmap_sram_kb"]),
    ("filter-buffer-too-big", _sweep(_spec("cols = [4]", "cols = [4]\nfilter_sram_kb = [64, 32768]")),
     ["spec.toml", "space.filter_sram_kb", "filter buffer"]),
    # 5. internal names
    ("run-ifmap-kb", lambda tmp: ["run", "systolic", "--gemm", "8x8x8", "--ifmap-kb", str(10**12)],
     ["--ifmap-kb"]),
    ("toml-duplicate-key", _sweep(_spec("a_bits = 8", "a_bits = 8\na_bits = 4")),
     ["spec.toml", "fixed.a_bits", "duplicate"]),
    ("toml-duplicate-table", _sweep(_spec("[space]", "[fixed]\nb_bits = 8\n[space]")),
     ["spec.toml", "fixed", "duplicate"]),
    ("yaml-duplicate-key", _model(_model_text(MODEL_OK.format(name="m") + "num_layers: 3\n")),
     ["m.yaml", "num_layers", "duplicate"]),
    ("toml-syntax", _sweep(_spec("a_bits = 8", "a_bits = = 8")), ["spec.toml", "line 5"]),
    # 6. output paths
    ("store-parent-is-file", lambda tmp: ["sweep", spec_with(tmp, "a", "a"), "--store",
                                          _file("f", b"")(tmp) / "s.db"], ["--store", "not a directory"]),
    ("store-is-directory", lambda tmp: ["sweep", spec_with(tmp, "a", "a"), "--store", _dir("d.db")(tmp)],
     ["--store", "directory"]),
    ("store-unwritable", lambda tmp: ["sweep", spec_with(tmp, "a", "a"), "--store",
                                      "/proc/hwsim-no/such/s.db"], ["/proc"]),
    ("export-to-directory", lambda tmp: ["export", tmp / "none.db", "-o", _dir("out")(tmp)],
     ["--output", "directory"]),
    ("export-parent-is-file", lambda tmp: ["export", tmp / "none.db", "-o", _file("f", b"")(tmp) / "x.csv"],
     ["--output", "not a directory"]),
    ("report-output-is-file", lambda tmp: ["report", tmp / "none.db", "-o", _file("r", b"")(tmp)],
     ["--output", "is a file"]),
    ("report-parent-is-file", lambda tmp: ["report", tmp / "none.db", "-o", _file("f", b"")(tmp) / "r"],
     ["--output", "not a directory"]),
    ("rtl-export-into-file", lambda tmp: ["rtl", "export", "systolic", "--rows", "2", "--cols", "2",
                                          "-o", _file("f", b"")(tmp) / "v"], ["f"]),
    # 8. integer overflow
    ("spec-gemm-3e6-cubed", _sweep(_spec('gemms = ["64x64x64"]', 'gemms = ["3000000x3000000x3000000"]')),
     ["spec.toml", "workloads[0].gemms[0]", "2^53"]),
    ("spec-gemm-table-2e40", _sweep(_spec('gemms = ["64x64x64"]',
                                          f'gemms = [{{m = {2**40}, k = {2**40}, n = {2**40}}}]')),
     ["spec.toml", "workloads[0].gemms[0]", "2^53"]),
    ("spec-gemm-count", _sweep(_spec('gemms = ["64x64x64"]',
                                     'gemms = [{m = 65536, k = 65536, n = 65536, count = 100000}]')),
     ["spec.toml", "workloads[0].gemms[0]"]),
    ("spec-workload-total", _sweep(_spec('gemms = ["64x64x64"]', 'gemms = ["2097152x2097152x1024", '
                                         '"2097152x2097152x1024", "2097152x2097152x1024"]')),
     ["spec.toml", "workloads", "2^53"]),
    ("run-gemm-3e6-cubed", lambda tmp: ["run", "systolic", "--gemm", "3000000x3000000x3000000"],
     ["--gemm", "2^53"]),
    ("run-gemm-2e40-cubed", lambda tmp: ["run", "systolic", "--gemm", "x".join([str(2**40)] * 3)],
     ["--gemm"]),
    ("workloads-huge-batch", lambda tmp: ["workloads", "show", "llama-2-70b", "--phase", "prefill",
                                          "--seq", "4096", "--batch", str(10**9)], ["2^53"]),
    # 10. option errors of the tool commands
    ("lut-seed-negative", lambda tmp: ["run", "lut", "--gemm", "2x64x64", "--fidelity", "cycle",
                                       "--seed", "-1"], ["--seed"]),
    ("lut-seed-huge", lambda tmp: ["run", "lut", "--gemm", "2x64x64", "--seed", str(2**70)], ["--seed"]),
    ("liberty-missing", _liberty(lambda tmp: tmp / "none.lib"), ["none.lib", "--liberty", "no such file"]),
]


@pytest.fixture(scope="module")
def case_results(tmp_path_factory):
    """Every case run once, two at a time (each process is mostly start-up)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(case):
        name, setup, _ = case
        tmp = tmp_path_factory.mktemp(name)
        argv = setup(tmp)
        t0 = time.monotonic()
        res = run(argv, tmp)
        return name, (tmp, res, time.monotonic() - t0)

    with ThreadPoolExecutor(2) as pool:
        return dict(pool.map(one, CASES))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line(case_results, case):
    name, _, needles = case
    tmp, res, seconds = case_results[name]
    assert seconds < 30
    assert_one_line(res, *needles, absent=("size_bytes",))
    assert stores_in(tmp) == []


# ---------------------------------------------------------------------- corrupt stores
@pytest.fixture(scope="module")
def good_store(tmp_path_factory):
    d = tmp_path_factory.mktemp("store")
    (d / "spec.toml").write_text(GOOD)
    res = run(["sweep", d / "spec.toml", "--store", d / "good.db", "-j", "1"], d)
    assert res.returncode == 0, res.stderr
    return d / "good.db"


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _corrupt(good: Path, tmp: Path, sql: str | None = None, raw: bytes | None = None) -> Path:
    p = tmp / "bad.db"
    if raw is not None:
        p.write_bytes(raw)
        return p
    shutil.copy(good, p)
    con = sqlite3.connect(p)
    con.executescript(sql)
    con.commit()
    con.execute("PRAGMA journal_mode=DELETE")
    con.close()
    for extra in ("-wal", "-shm"):
        Path(f"{p}{extra}").unlink(missing_ok=True)
    return p


STORE_CASES = [
    ("version-not-int", "UPDATE meta SET value='one' WHERE key='store_version'", None, "layout version"),
    ("version-other", "UPDATE meta SET value='99' WHERE key='store_version'", None, "layout version"),
    ("record-not-json", "INSERT INTO records VALUES ('k', 'd', 'w', 1, 'c', 1, 't', '{not json')", None,
     "not JSON"),
    ("record-not-object", "INSERT INTO records VALUES ('k', 'd', 'w', 1, 'c', 1, 't', '[1, 2]')", None,
     "not a JSON object"),
    ("chunk-not-arrow", "UPDATE chunks SET records=x'00ff' WHERE chunk_id=1", None, "cannot be read"),
    ("chunk-layers-not-arrow", "UPDATE chunks SET layers=x'00ff' WHERE chunk_id=1", None, "cannot be read"),
    ("chunk-count-wrong", "UPDATE chunks SET n = n + 1", None, "counts"),
    ("chunk-keys-wrong", "UPDATE chunks SET keys = CAST('a' AS BLOB)", None, "keys"),
    ("no-blobs-table", "DROP TABLE blobs", None, "no table blobs"),
    ("no-meta-table", "DROP TABLE meta", None, "no table meta"),
    ("blob-missing", "DELETE FROM blobs", None, "missing"),
    ("not-sqlite", None, b"this is not a database" * 100, "not a usable hwsim store"),
    ("empty-file", None, b"", "empty"),
]


@pytest.mark.parametrize("case", STORE_CASES, ids=[c[0] for c in STORE_CASES])
@pytest.mark.parametrize("command", ["report", "export"])
def test_corrupt_store_is_one_line_and_left_unchanged(good_store, tmp_path, case, command):
    _, sql, raw, needle = case
    bad = _corrupt(good_store, tmp_path, sql, raw)
    before = _digest(bad)
    out = tmp_path / ("rep" if command == "report" else "x.csv")
    res = run([command, bad, "-o", out], tmp_path)
    assert_one_line(res, "bad.db", needle)
    assert _digest(bad) == before
    assert not out.exists() or (command == "report" and not any(out.rglob("*.html")))


@pytest.mark.parametrize("case", [c for c in STORE_CASES if c[0] not in ("record-not-json",
                                                                          "record-not-object",
                                                                          "chunk-not-arrow",
                                                                          "chunk-layers-not-arrow",
                                                                          "chunk-count-wrong",
                                                                          "chunk-keys-wrong",
                                                                          "blob-missing", "empty-file")],
                         ids=lambda c: c[0])
def test_sweep_refuses_a_corrupt_store_without_touching_it(good_store, tmp_path, case):
    _, sql, raw, needle = case
    bad = _corrupt(good_store, tmp_path, sql, raw)
    before = _digest(bad)
    (tmp_path / "spec.toml").write_text(GOOD)
    res = run(["sweep", tmp_path / "spec.toml", "--store", bad, "-j", "1"], tmp_path)
    assert_one_line(res, "bad.db", needle)
    assert _digest(bad) == before
    assert not Path(f"{bad}.lock").exists()


def test_report_output_checked_before_plotting(good_store, tmp_path):
    """The output is refused before the store is read or a figure drawn: nothing is
    written anywhere (a correctness check, not a timing one)."""
    f = tmp_path / "taken"
    f.write_text("x")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    res = run(["report", good_store, "-o", f], tmp_path)
    assert_one_line(res, "--output", "taken")
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert f.read_text() == "x"


# --------------------------------------------------------------------------- in process
def test_stale_running_run_is_marked_interrupted(tmp_path):
    from hwsim.sweep.store import Store

    with Store.open_writer(tmp_path / "s.db") as st:
        rid = st.start_run(executor="local", spec_name="x", spec_hash="h", strategy="grid",
                           code_version="c", planned=None)
    # the writer "died" without finishing its run; the next writer marks it
    with Store.open_writer(tmp_path / "s.db") as st:
        (run_row,) = [r for r in st.runs() if r["run_id"] == rid]
    assert run_row["status"] == "interrupted"
    assert run_row["finished_at"]


@pytest.mark.parametrize("shape", [(2**16, 2**16, 2**15), (2**20, 2**13, 2**20), (1, 2**26, 2**27),
                                   (2**53, 1, 1), (3, 3, 2**53 // 9)])
@pytest.mark.parametrize("design", [dict(rows=1, cols=1, dataflow="os"),
                                    dict(rows=256, cols=256, dataflow="ws"),
                                    dict(rows=16, cols=256, dataflow="is", dram_bw_bytes_per_cycle=0.001),
                                    dict(rows=256, cols=4, dataflow="os", dram_bw_bytes_per_cycle=1e6)])
def test_vectorised_and_scalar_paths_agree_at_the_int64_edge(shape, design):
    from hwsim.evaluate import Point, Workload, evaluate, evaluate_many
    from hwsim.workloads.ops import GemmOp

    m, k, n = shape
    wl = Workload.from_gemms("edge", [GemmOp(m, k, n)])
    for mode in ("hardware", "scalesim"):
        p = Point("systolic", design, wl, "model", mode, 0)
        a = evaluate(p).to_dict()
        b = evaluate_many([p, p])[1].to_dict()
        assert a == b
        assert a["macs"] == m * k * n  # exact, no wrap past 2^63
        assert a["cycles"] > 0 and a["stall_cycles"] >= 0
        assert 0 < a["utilization"] <= 1.0 + 1e-9


def test_macs_over_the_limit_are_refused():
    from hwsim.errors import ConfigError
    from hwsim.workloads.ops import MAX_MACS, GemmOp

    GemmOp(MAX_MACS, 1, 1)
    with pytest.raises(ConfigError, match="2\\^53"):
        GemmOp(MAX_MACS + 1, 1, 1)
    with pytest.raises(ConfigError, match="2\\^53"):
        GemmOp(2**20, 2**20, 2**20, count=2**14)


NEXTPNR_LOG = """\
Info: Packing constants..
Info: Device utilisation:
Info: 	         ICESTORM_LC:  9012/ 7680   117%
Info: 	        ICESTORM_RAM:     0/   32     0%
Info: 	               SB_IO:    21/  256     8%
Info: Placed 21 cells based on constraints.
ERROR: Failed to expand region (0, 0) |_> (33, 33) of 8180 ICESTORM_LCs
"""


def test_tool_failure_reason_names_cells_needed_and_available():
    from hwsim.eda.synth import describe_tool_failure, fit_failure

    assert fit_failure(NEXTPNR_LOG) == "it needs 9012 ICESTORM_LC cells, the device has 7680"
    region_only = NEXTPNR_LOG.replace("9012/ 7680   117%", "7000/ 7680    91%")
    assert "8180 ICESTORM_LC" in fit_failure(region_only)
    assert fit_failure("ERROR: syntax error in design.v line 3\n") is None
    assert describe_tool_failure("Info: x\nERROR: syntax error in design.v line 3\n", 1) == \
        "exit 1: ERROR: syntax error in design.v line 3"


def _fake_tool(tmp_path, monkeypatch, log_text: str, code: int = 1) -> str:
    mod = tmp_path / "fake_pnr_tool.py"
    mod.write_text("import sys\n\ndef run(argv):\n"
                   f"    sys.stdout.write({log_text!r})\n    return {code}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return "fake_pnr_tool:run"


def test_a_failing_tool_is_one_line_with_its_log_on_disk(tmp_path, monkeypatch):
    from hwsim.eda import synth
    from hwsim.errors import HwsimError

    entry = _fake_tool(tmp_path, monkeypatch, "Info: starting\nERROR: cannot open design.json\n")
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(HwsimError) as e:
        synth._run_tool(entry, ["--json", "design.json"], work, "pnr.log", design="mydesign")
    msg = str(e.value)
    assert "\n" not in msg
    assert "fake-pnr-tool failed for mydesign: exit 1: ERROR: cannot open design.json" in msg
    assert str(work / "pnr.log") in msg
    assert "cannot open design.json" in (work / "pnr.log").read_text()


def test_rtl_synth_that_does_not_fit_is_one_line(tmp_path, monkeypatch, capsys):
    """``hwsim rtl synth systolic --target ice40`` when nextpnr cannot place the design:
    the real tool runner and error mapping, with Yosys and nextpnr replaced by stand-ins
    (a real placement failure takes minutes)."""
    import json

    from hwsim.cli import main
    from hwsim.eda import synth

    monkeypatch.setenv("HWSIM_CACHE", str(tmp_path / "cache"))
    entry = _fake_tool(tmp_path, monkeypatch, NEXTPNR_LOG)

    def fake_yosys(script, cwd):
        (cwd / "stat.json").write_text(json.dumps({"design": {"num_cells_by_type": {"SB_LUT4": 9000}}}))
        return 0.1

    real_run_tool = synth._run_tool
    monkeypatch.setattr(synth, "_yosys", fake_yosys)
    monkeypatch.setattr(synth, "_run_tool", lambda fn, args, cwd, log_name, design=None:
                        real_run_tool(entry, args, cwd, log_name, design))
    rc = main(["rtl", "synth", "systolic", "--rows", "4", "--cols", "4", "--target", "ice40"])
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "does not fit the ice40 device" in err
    assert "9012 ICESTORM_LC cells, the device has 7680" in err
    log_path = err.split("nextpnr log: ")[1].rstrip(")\n")
    assert "Failed to expand region" in Path(log_path).read_text()


# ----------------------------------------------------------------------------- kill -9
KILL_SPEC = """\
version = 1
name = "killme"
family = "systolic"
[space]
rows = {range = [1, 48, 1]}
cols = {range = [1, 48, 1]}
dataflow = ["os", "ws", "is"]
[[workloads]]
name = "a"
gemms = ["64x64x64", "128x32x256"]
[[workloads]]
name = "b"
gemms = ["1x4096x4096"]
"""


def _children(pid: int) -> dict[int, float]:
    """Descendants of ``pid`` (pid -> start time), from /proc."""
    parent_of, start = {}, {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        parent_of[int(d.name)] = int(fields[1])
        start[int(d.name)] = float(fields[19])
    out, frontier = {}, [pid]
    while frontier:
        p = frontier.pop()
        for c, pp in parent_of.items():
            if pp == p and c not in out:
                out[c] = start[c]
                frontier.append(c)
    return out


def _alive(pid: int, started: float) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = stat[stat.rindex(")") + 2:].split()
    return fields[0] != "Z" and float(fields[19]) == started


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_kill_9_of_a_sweep_leaves_no_process(tmp_path):
    (tmp_path / "spec.toml").write_text(KILL_SPEC)
    env = {**os.environ, "HWSIM_CACHE": str(tmp_path / ".cache")}
    proc = subprocess.Popen([*CMD, "sweep", str(tmp_path / "spec.toml"), "--store", str(tmp_path / "k.db"),
                             "-j", "2", "--chunk-size", "16", "--no-progress"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        kids: dict[int, float] = {}
        while time.monotonic() < deadline and proc.poll() is None:
            kids = _children(proc.pid)
            if len(kids) >= 3:  # two workers and the resource tracker
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the sweep ended before it could be killed: make it larger"
        time.sleep(0.5)
        kids.update(_children(proc.pid))
        assert len(kids) >= 2, kids
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p, s) for p, s in kids.items()):
            time.sleep(0.1)
        left = [p for p, s in kids.items() if _alive(p, s)]
        assert not left, f"processes of the killed sweep still alive: {left}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for p, s in _children(proc.pid).items():
            if _alive(p, s):
                os.kill(p, signal.SIGKILL)
    # the next writer marks the killed run interrupted and completes the sweep
    from hwsim.sweep.store import Store

    with Store.open_writer(tmp_path / "k.db") as st:
        assert [r["status"] for r in st.runs()] == ["interrupted"]
