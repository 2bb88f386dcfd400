"""The LUT tensor core tile with its output-rescale stage (group-wise fixed-point scales).

:class:`ScaledLutTile` is the unchanged :class:`hwsim.families.lut.hdl.LutTile` followed by the
shared output-rescale stage :class:`hwsim.blocks.rescale.Rescale`. The feeder closes a tile block (the ``last`` flag of the
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

from amaranth.hdl import Module, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hwsim.blocks import rescale as _block
from hwsim.blocks.rescale import Rescale, RescaleConfig
from hwsim.errors import ConfigError
from hwsim.families.lut.config import LutConfig
from hwsim.families.lut.hdl import LutTile


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
    """The stage's output width behind tile ``cfg``: ``rcfg.out_bits``, or ``acc_bits``."""
    return _block.output_bits(cfg.acc_bits, rcfg)


def sum_bits(cfg: LutConfig, rcfg: RescaleConfig) -> int:
    """Width of the stage's exact group-sum register behind tile ``cfg``."""
    return _block.sum_bits(cfg.acc_bits, rcfg)


def tile_rescale(cfg: LutConfig, rcfg: RescaleConfig) -> Rescale:
    """The rescale stage for the partial-sum blocks of tile ``cfg``."""
    _check(cfg, rcfg)
    return Rescale(cfg.tile_m, cfg.tile_n, cfg.acc_bits, rcfg)


class ScaledLutTile(wiring.Component):
    """LUT tensor core tile with group-wise output rescale: :class:`~hwsim.families.lut.hdl.LutTile`
    followed by :class:`hwsim.blocks.rescale.Rescale`.

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
        self.rescale = tile_rescale(cfg, rcfg)
        self.cfg = cfg
        self.rcfg = rcfg
        sig = self.tile.signature.members
        super().__init__({
            "act": sig["act"],
            "wgt": sig["wgt"],
            "scale": In(stream.Signature(_block.scale_layout(cfg.tile_n, rcfg))),
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


__all__ = ["Rescale", "RescaleConfig", "ScaledLutTile", "output_bits", "rescale_config", "sum_bits", "tile_rescale"]
