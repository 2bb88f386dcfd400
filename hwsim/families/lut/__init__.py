"""LUT tensor core family: low-bit weight x integer activation GEMM by table lookup.

Modules: :mod:`.config` (the frozen configuration), :mod:`.golden` (bit-exact result),
:mod:`.model` (closed-form timing and action counts), :mod:`.cyclesim` (cycle-level model
of the RTL's handshakes), :mod:`.compare` (LUT core versus the MAC baseline).
"""
