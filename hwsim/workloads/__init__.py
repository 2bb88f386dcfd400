"""Workloads: operations (GEMM/GEMV with operand formats), LLM graph builders, quantisers."""

from hwsim.workloads.ops import IntFormat, GemmOp, parse_gemm

__all__ = ["IntFormat", "GemmOp", "parse_gemm"]
