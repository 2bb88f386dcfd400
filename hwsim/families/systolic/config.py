"""Configuration of a systolic array."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.families.base import ConfigMixin
from hwsim.errors import ConfigError, check_choice, check_int

DATAFLOWS = ("os", "ws", "is")


@dataclass(frozen=True)
class SystolicConfig(ConfigMixin):
    """A rows x cols grid of multiply-accumulate PEs with three SRAM buffers.

    The same object builds the golden function, the closed-form and cycle-level models,
    the Amaranth generator, the cost estimate and the cocotb test.

    Parameters
    ----------
    rows, cols : int
        PE grid size (1..256 each).
    dataflow : {"os", "ws", "is"}
        Output, weight or input stationary. In ``os`` each PE owns one output; in ``ws``
        a K x N tile of B sits in the array; in ``is`` a K x M tile of A (transposed) does.
    a_bits, b_bits : int
        Operand widths of A (activations / "ifmap") and B (weights / "filter"), 2..16.
    signed : bool
        Two's-complement operands if True.
    acc_bits : int
        Accumulator width (>= a_bits + b_bits, <= 64). Sums wrap modulo 2**acc_bits,
        exactly as the RTL's accumulators do.
    ifmap_sram_kb, filter_sram_kb, ofmap_sram_kb : int
        On-chip buffer sizes in KiB (used for DRAM traffic and cost).
    dram_bw_bytes_per_cycle : float
        Off-chip bandwidth in bytes per array clock cycle.
    freq_mhz : float
        Array clock.
    acc_depth : int
        Rows of the RTL's output accumulator buffer for ``ws``/``is`` (M is processed in
        chunks of this many rows so that partial sums over K folds stay on chip).

    Examples
    --------
    >>> cfg = SystolicConfig(rows=8, cols=8, dataflow="ws")
    >>> cfg.pes
    64
    >>> SystolicConfig(rows=0)
    Traceback (most recent call last):
    ...
    hwsim.errors.ConfigError: rows: must be a positive integer, not 0
    """

    rows: int = 8
    cols: int = 8
    dataflow: str = "os"
    a_bits: int = 8
    b_bits: int = 8
    signed: bool = True
    acc_bits: int = 32
    ifmap_sram_kb: int = 64
    filter_sram_kb: int = 64
    ofmap_sram_kb: int = 64
    dram_bw_bytes_per_cycle: float = 16.0
    freq_mhz: float = 1000.0
    acc_depth: int = 64

    def __post_init__(self):
        check_int("rows", self.rows, 1)
        check_int("rows", self.rows, 1, 256)
        check_int("cols", self.cols, 1)
        check_int("cols", self.cols, 1, 256)
        check_choice("dataflow", self.dataflow, DATAFLOWS)
        check_int("a_bits", self.a_bits, 2, 16)
        check_int("b_bits", self.b_bits, 2, 16)
        if not isinstance(self.signed, bool):
            raise ConfigError("signed", f"must be true or false, not {self.signed!r}")
        check_int("acc_bits", self.acc_bits, 1, 64)
        if self.acc_bits < self.a_bits + self.b_bits:
            raise ConfigError(
                "acc_bits",
                f"must be >= a_bits + b_bits = {self.a_bits + self.b_bits}, not {self.acc_bits}",
            )
        for key in ("ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb"):
            check_int(key, getattr(self, key), 1)
        for key in ("dram_bw_bytes_per_cycle", "freq_mhz"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
                raise ConfigError(key, f"must be a positive number, not {v!r}")
        check_int("acc_depth", self.acc_depth, 1, 1 << 16)

    @property
    def pes(self) -> int:
        return self.rows * self.cols

    @property
    def product_bits(self) -> int:
        return self.a_bits + self.b_bits
