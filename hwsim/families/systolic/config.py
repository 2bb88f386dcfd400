"""Configuration of a systolic array."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.families.base import ConfigMixin
from hwsim.families.contract import param
from hwsim.errors import ConfigError, check_choice, check_int
from hwsim.mapping.fields import check_mapping_fields, mapping_param, objective_param

DATAFLOWS = ("os", "ws", "is")
#: What a PE multiplies: two's complement / unsigned integers, or IEEE binary16 patterns.
OPERAND_FORMATS = ("int", "fp16")


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
    operand_format : {"int", "fp16"}
        ``"int"``: integer multiply-accumulate PEs. ``"fp16"``: IEEE binary16 operands and
        a binary16 accumulator (``a_bits = b_bits = acc_bits = 16``; operands are bit
        patterns): each PE rounds the product to binary16, then adds it to its sum with
        one more rounding (round to nearest even, subnormals kept); the order of the
        additions is stated in :mod:`hwsim.families.systolic.golden`.
    mapping : {"search", "fixed"}
        ``search``: each GEMM runs as the tile GEMMs and loop order the mapper finds best
        (:mod:`hwsim.families.systolic.mapping`); ``fixed``: the whole GEMM in the RTL
        sequencer's fold order, buffers used as the closed form assumes. The
        ``scalesim`` timing mode always uses the fixed order (it reproduces SCALE-Sim's),
        and so do GEMMs too large for the search's int64 arithmetic (over about 2**48 MACs
        at 1 B/cycle; the fixed order is priced with exact integers).
    mapping_objective : {"cycles", "dram", "energy"}
        What the search minimises; ties go to the next in ``cycles, dram, energy``.

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

    rows: int = param(8, help="PE rows", range=(1, 256))
    cols: int = param(8, help="PE columns", range=(1, 256))
    dataflow: str = param("os", help="output, weight or input stationary", choices=DATAFLOWS)
    a_bits: int = param(8, help="width of A / activations", unit="bits", range=(2, 16))
    b_bits: int = param(8, help="width of B / weights", unit="bits", range=(2, 16))
    signed: bool = param(True, help="unsigned operands (default: two's complement)", cli="--unsigned",
                         cli_flag_inverts=True)
    acc_bits: int = param(32, help="accumulator width, >= a-bits + b-bits; sums wrap", unit="bits",
                          range=(2, 64))
    ifmap_sram_kb: int = param(64, help="A buffer", unit="KiB", cli="--ifmap-kb", group="memory and clock")
    filter_sram_kb: int = param(64, help="B buffer", unit="KiB", cli="--filter-kb", group="memory and clock")
    ofmap_sram_kb: int = param(64, help="C buffer", unit="KiB", cli="--ofmap-kb", group="memory and clock")
    dram_bw_bytes_per_cycle: float = param(16.0, help="DRAM bandwidth", unit="bytes/cycle", cli="--dram-bw",
                                           group="memory and clock")
    freq_mhz: float = param(1000.0, help="clock", unit="MHz", group="memory and clock")
    acc_depth: int = param(64, help="rows of the ws/is accumulator buffer in the RTL", range=(1, 1 << 16))
    operand_format: str = param("int", help="PE arithmetic: integer MAC, or binary16 multiply and binary16 "
                                "accumulate (then a-bits = b-bits = acc-bits = 16)", choices=OPERAND_FORMATS)
    mapping: str = mapping_param()
    mapping_objective: str = objective_param()

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
        check_choice("operand_format", self.operand_format, OPERAND_FORMATS)
        if self.is_fp16:
            for key in ("a_bits", "b_bits", "acc_bits"):
                if getattr(self, key) != 16:
                    raise ConfigError(key, f"must be 16 for operand_format 'fp16' (binary16 operands and "
                                      f"accumulator), not {getattr(self, key)}")
        elif self.acc_bits < self.a_bits + self.b_bits:
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
        check_mapping_fields(self)

    @property
    def pes(self) -> int:
        return self.rows * self.cols

    @property
    def is_fp16(self) -> bool:
        """Binary16 PEs (``operand_format == "fp16"``)."""
        return self.operand_format == "fp16"

    @property
    def product_bits(self) -> int:
        return self.a_bits + self.b_bits
