"""Accelerator families: config, golden function and models per family."""
