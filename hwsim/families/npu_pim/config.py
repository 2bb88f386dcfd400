"""Configuration of the NPU + DRAM-PIM system (NeuPIMs style).

The system's config names the two engines' configs: :attr:`NpuPimConfig.npu` builds the
systolic family's :class:`~hwsim.families.systolic.config.SystolicConfig` of one array
(the NPU has ``npu_arrays`` of them), :attr:`NpuPimConfig.pim` the PIM family's
:class:`~hwsim.families.pim.config.PimConfig` of the HBM stack the NPU reads its weights
from and whose banks run the attention GEMVs.

Defaults are NeuPIMs' (``/work/shared/reference/FAMILIES.md`` section B):
``configs/systolic_ws_128x128_dev.json`` (1 GHz, 8 weight-stationary 128x128 arrays,
8 vector units of 128 lanes, 1024 KiB accumulator scratchpad, 2-byte precision) and
``configs/memory_configs/neupims.json`` (HBM2 at 1 GHz, 32 channels, 32 banks per channel,
1 KiB pages, 16 multipliers per bank).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from hwsim.errors import ConfigError, check_choice, check_int
from hwsim.families.base import ConfigMixin
from hwsim.families.contract import param

SCHEDULES = ("neupims", "naive", "npu-only")
#: How a model workload is split over devices: NeuPIMs' tensor/pipeline parallelism for
#: the models it evaluated (:data:`hwsim.families.npu_pim.workload.NEUPIMS_PARALLELISM`),
#: or the whole model on this one device.
PARALLELISMS = ("neupims", "none")
DATAFLOWS = ("os", "ws", "is")
#: NPU operand width: NeuPIMs' "precision 2 B" (FP16).
NPU_OPERAND_BITS = 16
#: Accumulator width of the FP16 MACs (FP32 partial sums; the accumulator scratchpad).
NPU_ACC_BITS = 32


@dataclass(frozen=True)
class NpuPimConfig(ConfigMixin):
    """An NPU of ``npu_arrays`` systolic arrays beside an HBM stack with PIM banks.

    Examples
    --------
    >>> cfg = NpuPimConfig()
    >>> cfg.npu.rows, cfg.npu.dataflow, cfg.pim.channels_eff, cfg.pim.banks_per_channel
    (128, 'ws', 32, 32)
    >>> NpuPimConfig(schedule="gpu")
    Traceback (most recent call last):
    ...
    hwsim.errors.ConfigError: schedule: must be one of 'neupims', 'naive', 'npu-only', not 'gpu'
    """

    schedule: str = param("neupims", help="where attention runs and how the engines overlap",
                          choices=SCHEDULES)
    npu_arrays: int = param(8, help="systolic arrays of the NPU (an op's output columns are split over them)",
                            range=(1, 256))
    npu_rows: int = param(128, help="PE rows of one array", range=(1, 256))
    npu_cols: int = param(128, help="PE columns of one array", range=(1, 256))
    npu_dataflow: str = param("ws", help="dataflow of the arrays", choices=DATAFLOWS)
    npu_acc_depth: int = param(2048, help="accumulator rows per array (1024 KiB accumulator scratchpad / "
                               "(128 columns x 4 B))", range=(1, 1 << 16))
    npu_freq_mhz: float = param(1000.0, help="NPU clock (the system's cycle)", unit="MHz")
    npu_vector_units: int = param(8, help="vector units (softmax, layer norm, GELU, residual)", range=(1, 1024))
    npu_vector_lanes: int = param(128, help="lanes per vector unit (one element op per lane per cycle)",
                                  range=(1, 4096))
    pim_channels: int = param(32, help="HBM channels (each with its PIM units)", range=(1, 128))
    pim_ranks: int = param(2, help="pseudo-channel ranks per channel (2 x 16 banks = 32 banks)", range=(1, 8))
    pim_page_bytes: int = param(1024, help="DRAM row (page) per bank", unit="B", range=(64, 1 << 16))
    pim_mac_lanes: int = param(16, help="multipliers per bank", range=(1, 256))
    dual_row_buffer: bool = param(True, help="neupims schedule with a single row buffer per bank: PIM and NPU "
                                  "reads take turns (default: dual row buffers; naive is always single)", cli="--single-row-buffer",
                                  cli_flag_inverts=True)
    sub_batch_min: int = param(256, help="smallest batch split into two interleaved sub-batches "
                               "(neupims schedule; NeuPIMs README: on from 256)", range=(2, 1 << 20))
    load_balance: bool = param(True, help="neupims schedule placing requests' KV round-robin over channels "
                               "(default: greedy least-loaded channel; naive is always round-robin)", cli="--round-robin-kv",
                               cli_flag_inverts=True)

    parallelism: str = param("neupims", help="model split a model workload runs with: NeuPIMs' tp/pp for "
                             "GPT-3 7B/13B/30B (else none), or none (the whole model on this device)",
                             choices=PARALLELISMS)

    def __post_init__(self):
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("parallelism", self.parallelism, PARALLELISMS)
        for key, hi in (("npu_arrays", 256), ("npu_rows", 256), ("npu_cols", 256), ("npu_acc_depth", 1 << 16),
                        ("npu_vector_units", 1024), ("npu_vector_lanes", 4096), ("pim_channels", 128),
                        ("pim_ranks", 8), ("pim_mac_lanes", 256), ("sub_batch_min", 1 << 20)):
            check_int(key, getattr(self, key), 1, hi)
        check_int("pim_page_bytes", self.pim_page_bytes, 64, 1 << 16)
        check_int("sub_batch_min", self.sub_batch_min, 2)
        check_choice("npu_dataflow", self.npu_dataflow, DATAFLOWS)
        v = self.npu_freq_mhz
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise ConfigError("npu_freq_mhz", f"must be a positive number, not {v!r}")
        for key in ("dual_row_buffer", "load_balance"):
            if not isinstance(getattr(self, key), bool):
                raise ConfigError(key, f"must be true or false, not {getattr(self, key)!r}")
        try:
            self.pim
        except ConfigError as e:
            raise ConfigError("pim_" + e.key if not e.key.startswith(("pim_", "dual")) else e.key, e.reason) from None

    # --- the engines' configs ------------------------------------------------------
    @cached_property
    def npu(self):
        """One array of the NPU as the systolic family's config (FP16 operands).

        The systolic family times a MAC array independently of its operand format, so the
        array is described at 16-bit operand width; FP16 MAC energy is priced from the cost
        tables (:mod:`hwsim.families.npu_pim.energy`).
        """
        from hwsim.families.systolic.config import SystolicConfig

        # binary16 PEs (the systolic family's FP16 MAC array: timing as the integer array's,
        # pricing and RTL of its own)
        return SystolicConfig(rows=self.npu_rows, cols=self.npu_cols, dataflow=self.npu_dataflow,
                              operand_format="fp16", a_bits=16, b_bits=16, acc_bits=16,
                              freq_mhz=float(self.npu_freq_mhz), acc_depth=self.npu_acc_depth,
                              dram_bw_bytes_per_cycle=self.pim.dram_bw_bytes_per_cycle)

    @cached_property
    def pim(self):
        """The HBM stack with its PIM units as the PIM family's config."""
        from hwsim.families.pim.config import PimConfig

        return PimConfig(standard="hbm2", channels=self.pim_channels, ranks=self.pim_ranks,
                         page_bytes=self.pim_page_bytes, mac_lanes=self.pim_mac_lanes, operand_format="fp16",
                         dual_row_buffer=self.dual_row_buffer)

    @property
    def freq_mhz(self) -> float:
        return float(self.npu_freq_mhz)

    @property
    def pim_cycle_ratio(self) -> float:
        """NPU cycles per memory command cycle."""
        return self.freq_mhz / self.pim.freq_mhz

    @property
    def npu_peak_macs_per_cycle(self) -> int:
        return self.npu_arrays * self.npu_rows * self.npu_cols

    @property
    def pim_peak_macs_per_cycle(self) -> float:
        """PIM MACs per NPU cycle."""
        return self.pim.peak_macs_per_cycle / self.pim_cycle_ratio

    @property
    def peak_macs_per_cycle(self) -> float:
        return self.npu_peak_macs_per_cycle + self.pim_peak_macs_per_cycle

    @property
    def vector_lanes(self) -> int:
        return self.npu_vector_units * self.npu_vector_lanes

    @property
    def channel_bytes_per_cycle(self) -> float:
        """External bandwidth of one channel per NPU cycle."""
        return self.pim.dram.peak_bytes_per_cycle / self.pim_cycle_ratio

    @property
    def dram_bw_bytes_per_cycle(self) -> float:
        return self.pim_channels * self.channel_bytes_per_cycle

    @property
    def capacity_bytes(self) -> int:
        d = self.pim.dram
        return self.pim_channels * self.pim.banks_per_channel * d.rows * self.pim_page_bytes
