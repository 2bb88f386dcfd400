"""Where a GEMV's weights sit: channels, ranks, bank groups, banks, rows, columns.

Both schemes keep the weights of one output ``n`` and one stretch of K in ONE bank row, so
a COMP's lanes all work for the same output and the bank's accumulator holds its partial
dot product; they differ in how K and N are spread over the channels
(``PimConfig.layout``).

``neupims`` (default; NeuPIMs / Newton style): outputs go round-robin over channels first,
then over the banks of a channel, and every channel holds all of K::

    channel = n % channels
    bank    = (n // channels) % banks_per_channel     (bank = (rank, bank group, bank))
    tile    = n // (channels * banks_per_channel)

K is cut into chunks of ``cfg.chunk_elems`` elements (one global-buffer load each); chunk
``c`` of the tile's outputs is row ``tile * chunks + c`` of their banks, element
``k % chunk_elems`` at byte ``(k % chunk_elems) * elem_bytes`` of the row. All banks of a
channel therefore open the same row for the same chunk, which is what an all-bank COMP
needs, and a GEMV takes ``chunks * tiles`` row activations per bank.

``k-split`` (row-major, channels first): K is sliced over the channels -- channel ``ch``
holds rows ``[ch * Kc, (ch + 1) * Kc)`` of the weight matrix, ``Kc = ceil(K / channels)``
rounded up to whole COMPs -- and every channel holds every output, one per bank::

    channel = k // Kc
    bank    = n % banks_per_channel,  tile = n // banks_per_channel

with the channel's slice chunked into rows as above. Each channel loads only its slice of
the input vector and returns a partial sum of every output (the host adds the channels'
partials, in K order). Where it pays: few outputs and a long K (a GEMV with N below
``channels * banks``, e.g. the context GEMV of a short sequence) keeps every bank of every
channel busy, where ``neupims`` leaves banks idle and streams all of K through each
channel. Where it costs: many outputs make ``channels`` times more READRES traffic, and a
short K leaves rows part-filled. A GEMV's cycles follow from the scheme: the command
program of each channel (:func:`hwsim.families.pim.model.program`) is its tiles and
chunks.

:func:`kv_cache_layout` places one request's K and V caches on one channel, as NeuPIMs
does (``PIMTensor``): K^T with one token per bank (outputs are tokens), V with one
embedding dimension per bank (outputs are embedding dimensions, K runs over tokens). On
one channel the two schemes coincide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hwsim.errors import ConfigError, check_int

from hwsim.families.pim.config import PimConfig


@dataclass(frozen=True)
class WeightLayout:
    """A ``K x N`` weight matrix placed on ``channels`` channels starting at ``first_channel``,
    by the scheme ``cfg.layout`` (see the module docstring).

    Every channel sees the same kind of work: a slice ``[k0, k1)`` of K (all of K for
    ``neupims``), cut into chunks of ``cfg.chunk_elems`` (one GWRITE, one bank row each),
    for the outputs it holds, ``banks_per_channel`` outputs per tile (a row of every bank).

    Examples
    --------
    >>> lay = WeightLayout(PimConfig(), k=4096, n=4096)
    >>> lay.chunks, lay.tiles(0), lay.place(k=1500, n=130)
    (4, 32, {'channel': 2, 'rank': 0, 'bankgroup': 0, 'bank': 0, 'row': 5, 'column_byte': 952})
    >>> ks = WeightLayout(PimConfig(layout="k-split"), k=4096, n=4096)
    >>> ks.k_slice(1), ks.chunks, ks.tiles(0), ks.place(k=1500, n=130)
    ((512, 1024), 1, 256, {'channel': 2, 'rank': 0, 'bankgroup': 0, 'bank': 2, 'row': 8, 'column_byte': 952})
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
    def scheme(self) -> str:
        return self.cfg.layout

    @property
    def n_channels(self) -> int:
        return self.channels if self.channels is not None else self.cfg.channels_eff

    # ---- K --------------------------------------------------------------------------
    @property
    def k_per_channel(self) -> int:
        """K elements each channel holds (``k-split``: ``ceil(K / channels)`` rounded up to
        whole COMPs, so only the last busy channel's slice is short)."""
        if self.scheme == "neupims":
            return self.k
        lanes = self.cfg.mac_lanes
        return math.ceil(math.ceil(self.k / self.n_channels) / lanes) * lanes

    def k_slice(self, ch: int) -> tuple[int, int]:
        """``[k0, k1)`` of K on channel ``ch`` (0-based among the layout's channels; may be empty)."""
        if self.scheme == "neupims":
            return 0, self.k
        kc = self.k_per_channel
        return min(self.k, ch * kc), min(self.k, (ch + 1) * kc)

    def channel_chunks(self, ch: int) -> int:
        k0, k1 = self.k_slice(ch)
        return math.ceil((k1 - k0) / self.cfg.chunk_elems)

    @property
    def chunks(self) -> int:
        """Chunks (rows per tile) of the busiest channel, channel 0."""
        return self.channel_chunks(0)

    def chunk_comps(self, ch: int = 0) -> list[int]:
        """COMPs per chunk of channel ``ch`` (the last chunk may be short)."""
        k0, k1 = self.k_slice(ch)
        ce, lanes = self.cfg.chunk_elems, self.cfg.mac_lanes
        return [math.ceil(min(ce, k1 - k0 - c * ce) / lanes) for c in range(self.channel_chunks(ch))]

    def segments(self) -> list[tuple[int, int]]:
        """Every ``[k0, k1)`` one bank accumulator sums (one chunk of one channel's slice), in
        K order: the partial sums the host adds, in the order it adds them."""
        ce, out = self.cfg.chunk_elems, []
        channels = range(self.n_channels) if self.scheme == "k-split" else range(1)
        for ch in channels:
            k0, k1 = self.k_slice(ch)
            out += [(s, min(s + ce, k1)) for s in range(k0, k1, ce)]
        return out

    # ---- N --------------------------------------------------------------------------
    def outputs(self, ch: int) -> int:
        """Outputs on channel ``ch`` (0 if it holds no K)."""
        k0, k1 = self.k_slice(ch)
        if k1 <= k0:
            return 0
        if self.scheme == "k-split":
            return self.n
        return max(0, math.ceil((self.n - ch) / self.n_channels))

    def tiles(self, ch: int) -> int:
        """Rows per chunk the banks of channel ``ch`` work through."""
        return math.ceil(self.outputs(ch) / self.cfg.banks_per_channel)

    def tile_outputs(self, ch: int, tile: int) -> list[int | None]:
        """The output each bank (flat index) of channel ``ch`` computes in ``tile``; None: idle."""
        B = self.cfg.banks_per_channel
        if self.scheme == "k-split":
            outs = [tile * B + b for b in range(B)]
        else:
            outs = [ch + self.n_channels * (b + B * tile) for b in range(B)]
        return [o if o < self.n else None for o in outs]

    @property
    def rows_per_bank(self) -> int:
        """Rows the busiest bank holds (the timing models do not need the matrix to fit)."""
        return self.chunks * self.tiles(0)

    def check_capacity(self) -> None:
        """Raise :class:`~hwsim.errors.ConfigError` if the matrix does not fit in the banks."""
        if self.rows_per_bank > self.cfg.dram.rows:
            raise ConfigError("gemm", f"needs {self.rows_per_bank} rows per bank, more than the "
                              f"{self.cfg.dram.rows} a bank has")

    def bank_address(self, bank: int) -> dict:
        """``{rank, bankgroup, bank}`` of a flat bank index."""
        bpg, nbg = self.cfg.banks_per_group_eff, self.cfg.bankgroups_eff
        return {"rank": bank // (bpg * nbg), "bankgroup": (bank // bpg) % nbg, "bank": bank % bpg}

    def place(self, k: int, n: int) -> dict:
        """Where element ``b[k, n]`` is stored."""
        cfg = self.cfg
        C, B = self.n_channels, cfg.banks_per_channel
        if self.scheme == "k-split":
            ch = k // self.k_per_channel
            kl = k - ch * self.k_per_channel
            bank, tile = n % B, n // B
            chunks = self.channel_chunks(ch)
        else:
            ch, kl = n % C, k
            bank, tile = (n // C) % B, n // (C * B)
            chunks = self.chunks
        return {"channel": self.first_channel + ch, **self.bank_address(bank),
                "row": tile * chunks + kl // cfg.chunk_elems,
                "column_byte": (kl % cfg.chunk_elems) * cfg.elem_bytes}


def kv_cache_layout(cfg: PimConfig, seq_len: int, embed: int, channel: int = 0) -> dict:
    """NeuPIMs placement of one request's K and V caches on ``channel``.

    Returns ``{"k": WeightLayout, "v": WeightLayout}``: the score GEMV ``q[E] x K^T[E, seq]``
    (K = embedding, outputs = tokens, one token's key per bank row) and the context GEMV
    ``s[seq] x V[seq, E]`` (K = tokens, outputs = embedding dimensions, one dimension per
    bank).
    """
    return {"k": WeightLayout(cfg, k=embed, n=seq_len, channels=1, first_channel=channel),
            "v": WeightLayout(cfg, k=seq_len, n=embed, channels=1, first_channel=channel)}
