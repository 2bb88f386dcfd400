"""Matrix operations with operand formats.

A :class:`GemmOp` is ``C[M, N] = A[M, K] x B[K, N]`` with an integer format per operand.
A GEMV is the ``M == 1`` case (decode with batch 1). Group-quantised formats carry a
``group_size`` along K; the families that understand groups (mixed-precision PE, LUT
tensor core) read it, the others treat the operand as plain integers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from hwsim.errors import ConfigError, check_int, shorten


@dataclass(frozen=True)
class IntFormat:
    """A two's-complement or unsigned integer operand format.

    Parameters
    ----------
    bits : int
        Width in bits, 1..32.
    signed : bool
        Two's complement if True, unsigned otherwise.
    group_size : int or None
        For group-quantised operands, the number of consecutive K elements sharing one
        scale (and zero point); ``None`` for per-tensor/per-channel formats.

    Examples
    --------
    >>> IntFormat(8).range
    (-128, 127)
    >>> IntFormat(4, signed=False).range
    (0, 15)
    """

    bits: int = 8
    signed: bool = True
    group_size: int | None = None

    def __post_init__(self):
        check_int("bits", self.bits, 1, 32)
        if not isinstance(self.signed, bool):
            raise ConfigError("signed", f"must be true or false, not {self.signed!r}")
        if self.group_size is not None:
            check_int("group_size", self.group_size, 1)

    @property
    def min(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def max(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def range(self) -> tuple[int, int]:
        return (self.min, self.max)

    @property
    def name(self) -> str:
        return f"{'int' if self.signed else 'uint'}{self.bits}"

    def random(self, rng: np.random.Generator, shape) -> np.ndarray:
        """Uniform random values over the full range, as int64."""
        return rng.integers(self.min, self.max, size=shape, endpoint=True, dtype=np.int64)

    def check(self, name: str, x: np.ndarray) -> None:
        """Raise :class:`ConfigError` if ``x`` has values outside this format."""
        if x.size and (x.min() < self.min or x.max() > self.max):
            raise ConfigError(
                name, f"values [{x.min()}, {x.max()}] do not fit {self.name}"
            )


#: Most multiply-accumulates one op (``m * k * n * count``) or one workload may hold.
#: Every count derived from them (cycles, traffic, action counts) then stays well inside
#: int64, so the vectorised estimators (NumPy int64) and the scalar ones (Python
#: integers) agree exactly; larger shapes are refused with a message instead of wrapping.
MAX_MACS = 2**53


def check_macs(key: str, macs: int, what: str = "m*k*n*count") -> int:
    """Raise :class:`ConfigError` naming ``key`` if ``macs`` exceeds :data:`MAX_MACS`."""
    if macs > MAX_MACS:
        raise ConfigError(key, f"{what} = {macs:.3g} multiply-accumulates, more than the "
                          f"2^53 = {MAX_MACS:.3g} hwsim counts exactly")
    return macs


@dataclass(frozen=True)
class GemmOp:
    """``C[M, N] = A[M, K] x B[K, N]``, repeated ``count`` times.

    Examples
    --------
    >>> op = GemmOp(m=4, k=64, n=32)
    >>> op.macs
    8192
    """

    m: int
    k: int
    n: int
    a_fmt: IntFormat = field(default_factory=IntFormat)
    b_fmt: IntFormat = field(default_factory=IntFormat)
    name: str = "gemm"
    count: int = 1

    def __post_init__(self):
        for key in ("m", "k", "n"):
            check_int(key, getattr(self, key), 1)
        check_int("count", self.count, 1)
        check_macs("shape", self.m * self.k * self.n * self.count,
                   f"{self.name}: {self.m}x{self.k}x{self.n} x count {self.count}")
        if not isinstance(self.a_fmt, IntFormat):
            raise ConfigError("a_fmt", f"must be an IntFormat, not {self.a_fmt!r}")
        if not isinstance(self.b_fmt, IntFormat):
            raise ConfigError("b_fmt", f"must be an IntFormat, not {self.b_fmt!r}")

    @property
    def macs(self) -> int:
        """Multiply-accumulates in one instance of the op."""
        return self.m * self.k * self.n

    @property
    def total_macs(self) -> int:
        return self.macs * self.count

    @property
    def is_gemv(self) -> bool:
        return self.m == 1

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.m, self.k, self.n)

    def random_operands(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Random A (M x K) and B (K x N) over the full range of each format."""
        return self.a_fmt.random(rng, (self.m, self.k)), self.b_fmt.random(rng, (self.k, self.n))


_GEMM_RE = re.compile(r"^\s*(\d+)\s*[xX*,]\s*(\d+)\s*[xX*,]\s*(\d+)\s*$")


def parse_gemm(text: str, key: str = "--gemm") -> tuple[int, int, int]:
    """Parse ``"MxKxN"`` into ``(M, K, N)``; raise :class:`ConfigError` naming ``key``.

    >>> parse_gemm("64x128x32")
    (64, 128, 32)
    """
    m = _GEMM_RE.match(text or "") if isinstance(text, str) and len(text) < 200 else None
    if not m:
        raise ConfigError(key, f"expected MxKxN with positive integers (e.g. 64x128x32), not {shorten(text)}")
    dims = tuple(int(g) for g in m.groups())
    for name, v in zip("MKN", dims):
        if v <= 0:
            raise ConfigError(key, f"{name} must be a positive integer, not {v}")
    check_macs(key, dims[0] * dims[1] * dims[2], f"{dims[0]}x{dims[1]}x{dims[2]}")
    return dims  # type: ignore[return-value]
