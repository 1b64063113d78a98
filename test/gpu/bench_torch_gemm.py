#!/usr/bin/env python3
"""cuBLAS (through torch.matmul) at the shapes dense_kernels_test times.

y = x @ w.T with x [M, K], w [N, K] in bf16, fp32 accumulation, as Braid's
linear. Median of CUDA-event timings over 7 x 20 launches after warm-up,
random inputs (never zeros), on the current GPU. --prefill: M = 4096 only.
"""
import sys

import torch

SHAPES = [(8512, 2048), (2048, 2048), (4096, 2048), (11264, 2048), (2048, 4096),
          (2048, 5632), (32000, 2048)]
# Prefill, then decode batches (the weights streamed from HBM).
ROWS = (4096, 1, 17, 32, 64, 128)


def time_ms(fn, iters=20, reps=7):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(iters):
            fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) / iters)
    times.sort()
    return times[len(times) // 2]


def main():
    torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = False
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}, "
          f"cuda {torch.version.cuda}")
    for m in (4096,) if "--prefill" in sys.argv[1:] else ROWS:
        for n, k in SHAPES:
            x = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
            w = torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
            # Decode streams the weights: rotate over copies larger than L2.
            copies = [w] if m == 4096 else [
                w.clone() for _ in range(max(2, (256 << 20) // (n * k * 2) + 1))]
            it = [0]

            def run():
                it[0] += 1
                return torch.matmul(x, copies[it[0] % len(copies)].t())
            ms = time_ms(run)
            flops = 2.0 * m * n * k
            nbytes = 2.0 * (m * k + n * k + m * n)
            print(f"TORCH M={m:<5} N={n:<6} K={k:<5} {ms:8.4f} ms  "
                  f"{flops / ms / 1e9:7.1f} TFLOP/s {nbytes / ms / 1e6:7.1f} GB/s")
    # Copy bandwidth (bytes read + written), for the decode floor.
    a = torch.empty(1 << 28, device="cuda", dtype=torch.uint8).random_()
    b = torch.empty_like(a)
    ms = time_ms(lambda: b.copy_(a))
    print(f"TORCH copy 256 MiB: {ms:.4f} ms, {2 * a.numel() / ms / 1e6:.1f} GB/s")


if __name__ == "__main__":
    main()
