"""SRAM LUT-GEMV family: table-lookup GEMV units in compute-capable SRAM beside a CPU's
last-level cache (the SAIL organisation, arXiv 2509.25853).

Modules: :mod:`.config` (the frozen configuration), :mod:`.golden` (bit-exact tables,
bit-plane lookups, shift-accumulate and dequantisation), :mod:`.model` (closed form and
the cycle-level model with named actions), :mod:`.hdl` (Amaranth unit), :mod:`.rtl`
(Verilator runner), :mod:`.bench` (cocotb), :mod:`.cost` (components), :mod:`.cpu` (the
CPU baseline roofline), :mod:`.study` (report section), :mod:`.cli`, :mod:`.family`.
"""
