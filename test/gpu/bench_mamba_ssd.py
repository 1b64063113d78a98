#!/usr/bin/env python3
"""The mamba_ssm Triton SSD prefill (mamba_chunk_scan_combined) at the two
shapes of issue 8 (H64 P64 N128, one group, chunk 256, bf16, dt_softplus
with dt_bias, D, no z), event-timed medians; prints "not installed" when
mamba_ssm is absent (the peers file then is the anchor)."""
import sys

try:
    import torch
    from mamba_ssm.ops.triton.ssd_combined import mamba_chunk_scan_combined
except Exception as e:  # noqa: BLE001 - any import failure means no peer
    print(f"mamba_ssm not installed ({type(e).__name__}: {e})")
    sys.exit(0)


def bench(fn, reps=20):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    return sorted(times)[len(times) // 2]


dev = "cuda"
H, P, N, G, L = 64, 64, 128, 1, 256
for B, S in ((4, 4096), (1, 16384)):
    g = torch.Generator(device=dev).manual_seed(0)
    x = torch.randn(B, S, H, P, device=dev, dtype=torch.bfloat16, generator=g)
    dt = torch.randn(B, S, H, device=dev, dtype=torch.bfloat16, generator=g)
    A = -torch.rand(H, device=dev, dtype=torch.float32, generator=g) * 8 - 1
    Bm = torch.randn(B, S, G, N, device=dev, dtype=torch.bfloat16, generator=g)
    Cm = torch.randn(B, S, G, N, device=dev, dtype=torch.bfloat16, generator=g)
    D = torch.randn(H, device=dev, dtype=torch.float32, generator=g)
    bias = torch.randn(H, device=dev, dtype=torch.float32, generator=g) * 0.1 - 3
    ms = bench(lambda: mamba_chunk_scan_combined(
        x, dt, A, Bm, Cm, chunk_size=L, D=D, dt_bias=bias, dt_softplus=True))
    print(f"mamba_ssm_triton_ssd_B{B}_S{S}_H{H}_P{P}_N{N}: {ms:.3f} ms")
