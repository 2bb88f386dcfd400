"""MixPE design parameters: one frozen, validated dataclass.

Every field carries ``dataclasses.field`` metadata, from which command-line options are
to be generated:

``help``
    One line for the option's help text.
``unit``
    The unit of the value (``"bit"``, ``"KiB"``, ``"MHz"``, ...), ``""`` for a choice.
``cli``
    The option name (``--w-bits``).
``range``
    ``(lo, hi)`` inclusive bounds of a numeric field, ``None`` for a choice or a flag
    (the allowed strings are under ``choices``).

Numeric bounds are checked from that metadata, so the metadata and the validation cannot
disagree; constraints between fields (``acc_bits`` against one group's worst-case sum,
``group_size`` a power of two) are checked after them.

Defaults follow the MixPE reference simulator's W4A8 setting (500 MHz, WBUF 128 KiB,
IBUF 256 KiB, OBUF 128 KiB, 1024 DRAM bits per cycle, output stationary) with a 32 x 32
array and groups of 128 along K.
"""

from dataclasses import dataclass, field, fields

from hwsim.mapping.fields import mapping_param, objective_param
from hwsim.families.base import ConfigMixin
from hwsim.errors import ConfigError, check_choice, check_int

ACT_FORMATS = ("int8", "fp16")
#: ``shift_add``: the MixPE PE. ``dequant_mac``: the baseline that dequantises every weight
#: to binary16 and multiplies it in an FP16 MAC array (FP16 activations only).
DATAPATHS = ("shift_add", "dequant_mac")
DATAFLOWS = ("os", "ws")
#: Largest magnitude of an INT8 activation (``-128``).
INT8_MAX_ABS = 128


def _meta(help: str, unit: str, cli: str, range=None, choices=None) -> dict:
    meta = {"help": help, "unit": unit, "cli": cli, "range": range}
    if choices is not None:
        meta["choices"] = choices
    return meta


