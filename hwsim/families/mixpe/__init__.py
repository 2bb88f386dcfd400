"""MixPE: a mixed-precision processing element for low-bit weights and INT8 or FP16
activations, whose weight-bit multiples are shift-and-add (INT) or exponent shifts (FP16).

:mod:`.config` holds :class:`~hwsim.families.mixpe.config.MixpeConfig`; :mod:`.golden`
the bit-exact NumPy GEMM the hardware is checked against; :mod:`.family` registers the
family (:class:`~hwsim.families.contract.Family`). The RTL (:mod:`.hdl`, :mod:`.rtl`,
:mod:`.bench`) is the systolic family's ``os`` array with MixPE PEs; :mod:`.timing` maps a
GEMM onto it (one quantisation group per fold) and gives its exact cycles; :mod:`.cyclesim`
and :mod:`.model` are the cycle-level and closed-form models; :mod:`.cost` and :mod:`.cli`
the cost hooks and the command line. The per-group dequantisation is golden-only (it is
applied in NumPy after the array in every fidelity).
"""
