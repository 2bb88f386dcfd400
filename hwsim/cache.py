"""Where reusable build products live, and the file lock that guards them.

Verilator builds, synthesis runs and the SCALE-Sim environment are cached under
``$HWSIM_CACHE`` (default ``~/.cache/hwsim``), each in a folder named by a content hash;
a lock file per entry keeps two processes from building the same entry at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path


def cache_root() -> Path:
    """Folder for reusable build products (``$HWSIM_CACHE`` or ``~/.cache/hwsim``)."""
    root = os.environ.get("HWSIM_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "hwsim"


@contextlib.contextmanager
def locked(path: Path):
    """Hold an exclusive lock on ``path`` (created with its folder if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
