"""The LUT tensor core tile with its output-rescale stage (group-wise fixed-point scales).

:class:`ScaledLutTile` is the unchanged :class:`hwsim.families.lut.hdl.LutTile` followed by a
:class:`Rescale` stage. The feeder closes a tile block (the ``last`` flag of the
activation stream) at every K boundary of a quantisation group, so the tile emits one
exact integer partial sum per (output block, group). For each such block the rescale
stage takes one beat of per-column scales, multiplies every partial by its column's
signed fixed-point scale and accumulates the products exactly in a wide register; on the
beat flagged ``last_group`` it rounds half up, saturates and emits the output block:

    ``out = saturate((sum_g p_g * s_g + 2**(frac_bits-1)) >> frac_bits, out_bits)``

which is :func:`hwsim.families.lut.golden.rescale`. The multiply-accumulate happens on the
cycle the partial is accepted, and the result is registered, so the stage adds one cycle
of latency and never stalls the tile while its output is drained (see
:func:`hwsim.families.lut.rescale_rtl.scaled_cycles`).

Streams (``amaranth.lib.stream``, valid/ready):

``act``, ``wgt``
    As on :class:`hwsim.families.lut.hdl.LutTile`.
``scale``
    payload ``data`` (``tile_n`` signed ``scale_bits`` fields, column ``n`` at bits
    ``[n * scale_bits, ...)``) and ``last_group`` (this block is the output block's
    final group). One beat per block the tile emits, in the same order.
``out``
    ``tile_m * tile_n`` results of ``out_bits`` (element ``r * tile_n + n``).

Static inputs ``w_bits`` and ``mode`` as on the tile. The group size is the feeder's
business: it is validated here but does not shape the hardware, so one generated design
serves every group size.
"""

from dataclasses import dataclass

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hwsim.families.base import ConfigMixin
from hwsim.families.lut.config import LutConfig
from hwsim.errors import ConfigError, check_int
from hwsim.families.lut.hdl import LutTile


