"""Cost: area and energy with provenance, from technology tables and from synthesis.

Modules
-------
:mod:`hwsim.cost.tech`
    Technology tables (``hwsim/data/tech/tech45.yaml``) and node scaling.
:mod:`hwsim.cost.energy`
    ``energy_from_actions``: a pure function of named action counts.
:mod:`hwsim.cost.area`
    Area from the tables (SRAM macros, MACs) and from synthesis results.
:mod:`hwsim.cost.report`
    ``cost_record``: the cost fields of an evaluation record.

Action names
------------
Models report a ``dict[str, int]`` of action counts. The names, and the component each
is charged to, are:

===========================  ==================================================  ==============
name                         one count is                                        component
===========================  ==================================================  ==============
``mac``                      one multiply-accumulate at the design's             ``pe_array``
                             ``a_bits`` x ``b_bits`` -> ``acc_bits``
``mult:<a>x<b>``             one extra integer multiply (e.g. ``mult:16x16``     ``pe_array``
                             for dequantisation)
``add_bits``                 one bit of integer addition (an n-bit add counts n)  ``pe_array``
``shift``                    one ``shift_bits``-wide shift                        ``pe_array``
``lut_lookup``               one read of a ``lut_entry_bits``-wide table entry    ``pe_array``
``reg_write_bits``           one register bit written (pipeline, forwarding)     ``pe_array``
``rf_access_bits``           one bit read or written in a register file          ``pe_array``
``sram_read:<buffer>``       one word read from the named SRAM buffer             ``sram:<buffer>``
``sram_write:<buffer>``      one word written to the named SRAM buffer            ``sram:<buffer>``
``dram_read_bytes``          one byte read from off-chip memory                   ``dram``
``dram_write_bytes``         one byte written to off-chip memory                  ``dram``
===========================  ==================================================  ==============

Widths are not in the names (except ``mult:<a>x<b>``): they are passed to
:func:`~hwsim.cost.energy.energy_from_actions` from the configuration. An unknown name,
or a buffer that is not configured, raises :class:`~hwsim.errors.ConfigError`.
Control energy (``control``) and leakage are added from the cycle count.
"""

from hwsim.cost.energy import ACTION_NAMES, EnergyBreakdown, SramSpec, energy_from_actions
from hwsim.cost.tech import Figure, Tech, load_tech

__all__ = ["ACTION_NAMES", "EnergyBreakdown", "Figure", "SramSpec", "Tech", "energy_from_actions", "load_tech"]
