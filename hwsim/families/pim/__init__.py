"""DRAM-PIM bank family: GEMV on multiply-accumulate units beside every HBM bank.

Modules: :mod:`.config` (the frozen configuration), :mod:`.golden` (bit-exact result of the
lanes, adder tree and accumulators), :mod:`.layout` (where a weight matrix or a request's
K/V cache sits across channels, banks and rows), :mod:`.model` (closed-form command
schedule, action counts and the event-driven model on :mod:`hwsim.memory.pim`),
:mod:`.family` (the :class:`~hwsim.families.contract.Family`).
"""
