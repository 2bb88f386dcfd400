"""Memory traces: DRAMsim3's text format and a seeded generator of DRAM-bound patterns.

A trace line is ``0xADDR READ|WRITE CYCLE``: one transaction (64 B for every shipped
preset) requested at ``CYCLE``. :func:`read_trace` parses a file (errors name the file and
line), :func:`write_trace` writes one, and :func:`generate` builds the named patterns of
:data:`PATTERNS` from a configuration and a seed, so tests regenerate the exact traces.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwsim.errors import ConfigError, HwsimError
from hwsim.memory.config import DramConfig

#: Operation names DRAMsim3 counts as writes; anything else is a read.
WRITE_OPS = frozenset({"WRITE", "write", "P_MEM_WR", "BOFF"})
READ_OPS = frozenset({"READ", "read", "P_MEM_RD", "P_FETCH", "P_LOCK_RD", "P_LOCK_WR"})


@dataclass(frozen=True)
class Trace:
    """Transactions in request order: byte addresses, write flags, request cycles."""

    addr: np.ndarray      # uint64
    is_write: np.ndarray  # bool
    cycle: np.ndarray     # int64

    def __len__(self) -> int:
        return len(self.addr)

    @property
    def reads(self) -> int:
        return int(len(self) - self.is_write.sum())

    @property
    def writes(self) -> int:
        return int(self.is_write.sum())


def read_trace(path: str | Path) -> Trace:
    """Parse a DRAMsim3 trace file.

    Raises :class:`~hwsim.errors.HwsimError` naming the file and line for a line that is
    not ``ADDR OP CYCLE`` with a hex address, a known operation and a cycle that does not
    go backwards. Blank lines are skipped.
    """
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise HwsimError(f"{path}: cannot read: {e.strerror or e}") from None
    return parse_trace(text, str(path))


def parse_trace(text: str, source: str = "<trace>") -> Trace:
    addrs, writes, cycles = [], [], []
    last = 0
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3:
            raise HwsimError(f"{source}:{n}: expected 'ADDR READ|WRITE CYCLE', got {line.strip()!r}")
        a, op, c = parts
        try:
            addr = int(a, 16)
        except ValueError:
            raise HwsimError(f"{source}:{n}: address {a!r} is not hexadecimal") from None
        if addr < 0 or addr >= 1 << 64:
            raise HwsimError(f"{source}:{n}: address {a!r} does not fit 64 bits")
        if op in WRITE_OPS:
            w = True
        elif op in READ_OPS:
            w = False
        else:
            raise HwsimError(f"{source}:{n}: operation {op!r} is not READ or WRITE")
        try:
            cyc = int(c)
        except ValueError:
            raise HwsimError(f"{source}:{n}: cycle {c!r} is not a non-negative integer") from None
        if cyc < 0:
            raise HwsimError(f"{source}:{n}: cycle {c!r} is not a non-negative integer")
        if cyc < last:
            raise HwsimError(f"{source}:{n}: cycle {cyc} is before the previous line's {last}")
        last = cyc
        addrs.append(addr)
        writes.append(w)
        cycles.append(cyc)
    if not addrs:
        raise HwsimError(f"{source}: no transactions")
    return Trace(np.array(addrs, dtype=np.uint64), np.array(writes, dtype=bool),
                 np.array(cycles, dtype=np.int64))


def format_trace(trace: Trace, sentinel: bool = False) -> str:
    """The text of ``trace`` in DRAMsim3's format, one line per transaction.

    ``sentinel`` appends a read at a cycle no run reaches, so that DRAMsim3's trace reader
    offers every real line exactly once (its end-of-file handling otherwise adds a phantom
    read after a final newline, or drops a last line without one).
    """
    lines = [f"0x{int(a):x} {'WRITE' if w else 'READ'} {int(c)}"
             for a, w, c in zip(trace.addr, trace.is_write, trace.cycle)]
    if sentinel:
        lines.append(f"0x{int(trace.addr[0]):x} READ {1 << 62}")
    return "\n".join(lines) + "\n"


def write_trace(trace: Trace, path: str | Path, sentinel: bool = False) -> None:
    Path(path).write_text(format_trace(trace, sentinel))


#: Named trace patterns (all DRAM-bound: every request at cycle 0 unless noted).
PATTERNS = {
    "sequential": "consecutive 64-B reads from a random base",
    "random": "uniform random reads over the whole capacity",
    "row_conflict": "reads alternating between two rows of each of two banks",
    "bank_parallel": "reads rotating over every bank, a few row hits per visit",
    "tfaw": "each read opens a new row in the next bank: ACT-rate (tRRD/tFAW) bound",
    "mix_seq": "sequential stream, one write every three transactions",
    "mix_random": "random addresses, 2/3 reads and 1/3 writes",
    "strided": "reads with a 4-KiB stride",
    "multi_stream": "eight interleaved sequential read streams",
    "paced": "random reads requested every 8 cycles (latency-bound, not bandwidth-bound)",
}


def generate(pattern: str, cfg: DramConfig, n: int = 2000, seed: int = 0) -> Trace:
    """A trace of ``n`` transactions of ``pattern`` (see :data:`PATTERNS`) for ``cfg``.

    Deterministic in ``(pattern, cfg mapping, n, seed)``. Patterns that target banks and
    rows build addresses with ``cfg.encode`` so they hit the intended banks under any
    address mapping.
    """
    if pattern not in PATTERNS:
        raise ConfigError("pattern", f"must be one of {', '.join(PATTERNS)}, not {pattern!r}")
    if n < 1:
        raise ConfigError("n", f"must be a positive integer, not {n}")
    rng = np.random.default_rng(seed)
    tx = cfg.request_size_bytes
    cap = cfg.capacity_bytes
    nlines = cap // tx
    L = cfg.field_layout
    nch, nra = L["ch"][1] + 1, L["ra"][1] + 1
    nbg, nba = L["bg"][1] + 1, L["ba"][1] + 1
    nro, nco = L["ro"][1] + 1, L["co"][1] + 1
    idx = np.arange(n)
    w = np.zeros(n, dtype=bool)
    cyc = np.zeros(n, dtype=np.int64)
    if pattern == "sequential":
        base = int(rng.integers(0, nlines - n)) * tx
        addr = base + idx * tx
    elif pattern == "random":
        addr = rng.integers(0, nlines, n) * tx
    elif pattern == "row_conflict":
        rows = rng.choice(nro, size=2, replace=False)
        ch = int(rng.integers(0, nch))
        addr = np.array([cfg.encode(ch, 0, 0, (i // 2) % 2, int(rows[i % 2]), (i // 4) % nco)
                         for i in range(n)])
    elif pattern == "bank_parallel":
        nbanks = nbg * nba
        hits = 4
        rows = rng.integers(0, nro, nch * nra * nbanks)
        out = []
        for i in range(n):
            visit, k = divmod(i, hits)
            g = visit % (nch * nra * nbanks)
            ch, rest = g % nch, g // nch
            b, ra = rest % nbanks, rest // nbanks
            col = (k + hits * (visit // (nch * nra * nbanks))) % nco
            out.append(cfg.encode(ch, ra, b % nbg, b // nbg, int(rows[g]), col))
        addr = np.array(out)
    elif pattern == "tfaw":
        nbanks = nbg * nba
        out = []
        for i in range(n):
            g = i % (nch * nbanks)
            ch, b = g % nch, g // nch
            row = (i // (nch * nbanks) * 7 + 3 * b + 1) % nro
            out.append(cfg.encode(ch, 0, b % nbg, b // nbg, row, int(rng.integers(0, nco))))
        addr = np.array(out)
    elif pattern == "mix_seq":
        base = int(rng.integers(0, nlines - n)) * tx
        addr = base + idx * tx
        w = idx % 3 == 2
    elif pattern == "mix_random":
        addr = rng.integers(0, nlines, n) * tx
        w = rng.random(n) < 1 / 3
    elif pattern == "strided":
        stride = 4096
        base = int(rng.integers(0, nlines)) * tx
        addr = (base + idx * stride) % cap
    elif pattern == "multi_stream":
        k = 8
        bases = rng.integers(0, nlines - n, k) * tx
        addr = bases[idx % k] + (idx // k) * tx
    else:  # paced
        addr = rng.integers(0, nlines, n) * tx
        cyc = idx.astype(np.int64) * 8
    return Trace(np.asarray(addr, dtype=np.uint64) % np.uint64(cap), w, cyc)
