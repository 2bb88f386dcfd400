"""GPU baseline: a roofline of the same decode step on an A100-40GB-class GPU.

Each op takes ``max(flops / peak, bytes / bandwidth)``; the ops run back to back. Peak
FP16 tensor throughput 312 TFLOPS (dense) and HBM2 bandwidth 1,555 GB/s are NVIDIA's A100
40 GB figures (NVIDIA A100 Tensor Core GPU datasheet, and the "NVIDIA A100 Tensor Core GPU
Architecture" whitepaper, 2020). A roofline ignores kernel launch gaps and the efficiency
GPUs actually reach on GEMV-shaped decode kernels, so it is an upper bound for the GPU.
The GPU runs the same shard of the model as one NPU + PIM device.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.families.npu_pim.workload import ELEM_BYTES, Shard

#: NVIDIA A100 40 GB datasheet: FP16 Tensor Core, dense.
A100_PEAK_FLOPS = 312e12
#: NVIDIA A100 40 GB datasheet: HBM2 memory bandwidth.
A100_HBM_BYTES_PER_S = 1555e9
GPU_SOURCE = "NVIDIA A100 Tensor Core GPU datasheet (40 GB SXM): 312 TFLOPS FP16 dense, 1,555 GB/s"


@dataclass(frozen=True)
class Gpu:
    peak_flops: float = A100_PEAK_FLOPS
    bytes_per_s: float = A100_HBM_BYTES_PER_S

    def op_seconds(self, flops: float, nbytes: float) -> float:
        return max(flops / self.peak_flops, nbytes / self.bytes_per_s)


def step_seconds(shard: Shard, seqs, gpu: Gpu = Gpu()) -> float:
    """Roofline time of one decode step of ``seqs`` requests."""
    m = len(seqs)
    t = 0.0
    for _, k, n in shard.gemms(m).values():
        t += gpu.op_seconds(2.0 * m * k * n, ELEM_BYTES * (k * n + m * k + m * n))
    ctx = float(sum(seqs))
    # score and context GEMVs of every request and head: K and V read once
    t += gpu.op_seconds(2.0 * 2 * ctx * shard.e, 2 * ctx * shard.e * ELEM_BYTES)
    return t * shard.layers
