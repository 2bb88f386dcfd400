"""MixPE: a mixed-precision processing element for low-bit weights and INT8 or FP16
activations, whose weight-bit multiples are shift-and-add (INT) or exponent shifts (FP16).

:mod:`.config` holds :class:`~hwsim.families.mixpe.config.MixpeConfig`; :mod:`.golden`
the bit-exact NumPy GEMM the hardware is checked against.
"""
