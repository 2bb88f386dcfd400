"""Workloads: operations (GEMM/GEMV with operand formats), LLM graph builders, quantisers.

- :mod:`hwsim.workloads.ops` -- :class:`GemmOp` and :class:`IntFormat`;
- :mod:`hwsim.workloads.models` -- real model descriptions (``models/*.yaml``);
- :mod:`hwsim.workloads.recipes` -- named quantisation recipes (operand formats);
- :mod:`hwsim.workloads.graph` -- the ops of a prefill or decode step (:func:`build_ops`);
- :mod:`hwsim.workloads.quant` -- quantisers with their hardware compute path;
- :mod:`hwsim.workloads.error` -- SQNR / relative Frobenius / max-abs error;
- :mod:`hwsim.workloads.synthetic` -- heavy-tailed operands with outlier channels;
- :mod:`hwsim.workloads.realmodel` -- all-MiniLM-L6-v2 in NumPy for real tensors (optional).
"""

from hwsim.workloads.ops import IntFormat, GemmOp, parse_gemm
from hwsim.workloads.models import list_models, load_model
from hwsim.workloads.graph import build_ops, build_workload

__all__ = ["IntFormat", "GemmOp", "parse_gemm", "list_models", "load_model", "build_ops", "build_workload"]
