"""Shared EDA flows: Yosys/nextpnr synthesis (cached), the FPGA serial I/O wrapper and the
small reference designs the flows are tested with. No family names live here."""
