"""SCALE-Sim topology files as workloads: its GEMM format and its convolution format.

Both are CSV with one header line and a trailing comma on every row (SCALE-Sim v3's
``topologies/`` files):

* **GEMM**: ``Layer, M, N, K,`` -- note the order: M, then N, then K. An optional fifth
  column (a sparsity ratio ``N:M``) is accepted only as ``1:1`` (dense).
* **Convolution**: ``Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width,
  Channels, Num Filter, Strides,`` (one stride for both directions). Each layer is lowered
  to a GEMM the way SCALE-Sim lowers it: ``M = ofmap_h * ofmap_w`` output pixels with
  ``ofmap = ceil((ifmap - filter + stride) / stride)``, ``K = filter_h * filter_w *
  channels`` and ``N = num_filters``. A layer whose name contains ``DP`` is depth-wise: as
  in SCALE-Sim, it becomes one single-channel layer per channel (here one op with
  ``count = channels``).

The format is told by the header: ``M, N, K`` in columns 2-4 is GEMM, eight or more
columns is convolution. A malformed row is a one-line error naming the file, the line and
the column.
"""

from __future__ import annotations

import math
from pathlib import Path

from hwsim.errors import ConfigError, shorten
from hwsim.fileio import read_text
from hwsim.workloads.ops import GemmOp, check_macs

_CONV_COLUMNS = ("ifmap height", "ifmap width", "filter height", "filter width", "channels",
                 "num filter", "strides")
#: Most layers a topology may list (SCALE-Sim's own files have tens).
MAX_LAYERS = 10_000


def _cells(line: str) -> list[str]:
    cells = [c.strip() for c in line.split(",")]
    if cells and cells[-1] == "":  # SCALE-Sim rows end with a comma
        cells.pop()
    return cells


def _positive(path: str, lineno: int, column: str, text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise ConfigError(f"line {lineno}: {column}", f"must be a positive integer, not {shorten(text)}",
                          path) from None
    if v <= 0:
        raise ConfigError(f"line {lineno}: {column}", f"must be a positive integer, not {v}", path)
    return v


def topology_format(header: list[str]) -> str:
    """``"gemm"`` or ``"conv"`` from a topology file's header cells."""
    low = [h.lower() for h in header]
    if len(low) >= 4 and low[1:4] == ["m", "n", "k"]:
        return "gemm"
    if len(low) >= 8:
        return "conv"
    raise ConfigError("header", "is neither SCALE-Sim's GEMM header (Layer, M, N, K) nor its convolution "
                      f"header (Layer name, IFMAP Height, ..., Strides): {shorten(', '.join(header))}")


def load_topology(path) -> tuple[str, list[GemmOp]]:
    """``(format, ops)`` of a SCALE-Sim topology file (see the module docstring)."""
    src = str(path)
    text = read_text(path, "topology")
    lines = [(i + 1, ln) for i, ln in enumerate(text.splitlines()) if ln.strip()]
    if not lines:
        raise ConfigError("topology", "the file is empty", src)
    try:
        fmt = topology_format(_cells(lines[0][1]))
    except ConfigError as e:
        raise ConfigError(f"line {lines[0][0]}: {e.key}", e.reason, src) from None
    ops: list[GemmOp] = []
    names: set[str] = set()
    for lineno, line in lines[1:]:
        if len(ops) >= MAX_LAYERS:
            raise ConfigError("topology", f"lists more than {MAX_LAYERS} layers", src)
        cells = _cells(line)
        name = cells[0] if cells else ""
        if not name:
            raise ConfigError(f"line {lineno}: layer name", "is empty", src)
        if fmt == "gemm":
            if len(cells) not in (4, 5):
                raise ConfigError(f"line {lineno}", f"needs 4 cells (Layer, M, N, K), not {len(cells)}", src)
            m, n, k = (_positive(src, lineno, c, v) for c, v in zip("MNK", cells[1:4]))
            if len(cells) == 5 and cells[4].replace(" ", "") != "1:1":
                raise ConfigError(f"line {lineno}: sparsity", f"only dense layers (1:1) are modelled, not "
                                  f"{shorten(cells[4])}", src)
            count = 1
        else:
            if len(cells) not in (8, 9):
                raise ConfigError(f"line {lineno}", f"needs 8 cells (Layer name, IFMAP Height, IFMAP Width, "
                                  f"Filter Height, Filter Width, Channels, Num Filter, Strides), not {len(cells)}",
                                  src)
            ih, iw, fh, fw, ch, nf, st = (_positive(src, lineno, c, v) for c, v in zip(_CONV_COLUMNS, cells[1:8]))
            if len(cells) == 9 and cells[8].replace(" ", "") != "1:1":
                raise ConfigError(f"line {lineno}: sparsity", f"only dense layers (1:1) are modelled, not "
                                  f"{shorten(cells[8])}", src)
            if fh > ih or fw > iw:
                raise ConfigError(f"line {lineno}", f"the {fh}x{fw} filter is larger than the {ih}x{iw} ifmap", src)
            oh = math.ceil((ih - fh + st) / st)
            ow = math.ceil((iw - fw + st) / st)
            count = 1
            if "DP" in name:  # depth-wise: one single-channel layer per channel
                count, ch = ch, 1
            m, k, n = oh * ow, fh * fw * ch, nf
        if name in names:
            raise ConfigError(f"line {lineno}: layer name", f"{shorten(name)} appears twice", src)
        names.add(name)
        try:
            check_macs(f"line {lineno}", m * k * n * count, name)
        except ConfigError as e:
            raise ConfigError(e.key, e.reason, src) from None
        ops.append(GemmOp(m=m, k=k, n=n, count=count, name=name))
    if not ops:
        raise ConfigError("topology", "lists no layers after its header", src)
    return fmt, ops


def topology_name(path) -> str:
    """The workload name of a topology file (its stem, as SCALE-Sim names runs)."""
    return Path(path).stem
