"""Shared simulation engine: the Verilator/cocotb runner every family's RTL runs under."""
