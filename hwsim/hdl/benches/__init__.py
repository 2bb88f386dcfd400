"""cocotb benches (run inside the simulator process by hwsim.hdl.sim.run)."""
