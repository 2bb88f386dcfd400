"""Exceptions for user errors.

Anything a user can cause by a bad configuration, option or file raises a subclass of
:class:`HwsimError`. The CLI prints such errors as one line and exits with status 2;
every other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class HwsimError(ValueError):
    """A user error: bad configuration, bad option, malformed file."""


class ConfigError(HwsimError):
    """An invalid configuration value.

    Parameters
    ----------
    key : str
        The name of the offending field or option.
    reason : str
        Why the value is invalid, including the value itself.
    source : str, optional
        The file (or other origin) the value came from.
    """

    def __init__(self, key: str, reason: str, source: str | None = None):
        self.key = key
        self.reason = reason
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{key}: {reason}")


def check_int(key: str, value, lo: int | None = None, hi: int | None = None) -> int:
    """Validate that ``value`` is an integer within ``[lo, hi]`` and return it.

    Booleans are rejected even though they are ``int`` subclasses.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            import numpy as np

            if isinstance(value, np.integer):
                value = int(value)
            else:
                raise TypeError
        except TypeError:
            raise ConfigError(key, f"must be an integer, not {shorten(value)}") from None
    if lo is not None and value < lo:
        if lo == 1 and hi is None:
            raise ConfigError(key, f"must be a positive integer, not {shorten(value)}")
        raise ConfigError(key, f"must be >= {lo}, not {shorten(value)}")
    if hi is not None and value > hi:
        raise ConfigError(key, f"must be <= {hi}, not {shorten(value)}")
    return value


def check_choice(key: str, value, choices) -> str:
    """Validate that ``value`` is one of ``choices``."""
    if value not in choices:
        opts = ", ".join(repr(c) for c in choices)
        raise ConfigError(key, f"must be one of {opts}, not {shorten(value)}")
    return value


#: Most characters of a user's value echoed in a message.
SHOW_CHARS = 80

_REPR = None


def shorten(value, limit: int = SHOW_CHARS) -> str:
    """``repr(value)`` cut to about ``limit`` characters, on one line.

    Nested containers are abbreviated while they are rendered (:mod:`reprlib`), so even
    a value built from a YAML alias bomb costs little to show.

    >>> shorten("x" * 200)[-16:]
    'x... (202 chars)'
    >>> shorten(2 ** 200)
    'an integer of 201 bits'
    >>> shorten([1, 2])
    '[1, 2]'
    """
    global _REPR
    if _REPR is None:
        import reprlib

        _REPR = reprlib.Repr()
        _REPR.maxlevel = 3
        _REPR.maxstring = limit
        _REPR.maxother = limit
        _REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6
        _REPR.maxlong = 40
    if isinstance(value, int) and not isinstance(value, bool) and abs(value).bit_length() > 128:
        return f"an integer of {abs(value).bit_length()} bits"
    if isinstance(value, str):
        full = len(value) + 2
        text = repr(value[: limit + 1])
    else:
        full = None
        text = _REPR.repr(value)
    text = " ".join(text.split()) if "\n" in text or "\r" in text else text
    if len(text) > limit or (full is not None and full > len(text)):
        total = f" ({full} chars)" if full is not None else ""
        return text[: limit - 3] + "..." + total
    return text


def check_finite(key: str, value, *, positive: bool = False, source: str | None = None):
    """Validate that ``value`` is a real number that is neither NaN nor infinite.

    Integers pass unchanged; booleans and non-numbers are rejected. With ``positive``
    the value must also be > 0.
    """
    import math
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(key, f"must be a number, not {shorten(value)}", source)
    if isinstance(value, numbers.Integral):
        if positive and value <= 0:
            raise ConfigError(key, f"must be a positive number, not {value}", source)
        return value
    if not math.isfinite(float(value)):
        raise ConfigError(key, f"must be a finite number, not {float(value)!r}", source)
    if positive and not value > 0:
        raise ConfigError(key, f"must be a positive number, not {value!r}", source)
    return value


def non_finite_in(value, key: str):
    """The ``(key, value)`` of the first NaN or infinite float inside ``value`` (a
    scalar, or nested lists, tuples and dicts), or ``None``."""
    import math

    stack = [(key, value)]
    while stack:
        k, v = stack.pop()
        if isinstance(v, float) and not math.isfinite(v):
            return k, v
        if isinstance(v, dict):
            stack.extend((f"{k}.{kk}", vv) for kk, vv in v.items())
        elif isinstance(v, (list, tuple)):
            stack.extend((f"{k}[{i}]", vv) for i, vv in enumerate(v))
    return None


class ToolError(HwsimError, RuntimeError):
    """An external tool (Yosys, nextpnr, Verilator, ...) failed.

    The message is one line naming the tool, the design and the reason; the tool's
    full output stays on disk at ``log_path``.

    Parameters
    ----------
    tool : str
    design : str
    reason : str
    log_path : str, optional
    log : str
        The tool's output (the tail is kept for callers that inspect it).
    """

    def __init__(self, tool: str, design: str, reason: str, log_path=None, log: str = ""):
        self.tool = tool
        self.design = design
        self.reason = reason
        self.log_path = None if log_path is None else str(log_path)
        self.log = log
        where = f" (full log: {self.log_path})" if self.log_path else ""
        super().__init__(f"{tool} failed for {design}: {reason}{where}")
