"""Accelerator families (one sub-package per family)."""
