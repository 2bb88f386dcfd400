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
            raise ConfigError(key, f"must be an integer, not {value!r}") from None
    if lo is not None and value < lo:
        if lo == 1 and hi is None:
            raise ConfigError(key, f"must be a positive integer, not {value}")
        raise ConfigError(key, f"must be >= {lo}, not {value}")
    if hi is not None and value > hi:
        raise ConfigError(key, f"must be <= {hi}, not {value}")
    return value


def check_choice(key: str, value, choices) -> str:
    """Validate that ``value`` is one of ``choices``."""
    if value not in choices:
        opts = ", ".join(repr(c) for c in choices)
        raise ConfigError(key, f"must be one of {opts}, not {value!r}")
    return value
