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
    # (B, H, KV heads, S, D); bamba-1.5b is H16/KV8: GQA by enable_gqa
    # where the backend takes it, else with K/V expanded to H heads.
    for (B, H, HKV, S, D) in [(1, 32, 32, 4096, 128), (4, 16, 16, 4096, 128),
                              (1, 16, 8, 4096, 128), (1, 16, 8, 16384, 128)]:
        q = torch.randn(B, S, H, D, dtype=torch.bfloat16,
                        device=dev).transpose(1, 2)
        kv = [torch.randn(B, S, HKV, D, dtype=torch.bfloat16,
                          device=dev).transpose(1, 2) for _ in range(2)]
        tag = f"B{B}_H{H}" + (f"_KV{HKV}" if HKV != H else "") + f"_S{S}_D{D}"
        for name, backend in [("flash", SDPBackend.FLASH_ATTENTION),
                              ("cudnn", SDPBackend.CUDNN_ATTENTION)]:
            err = None
            for gqa in ((True, False) if HKV != H else (False,)):
                k, v = kv if gqa or HKV == H else [
                    t.repeat_interleave(H // HKV, dim=1) for t in kv]
                try:
                    with sdpa_kernel(backend):
                        fn = lambda: F.scaled_dot_product_attention(
                            q, k, v, is_causal=True, enable_gqa=gqa)
                        fn()
                        ms = bench(fn)
                    res[f"sdpa_{name}_causal_{tag}"] = {
                        "ms": round(ms, 4), "gqa": gqa,
                        "TFLOPs(2BHS^2D)": round(2 * B * H * S * S * D / ms / 1e9, 1)}
                    err = None
                    break
                except Exception as e:  # a backend may refuse the shape
                    err = str(e).splitlines()[0] if str(e) else repr(e)
            if err is not None:
                res[f"sdpa_{name}_causal_{tag}"] = f"failed: {err}"
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
