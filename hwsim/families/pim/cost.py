"""Energy per PIM command, from the memory preset's IDD currents (NewtonSim's rules).

NewtonSim (``configuration.cc``, summarised in ``/work/shared/reference/FAMILIES.md``
section B) prices PIM commands from DRAMsim3's per-command energies
(``ACT = VDD (IDD0 tRC - (IDD3N tRAS + IDD2N tRP))``, ``RD = VDD (IDD4R - IDD3N) burst``,
both times the devices per rank; :class:`hwsim.memory.config.DramConfig`):

* ``G_ACT = 4 x ACT`` and ``COMP = 4 x RD`` ("newton paper said 4x power");
* ``READRES = 1 x RD`` per transaction it returns (NewtonSim's
  ``16 * banks * devices * ranks / (BL * bus_width)`` is 1 for its 32-bank channel; here
  :attr:`~hwsim.families.pim.config.PimConfig.readres_per_row` counts the transactions);
* ``GWRITE = (buffer bytes / transaction bytes) x RD`` (NewtonSim: page / read size);
* ``PRE = 0`` (DRAMsim3 charges precharge inside ACT's IDD0 term).

Background (IDD3N/IDD2N standby) power is not charged to the commands.
"""

from __future__ import annotations

from hwsim.cost.report import CostInputs
from hwsim.cost.tech import Figure
from hwsim.families.pim.config import PimConfig

#: NewtonSim configuration.cc: G_ACT energy = 4 x ACT ("newton paper said 4x power").
NEWTON_GACT_ACT_FACTOR = 4
#: NewtonSim configuration.cc: COMP energy = 4 x RD.
NEWTON_COMP_RD_FACTOR = 4

_SRC = "NewtonSim configuration.cc via FAMILIES.md B"


def command_energy(cfg: PimConfig) -> dict[str, Figure]:
    """``{command: Figure(pJ)}`` for one command of one channel."""
    d = cfg.dram
    act = Figure(d.act_energy_pj, "pJ", f"{d.source}: ACT from IDD0/IDD3N/IDD2N (DRAMsim3 formula)")
    rd = Figure(d.read_energy_pj, "pJ", f"{d.source}: RD from IDD4R/IDD3N (DRAMsim3 formula)")
    gw = cfg.chunk_bytes / d.request_size_bytes
    return {
        "G_ACT": act.times(NEWTON_GACT_ACT_FACTOR, f"G_ACT = 4 ACT, {_SRC}"),
        "COMP": rd.times(NEWTON_COMP_RD_FACTOR, f"COMP = 4 RD, {_SRC}"),
        "READRES": rd.times(1, f"READRES = 1 RD per transaction, {_SRC}"),
        "GWRITE": rd.times(gw, f"GWRITE = buffer / transaction bytes RD, {_SRC}"),
        "PRE": Figure(0.0, "pJ", "DRAMsim3: precharge energy is inside ACT (IDD0 over tRC)"),
    }


def energy_pj_per_command(cfg: PimConfig) -> dict[str, float]:
    return {k: float(v.value) for k, v in command_energy(cfg).items()}


def cost_inputs(cfg: PimConfig) -> CostInputs:
    """The cost model's view: commands priced per command; the MAC lanes (in the DRAM
    process) stand in as ``n_pes`` table MACs of the operand width for area and leakage."""
    acc = 16 if cfg.operand_format == "fp16" else cfg.acc_bits
    return CostInputs(freq_mhz=cfg.freq_mhz, n_pes=cfg.mac_lanes * cfg.banks_per_channel * cfg.channels_eff,
                      a_bits=cfg.elem_bits, b_bits=cfg.elem_bits, acc_bits=acc, dram="hbm2",
                      dram_commands=command_energy(cfg))
