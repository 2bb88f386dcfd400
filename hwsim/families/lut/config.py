"""Configuration of a LUT tensor core tile (and of its MAC baseline of the same shape)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from hwsim.families.base import ConfigMixin
from hwsim.mapping.fields import check_mapping_fields, mapping_param, objective_param
from hwsim.families.contract import param
from hwsim.errors import ConfigError, check_choice, check_int

#: Activation formats. ``fp16`` (IEEE binary16) has its own golden model and RTL
#: (:mod:`hwsim.families.lut.golden_fp16`, :mod:`hwsim.families.lut.hdl_fp16`): tables,
#: accumulator and output are binary16, so ``acc_bits`` and ``table_bits`` do not apply.
ACT_FORMATS = ("int8", "int16", "fp16")

#: How the weight codes ``q`` (unsigned, ``w_bits`` wide) map to weight values ``w``:
#:
#: * ``"symmetric"`` -- ``w = 2q - (2**w_bits - 1)`` (odd levels, e.g. {-1, +1} at 1 bit,
#:   {-3, -1, 1, 3} at 2 bits). This is what the bit-serial table lookup computes natively
#:   once every bit ``q_b`` in {0, 1} is reinterpreted as ``2 q_b - 1`` in {-1, +1}.
#: * ``"signed"`` -- offset binary, ``w = q - 2**(w_bits-1)``: the two's complement code
#:   with its top bit inverted, done once when the weights are packed (ternary weights
#:   are ``signed`` with ``w_bits = 2``; 1-bit ``signed`` weights are {-1, 0}).
#: * ``"unsigned"`` -- ``w = q``.
#:
#: ``signed`` and ``unsigned`` are recovered from the symmetric sum with the row sum of
#: the activations (see :mod:`hwsim.families.lut.golden`).
WEIGHT_MODES = ("symmetric", "signed", "unsigned")

#: The two cores of the family: the LUT tensor core and its MAC baseline.
CORES = ("lut", "mac")

#: The largest weight precision the RTL tile's plane counter is generated for; the
#: precision actually used is a run-time input, so one build serves 1-4-bit weights.
MAX_W_BITS = 4


@dataclass(frozen=True)
class LutConfig(ConfigMixin):
    """A LUT tensor core tile computing ``C[M, N] = A[M, K] x W[K, N]``.

    For each group of ``k_group`` activations of one row of A the table precompute unit
    builds the partial sums of every weight bit pattern; the lookup array then reads the
    weights one bit plane per cycle, looks up each ``k_group``-bit pattern and
    accumulates it shifted by the plane's weight. A tile holds ``tile_m`` rows of A,
    ``tile_n`` columns of W and ``tile_k`` elements of K per step.

    The same object builds the golden function, the closed-form and cycle-level models,
    the Amaranth tiles (LUT and MAC baseline), the cost estimate and the cocotb bench.

    Parameters
    ----------
    core : {"lut", "mac"}
        Which core the models evaluate: the LUT tile, or the MAC baseline tile of the
        same shape (dequantise each weight to ``a_bits``, then multiply).
    w_bits : int
        Weight precision, 1..4 bits (read as that many bit planes).
    weight_mode : {"symmetric", "signed", "unsigned"}
        How weight codes map to values (see :data:`WEIGHT_MODES`).
    act_format : {"int8", "int16", "fp16"}
        Activation format. With ``fp16`` the table entries, the accumulator and the output
        are IEEE binary16 (round to nearest even after every add; see
        :mod:`hwsim.families.lut.golden_fp16`), and the MAC baseline dequantises each
        weight to binary16 before a binary16 multiplier.
    k_group : int
        Activations per table (K of the paper), 1..6.
    symmetric_table : bool
        Store only the ``2**(k_group-1)`` entries whose top pattern bit is 0 and obtain
        the others by negation (valid because ``T[~p] == -T[p]``); else store all
        ``2**k_group`` entries.
    tile_m, tile_n, tile_k : int
        Tile shape. ``tile_k`` must be a multiple of ``k_group`` (``tile_k / k_group``
        tables per row).
    lookup_units : int or None
        Table-lookup units; ``None`` means one per (row, column, table) of the tile, which
        is what the RTL builds. Fewer units time-multiplex (model only).
    table_bits : int or None
        Width of a stored table entry. ``None`` means exact (:attr:`table_bits_exact`);
        fewer bits drop the entries' low bits (an arithmetic right shift, i.e. floor),
        and the accumulated sum is shifted back at the output.
    acc_bits : int
        Accumulator and output width; sums wrap modulo ``2**acc_bits`` like the RTL's.
        Integer formats only (an ``fp16`` tile accumulates in binary16).
    act_sram_kb, weight_sram_kb, out_sram_kb : int
        On-chip buffer sizes in KiB (for DRAM traffic and cost).
    dram_bw_bytes_per_cycle : float
        Off-chip bandwidth; the closed-form model stalls when a GEMM's DRAM traffic
        takes longer than its compute (the RTL has no DRAM, its cycles are the compute
        cycles).
    freq_mhz : float
        Clock.
    mapping, mapping_objective : str
        ``search`` (each GEMM as the buffer tiles and loop order the mapper finds best
        for the objective, :mod:`hwsim.families.lut.mapping`) or ``fixed`` (the whole GEMM
        as one command in the tile's own order).

    Examples
    --------
    >>> cfg = LutConfig(tile_m=2, tile_n=64, tile_k=4)
    >>> cfg.table_entries, cfg.tables_per_row, cfg.full_lookup_units
    (8, 1, 128)
    >>> LutConfig(w_bits=0)
    Traceback (most recent call last):
    ...
    hwsim.errors.ConfigError: w_bits: must be >= 1, not 0
    """

    core: str = param("lut", help="the LUT tensor core or its MAC (dequantise-then-multiply) baseline",
                      choices=CORES)
    w_bits: int = param(2, help="weight bits", unit="bits", range=(1, MAX_W_BITS))
    weight_mode: str = param("signed", help="how weight codes map to values", choices=WEIGHT_MODES)
    act_format: str = param("int8", help="activation format (fp16: binary16 tables, accumulator and output)", choices=ACT_FORMATS)
    k_group: int = param(4, help="activations per table", range=(1, 6))
    symmetric_table: bool = param(True, help="store all 2^K table entries (default: the symmetric half, "
                                  "negated on lookup)", cli="--full-table", cli_flag_inverts=True)
    tile_m: int = param(2, help="tile rows of A", range=(1, 256))
    tile_n: int = param(64, help="tile columns of W", range=(1, 1024))
    tile_k: int = param(4, help="tile depth, a multiple of --k-group", range=(1, 256))
    lookup_units: int | None = param(None, help="table-lookup units (default: one per row, column and table "
                                     "of the tile)")
    table_bits: int | None = param(None, help="stored table entry width (default: exact)", unit="bits")
    acc_bits: int = param(32, help="accumulator width", unit="bits", range=(2, 64))
    act_sram_kb: int = param(64, help="activation buffer", unit="KiB", cli="--act-kb", group="memory and clock")
    weight_sram_kb: int = param(64, help="weight buffer", unit="KiB", cli="--weight-kb", group="memory and clock")
    out_sram_kb: int = param(64, help="output buffer", unit="KiB", cli="--out-kb", group="memory and clock")
    dram_bw_bytes_per_cycle: float = param(64.0, help="DRAM bandwidth", unit="bytes/cycle", cli="--dram-bw",
                                           group="memory and clock")
    freq_mhz: float = param(1000.0, help="clock", unit="MHz", group="memory and clock")
    mapping: str = mapping_param()
    mapping_objective: str = objective_param()

    def __post_init__(self):
        check_mapping_fields(self)
        check_choice("core", self.core, CORES)
        check_int("w_bits", self.w_bits, 1, MAX_W_BITS)
        check_choice("weight_mode", self.weight_mode, WEIGHT_MODES)
        check_choice("act_format", self.act_format, ACT_FORMATS)
        check_int("k_group", self.k_group, 1, 6)
        if not isinstance(self.symmetric_table, bool):
            raise ConfigError("symmetric_table", f"must be true or false, not {self.symmetric_table!r}")
        check_int("tile_m", self.tile_m, 1, 256)
        check_int("tile_n", self.tile_n, 1, 1024)
        check_int("tile_k", self.tile_k, 1, 256)
        if self.tile_k % self.k_group:
            raise ConfigError("tile_k", f"must be a multiple of k_group = {self.k_group}, not {self.tile_k}")
        if self.lookup_units is not None:
            check_int("lookup_units", self.lookup_units, 1, self.full_lookup_units)
        if self.table_bits is not None:
            if self.act_format == "fp16":
                raise ConfigError("table_bits", "applies to integer activations only (fp16 table entries are binary16)")
            check_int("table_bits", self.table_bits, 2, self.table_bits_exact)
        check_int("acc_bits", self.acc_bits, 2, 64)
        need = self.a_bits + self.w_bits + 1
        if self.act_format != "fp16" and self.acc_bits < need:
            raise ConfigError("acc_bits", f"must be >= a_bits + w_bits + 1 = {need}, not {self.acc_bits}")
        for key in ("act_sram_kb", "weight_sram_kb", "out_sram_kb"):
            check_int(key, getattr(self, key), 1)
        for key in ("dram_bw_bytes_per_cycle", "freq_mhz"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
                raise ConfigError(key, f"must be a positive number, not {v!r}")

    # --- derived values -------------------------------------------------------------
    @property
    def a_bits(self) -> int:
        """Activation width (16 for fp16)."""
        return 8 if self.act_format == "int8" else 16

    @property
    def is_integer(self) -> bool:
        return self.act_format != "fp16"

    @property
    def out_bits(self) -> int:
        """Width of one accumulator and output element: ``acc_bits``, or 16 (binary16) for fp16."""
        return self.acc_bits if self.is_integer else 16

    @property
    def table_entries(self) -> int:
        """Stored entries per table: ``2**(k_group-1)`` symmetric, ``2**k_group`` otherwise."""
        return 1 << (self.k_group - 1 if self.symmetric_table else self.k_group)

    @property
    def tables_per_row(self) -> int:
        return self.tile_k // self.k_group

    @property
    def table_bits_exact(self) -> int:
        """Bits that hold every table entry exactly: ``|T| <= k_group * 2**(a_bits-1)``."""
        return (self.k_group << (self.a_bits - 1)).bit_length() + 1

    @property
    def stored_table_bits(self) -> int:
        if not self.is_integer:
            return 16  # a binary16 pattern
        return self.table_bits_exact if self.table_bits is None else self.table_bits

    @property
    def table_shift(self) -> int:
        """Low bits dropped from each table entry (0 when the table is exact)."""
        return self.table_bits_exact - self.stored_table_bits if self.is_integer else 0

    @property
    def full_lookup_units(self) -> int:
        """One lookup unit per (row, column, table) of the tile."""
        return self.tile_m * self.tile_n * self.tables_per_row

    @property
    def units(self) -> int:
        return self.full_lookup_units if self.lookup_units is None else self.lookup_units

    @property
    def lookup_passes(self) -> int:
        """Cycles per bit plane: the tile's lookups divided over the available units."""
        return math.ceil(self.full_lookup_units / self.units)

    @property
    def macs_per_cycle(self) -> float:
        """Peak MAC-equivalents per cycle of the configured core: ``tile_m * tile_n *
        tile_k`` per K step, and a LUT K step takes ``w_bits * lookup_passes`` cycles."""
        lanes = self.tile_m * self.tile_n * self.tile_k
        return lanes if self.core == "mac" else lanes / (self.w_bits * self.lookup_passes)

    @property
    def w_offset_coeff(self) -> int | None:
        """``c`` in ``A @ W = (A @ W_sym + c * rowsum(A)) / 2``; ``None`` for symmetric."""
        if self.weight_mode == "signed":
            return -1
        if self.weight_mode == "unsigned":
            return (1 << self.w_bits) - 1
        return None

    @property
    def w_range(self) -> tuple[int, int]:
        """Smallest and largest weight value."""
        b = self.w_bits
        if self.weight_mode == "symmetric":
            return (-((1 << b) - 1), (1 << b) - 1)
        if self.weight_mode == "signed":
            return (-(1 << (b - 1)), (1 << (b - 1)) - 1)
        return (0, (1 << b) - 1)
