"""Systolic-array family: a rows x cols MAC grid, output/weight/input stationary.

Modules: :mod:`.config` (frozen configuration), :mod:`.golden` (bit-exact result),
:mod:`.timing` (the RTL's exact schedule), :mod:`.model` (closed form, scalar and
vectorised), :mod:`.cyclesim` (cycle-level model), :mod:`.memsim` (event-driven DRAM
replay), :mod:`.scalesim` (the SCALE-Sim oracle), :mod:`.hdl` (Amaranth generator),
:mod:`.rtl` (Verilator runner), :mod:`.bench` (cocotb bench), :mod:`.synth` (synthesis),
:mod:`.calibration` (pinned gate-level activity factors), :mod:`.cli` (command line).
"""
