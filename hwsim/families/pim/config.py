"""Configuration of a DRAM-PIM (Newton / HBM-PIM / NeuPIMs style) memory.

Timing defaults follow NewtonSim's PIM commands as summarised in
``/work/shared/reference/FAMILIES.md`` section B (NewtonSim ``timing.cc``,
``channel_state.cc``, ``configuration.cc``); the DRAM timing itself (tRP, tRAS, tRC,
tRCDRD, tFAW, tRTP, tRRD_L) comes from the ``hwsim.memory`` preset named by ``standard``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

from hwsim.errors import ConfigError, check_choice, check_int
from hwsim.families.base import ConfigMixin
from hwsim.families.contract import param

#: Memory presets (:data:`hwsim.memory.config.PRESETS`) a PIM config may start from.
STANDARDS = ("hbm2", "hbm3")
#: Operand formats of the bank MAC lanes.
OPERAND_FORMATS = ("fp16", "int8")
#: Weight placements (:mod:`hwsim.families.pim.layout`).
LAYOUTS = ("neupims", "k-split")
#: Energy tables of the PIM commands (:mod:`hwsim.families.pim.cost`).
ENERGY_MODELS = ("newton", "idd", "attacc")
#: NewtonSim: GWRITE latency = (tCCD_S + tCCD_L) * 32 (FAMILIES.md B, "PIM commands").
GWRITE_BURSTS = 32


def _opt_int(key, value, lo, hi=None):
    if value is not None:
        check_int(key, value, lo, hi)


@dataclass(frozen=True)
class PimConfig(ConfigMixin):
    """An HBM stack whose banks each carry ``mac_lanes`` multipliers and an adder tree.

    A COMP command reads ``mac_lanes`` operands from the open row of every bank of a
    channel at once, multiplies them by the matching input elements held in the channel's
    global buffer, sums the products in a binary adder tree and adds the sum to the bank's
    accumulator. READRES returns the banks' accumulators to the host (and clears them).

    Fields left at ``None`` take their value from the memory preset ``standard`` (its
    DRAMsim3 ``.ini``) or from the NewtonSim rule named in the field's help. The clock is
    the preset's command clock (:attr:`freq_mhz`).

    Examples
    --------
    >>> cfg = PimConfig()
    >>> cfg.channels_eff, cfg.banks_per_channel, cfg.page_bytes_eff, cfg.t_comp_eff
    (8, 16, 2048, 2)
    >>> PimConfig(mac_lanes=12)
    Traceback (most recent call last):
    ...
    hwsim.errors.ConfigError: mac_lanes: must be a power of two, not 12
    """

    standard: str = param("hbm2", help="memory preset the DRAM timing and IDD currents come from",
                          choices=STANDARDS)
    channels: int | None = param(None, help="channels (default: the preset's)", range=(1, 128))
    ranks: int | None = param(None, help="ranks (pseudo-channel stacks) per channel (default: the preset's)",
                              range=(1, 8))
    bankgroups: int | None = param(None, help="bank groups per rank (default: the preset's)", range=(1, 16))
    banks_per_group: int | None = param(None, help="banks per bank group (default: the preset's)", range=(1, 16))
    page_bytes: int | None = param(None, help="row (page) size per bank (default: the preset's)", unit="B",
                                   range=(64, 1 << 16))
    mac_lanes: int = param(16, help="multipliers per bank (16 FP16 in HBM-PIM / Newton)", range=(1, 256))
    operand_format: str = param("fp16", help="operand format of the MAC lanes", choices=OPERAND_FORMATS)
    acc_bits: int = param(32, help="INT8 accumulator and result width (two's complement, wraps)",
                          unit="bit", range=(16, 64))
    global_buffer_bytes: int | None = param(None, help="per-channel input-vector buffer (default: one page)",
                                            unit="B", range=(2, 1 << 20))
    dual_row_buffer: bool = param(True, help="dual row buffers (NewtonSim pim_type=DUAL: PIM->PRE 0, "
                                  "G_ACT->G_ACT same bank tRRD_L instead of tRC)")
    t_comp_cycles: int | None = param(None, help="all-bank COMP to COMP interval (default max(burst, tCCD_S))",
                                      unit="cycles", range=(1, 64))
    t_gwrite_cycles: int | None = param(None, help="GWRITE occupancy (default (tCCD_S + tCCD_L) * 32)",
                                        unit="cycles", range=(1, 4096))
    adder_tree_fill_comps: int = param(6, help="COMP slots before the first READRES may follow "
                                       "(NewtonSim adder-tree filling)", range=(0, 64))
    t_readres_cycles: int | None = param(None, help="READRES occupancy (default max(burst, tCCD_S))",
                                         unit="cycles", range=(1, 64))

    layout: str = param("neupims", help="weight placement: neupims (outputs over channels then banks, "
                         "K in row chunks) or k-split (K sliced over channels, outputs over banks)",
                         choices=LAYOUTS)
    energy_model: str = param("newton", help="PIM command energies: newton (IDD, G_ACT 4 ACT, COMP 4 RD), "
                              "idd (IDD scaled by banks and bytes touched) or attacc (AttAcc/FGDRAM pJ/bit)",
                              choices=ENERGY_MODELS)

    def __post_init__(self):
        check_choice("standard", self.standard, STANDARDS)
        check_choice("layout", self.layout, LAYOUTS)
        check_choice("energy_model", self.energy_model, ENERGY_MODELS)
        _opt_int("channels", self.channels, 1, 128)
        _opt_int("ranks", self.ranks, 1, 8)
        _opt_int("bankgroups", self.bankgroups, 1, 16)
        _opt_int("banks_per_group", self.banks_per_group, 1, 16)
        _opt_int("page_bytes", self.page_bytes, 64, 1 << 16)
        check_int("mac_lanes", self.mac_lanes, 1, 256)
        if self.mac_lanes & (self.mac_lanes - 1):
            raise ConfigError("mac_lanes", f"must be a power of two, not {self.mac_lanes}")
        check_choice("operand_format", self.operand_format, OPERAND_FORMATS)
        check_int("acc_bits", self.acc_bits, 16, 64)
        _opt_int("global_buffer_bytes", self.global_buffer_bytes, 2, 1 << 20)
        if not isinstance(self.dual_row_buffer, bool):
            raise ConfigError("dual_row_buffer", f"must be true or false, not {self.dual_row_buffer!r}")
        _opt_int("t_comp_cycles", self.t_comp_cycles, 1, 64)
        _opt_int("t_gwrite_cycles", self.t_gwrite_cycles, 1, 4096)
        check_int("adder_tree_fill_comps", self.adder_tree_fill_comps, 0, 64)
        _opt_int("t_readres_cycles", self.t_readres_cycles, 1, 64)
        lane_bytes = self.mac_lanes * self.elem_bytes
        if self.page_bytes_eff % lane_bytes:
            raise ConfigError("page_bytes" if self.page_bytes is not None else "mac_lanes",
                              f"a row of {self.page_bytes_eff} B must hold whole COMPs of "
                              f"{self.mac_lanes} x {self.elem_bytes} B")
        if self.chunk_bytes % lane_bytes:
            raise ConfigError("global_buffer_bytes", f"must be a multiple of mac_lanes x operand bytes = "
                              f"{lane_bytes}, not {self.global_buffer_bytes}")

    # --- derived values -------------------------------------------------------------
    @cached_property
    def dram(self):
        """The :class:`hwsim.memory.config.DramConfig` of ``standard`` (timing, IDD)."""
        from hwsim.memory.config import load_preset

        return load_preset(self.standard, self.channels)

    @property
    def channels_eff(self) -> int:
        return self.dram.channels

    @property
    def ranks_eff(self) -> int:
        return self.ranks if self.ranks is not None else self.dram.ranks

    @property
    def bankgroups_eff(self) -> int:
        return self.bankgroups if self.bankgroups is not None else self.dram.bankgroups_eff

    @property
    def banks_per_group_eff(self) -> int:
        return self.banks_per_group if self.banks_per_group is not None else self.dram.banks_per_group_eff

    @property
    def banks_per_channel(self) -> int:
        return self.ranks_eff * self.bankgroups_eff * self.banks_per_group_eff

    @property
    def page_bytes_eff(self) -> int:
        return self.page_bytes if self.page_bytes is not None else self.dram.page_bytes

    @property
    def elem_bytes(self) -> int:
        return 2 if self.operand_format == "fp16" else 1

    @property
    def elem_bits(self) -> int:
        return 8 * self.elem_bytes

    @property
    def result_bytes(self) -> int:
        """Bytes of one bank's accumulator returned by READRES."""
        return 2 if self.operand_format == "fp16" else math.ceil(self.acc_bits / 8)

    @property
    def chunk_bytes(self) -> int:
        """Input-vector bytes per GWRITE: the global buffer, at most one row."""
        g = self.global_buffer_bytes if self.global_buffer_bytes is not None else self.page_bytes_eff
        return min(g, self.page_bytes_eff)

    @property
    def chunk_elems(self) -> int:
        """K elements per chunk (one GWRITE, one row per output)."""
        return self.chunk_bytes // self.elem_bytes

    @property
    def t_comp_eff(self) -> int:
        d = self.dram
        return self.t_comp_cycles if self.t_comp_cycles is not None else max(d.burst_cycle, d.tCCD_S)

    @property
    def t_gwrite_eff(self) -> int:
        d = self.dram
        return self.t_gwrite_cycles if self.t_gwrite_cycles is not None else (d.tCCD_S + d.tCCD_L) * GWRITE_BURSTS

    @property
    def t_readres_eff(self) -> int:
        d = self.dram
        return self.t_readres_cycles if self.t_readres_cycles is not None else max(d.burst_cycle, d.tCCD_S)

    @property
    def readres_per_row(self) -> int:
        """READRES commands returning every bank's accumulator (one transaction each)."""
        return math.ceil(self.banks_per_channel * self.result_bytes / self.dram.request_size_bytes)

    @property
    def freq_mhz(self) -> float:
        """Command clock, ``1000 / tCK`` of the preset: every timing value is in its cycles,
        so the clock is the memory's, not a free field."""
        return 1000.0 / self.dram.tCK

    @property
    def dram_bw_bytes_per_cycle(self) -> float:
        """Host-visible (external) bandwidth of all channels, bytes per cycle."""
        return self.channels_eff * self.dram.peak_bytes_per_cycle

    @property
    def macs_per_comp(self) -> int:
        """MACs of one all-bank COMP in one channel."""
        return self.mac_lanes * self.banks_per_channel

    @property
    def peak_macs_per_cycle(self) -> float:
        """Every channel issuing one COMP each ``t_comp`` cycles."""
        return self.macs_per_comp * self.channels_eff / self.t_comp_eff

    @property
    def tree_levels(self) -> int:
        return self.mac_lanes.bit_length() - 1

    def timing(self):
        """The :class:`hwsim.memory.pim.PimTiming` of this design."""
        from hwsim.memory.pim import PimTiming

        return PimTiming.from_dram(self.dram, t_comp=self.t_comp_eff, t_gwrite=self.t_gwrite_eff,
                                   t_readres=self.t_readres_eff, adder_tree_fill=self.adder_tree_fill_comps,
                                   dual_row_buffer=self.dual_row_buffer)
