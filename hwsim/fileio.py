"""The one way hwsim reads user files and checks where it will write.

Every file a user names (specs, model files, liberty files, ...) is read through
:func:`read_bytes` / :func:`read_text` / :func:`read_toml`, which turn every way a file
can be unreadable (missing, a directory, no permission, not gzip although it ends in
``.gz``, binary data, invalid UTF-8, too large, malformed TOML) into one
:class:`~hwsim.errors.ConfigError` naming the file, the key and the reason.

Every output path is checked by :func:`check_output_file` or :func:`check_output_dir`
before any long work starts, so a run never fails at its very end because its output
cannot be written.
"""

from __future__ import annotations

import gzip
import os
import re
import tomllib
import zlib
from pathlib import Path

from hwsim.errors import ConfigError, shorten

#: Largest user file read (bytes, after decompression).
MAX_FILE_BYTES = 256 * 1024 * 1024


def read_bytes(path, key: str, *, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The content of ``path`` (decompressed when it ends in ``.gz``).

    Raises
    ------
    ConfigError
        ``key`` names the option or field that gave the path; ``source`` is the path.
    """
    p = Path(path)
    src = str(path)
    try:
        if p.is_dir():
            raise ConfigError(key, "is a directory, not a file", src)
        size = p.stat().st_size
        if size > max_bytes:
            raise ConfigError(key, f"the file is too large ({size} bytes; at most {max_bytes})", src)
        data = p.read_bytes()
    except ConfigError:
        raise
    except FileNotFoundError:
        raise ConfigError(key, "no such file", src) from None
    except OSError as e:
        raise ConfigError(key, f"cannot read the file ({e.strerror or e})", src) from None
    if p.suffix.lower() == ".gz":
        try:
            with gzip.GzipFile(fileobj=__import__("io").BytesIO(data)) as fh:
                data = fh.read(max_bytes + 1)
        except (gzip.BadGzipFile, EOFError, zlib.error, OSError) as e:
            raise ConfigError(key, f"not a valid gzip file ({shorten(str(e))})", src) from None
        if len(data) > max_bytes:
            raise ConfigError(key, f"the file is too large once decompressed (over {max_bytes} bytes)", src)
    return data


def read_text(path, key: str, *, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The content of ``path`` as UTF-8 text; binary data and invalid UTF-8 are refused."""
    data = read_bytes(path, key, max_bytes=max_bytes)
    src = str(path)
    if b"\x00" in data:
        raise ConfigError(key, f"binary data, not text (a NUL byte at offset {data.index(0)})", src)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ConfigError(key, f"not valid UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}, "
                          f"line {line})", src) from None


_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")
_TOML_KEY = re.compile(r"^\s*(\[\[?)?\s*([^=\]]+?)\s*(\]\]?)?\s*(=|$)")


def toml_error(e: tomllib.TOMLDecodeError, text: str) -> tuple[str, str]:
    """``(key, reason)`` of a TOML syntax error: the key is the one on the failing line
    (``toml`` when it cannot be told), so a duplicate key is named, not just placed."""
    msg = str(e)
    m = _TOML_POS.search(msg)
    key = "toml"
    if m:
        lines = text.splitlines()
        n = int(m.group(1))
        if 1 <= n <= len(lines):
            km = _TOML_KEY.match(lines[n - 1])
            if km and km.group(2).strip() and not km.group(2).lstrip().startswith("#"):
                key = km.group(2).strip().strip('"\'')
                if not km.group(1):  # a key = value line: prefix the table it is in
                    for prev in reversed(lines[:n - 1]):
                        hm = _TOML_KEY.match(prev)
                        if hm and hm.group(1):
                            key = f"{hm.group(2).strip()}.{key}"
                            break
                key = shorten(key, 60).strip("'")
    reason = msg
    if msg.startswith("Cannot overwrite a value") or msg.startswith("Cannot declare"):
        reason = "duplicate key (defined twice) " + (m.group(0) if m else "")
    return key, shorten(reason, 160).strip("'")


def read_toml(path, key: str = "spec") -> tuple[str, dict]:
    """``(text, data)`` of a TOML file; a syntax error names the file, the key on the
    failing line and the line."""
    text = read_text(path, key)
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        k, reason = toml_error(e, text)
        raise ConfigError(k, reason, str(path)) from None
    except RecursionError:
        raise ConfigError(key, "nested too deeply", str(path)) from None


def _existing_ancestor(p: Path) -> Path:
    q = p.absolute().parent
    while not q.exists():
        if q.is_symlink() or q == q.parent:
            break
        q = q.parent
    return q


def _check_parent(p: Path, key: str) -> None:
    anc = _existing_ancestor(p)
    if not anc.is_dir():
        raise ConfigError(key, f"cannot write {shorten(str(p))}: {anc} is not a directory")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise ConfigError(key, f"cannot write {shorten(str(p))}: {anc} is not writable")


def check_output_file(path, key: str) -> Path:
    """Check that a file can be written at ``path`` (creating missing parent folders is
    allowed); raise :class:`ConfigError` naming ``key`` otherwise. Nothing is created."""
    p = Path(path)
    if str(path) == "":
        raise ConfigError(key, "must be a file path, not an empty string")
    if p.is_dir():
        raise ConfigError(key, f"{shorten(str(p))} is a directory; give a file path")
    if p.exists():
        if not os.access(p, os.W_OK):
            raise ConfigError(key, f"cannot write {shorten(str(p))}: permission denied")
        return p
    _check_parent(p, key)
    return p


def check_output_dir(path, key: str) -> Path:
    """Check that ``path`` is (or can be created as) a writable folder."""
    p = Path(path)
    if str(path) == "":
        raise ConfigError(key, "must be a folder path, not an empty string")
    if p.exists():
        if not p.is_dir():
            raise ConfigError(key, f"{shorten(str(p))} is a file, not a folder")
        if not os.access(p, os.W_OK | os.X_OK):
            raise ConfigError(key, f"cannot write into {shorten(str(p))}: permission denied")
        return p
    _check_parent(p, key)
    return p
