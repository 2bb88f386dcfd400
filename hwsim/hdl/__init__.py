"""Amaranth generators per family, and the Verilator/cocotb runner they share."""
