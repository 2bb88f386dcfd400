"""Energy per PIM command, three selectable tables (``PimConfig.energy_model``), plus the
data bus.

Every figure carries its provenance (:class:`hwsim.cost.tech.Figure`). The IDD-derived
base energies are DRAMsim3's per-command formulas on the memory preset
(``ACT = VDD (IDD0 tRC - (IDD3N tRAS + IDD2N tRP))``, ``RD = VDD (IDD4R - IDD3N) burst``,
``WR`` likewise with IDD4W, times the devices per rank; :class:`hwsim.memory.config.DramConfig`).

``newton`` (default) -- NewtonSim's rules (``configuration.cc``, summarised in
``/work/shared/reference/FAMILIES.md`` section B):

* ``G_ACT = 4 x ACT`` and ``COMP = 4 x RD`` ("newton paper said 4x power");
* ``READRES = 1 x RD`` per transaction it returns (NewtonSim's
  ``16 * banks * devices * ranks / (BL * bus_width)`` is 1 for its 32-bank channel; here
  :attr:`~hwsim.families.pim.config.PimConfig.readres_per_row` counts the transactions);
* ``GWRITE = (buffer bytes / transaction bytes) x RD`` (NewtonSim: page / read size);
* ``PRE = 0`` (DRAMsim3 charges precharge inside ACT's IDD0 term).

``idd`` -- the same IDD energies scaled by what each command touches in this design:
``G_ACT = banks per group x ACT`` (one activate-precharge per bank opened), ``COMP = (bytes
read from all banks / transaction bytes) x RD``, ``READRES = 1 x RD`` per transaction,
``GWRITE = (buffer bytes / transaction bytes) x WR``, ``PRE = 0``. It is an upper bound for
the array: an IDD4R burst also pays the bank-to-pin path a COMP does not use.

``attacc`` -- AttAcc's HBM3 pJ/bit path (scale-snu/attacc_simulator@c600051
``src/config.py``, which cites FGDRAM, MICRO 2017; FAMILIES.md B and REFERENCE.md section 3):
cell activate/precharge 0.11, cell read/write 0.44, column decoder to bank-group mux 1.01,
bank-group mux to global I/O 1.23, TSV 0.5, interposer 0.3 pJ/bit; PIM ALU 0.32 pJ per MAC
(AttAcc's ``devices.py`` charges it per MAC); PIM SRAM buffer 0.0034 pJ/B.
``G_ACT = 0.11 x row bits x banks per group``; ``COMP = 0.44 x bits read + 0.32 x MACs +
0.0034 x buffer bytes read`` (every bank reads the broadcast buffer word);
``READRES = (1.01 + 1.23) x transaction bits`` (bank to global I/O); ``GWRITE = (1.23 x
bits + 0.0034 x bytes)`` of the buffer (global I/O into the buffer); ``PRE = 0`` (in the
activate's figure). For a row read in full this is AttAcc's bank-PIM 4.40 pJ/B.

``BUS`` (every model) -- one 64-byte host transfer across the channel's data bus (TSV
0.5 + interposer 0.3 pJ/bit, the same AttAcc/FGDRAM table): the input vector of a GWRITE
and each READRES transaction. The IDD currents are the DRAM core's and hold none of it.

Background (IDD3N/IDD2N standby) power is not charged to the commands.
"""

from __future__ import annotations

import math

from hwsim.cost.report import CostInputs
from hwsim.cost.tech import Figure
from hwsim.families.pim.config import PimConfig

#: NewtonSim configuration.cc: G_ACT energy = 4 x ACT ("newton paper said 4x power").
NEWTON_GACT_ACT_FACTOR = 4
#: NewtonSim configuration.cc: COMP energy = 4 x RD.
NEWTON_COMP_RD_FACTOR = 4

_SRC = "NewtonSim configuration.cc via FAMILIES.md B"
_ATTACC = "AttAcc src/config.py (scale-snu/attacc_simulator@c600051; FGDRAM MICRO'17) via FAMILIES.md B"

#: AttAcc's HBM3 energy path, pJ per bit (FGDRAM, MICRO 2017, as AttAcc's config.py uses it).
ATTACC_PJ_PER_BIT = {"cell_act_pre": 0.11, "cell_rd_wr": 0.44, "coldec_to_bg_mux": 1.01,
                     "bg_mux_to_gio": 1.23, "tsv": 0.5, "interposer": 0.3}
#: AttAcc devices.py: PIM ALU energy per MAC (flops / 2 x 0.32 pJ).
ATTACC_ALU_PJ_PER_MAC = 0.32
#: AttAcc config.py: PIM SRAM buffer access, pJ per byte.
ATTACC_SRAM_PJ_PER_BYTE = 0.0034

#: Command classes priced (the PIM commands and the host data-bus transfers).
CLASSES = ("GWRITE", "G_ACT", "COMP", "READRES", "PRE", "BUS")


def bus_energy(cfg: PimConfig) -> Figure:
    """One ``request_size_bytes`` transfer between the host and a channel (TSV + interposer)."""
    bits = 8 * cfg.dram.request_size_bytes
    per_bit = ATTACC_PJ_PER_BIT["tsv"] + ATTACC_PJ_PER_BIT["interposer"]
    return Figure(per_bit * bits, "pJ", f"BUS = (TSV 0.5 + interposer 0.3 pJ/bit) x {bits} bits, {_ATTACC}")


