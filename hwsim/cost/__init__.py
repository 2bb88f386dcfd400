"""Cost: area and energy with provenance, from technology tables and from synthesis.

Modules
-------
:mod:`hwsim.cost.components`
    Cost components (SRAM buffer, registers, PE array, adder tree, LUT unit, sequencer,
    DRAM interface) and ``price``: the pure function (components, counts, tech) ->
    energy and area breakdowns. Families declare components and route their model's
    action names onto them (``ComponentDesign``).
:mod:`hwsim.cost.sram`
    SRAM macros from the CACTI 7 table ``hwsim/data/tech/sram_cacti45.csv`` (banks for
    the clock); ``python -m hwsim.cost.cacti_table`` regenerates the table.
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
``fill_bytes:<buffer>``      one byte read from DRAM and written into the buffer  ``sram:<buffer>``
``drain_bytes:<buffer>``     one byte read from the buffer and written to DRAM    ``sram:<buffer>``
``dram_read_bytes``          one byte read from off-chip memory                   ``dram``
``dram_write_bytes``         one byte written to off-chip memory                  ``dram``
===========================  ==================================================  ==============

This is the vocabulary of :func:`~hwsim.cost.energy.energy_from_actions` (widths as
keyword arguments), kept for older callers; the families' cost hooks route the same names
onto their components (:mod:`hwsim.cost.components`), where an SRAM prices accesses of its
own port width. An unknown name,
or a buffer that is not configured, raises :class:`~hwsim.errors.ConfigError`.
Control energy (``control``) and leakage are added from the cycle count.
"""

from hwsim.cost.components import ComponentDesign, Route, price
from hwsim.cost.energy import ACTION_NAMES, EnergyBreakdown, SramSpec, energy_from_actions
from hwsim.cost.tech import Figure, Tech, load_tech

__all__ = ["ACTION_NAMES", "ComponentDesign", "EnergyBreakdown", "Route", "price", "Figure", "SramSpec", "Tech", "energy_from_actions", "load_tech"]
