"""Group-wise fixed-point output rescale: a stage shared by every family whose array
emits exact integer partial sums per quantisation group.

:class:`Rescale` takes blocks of ``rows x cols`` signed ``in_bits`` partial sums (one
block per K group of an output block) and, with each, one beat of per-column signed
fixed-point scales. It multiplies every partial by its column's scale and accumulates the
products exactly in a wide register; on the beat flagged ``last_group`` it rounds half
up, saturates and emits the output block:

    ``out = saturate((sum_g p_g * s_g + 2**(frac_bits-1)) >> frac_bits, out_bits)``

The multiply-accumulate happens on the cycle the partial is accepted and the result is
registered, so the stage adds one cycle of latency and never stalls its producer while
its output is drained.

Streams (``amaranth.lib.stream``, valid/ready):

``part``
    ``rows * cols`` signed ``in_bits`` partials (element ``r * cols + n`` at bits
    ``[i * in_bits, ...)``).
``scale``
    payload ``data`` (``cols`` signed ``scale_bits`` fields, column ``n`` at bits
    ``[n * scale_bits, ...)``) and ``last_group`` (this block is the output block's
    final group). One beat per partial block, in the same order.
``out``
    ``rows * cols`` results of ``out_bits``.

The group size is the feeder's business: it is validated but does not shape the
hardware, so one generated design serves every group size. The LUT tensor core uses it
behind its tile (:class:`hwsim.families.lut.rescale.ScaledLutTile`).
"""

from dataclasses import dataclass

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hwsim.errors import ConfigError, check_int
from hwsim.families.base import ConfigMixin


@dataclass(frozen=True)
class RescaleConfig(ConfigMixin):
    """Parameters of the output-rescale stage.

    Parameters
    ----------
    group_size : int
        K elements per quantisation group (one block of partial sums per group; the unit
        that produces the partials checks it fits its K step).
    frac_bits : int
        Fractional bits of the fixed-point scales (0..62).
    scale_bits : int
        Width of one signed scale (2..32).
    out_bits : int or None
        Saturating output width (2..64); ``None`` means the partials' width.
    max_groups : int
        Groups one output block may accumulate; sizes the exact sum register
        (``ceil(log2(max_groups))`` guard bits above the product width).

    Examples
    --------
    >>> RescaleConfig(group_size=0)
    Traceback (most recent call last):
    ...
    hwsim.errors.ConfigError: group_size: must be a positive integer, not 0
    """

    group_size: int = 128
    frac_bits: int = 15
    scale_bits: int = 16
    out_bits: int | None = None
    max_groups: int = 4096

    def __post_init__(self):
        check_int("group_size", self.group_size, 1)
        check_int("frac_bits", self.frac_bits, 0, 62)
        check_int("scale_bits", self.scale_bits, 2, 32)
        if self.out_bits is not None:
            check_int("out_bits", self.out_bits, 2, 64)
        check_int("max_groups", self.max_groups, 1, 1 << 20)

    @property
    def guard_bits(self) -> int:
        """Bits above a product's width that hold the sum of ``max_groups`` products."""
        return (self.max_groups - 1).bit_length()


def output_bits(in_bits: int, rcfg: RescaleConfig) -> int:
    """The stage's output width: ``rcfg.out_bits``, or the partials' ``in_bits``."""
    return in_bits if rcfg.out_bits is None else rcfg.out_bits


def sum_bits(in_bits: int, rcfg: RescaleConfig) -> int:
    """Width of the exact group-sum register: a signed ``in_bits x scale_bits`` product
    fits ``in_bits + scale_bits`` bits, plus the guard bits for ``max_groups``."""
    return in_bits + rcfg.scale_bits + rcfg.guard_bits


def scale_layout(cols: int, rcfg: RescaleConfig) -> data.StructLayout:
    """Payload of the ``scale`` stream: ``cols`` packed scales and ``last_group``."""
    return data.StructLayout({"data": unsigned(cols * rcfg.scale_bits), "last_group": 1})


