"""Where a GEMV's weights sit: channels, ranks, bank groups, banks, rows, columns.

Default (NeuPIMs / Newton style): the weights of one output ``n`` (a column ``b[:, n]``, or
one token's key) stay in ONE bank, so a COMP's lanes all work for the same output and the
bank's accumulator holds its dot product. Outputs go round-robin over channels first, then
over the banks of a channel::

    channel = n % channels
    bank    = (n // channels) % banks_per_channel     (bank = (rank, bank group, bank))
    tile    = n // (channels * banks_per_channel)

and K is cut into chunks of ``cfg.chunk_elems`` elements (one global-buffer load each);
chunk ``c`` of the tile's outputs is row ``tile * chunks + c`` of their banks, element
``k % chunk_elems`` at byte ``(k % chunk_elems) * elem_bytes`` of the row. All banks of a
channel therefore open the same row for the same chunk, which is what an all-bank COMP
needs, and a GEMV takes ``chunks * tiles`` row activations per bank.

:func:`kv_cache_layout` places one request's K and V caches on one channel, as NeuPIMs
does (``PIMTensor``): K^T with one token per bank (outputs are tokens), V with one
embedding dimension per bank (outputs are embedding dimensions, K runs over tokens).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hwsim.errors import ConfigError, check_int

from hwsim.families.pim.config import PimConfig


@dataclass(frozen=True)
class WeightLayout:
    """A ``K x N`` weight matrix placed on ``channels`` channels starting at ``first_channel``.

    Examples
    --------
    >>> lay = WeightLayout(PimConfig(), k=4096, n=4096)
    >>> lay.chunks, lay.tiles(0), lay.place(k=1500, n=130)
    (4, 32, {'channel': 2, 'rank': 0, 'bankgroup': 0, 'bank': 0, 'row': 5, 'column_byte': 952})
    """

    cfg: PimConfig
    k: int
    n: int
    channels: int | None = None
    first_channel: int = 0

    def __post_init__(self):
        check_int("k", self.k, 1)
        check_int("n", self.n, 1)
        if self.channels is not None:
            check_int("channels", self.channels, 1, self.cfg.channels_eff)
        check_int("first_channel", self.first_channel, 0, self.cfg.channels_eff - self.n_channels)

    @property
    def rows_per_bank(self) -> int:
        """Rows the busiest bank holds (the timing models do not need the matrix to fit)."""
        return self.chunks * self.tiles(0)

    def check_capacity(self) -> None:
        """Raise :class:`~hwsim.errors.ConfigError` if the matrix does not fit in the banks."""
        if self.rows_per_bank > self.cfg.dram.rows:
            raise ConfigError("gemm", f"needs {self.rows_per_bank} rows per bank, more than the "
                              f"{self.cfg.dram.rows} a bank has")

    @property
    def n_channels(self) -> int:
        return self.channels if self.channels is not None else self.cfg.channels_eff

    @property
    def chunks(self) -> int:
        return math.ceil(self.k / self.cfg.chunk_elems)

    def chunk_comps(self) -> list[int]:
        """COMPs per chunk (the last chunk may be short)."""
        ce, lanes = self.cfg.chunk_elems, self.cfg.mac_lanes
        return [math.ceil(min(ce, self.k - c * ce) / lanes) for c in range(self.chunks)]

    def outputs(self, ch: int) -> int:
        """Outputs on channel ``ch`` (0-based among the layout's channels)."""
        return max(0, math.ceil((self.n - ch) / self.n_channels))

    def tiles(self, ch: int) -> int:
        """Rows per chunk the banks of channel ``ch`` work through."""
        return math.ceil(self.outputs(ch) / self.cfg.banks_per_channel)

    def place(self, k: int, n: int) -> dict:
        """Where element ``b[k, n]`` is stored."""
        cfg = self.cfg
        C, B = self.n_channels, cfg.banks_per_channel
        bank = (n // C) % B
        bpg, nbg = cfg.banks_per_group_eff, cfg.bankgroups_eff
        return {"channel": self.first_channel + n % C, "rank": bank // (bpg * nbg),
                "bankgroup": (bank // bpg) % nbg, "bank": bank % bpg,
                "row": (n // (C * B)) * self.chunks + k // cfg.chunk_elems,
                "column_byte": (k % cfg.chunk_elems) * cfg.elem_bytes}


def kv_cache_layout(cfg: PimConfig, seq_len: int, embed: int, channel: int = 0) -> dict:
    """NeuPIMs placement of one request's K and V caches on ``channel``.

    Returns ``{"k": WeightLayout, "v": WeightLayout}``: the score GEMV ``q[E] x K^T[E, seq]``
    (K = embedding, outputs = tokens, one token's key per bank row) and the context GEMV
    ``s[seq] x V[seq, E]`` (K = tokens, outputs = embedding dimensions, one dimension per
    bank).
    """
    return {"k": WeightLayout(cfg, k=embed, n=seq_len, channels=1, first_channel=channel),
            "v": WeightLayout(cfg, k=seq_len, n=embed, channels=1, first_channel=channel)}
