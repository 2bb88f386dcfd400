"""NPU + DRAM-PIM system (NeuPIMs): an NPU of systolic arrays and an HBM stack with PIM
banks running batched LLM decode, with three schedules and multi-iteration serving.
Registered as the system ``npu-pim`` (:mod:`.family`)."""
