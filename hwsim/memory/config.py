"""DRAM/HBM configuration: DRAMsim3's ``.ini`` format, validated, with derived values.

A :class:`DramConfig` holds the keys of a DRAMsim3 configuration file (sections
``dram_structure``, ``timing``, ``power``, ``system``) under their ``.ini`` names, so an
error names the key the user has to fix. All timing keys are in cycles of the command
clock (``tCK`` nanoseconds), as in DRAMsim3. Missing keys take DRAMsim3's defaults
(``configuration.cc``), so a DRAMsim3 file and this model agree on every value.

The derived quantities follow DRAMsim3's rules (read from its source, see
``/work/shared/reference/dram/HBM2_DRAMSIM3.md`` for HBM2):

* ``burst_cycle = BL / 2`` (double data rate); HBM doubles ``columns`` (prefetch);
* ``devices_per_rank = bus_width / device_width``; a rank's size follows from the page
  size, ``rows`` and ``banks``; ``ranks = channel_size / rank size``;
* one transaction is ``bus_width / 8 * BL`` bytes (64 B for every shipped preset);
* ``RL = AL + CL``, ``WL = AL + CWL``, ``read_delay = RL + burst_cycle``,
  ``write_delay = WL + burst_cycle``, ``tRC = tRAS + tRP``;
* HBM's ACT->RD/WR are ``tRCDRD``/``tRCDWR``; other protocols use ``tRCD - AL``;
* energy per command from IDD currents: ``ACT = VDD (IDD0 tRC - (IDD3N tRAS + IDD2N tRP))``,
  ``RD = VDD (IDD4R - IDD3N) burst_cycle``, ``WR = VDD (IDD4W - IDD3N) burst_cycle``,
  ``REF = VDD (IDD5AB - IDD3N) tRFC``, background ``VDD IDD3N`` per cycle with a bank open
  and ``VDD IDD2N`` with all banks closed, all times ``devices_per_rank`` (pJ: mA x V x ns).
"""

from __future__ import annotations

import configparser
import dataclasses
import math
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

from hwsim.errors import ConfigError, HwsimError

#: Protocols DRAMsim3 knows that this model simulates (JEDEC DDR-style controllers).
PROTOCOLS = ("DDR3", "DDR4", "LPDDR", "LPDDR3", "LPDDR4", "HBM", "HBM2")

#: Shipped presets: name -> file in ``hwsim/data/dram/``.
PRESETS = {
    "hbm2": "HBM2_8Gb_x128.ini",
    "hbm3": "HBM3_16Gb_x64pc.ini",
    "ddr4": "DDR4_8Gb_x16_3200.ini",
    "lpddr4": "LPDDR4_8Gb_x16_2400.ini",
    "lpddr5": "LPDDR5_16Gb_x16_6400.ini",
}

_MAPPING_FIELDS = ("ch", "ra", "bg", "ba", "ro", "co")

# (section, key, python type, DRAMsim3 default)
_KEYS = (
    ("dram_structure", "protocol", str, "DDR3"),
    ("dram_structure", "bankgroups", int, 2),
    ("dram_structure", "banks_per_group", int, 2),
    ("dram_structure", "bankgroup_enable", bool, True),
    ("dram_structure", "rows", int, 1 << 16),
    ("dram_structure", "columns", int, 1 << 10),
    ("dram_structure", "device_width", int, 8),
    ("dram_structure", "BL", int, 8),
    ("dram_structure", "hbm_dual_cmd", bool, True),
    ("timing", "tCK", float, 1.0),
    ("timing", "AL", int, 0),
    ("timing", "CL", int, 12),
    ("timing", "CWL", int, 12),
    ("timing", "tCCD_L", int, 6),
    ("timing", "tCCD_S", int, 4),
    ("timing", "tRTRS", int, 2),
    ("timing", "tRTP", int, 5),
    ("timing", "tWTR_L", int, 5),
    ("timing", "tWTR_S", int, 5),
    ("timing", "tWR", int, 10),
    ("timing", "tRP", int, 10),
    ("timing", "tRRD_L", int, 4),
    ("timing", "tRRD_S", int, 4),
    ("timing", "tRAS", int, 24),
    ("timing", "tRCD", int, 10),
    ("timing", "tRFC", int, 74),
    ("timing", "tREFI", int, 7800),
    ("timing", "tFAW", int, 50),
    ("timing", "tPPD", int, 0),
    ("timing", "tRCDRD", int, 24),
    ("timing", "tRCDWR", int, 20),
    ("power", "VDD", float, 1.2),
    ("power", "IDD0", float, 48.0),
    ("power", "IDD2N", float, 34.0),
    ("power", "IDD3N", float, 43.0),
    ("power", "IDD4W", float, 123.0),
    ("power", "IDD4R", float, 135.0),
    ("power", "IDD5AB", float, 250.0),
    ("system", "channel_size", int, 1024),
    ("system", "channels", int, 1),
    ("system", "bus_width", int, 64),
    ("system", "address_mapping", str, "chrobabgraco"),
    ("system", "queue_structure", str, "PER_BANK"),
    ("system", "row_buf_policy", str, "OPEN_PAGE"),
    ("system", "cmd_queue_size", int, 16),
    ("system", "trans_queue_size", int, 32),
    ("system", "unified_queue", bool, False),
    ("system", "refresh_policy", str, "RANK_LEVEL_STAGGERED"),
    ("system", "enable_self_refresh", bool, False),
)
_KEY_INFO = {k: (sec, typ) for sec, k, typ, _ in _KEYS}


