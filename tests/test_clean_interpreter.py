"""hwsim in an interpreter without site hooks (no ``.pth`` files run), as after a plain
``pip install .``: an editable install's import hooks (and pytest) import modules such as
``importlib.util`` that a fresh interpreter does not, which once hid a missing import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import sys
from hwsim.cli import main
sys.exit(main(["sweep", sys.argv[1], "--store", sys.argv[2]]))
"""


def test_quickstart_sweep_runs_without_site_hooks(tmp_path):
    paths = [str(ROOT)] + [p for p in sys.path if p and Path(p).is_dir() and p != str(ROOT)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    proc = subprocess.run([sys.executable, "-S", "-c", SCRIPT, str(ROOT / "sweeps" / "quickstart.toml"),
                           str(tmp_path / "q.db")], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "192 points" in proc.stderr + proc.stdout
