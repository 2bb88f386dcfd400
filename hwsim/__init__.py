"""hwsim: simulation and design-space exploration of matmul and quantized-LLM accelerators.

Each accelerator family is evaluated at three fidelities that are checked against each
other: a bit-exact NumPy *golden* function, a cycle-approximate *model* (closed form for
sweeps, cycle-level for validation) and *RTL* generated with Amaranth and run under
Verilator through cocotb.
"""

__version__ = "0.1.0"

from hwsim.errors import HwsimError, ConfigError

__all__ = ["__version__", "HwsimError", "ConfigError"]