class Rescale(wiring.Component):
    """Group-wise fixed-point rescale of ``rows x cols`` blocks of partial sums (see the
    module docstring).

    Parameters
    ----------
    rows, cols : int
        Shape of one block of partials.
    in_bits : int
        Width of one signed partial.
    rcfg : RescaleConfig

    Examples
    --------
    >>> from amaranth.back import verilog
    >>> "module rescale" in verilog.convert(Rescale(1, 2, 32, RescaleConfig(group_size=4)), name="rescale")
    True
    """

    def __init__(self, rows: int, cols: int, in_bits: int, rcfg: RescaleConfig):
        check_int("rows", rows, 1)
        check_int("cols", cols, 1)
        check_int("in_bits", in_bits, 2, 64)
        if not isinstance(rcfg, RescaleConfig):
            raise ConfigError("rescale", f"must be a RescaleConfig, not {rcfg!r}")
        self.rows, self.cols, self.in_bits, self.rcfg = rows, cols, in_bits, rcfg
        cells = rows * cols
        super().__init__({
            "part": In(stream.Signature(unsigned(cells * in_bits))),
            "scale": In(stream.Signature(scale_layout(cols, rcfg))),
            "out": Out(stream.Signature(unsigned(cells * output_bits(in_bits, rcfg)))),
        })

    def elaborate(self, platform):
        rcfg = self.rcfg
        m = Module()
        tm, tn, ab, sb = self.rows, self.cols, self.in_bits, rcfg.scale_bits
        ob, f, wide = output_bits(ab, rcfg), rcfg.frac_bits, sum_bits(ab, rcfg)
        hi, lo = (1 << (ob - 1)) - 1, -(1 << (ob - 1))

        part = self.part.payload
        scales = self.scale.payload.data
        last_group = self.scale.payload.last_group

        acc = [[Signal(signed(wide), name=f"gsum_{r}_{n}") for n in range(tn)] for r in range(tm)]
        out_reg = [[Signal(signed(ob), name=f"res_{r}_{n}") for n in range(tn)] for r in range(tm)]
        m.d.comb += self.out.payload.eq(Cat(*[out_reg[r][n] for r in range(tm) for n in range(tn)]))

        # A block is taken when both its partials and its scales are there; the output
        # register must be free only on the group that finishes an output block.
        out_free = ~self.out.valid | self.out.ready
        room = out_free | ~last_group
        go = Signal()
        m.d.comb += [
            self.part.ready.eq(self.scale.valid & room),
            self.scale.ready.eq(self.part.valid & room),
            go.eq(self.part.valid & self.scale.valid & room),
        ]
        finishing = go & last_group

        for r in range(tm):
            for n in range(tn):
                i = r * tn + n
                p = part[i * ab:(i + 1) * ab].as_signed()
                s = scales[n * sb:(n + 1) * sb].as_signed()
                total = Signal(signed(wide), name=f"gnext_{r}_{n}")
                m.d.comb += total.eq(acc[r][n] + p * s)
                rounded = Signal(signed(wide + 1), name=f"round_{r}_{n}")
                m.d.comb += rounded.eq((total + (1 << (f - 1)) if f else total) >> f)
                sat = Mux(rounded > hi, hi, Mux(rounded < lo, lo, rounded))
                with m.If(finishing):
                    m.d.sync += [acc[r][n].eq(0), out_reg[r][n].eq(sat)]
                with m.Elif(go):
                    m.d.sync += acc[r][n].eq(total)

        with m.If(finishing):
            m.d.sync += self.out.valid.eq(1)
        with m.Elif(self.out.ready):
            m.d.sync += self.out.valid.eq(0)
        return m


__all__ = ["Rescale", "RescaleConfig", "output_bits", "scale_layout", "sum_bits"]
