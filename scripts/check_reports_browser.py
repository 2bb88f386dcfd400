#!/usr/bin/env python3
"""Open every shipped study's report in headless Chromium; fail on a console error or a
plot that did not render; save a screenshot of each.

A maintainer's check, not part of the test suite: it needs a Chromium binary (Debian's
``chromium`` package: ``apt-get install -y chromium``), which nothing else in hwsim needs.

For each spec in ``sweeps/*.toml`` (the RTL-fidelity ones only with ``--include-rtl``) it
looks for the store ``reports/<spec name>.db``; with ``--sweep`` a missing store is made
first (``hwsim sweep``). It writes the report (``hwsim report``) into
``reports/<spec name>/`` -- the flagship study's stores ``reports/families_llama2_7b_*.db``
together into ``reports/families_llama2_7b/`` -- then loads each ``index.html`` twice in
Chromium (``--headless --no-sandbox --disable-gpu ...`` and a fresh ``--user-data-dir``):
once dumping the DOM after the scripts ran (every ``div.plot`` must carry
``data-rendered="yes"`` and the page's error collector must be empty; Chromium's own
console log on stderr is scanned too), once for a screenshot into ``--shots``.

Usage::

    python scripts/check_reports_browser.py [--sweep] [--include-rtl] [--shots DIR] [REPORT_DIR ...]

Given report folders, it checks just those. Exit status 0 when every report passed.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAGSHIP = "families_llama2_7b"
CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-default-apps", "--allow-file-access-from-files"]


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        p = shutil.which(name)
        if p:
            return p
    sys.exit("no Chromium found: apt-get install -y chromium (this script only)")


def hwsim(*args) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [sys.executable, "-m", "hwsim", *map(str, args)]
    print("+", " ".join(cmd[2:]), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT, env=env)


def shipped_reports(sweep: bool, include_rtl: bool) -> tuple[list[Path], list[str]]:
    """Write the report of every shipped study that has (or, with ``sweep``, gets) a store."""
    out, skipped = [], []
    flagship = []
    for spec in sorted((ROOT / "sweeps").glob("*.toml")):
        data = tomllib.loads(spec.read_text())
        name = data.get("name", spec.stem)
        if data.get("fidelity") == "rtl" and not include_rtl:
            skipped.append(f"{name} (RTL fidelity; --include-rtl)")
            continue
        store = ROOT / "reports" / f"{name}.db"
        if not store.is_file():
            if not sweep:
                skipped.append(f"{name} (no store {store.relative_to(ROOT)}; --sweep)")
                continue
            hwsim("sweep", spec, "--store", store, "--no-progress")
        if name.startswith(FLAGSHIP + "_"):
            flagship.append(store)
            continue
        dest = ROOT / "reports" / name
        hwsim("report", store, "-o", dest)
        out.append(dest)
    if flagship:
        dest = ROOT / "reports" / FLAGSHIP
        hwsim("report", *flagship, "-o", dest)
        out.append(dest)
    return out, skipped


def run_chromium(chrome: str, args: list[str], timeout: float = 180.0) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="hwsim-chromium-") as profile:
        cmd = [chrome, *CHROME_FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


_CONSOLE = re.compile(r"CONSOLE\(\d+\)\]? ?\"(.*?)\", source: (\S+)")


def check(chrome: str, report: Path, shots: Path) -> list[str]:
    """Problems found in one report (empty when it passed)."""
    page = report / "index.html"
    if not page.is_file():
        return [f"{page}: missing"]
    url = page.resolve().as_uri()
    problems = []
    res = run_chromium(chrome, ["--virtual-time-budget=30000", "--run-all-compositor-stages-before-draw",
                                "--dump-dom", url])
    dom = res.stdout
    if res.returncode != 0 or "<html" not in dom:
        return [f"{page}: Chromium failed (exit {res.returncode}): {res.stderr.strip()[-400:]}"]
    plots = re.findall(r"<div class=\"plot(?: [^\"]*)?\" id=\"(plot-[^\"]+)\"([^>]*)>", dom)
    expected = len(re.findall(r"<div class='plot' id=", page.read_text(encoding="utf-8")))
    if len(plots) != expected:
        problems.append(f"{page}: {expected} plots in the file, {len(plots)} in the rendered page")
    for pid, attrs in plots:
        if 'data-rendered="yes"' not in attrs:
            problems.append(f"{page}: plot {pid} did not render ({attrs.strip() or 'no data-rendered'})")
        if pid and f'id="{pid}"' in dom and "main-svg" not in dom.split(f'id="{pid}"', 1)[1][:4000]:
            problems.append(f"{page}: plot {pid} has no SVG")
    m = re.search(r"data-console-errors=\"(\d+)\"", dom)
    if m and int(m.group(1)):
        txt = re.search(r"<pre id=\"hwsim-console-errors\"[^>]*>(.*?)</pre>", dom, re.S)
        problems.append(f"{page}: {m.group(1)} console error(s): {txt.group(1).strip()[:600] if txt else '?'}")
    for line in res.stderr.splitlines():
        if ":ERROR:CONSOLE" in line or "Uncaught" in line:
            problems.append(f"{page}: console: {line.strip()[:300]}")
    shot = shots / f"{report.name}.png"
    res = run_chromium(chrome, ["--virtual-time-budget=30000", "--hide-scrollbars", "--window-size=1400,2600",
                                f"--screenshot={shot}", url])
    if not shot.is_file():
        problems.append(f"{page}: no screenshot ({res.stderr.strip()[-300:]})")
    print(f"{'ok  ' if not problems else 'FAIL'} {report.relative_to(ROOT) if report.is_relative_to(ROOT) else report}"
          f": {len(plots)} plots rendered, screenshot {shot}", flush=True)
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("reports", nargs="*", type=Path, help="report folders (default: every shipped study's)")
    ap.add_argument("--sweep", action="store_true", help="run the sweep of a study whose store is missing")
    ap.add_argument("--include-rtl", action="store_true", help="also the RTL-fidelity studies (slow)")
    ap.add_argument("--shots", type=Path, default=ROOT / "reports" / "screenshots",
                    help="screenshot folder (default reports/screenshots)")
    args = ap.parse_args(argv)
    chrome = find_chromium()
    args.shots.mkdir(parents=True, exist_ok=True)
    skipped: list[str] = []
    if args.reports:
        reports = args.reports
    else:
        reports, skipped = shipped_reports(args.sweep, args.include_rtl)
    problems = []
    for r in reports:
        problems += check(chrome, r.resolve(), args.shots)
    for s in skipped:
        print(f"skip {s}")
    for p in problems:
        print("problem:", p)
    print(f"{len(reports) - len({p.split(':')[0] for p in problems})} passed, "
          f"{len({p.split(':')[0] for p in problems})} failed" + (f", {len(skipped)} skipped" if skipped else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