def _log2_exact(key: str, value: int) -> int:
    if value < 1 or value & (value - 1):
        raise ConfigError(key, f"must be a power of two, not {value}")
    return value.bit_length() - 1


@dataclass(frozen=True)
class DramConfig:
    """One DRAM channel type and the memory system built from it.

    Fields carry DRAMsim3's ``.ini`` key names; timings are in command-clock cycles,
    currents in mA, ``VDD`` in V, ``tCK`` in ns, ``channel_size`` in MiB.
    ``source`` is where the values came from (file name or ``"defaults"``).
    """

    protocol: str = "DDR3"
    bankgroups: int = 2
    banks_per_group: int = 2
    bankgroup_enable: bool = True
    rows: int = 1 << 16
    columns: int = 1 << 10
    device_width: int = 8
    BL: int = 8
    hbm_dual_cmd: bool = True
    tCK: float = 1.0
    AL: int = 0
    CL: int = 12
    CWL: int = 12
    tCCD_L: int = 6
    tCCD_S: int = 4
    tRTRS: int = 2
    tRTP: int = 5
    tWTR_L: int = 5
    tWTR_S: int = 5
    tWR: int = 10
    tRP: int = 10
    tRRD_L: int = 4
    tRRD_S: int = 4
    tRAS: int = 24
    tRCD: int = 10
    tRFC: int = 74
    tREFI: int = 7800
    tFAW: int = 50
    tPPD: int = 0
    tRCDRD: int = 24
    tRCDWR: int = 20
    VDD: float = 1.2
    IDD0: float = 48.0
    IDD2N: float = 34.0
    IDD3N: float = 43.0
    IDD4W: float = 123.0
    IDD4R: float = 135.0
    IDD5AB: float = 250.0
    channel_size: int = 1024
    channels: int = 1
    bus_width: int = 64
    address_mapping: str = "chrobabgraco"
    queue_structure: str = "PER_BANK"
    row_buf_policy: str = "OPEN_PAGE"
    cmd_queue_size: int = 16
    trans_queue_size: int = 32
    unified_queue: bool = False
    refresh_policy: str = "RANK_LEVEL_STAGGERED"
    enable_self_refresh: bool = False
    source: str = field(default="defaults", compare=False)

    def _err(self, key: str, reason: str) -> ConfigError:
        return ConfigError(key, reason, None if self.source == "defaults" else self.source)

    def __post_init__(self):
        for f in dataclasses.fields(self):
            if f.name == "source":
                continue
            v = getattr(self, f.name)
            typ = _KEY_INFO[f.name][1]
            if typ is int and (isinstance(v, bool) or not isinstance(v, int)):
                raise self._err(f.name, f"must be an integer, not {v!r}")
            if typ is float and (isinstance(v, bool) or not isinstance(v, (int, float))
                                 or not math.isfinite(v)):
                raise self._err(f.name, f"must be a finite number, not {v!r}")
            if typ is bool and not isinstance(v, bool):
                raise self._err(f.name, f"must be true or false, not {v!r}")
            if typ is str and not isinstance(v, str):
                raise self._err(f.name, f"must be a string, not {v!r}")
        if self.protocol not in PROTOCOLS:
            raise self._err("protocol", f"must be one of {', '.join(PROTOCOLS)}, not {self.protocol!r}"
                            " (GDDR and HMC are not modelled)")
        for k in ("bankgroups", "banks_per_group", "rows", "columns", "device_width", "BL",
                  "channels", "bus_width", "cmd_queue_size", "trans_queue_size", "channel_size"):
            if getattr(self, k) < 1:
                raise self._err(k, f"must be a positive integer, not {getattr(self, k)}")
        for k in ("bankgroups", "banks_per_group", "rows", "columns", "channels", "BL"):
            v = getattr(self, k)
            if v & (v - 1):
                raise self._err(k, f"must be a power of two, not {v}")
        if self.bus_width % self.device_width:
            raise self._err("bus_width", f"{self.bus_width} is not a multiple of device_width "
                            f"{self.device_width}")
        for k in ("tCCD_L", "tCCD_S", "tRTRS", "tRTP", "tWTR_L", "tWTR_S", "tWR", "tRP",
                  "tRRD_L", "tRRD_S", "tRAS", "tRCD", "tRFC", "tFAW", "tPPD", "tRCDRD",
                  "tRCDWR", "AL", "CL", "CWL"):
            if getattr(self, k) < 0:
                raise self._err(k, f"must be >= 0, not {getattr(self, k)}")
        if self.tREFI < 1:
            raise self._err("tREFI", f"must be a positive integer, not {self.tREFI}")
        if self.tCK <= 0:
            raise self._err("tCK", f"must be > 0 ns, not {self.tCK}")
        if self.tRRD_S > self.tRRD_L or self.tRRD_L > self.tRAS + self.tRP:
            raise self._err("tRRD_L", f"needs tRRD_S <= tRRD_L <= tRC, not {self.tRRD_S}, "
                            f"{self.tRRD_L}, {self.tRAS + self.tRP}")
        if self.tCCD_S > self.tCCD_L:
            raise self._err("tCCD_L", f"must be >= tCCD_S ({self.tCCD_S}), not {self.tCCD_L}")
        if self.tWTR_S > self.tWTR_L:
            raise self._err("tWTR_L", f"must be >= tWTR_S ({self.tWTR_S}), not {self.tWTR_L}")
        m = self.address_mapping
        toks = [m[i:i + 2] for i in range(0, len(m), 2)]
        if len(m) != 12 or sorted(toks) != sorted(_MAPPING_FIELDS):
            raise self._err("address_mapping", f"must name each of ch ra bg ba ro co once "
                            f"(12 characters), not {m!r}")
        for k, allowed in (("queue_structure", ("PER_BANK",)), ("row_buf_policy", ("OPEN_PAGE",)),
                           ("refresh_policy", ("RANK_LEVEL_STAGGERED", "RANK_LEVEL_SIMULTANEOUS"))):
            if getattr(self, k) not in allowed:
                raise self._err(k, f"{getattr(self, k)!r} is not modelled (supported: "
                                f"{', '.join(allowed)})")
        if self.unified_queue:
            raise self._err("unified_queue", "True is not modelled (separate read queue and write buffer)")
        if self.enable_self_refresh:
            raise self._err("enable_self_refresh", "True is not modelled")
        if self.columns * (2 if self.is_hbm else 1) < self.BL:
            raise self._err("columns", f"{self.columns} is fewer than one burst (BL {self.BL})")
        if self.request_size_bytes & (self.request_size_bytes - 1):
            raise self._err("bus_width", f"transaction size bus_width/8*BL = "
                            f"{self.request_size_bytes} B is not a power of two")

    # ---- derived values (DRAMsim3's rules) -------------------------------------------
    @property
    def is_hbm(self) -> bool:
        return self.protocol in ("HBM", "HBM2")

    @cached_property
    def banks_per_group_eff(self) -> int:
        return self.banks_per_group if self.bankgroup_enable else self.banks_per_group * self.bankgroups

    @cached_property
    def bankgroups_eff(self) -> int:
        return self.bankgroups if self.bankgroup_enable else 1

    @property
    def banks(self) -> int:
        """Banks per rank."""
        return self.bankgroups_eff * self.banks_per_group_eff

    @property
    def columns_eff(self) -> int:
        """Columns per row as addressed (HBM doubles the ``.ini`` value: prefetch)."""
        return self.columns * 2 if self.is_hbm else self.columns

    @property
    def burst_cycle(self) -> int:
        return self.BL // 2

    @property
    def devices_per_rank(self) -> int:
        return self.bus_width // self.device_width

    @property
    def page_bytes(self) -> int:
        """Bytes of one row of one bank across the rank's devices."""
        return self.columns_eff * self.device_width // 8 * self.devices_per_rank

    @cached_property
    def ranks(self) -> int:
        """Ranks per channel (DRAMsim3 ``CalculateSize``: at least one)."""
        page = self.columns_eff * self.device_width // 8
        megs_per_bank = page * (self.rows // 1024) // 1024
        megs_per_rank = megs_per_bank * self.banks * self.devices_per_rank
        if megs_per_rank <= 0 or megs_per_rank > self.channel_size:
            return 1
        return self.channel_size // megs_per_rank

    @property
    def request_size_bytes(self) -> int:
        return self.bus_width // 8 * self.BL

    @property
    def RL(self) -> int:
        return self.AL + self.CL

    @property
    def WL(self) -> int:
        return self.AL + self.CWL

    @property
    def read_delay(self) -> int:
        """RD command to last data beat: the read's completion offset."""
        return self.RL + self.burst_cycle

    @property
    def write_delay(self) -> int:
        return self.WL + self.burst_cycle

    @property
    def tRC(self) -> int:
        return self.tRAS + self.tRP

    @property
    def act_to_read(self) -> int:
        return self.tRCDRD if self.is_hbm else self.tRCD - self.AL

    @property
    def act_to_write(self) -> int:
        return self.tRCDWR if self.is_hbm else self.tRCD - self.AL

    @property
    def dual_command(self) -> bool:
        """HBM issues one row and one column command in the same cycle."""
        return self.hbm_dual_cmd and self.is_hbm

    @property
    def refresh_interval_cycles(self) -> int:
        """Cycles between two REF commands of a channel (rotating over its ranks)."""
        if self.refresh_policy == "RANK_LEVEL_SIMULTANEOUS":
            return self.tREFI
        return max(1, self.tREFI // self.ranks)

    @cached_property
    def field_layout(self) -> dict:
        """``{field: (bit position after dropping the offset, mask)}`` for the mapping."""
        widths = {
            "ch": _log2_exact("channels", self.channels),
            "ra": _log2_exact("ranks", self.ranks),
            "bg": _log2_exact("bankgroups", self.bankgroups_eff),
            "ba": _log2_exact("banks_per_group", self.banks_per_group_eff),
            "ro": _log2_exact("rows", self.rows),
            "co": _log2_exact("columns", self.columns_eff) - _log2_exact("BL", self.BL),
        }
        toks = [self.address_mapping[i:i + 2] for i in range(0, 12, 2)]
        pos, out = 0, {}
        for t in reversed(toks):
            out[t] = (pos, (1 << widths[t]) - 1)
            pos += widths[t]
        return out

    @property
    def shift_bits(self) -> int:
        return self.request_size_bytes.bit_length() - 1

    @property
    def capacity_bytes(self) -> int:
        """Addressable bytes of the whole memory system (addresses wrap beyond it)."""
        bits = sum(m.bit_length() for _, m in self.field_layout.values())
        return 1 << (bits + self.shift_bits)

    def decode(self, addr: int) -> tuple[int, int, int, int, int, int]:
        """``(channel, rank, bankgroup, bank, row, column)`` of a byte address."""
        a = addr >> self.shift_bits
        L = self.field_layout
        return tuple((a >> L[f][0]) & L[f][1] for f in _MAPPING_FIELDS)  # type: ignore[return-value]

    def encode(self, channel: int = 0, rank: int = 0, bankgroup: int = 0, bank: int = 0,
               row: int = 0, column: int = 0) -> int:
        """Byte address of a location (the inverse of :meth:`decode`)."""
        a = 0
        L = self.field_layout
        for f, v in zip(_MAPPING_FIELDS, (channel, rank, bankgroup, bank, row, column)):
            a |= (v & L[f][1]) << L[f][0]
        return a << self.shift_bits

    # ---- energy per event, pJ ----------------------------------------------------------
    @property
    def act_energy_pj(self) -> float:
        return self.VDD * (self.IDD0 * self.tRC - (self.IDD3N * self.tRAS + self.IDD2N * self.tRP)) \
            * self.devices_per_rank

    @property
    def read_energy_pj(self) -> float:
        return self.VDD * (self.IDD4R - self.IDD3N) * self.burst_cycle * self.devices_per_rank

    @property
    def write_energy_pj(self) -> float:
        return self.VDD * (self.IDD4W - self.IDD3N) * self.burst_cycle * self.devices_per_rank

    @property
    def ref_energy_pj(self) -> float:
        return self.VDD * (self.IDD5AB - self.IDD3N) * self.tRFC * self.devices_per_rank

    @property
    def active_standby_pj_per_cycle(self) -> float:
        return self.VDD * self.IDD3N * self.devices_per_rank

    @property
    def precharge_standby_pj_per_cycle(self) -> float:
        return self.VDD * self.IDD2N * self.devices_per_rank

    @property
    def peak_bytes_per_cycle(self) -> float:
        """Data-bus peak of one channel: one transaction per max(burst, tCCD_S) cycles."""
        return self.request_size_bytes / max(self.burst_cycle, self.tCCD_S)

    def replace(self, **kw) -> "DramConfig":
        """A copy with some keys changed (validated again)."""
        return dataclasses.replace(self, **kw)

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def _parse_bool(key: str, text: str, source: str) -> bool:
    t = text.strip().lower()
    if t in ("true", "1", "yes", "on"):
        return True
    if t in ("false", "0", "no", "off"):
        return False
    raise ConfigError(key, f"must be true or false, not {text!r}", source)


def parse_ini(text: str, source: str = "<string>") -> DramConfig:
    """A :class:`DramConfig` from the text of a DRAMsim3 ``.ini`` file.

    Keys this model does not use (e.g. ``tRTP_L``, ``IDD2P``, thermal) are ignored, as
    DRAMsim3 ignores keys it does not read. Unknown sections are ignored too.
    """
    cp = configparser.ConfigParser(inline_comment_prefixes=(";", "#"), strict=False,
                                   interpolation=None)
    cp.optionxform = str  # keys are case-sensitive (tRCD, BL)
    try:
        cp.read_string(text, source=source)
    except configparser.Error as e:
        raise HwsimError(f"{source}: not a valid .ini file: {str(e).splitlines()[0]}") from None
    kw = {}
    for sec, key, typ, _default in _KEYS:
        if not cp.has_section(sec) or not cp.has_option(sec, key):
            continue
        raw = cp.get(sec, key).strip()
        try:
            if typ is int:
                val = int(raw, 0)
            elif typ is float:
                val = float(raw)
            elif typ is bool:
                val = _parse_bool(key, raw, source)
            else:
                val = raw
        except ValueError:
            kind = "an integer" if typ is int else "a number"
            raise ConfigError(key, f"must be {kind}, not {raw!r}", source) from None
        kw[key] = val
    return DramConfig(source=source, **kw)


def load_ini(path: str | Path) -> DramConfig:
    """Read a DRAMsim3 ``.ini`` file (errors name the file and key)."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise HwsimError(f"{path}: cannot read: {e.strerror or e}") from None
    return parse_ini(text, source=str(path))


def preset_path(name: str):
    """The shipped file of preset ``name`` (see :data:`PRESETS`)."""
    if name not in PRESETS:
        raise ConfigError("standard", f"must be one of {', '.join(PRESETS)}, not {name!r}")
    return resources.files("hwsim") / "data" / "dram" / PRESETS[name]


def load_preset(name: str, channels: int | None = None) -> DramConfig:
    """A shipped preset, optionally with another channel count."""
    ref = preset_path(name)
    cfg = parse_ini(ref.read_text(), source=f"{name} ({PRESETS[name]})")
    if channels is not None:
        cfg = cfg.replace(channels=channels)
    return cfg
