#!/usr/bin/env python3
"""Peers and floors for the sequence kernels' timings, on the GPU machine.

PyTorch SDPA (flash and cuDNN backends, bf16, causal) at the shapes that
sequence_kernels_test --bench times, in the [B, S, H, D] layout the Braid
kernels read (transposed views), plus the two ceilings of the floors: a
device-to-device copy (bytes read + written) and a bf16 matrix product.
Medians of triton.testing.do_bench. Prints JSON.
"""
import json

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from triton.testing import do_bench


def bench(fn):
    return do_bench(fn, warmup=100, rep=500, return_mode="median")


def main():
    dev = "cuda"
    res = {"device": torch.cuda.get_device_name(), "torch": torch.__version__}
    x = torch.randn(2**29, dtype=torch.bfloat16, device=dev)
    y = torch.empty_like(x)
    ms = bench(lambda: y.copy_(x))
    res["copy_GBps(read+write)"] = round(2 * x.numel() * 2 / ms / 1e6, 1)
    del x, y
    a = torch.randn(8192, 8192, dtype=torch.bfloat16, device=dev)
    b = torch.randn(8192, 8192, dtype=torch.bfloat16, device=dev)
    ms = bench(lambda: a @ b)
    res["bf16_gemm_8192_TFLOPs"] = round(2 * 8192**3 / ms / 1e9, 1)
    del a, b
    for (B, H, S, D) in [(1, 32, 4096, 128), (4, 16, 4096, 128)]:
        q, k, v = (torch.randn(B, S, H, D, dtype=torch.bfloat16, device=dev)
                   .transpose(1, 2) for _ in range(3))
        for name, backend in [("flash", SDPBackend.FLASH_ATTENTION),
                              ("cudnn", SDPBackend.CUDNN_ATTENTION)]:
            try:
                with sdpa_kernel(backend):
                    ms = bench(lambda: F.scaled_dot_product_attention(
                        q, k, v, is_causal=True))
                res[f"sdpa_{name}_causal_B{B}_H{H}_S{S}_D{D}"] = {
                    "ms": round(ms, 4),
                    "TFLOPs(2BHS^2D)": round(2 * B * H * S * S * D / ms / 1e9, 1)}
            except Exception as e:  # a backend may be unavailable
                res[f"sdpa_{name}_causal_B{B}_H{H}_S{S}_D{D}"] = f"failed: {e}"
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