def _newton(cfg: PimConfig, act: Figure, rd: Figure, wr: Figure) -> dict:
    gw = cfg.chunk_bytes / cfg.dram.request_size_bytes
    return {
        "G_ACT": act.times(NEWTON_GACT_ACT_FACTOR, f"G_ACT = 4 ACT, {_SRC}"),
        "COMP": rd.times(NEWTON_COMP_RD_FACTOR, f"COMP = 4 RD, {_SRC}"),
        "READRES": rd.times(1, f"READRES = 1 RD per transaction, {_SRC}"),
        "GWRITE": rd.times(gw, f"GWRITE = buffer / transaction bytes RD, {_SRC}"),
    }


def _idd(cfg: PimConfig, act: Figure, rd: Figure, wr: Figure) -> dict:
    req = cfg.dram.request_size_bytes
    comp_bytes = cfg.banks_per_channel * cfg.mac_lanes * cfg.elem_bytes
    bpg = cfg.banks_per_group_eff
    return {
        "G_ACT": act.times(bpg, f"G_ACT = {bpg} ACT (one per bank of the group opened)"),
        "COMP": rd.times(comp_bytes / req, f"COMP = {comp_bytes} B read from the banks / {req} B per RD"),
        "READRES": rd.times(1, "READRES = 1 RD per transaction returned"),
        "GWRITE": wr.times(cfg.chunk_bytes / req, f"GWRITE = {cfg.chunk_bytes} B buffer / {req} B per WR"),
    }


def _attacc(cfg: PimConfig) -> dict:
    p = ATTACC_PJ_PER_BIT
    req_bits = 8 * cfg.dram.request_size_bytes
    row_bits = 8 * cfg.page_bytes_eff
    bpg = cfg.banks_per_group_eff
    comp_bytes = cfg.banks_per_channel * cfg.mac_lanes * cfg.elem_bytes
    comp = (p["cell_rd_wr"] * 8 * comp_bytes + ATTACC_ALU_PJ_PER_MAC * cfg.macs_per_comp
            + ATTACC_SRAM_PJ_PER_BYTE * comp_bytes)
    gw = p["bg_mux_to_gio"] * 8 * cfg.chunk_bytes + ATTACC_SRAM_PJ_PER_BYTE * cfg.chunk_bytes
    return {
        "G_ACT": Figure(p["cell_act_pre"] * row_bits * bpg, "pJ",
                        f"G_ACT = cell act/pre 0.11 pJ/bit x {row_bits} row bits x {bpg} banks, {_ATTACC}"),
        "COMP": Figure(comp, "pJ", f"COMP = cell read 0.44 pJ/bit x {8 * comp_bytes} bits + ALU 0.32 pJ x "
                       f"{cfg.macs_per_comp} MACs + buffer 0.0034 pJ/B x {comp_bytes} B, {_ATTACC}"),
        "READRES": Figure((p["coldec_to_bg_mux"] + p["bg_mux_to_gio"]) * req_bits, "pJ",
                          f"READRES = (1.01 + 1.23) pJ/bit x {req_bits} bits (bank to global I/O), {_ATTACC}"),
        "GWRITE": Figure(gw, "pJ", f"GWRITE = global I/O 1.23 pJ/bit x {8 * cfg.chunk_bytes} bits + buffer "
                         f"0.0034 pJ/B x {cfg.chunk_bytes} B, {_ATTACC}"),
    }


def command_energy(cfg: PimConfig) -> dict[str, Figure]:
    """``{class: Figure(pJ)}``: one command of one channel (``BUS``: one host transfer)."""
    d = cfg.dram
    act = Figure(d.act_energy_pj, "pJ", f"{d.source}: ACT from IDD0/IDD3N/IDD2N (DRAMsim3 formula)")
    rd = Figure(d.read_energy_pj, "pJ", f"{d.source}: RD from IDD4R/IDD3N (DRAMsim3 formula)")
    wr = Figure(d.write_energy_pj, "pJ", f"{d.source}: WR from IDD4W/IDD3N (DRAMsim3 formula)")
    if cfg.energy_model == "newton":
        out = _newton(cfg, act, rd, wr)
    elif cfg.energy_model == "idd":
        out = _idd(cfg, act, rd, wr)
    else:
        out = _attacc(cfg)
    pre = "DRAMsim3: precharge energy is inside ACT (IDD0 over tRC)" if cfg.energy_model != "attacc" \
        else f"inside G_ACT's activate/precharge figure, {_ATTACC}"
    out["PRE"] = Figure(0.0, "pJ", pre)
    out["BUS"] = bus_energy(cfg)
    return {c: out[c] for c in CLASSES}


def energy_pj_per_command(cfg: PimConfig) -> dict[str, float]:
    return {k: float(v.value) for k, v in command_energy(cfg).items()}


def transfers(nbytes: int, cfg: PimConfig) -> int:
    """Host data-bus transfers that carry ``nbytes`` (whole transactions)."""
    return math.ceil(nbytes / cfg.dram.request_size_bytes)


def cost_inputs(cfg: PimConfig) -> CostInputs:
    """The cost model's view: commands priced per command; the MAC lanes (in the DRAM
    process) stand in as ``n_pes`` table MACs of the operand width for area and leakage."""
    acc = 16 if cfg.operand_format == "fp16" else cfg.acc_bits
    return CostInputs(freq_mhz=cfg.freq_mhz, n_pes=cfg.mac_lanes * cfg.banks_per_channel * cfg.channels_eff,
                      a_bits=cfg.elem_bits, b_bits=cfg.elem_bits, acc_bits=acc, dram="hbm2",
                      dram_commands=command_energy(cfg))
