"""The code version in every point key is computed from the files a record depends on."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hwsim.evaluate import FAMILIES, code_version, dependency_files

HWSIM = Path(__file__).resolve().parents[1] / "hwsim"


def _deps(family: str) -> set[str]:
    fam = FAMILIES[family]
    pkg = fam.package.__name__
    roots = ["hwsim.evaluate", pkg] + [f"{pkg}.{p.stem}" for p in Path(fam.package.__file__).parent.glob("*.py")]
    return {str(p.resolve().relative_to(HWSIM)) for p in dependency_files(roots)}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_dependencies_cover_what_results_depend_on(family):
    deps = _deps(family)
    fam = FAMILIES[family]
    folder = family.replace("-", "_")  # a family name may hold a dash; its package cannot
    calibrated = [f"families/{folder}/data/calibration.json"] if fam.cost.calibration else []
    for need in ("evaluate.py", "workloads/quant.py", "workloads/error.py", "cost/energy.py",
                 "cost/tech.py", "data/tech/tech45.yaml", f"families/{folder}/model.py", *calibrated):
        assert need in deps, f"{need} is missing from {family}'s code version"
    # a family built on another's generator (MixPE's PE in the systolic array) depends on
    # it; no other family's files may appear
    own = Path(fam.package.__file__).parent
    built_on = {n for n in FAMILIES if n != family
                and any(f"hwsim.families.{n.replace('-', '_')}." in p.read_text() for p in own.glob("*.py"))}
    other = [n.replace("-", "_") for n in FAMILIES if n != family and n not in built_on]
    assert not any(d.startswith(f"families/{o}/") for o in other for d in deps)


def _version_in_copy(tmp_path: Path, family: str, edit: str | None) -> str:
    root = tmp_path / ("edited" if edit else "clean")
    shutil.copytree(HWSIM, root / "hwsim", ignore=shutil.ignore_patterns("__pycache__"))
    if edit:
        f = root / "hwsim" / edit
        f.write_bytes(f.read_bytes() + b"\n")
    env = dict(os.environ, PYTHONPATH=str(root))
    code = ("import hwsim; from hwsim.evaluate import code_version; "
            f"assert hwsim.__file__.startswith({str(root)!r}), hwsim.__file__; print(code_version({family!r}))")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.parametrize("family,edit", [("lut", "families/lut/hdl.py"), ("lut", "workloads/quant.py"),
                                          ("systolic", "families/systolic/data/calibration.json"),
                                          ("systolic", "cost/tech.py")])
def test_editing_a_dependency_changes_the_key(tmp_path, family, edit):
    base = _version_in_copy(tmp_path, family, None)
    assert base == code_version(family)
    assert _version_in_copy(tmp_path, family, edit) != base
