"""Configuration of the SRAM LUT-GEMV units (SAIL-style) and the host they sit in.

What the public record says (``/work/shared/reference/FAMILIES.md`` section C): compute
SRAM (C-SRAM) arrays sit beside every last-level-cache slice; for each group of weights a
table of ``2**N`` partial sums is built and looked up by activation bit patterns,
bit-serially over the activation bits (LSB first); repeated patterns are reused. The
array size, ``N``, the clock and the host figures are not in the text we could read, so
each is a field here and its default is a choice, stated in the field's help:

* ``rows x cols = 256 x 256`` bitcells (an 8 KiB array, the size of one CACTI macro of
  the project's table at a 256-bit port);
* ``group_size = 4`` (16-entry tables);
* 8 arrays per slice, 8 slices, 2 GHz: a small server part;
* 204.8 GB/s DRAM (8 channels of DDR4-3200, the memory of Neoverse-N1 servers such as
  AWS Graviton2, public specification), priced by default with the table's ``lpddr4``
  energy per bit (DDR4 is not in the table; the pricing option ``--dram`` picks another).

One unit is one array with its periphery (see :mod:`.hdl`): a table occupies ``2**N`` rows
of ``lanes`` entries side by side (``lanes = cols // entry_bits``, one output column
each), so one row read is one lookup for ``lanes`` outputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hwsim.errors import ConfigError, check_choice, check_int
from hwsim.families.base import ConfigMixin
from hwsim.families.contract import param

W_BITS = (2, 3, 4, 8)


def _check_bool(key, v):
    if not isinstance(v, bool):
        raise ConfigError(key, f"must be true or false, not {v!r}")


def _check_pos(key, v, hi=None):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0 \
            or (hi is not None and v > hi):
        raise ConfigError(key, f"must be a positive number{'' if hi is None else f' <= {hi}'}, not {v!r}")


@dataclass(frozen=True)
class SramGemvConfig(ConfigMixin):
    """SRAM LUT-GEMV units beside an LLC (see the module docstring).

    Examples
    --------
    >>> cfg = SramGemvConfig(w_bits=2)
    >>> cfg.entry_bits, cfg.lanes, cfg.units, cfg.table_entries
    (4, 64, 64, 16)
    >>> SramGemvConfig(w_bits=5)
    Traceback (most recent call last):
    ...
    hwsim.errors.ConfigError: w_bits: must be one of 2, 3, 4, 8, not 5
    """

    rows: int = param(256, help="bitcell rows (wordlines) of one C-SRAM array (chosen: 256)", range=(2, 4096))
    cols: int = param(256, help="bitcell columns of one C-SRAM array; one row read returns cols bits "
                      "(chosen: 256)", range=(4, 4096))
    group_size: int = param(4, help="weights per table N; a table holds 2**N partial sums (chosen: 4)",
                            range=(1, 8))
    w_bits: int = param(4, help="weight code bits (signed two's complement)", choices=W_BITS)
    a_bits: int = param(8, help="activation bits, looked up one bit plane per step", unit="bit", range=(1, 16))
    act_signed: bool = param(True, help="activations are two's complement, the top bit plane subtracting "
                             "(the option makes them unsigned)",
                             cli="--unsigned-acts", cli_flag_inverts=True)
    vectors: int = param(8, help="activation vectors (the batch) a unit serves together: accumulators per "
                         "lane; a GEMM's M runs in passes of this many", range=(1, 64))
    pattern_reuse: bool = param(True, help="pattern-aware lookups: one lookup serves every vector of the batch "
                                "with the same bit pattern, all-zero patterns are skipped",
                                cli="--no-pattern-reuse", cli_flag_inverts=True)
    acc_bits: int = param(32, help="accumulator width (two's complement, wraps)", unit="bit", range=(8, 48))
    arrays_per_slice: int = param(8, help="C-SRAM arrays (units) per LLC slice (chosen: 8)", range=(1, 256))
    slices: int = param(8, help="LLC slices (chosen: 8)", range=(1, 256))
    freq_mhz: float = param(2000.0, help="clock of the units and the LLC (chosen: 2 GHz)", unit="MHz",
                            range=(1, 10000))
    llc_slice_kib: int = param(1024, help="LLC capacity per slice (chosen: 1 MiB)", unit="KiB",
                               range=(64, 16384))
    llc_line_bytes: int = param(64, help="LLC line size; one slice delivers one line per cycle", unit="B",
                                range=(16, 256))
    dram_bw_gb_s: float = param(204.8, help="host DRAM bandwidth (default 8 x DDR4-3200, Neoverse-N1 servers)",
                                unit="GB/s", range=(0.1, 10000))
    dram_efficiency: float = param(1.0, help="fraction of the DRAM peak the weight streams achieve",
                                   range=(0.01, 1.0))

    def __post_init__(self):
        check_int("rows", self.rows, 2, 4096)
        check_int("cols", self.cols, 4, 4096)
        check_int("group_size", self.group_size, 1, 8)
        check_choice("w_bits", self.w_bits, W_BITS)
        check_int("a_bits", self.a_bits, 1, 16)
        _check_bool("act_signed", self.act_signed)
        check_int("vectors", self.vectors, 1, 64)
        _check_bool("pattern_reuse", self.pattern_reuse)
        check_int("acc_bits", self.acc_bits, 8, 48)
        check_int("arrays_per_slice", self.arrays_per_slice, 1, 256)
        check_int("slices", self.slices, 1, 256)
        _check_pos("freq_mhz", self.freq_mhz, 10000)
        check_int("llc_slice_kib", self.llc_slice_kib, 64, 16384)
        check_int("llc_line_bytes", self.llc_line_bytes, 16, 256)
        _check_pos("dram_bw_gb_s", self.dram_bw_gb_s, 10000)
        _check_pos("dram_efficiency", self.dram_efficiency, 1.0)
        if self.table_entries > self.rows:
            raise ConfigError("group_size", f"a table of 2**{self.group_size} = {self.table_entries} entries "
                              f"needs that many rows, but the array has rows = {self.rows}")
        if self.cols < self.entry_bits:
            raise ConfigError("cols", f"must hold at least one table entry of {self.entry_bits} bits, "
                              f"not {self.cols}")
        if self.acc_bits < self.entry_bits + self.a_bits:
            raise ConfigError("acc_bits", f"must be at least entry_bits + a_bits = "
                              f"{self.entry_bits + self.a_bits}, not {self.acc_bits}")

    # --- derived values ---------------------------------------------------------------
    @property
    def table_entries(self) -> int:
        return 1 << self.group_size

    @property
    def entry_bits(self) -> int:
        """Bits of one table entry: a sum of ``N`` signed ``w_bits`` codes."""
        return self.w_bits + (self.group_size - 1).bit_length()

    @property
    def lanes(self) -> int:
        """Output columns one row read serves (tables side by side in a row)."""
        return self.cols // self.entry_bits

    @property
    def units(self) -> int:
        return self.arrays_per_slice * self.slices

    @property
    def array_bytes(self) -> int:
        return self.rows * self.cols // 8

    @property
    def dram_bw_bytes_per_cycle(self) -> float:
        return self.dram_bw_gb_s * 1e3 / self.freq_mhz

    @property
    def peak_macs_per_cycle(self) -> float:
        """An upper bound every schedule respects: a group of one tile is ``lanes x N x vectors``
        products at most and costs a unit at least ``2**N`` cycles (operand load and table
        build) plus one lookup cycle per bit plane."""
        per_group_cycles = self.table_entries + self.a_bits
        return self.units * self.lanes * self.group_size * self.vectors / per_group_cycles