@dataclass(frozen=True)
class MixpeConfig(ConfigMixin):
    """A MixPE array: low-bit weights times INT8 or FP16 activations.

    Parameters
    ----------
    w_bits : int
        Weight code width, 2..4.
    act_format : {"int8", "fp16"}
        Activation format; selects the shift-and-add INT path or the exponent-shift FP16
        path of the processing element.
    group_size : int
        Weights per quantisation group along K (one scale, and zero point, per group and
        output column): a power of two, 16..1024.
    zero_point : bool
        Unsigned codes ``0..2**w_bits - 1`` with a per-group zero point if True; signed
        two's complement codes ``-2**(w_bits-1)..2**(w_bits-1) - 1`` without one if False.
    acc_bits : int
        Two's complement width of the INT path's per-group accumulator, at least
        :attr:`min_acc_bits` (unused by the FP16 path, which accumulates in binary16).
    rows, cols : int
        Processing elements per array column and row (1..1024 each).
    dataflow : {"os", "ws"}
        Output or weight stationary.
    wbuf_kib, ibuf_kib, obuf_kib : int
        Weight, input and output buffer capacities.
    freq_mhz : float
        Clock frequency.
    mapping, mapping_objective : str
        ``search`` (each GEMM as the buffer tiles and loop order the mapper finds best for
        the objective, :mod:`hwsim.families.mixpe.mapping`) or ``fixed`` (the whole GEMM in
        the feeder's fold order).
    dram_bw_bytes_per_cycle : int
        Off-chip bandwidth per clock cycle.
    datapath : {"shift_add", "dequant_mac"}
        ``shift_add``: the MixPE PE (per-group partial sums, dequantised once per group).
        ``dequant_mac``: the dequantise-then-MAC baseline (``act_format="fp16"`` only):
        every weight is dequantised to binary16, ``fp16(s * (q - z))``, as it enters the
        array, and the systolic family's FP16 MAC array sums ``a * w`` over all of K in
        binary16 (:mod:`hwsim.families.mixpe.golden` states the order).

    Examples
    --------
    >>> MixpeConfig().min_acc_bits
    19
    >>> MixpeConfig(w_bits=5)
    Traceback (most recent call last):
    ...
    hwsim.errors.ConfigError: w_bits: must be <= 4, not 5
    """

    w_bits: int = field(default=4, metadata=_meta(
        "weight code width", "bit", "--w-bits", (2, 4)))
    act_format: str = field(default="int8", metadata=_meta(
        "activation format (INT path or FP16 path)", "", "--act-format", choices=ACT_FORMATS))
    group_size: int = field(default=128, metadata=_meta(
        "weights per quantisation group along K (a power of two)", "element", "--group-size", (16, 1024)))
    zero_point: bool = field(default=True, metadata=_meta(
        "unsigned codes with per-group zero points (else signed codes)", "", "--zero-point"))
    acc_bits: int = field(default=32, metadata=_meta(
        "INT path per-group accumulator width", "bit", "--acc-bits", (2, 64)))
    rows: int = field(default=32, metadata=_meta(
        "processing elements per array column", "PE", "--rows", (1, 1024)))
    cols: int = field(default=32, metadata=_meta(
        "processing elements per array row", "PE", "--cols", (1, 1024)))
    dataflow: str = field(default="os", metadata=_meta(
        "output or weight stationary", "", "--dataflow", choices=DATAFLOWS))
    wbuf_kib: int = field(default=128, metadata=_meta(
        "weight buffer capacity", "KiB", "--wbuf-kib", (1, 1 << 20)))
    ibuf_kib: int = field(default=256, metadata=_meta(
        "input (activation) buffer capacity", "KiB", "--ibuf-kib", (1, 1 << 20)))
    obuf_kib: int = field(default=128, metadata=_meta(
        "output buffer capacity", "KiB", "--obuf-kib", (1, 1 << 20)))
    freq_mhz: float = field(default=500.0, metadata=_meta(
        "clock frequency", "MHz", "--freq-mhz", (1.0, 10000.0)))
    dram_bw_bytes_per_cycle: int = field(default=128, metadata=_meta(
        "off-chip bandwidth per clock cycle", "B/cycle", "--dram-bw-bytes-per-cycle", (1, 1 << 16)))
    datapath: str = field(default="shift_add", metadata=_meta(
        "PE datapath: MixPE shift-and-add, or the dequantise-then-FP16-MAC baseline", "", "--datapath",
        choices=DATAPATHS))
    mapping: str = mapping_param()
    mapping_objective: str = objective_param()

    def __post_init__(self):
        for f in fields(self):
            value, meta = getattr(self, f.name), f.metadata
            if "choices" in meta:
                check_choice(f.name, value, meta["choices"])
            elif f.type in (bool, "bool"):
                if not isinstance(value, bool):
                    raise ConfigError(f.name, f"must be true or false, not {value!r}")
            elif f.type in (float, "float"):
                _check_float(f.name, value, *meta["range"])
            else:
                check_int(f.name, value, *meta["range"])
        if self.datapath == "dequant_mac" and self.act_format != "fp16":
            raise ConfigError("datapath", "'dequant_mac' multiplies binary16 activations: it needs "
                              f"act_format 'fp16', not {self.act_format!r}")
        if self.group_size & (self.group_size - 1):
            raise ConfigError("group_size", f"must be a power of two, not {self.group_size}")
        if self.act_format == "int8" and self.acc_bits < self.min_acc_bits:
            raise ConfigError("acc_bits", f"must be >= {self.min_acc_bits} to hold one group's worst-case "
                              f"sum ({self.group_size} x {self.max_code_weight} x {INT8_MAX_ABS}), "
                              f"not {self.acc_bits}")

    @property
    def max_code_weight(self) -> int:
        """Largest sum of the shifted activation copies one weight adds: ``2**w_bits - 1``
        (every bit set; the sign of the MSB term does not change its magnitude)."""
        return (1 << self.w_bits) - 1

    @property
    def min_acc_bits(self) -> int:
        """Smallest INT path accumulator that never wraps, at any point of a group.

        Each weight adds ``a << i`` (or subtracts it, for the MSB of a signed code) for
        every set bit ``i``; with ``|a| <= 128`` the sum of magnitudes over one group is
        at most ``X = group_size * (2**w_bits - 1) * 128``, which bounds every partial sum
        of the shift-and-add sequence and the zero-point sum ``sum a`` (``<= 128 *
        group_size``). A two's complement register holds ``[-X, X]`` when it has
        ``X.bit_length() + 1`` bits.
        """
        return (self.group_size * self.max_code_weight * INT8_MAX_ABS).bit_length() + 1

    @property
    def code_range(self) -> tuple[int, int]:
        """Inclusive range of the weight codes."""
        if self.zero_point:
            return 0, (1 << self.w_bits) - 1
        return -(1 << (self.w_bits - 1)), (1 << (self.w_bits - 1)) - 1


def _check_float(key: str, value, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(key, f"must be a number, not {value!r}")
    if not lo <= value <= hi:
        raise ConfigError(key, f"must be in [{lo}, {hi}], not {value}")
    return value


def cli_options() -> dict[str, dict]:
    """Field metadata keyed by option name (``"--w-bits"`` -> metadata + ``field``, ``default``).

    >>> cli_options()["--w-bits"]["range"]
    (2, 4)
    """
    return {f.metadata["cli"]: {**f.metadata, "field": f.name, "default": f.default}
            for f in fields(MixpeConfig)}


__all__ = ["ACT_FORMATS", "DATAFLOWS", "DATAPATHS", "INT8_MAX_ABS", "MixpeConfig", "cli_options"]
