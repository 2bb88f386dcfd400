"""CLI of the MixPE family: ``hwsim run mixpe``, ``hwsim rtl export mixpe``, ``hwsim rtl synth mixpe``.

The design options are generated from :class:`~hwsim.families.mixpe.config.MixpeConfig`'s
field metadata (help, unit, option name, range, choices), so a new field appears on the
command line and in error messages without an edit here.
"""

from __future__ import annotations


from hwsim.families.mixpe.config import MixpeConfig


DESCRIPTION = ("C[M,N] = A[M,K] x W[K,N] with w-bit group-quantised weights on a MixPE array (output "
               "stationary; every set weight bit adds a shifted activation, dequantisation once per group). "
               "Cycles are those of hwsim's MixPE RTL (closed form); area is one synthesised PE composed over "
               "the array plus the SRAM buffers.")


def describe(cfg: MixpeConfig) -> str:
    a_bits = 8 if cfg.act_format == "int8" else 16
    return (f"{cfg.rows}x{cfg.cols} W{cfg.w_bits}A{a_bits} g{cfg.group_size} "
            f"{'zero point' if cfg.zero_point else 'signed codes'}")


def synth_asic(cfg: MixpeConfig, args) -> dict:
    """The PE (INT8 or FP16 path) synthesised and composed over the grid (no periphery)."""
    from hwsim.families.mixpe.cost import pe_array_area

    return pe_array_area(cfg, args.liberty).to_dict()
