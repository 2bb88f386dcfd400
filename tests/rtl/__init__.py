"""cocotb benches run by the RTL runners under Verilator (imported by the simulator process)."""