@dataclass(frozen=True)
class RescaleConfig(ConfigMixin):
    """Parameters of the output-rescale stage.

    Parameters
    ----------
    group_size : int
        K elements per quantisation group (one tile block per group); must be a multiple
        of the tile's ``k_group`` (checked by :class:`ScaledLutTile`).
    frac_bits : int
        Fractional bits of the fixed-point scales (0..62).
    scale_bits : int
        Width of one signed scale (2..32).
    out_bits : int or None
        Saturating output width (2..64); ``None`` means the tile's ``acc_bits``.
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


def _check(cfg: LutConfig, rcfg: RescaleConfig) -> None:
    if not isinstance(cfg, LutConfig):
        raise ConfigError("cfg", f"must be a LutConfig, not {cfg!r}")
    if not isinstance(rcfg, RescaleConfig):
        raise ConfigError("rescale", f"must be a RescaleConfig, not {rcfg!r}")
    if rcfg.group_size % cfg.k_group:
        raise ConfigError("group_size", f"must be a positive multiple of k_group = {cfg.k_group}, "
                          f"not {rcfg.group_size}")


def rescale_config(cfg: LutConfig, group_size: int, frac_bits: int = 15, scale_bits: int = 16,
                   out_bits: int | None = None, max_groups: int = 4096) -> RescaleConfig:
    """Validated :class:`RescaleConfig` for tile ``cfg`` (what :class:`ScaledLutTile` builds).

    >>> rescale_config(LutConfig(tile_m=1, tile_n=2, tile_k=4), group_size=6)
    Traceback (most recent call last):
    ...
    hwsim.errors.ConfigError: group_size: must be a positive multiple of k_group = 4, not 6
    """
    rcfg = RescaleConfig(group_size=group_size, frac_bits=frac_bits, scale_bits=scale_bits,
                         out_bits=out_bits, max_groups=max_groups)
    _check(cfg, rcfg)
    return rcfg


def output_bits(cfg: LutConfig, rcfg: RescaleConfig) -> int:
    """The stage's output width: ``rcfg.out_bits``, or the tile's ``acc_bits``."""
    return cfg.acc_bits if rcfg.out_bits is None else rcfg.out_bits


def sum_bits(cfg: LutConfig, rcfg: RescaleConfig) -> int:
    """Width of the exact group-sum register: a signed ``acc_bits x scale_bits`` product
    fits ``acc_bits + scale_bits`` bits, plus the guard bits for ``max_groups``."""
    return cfg.acc_bits + rcfg.scale_bits + rcfg.guard_bits


def _scale_layout(cfg: LutConfig, rcfg: RescaleConfig) -> data.StructLayout:
    return data.StructLayout({"data": unsigned(cfg.tile_n * rcfg.scale_bits), "last_group": 1})


class Rescale(wiring.Component):
    """Group-wise fixed-point rescale of the tile's partial-sum blocks.

    Ports: ``part`` (in, ``tile_m * tile_n`` signed ``acc_bits`` partials), ``scale``
    (in, see the module docstring) and ``out`` (``tile_m * tile_n`` of ``out_bits``).

    Parameters
    ----------
    cfg : LutConfig
    rcfg : RescaleConfig

    Examples
    --------
    >>> from amaranth.back import verilog
    >>> cfg = LutConfig(tile_m=1, tile_n=2, tile_k=4)
    >>> "module rescale" in verilog.convert(Rescale(cfg, RescaleConfig(group_size=4)), name="rescale")
    True
    """

    def __init__(self, cfg: LutConfig, rcfg: RescaleConfig):
        _check(cfg, rcfg)
        self.cfg = cfg
        self.rcfg = rcfg
        cells = cfg.tile_m * cfg.tile_n
        super().__init__({
            "part": In(stream.Signature(unsigned(cells * cfg.acc_bits))),
            "scale": In(stream.Signature(_scale_layout(cfg, rcfg))),
            "out": Out(stream.Signature(unsigned(cells * output_bits(cfg, rcfg)))),
        })

    def elaborate(self, platform):
        cfg, rcfg = self.cfg, self.rcfg
        m = Module()
        tm, tn, ab, sb = cfg.tile_m, cfg.tile_n, cfg.acc_bits, rcfg.scale_bits
        ob, f, wide = output_bits(cfg, rcfg), rcfg.frac_bits, sum_bits(cfg, rcfg)
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


class ScaledLutTile(wiring.Component):
    """LUT tensor core tile with group-wise output rescale: :class:`~hwsim.families.lut.hdl.LutTile`
    followed by :class:`Rescale`.

    Parameters
    ----------
    cfg : LutConfig
        The tile (integer activations, one lookup unit per lookup).
    group_size : int
        K elements per quantisation group, a multiple of ``cfg.k_group``.
    frac_bits, scale_bits, out_bits, max_groups
        See :class:`RescaleConfig`.

    Examples
    --------
    >>> from amaranth.back import verilog
    >>> tile = ScaledLutTile(LutConfig(tile_m=1, tile_n=2, tile_k=4), group_size=8)
    >>> "module scaled_lut_tile" in verilog.convert(tile, name="scaled_lut_tile")
    True
    """

    def __init__(self, cfg: LutConfig, group_size: int, frac_bits: int = 15, scale_bits: int = 16,
                 out_bits: int | None = None, max_groups: int = 4096):
        # validate everything before creating the sub-components
        rcfg = rescale_config(cfg, group_size, frac_bits, scale_bits, out_bits, max_groups)
        self.tile = LutTile(cfg)
        self.rescale = Rescale(cfg, rcfg)
        self.cfg = cfg
        self.rcfg = rcfg
        sig = self.tile.signature.members
        super().__init__({
            "act": sig["act"],
            "wgt": sig["wgt"],
            "scale": In(stream.Signature(_scale_layout(cfg, rcfg))),
            "out": Out(stream.Signature(unsigned(cfg.tile_m * cfg.tile_n * output_bits(cfg, rcfg)))),
            "w_bits": sig["w_bits"],
            "mode": sig["mode"],
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.tile = tile = self.tile
        m.submodules.rescale = rescale = self.rescale
        wiring.connect(m, wiring.flipped(self.act), tile.act)
        wiring.connect(m, wiring.flipped(self.wgt), tile.wgt)
        wiring.connect(m, tile.out, rescale.part)
        wiring.connect(m, wiring.flipped(self.scale), rescale.scale)
        wiring.connect(m, rescale.out, wiring.flipped(self.out))
        m.d.comb += [tile.w_bits.eq(self.w_bits), tile.mode.eq(self.mode)]
        return m


__all__ = ["Rescale", "RescaleConfig", "ScaledLutTile", "output_bits", "rescale_config", "sum_bits"]
