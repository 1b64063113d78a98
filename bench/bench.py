"""Braid's benchmark: the bamba-1.5b config end to end, each kernel family at
that model's shapes, and the peers, measured in one run on one GPU
(docs/benchmarks.md records the results; ../shared/DESIGN.md "Performance
method" says why it is shaped this way).

  python3 bench/bench.py PACK OUTDIR [--config CONFIG.json] [--no-hf]

PACK holds braid-run (built with BRAID_PROFILE support), bamba15.bundle
(braidc CONFIG --target=cuda:sm_90a --dtype=bf16), ids4096.txt and ids512.txt
(comma-separated token ids) and, unless --config says otherwise,
bamba-1.5b.json. The program

  1. measures the card's ceilings: the bf16 matrix rate (an 8192^3
     torch.matmul on random data) and the copy bandwidth (a 1 GiB
     device-to-device copy, bytes read plus written);
  2. runs braid-run (random weights, bf16): prefill S=4096 (--repeat 5) and
     greedy decode after 512 tokens, launches one by one and as a CUDA graph,
     once for the wall time and once with BRAID_PROFILE for the time of every
     kernel (runtime/README.md);
  3. runs the peers in this process: torch.matmul (cuBLAS) at every GEMM
     shape of the model at M=4096 and M=1, SDPA pinned to flash and to cuDNN
     at the attention shapes, transformers eager on the same config;
  4. counts each family's floor from the config (model_costs below):
     max(FLOPs / matrix rate, bytes / copy bandwidth), per launch, summed;
  5. unless --quick, the milestone shapes (issues M1.7 and M1.8): prefill
     S=16384 (B=1) and B=4 x S=4096, whose profiles give the SSD scan per
     layer at the two shapes of ../shared/peers (mamba_ssm Triton 0.951 ms
     and 0.667 ms) and attention at S=16384 against SDPA; greedy decode at
     batch 64 after 512 tokens (CUDA graph) against its bandwidth floor;
  6. prints one table and writes OUTDIR/bench.json, OUTDIR/chart.png (and
     chart.svg when matplotlib is missing) and OUTDIR/profiles.tar.gz.
"""
import argparse
import json
import math
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib

import torch
import torch.nn.functional as F

PREFILL_T = 4096
DECODE_PROMPT = 512
DECODE_STEPS = 128


# --------------------------------------------------------------------------
# Timing in this process
# --------------------------------------------------------------------------

def bench_ms(fn, reps=30, warmup=5):
    """Median milliseconds of fn(i) by device events, one pair per call.
    fn gets the repetition index so that it can rotate among input copies:
    repeated runs over one buffer would measure the L2 cache. A spin kernel
    first holds the stream while Python enqueues every repetition, so that
    a small kernel's pair does not time the host's dispatch instead."""
    for i in range(warmup):
        fn(i)
    torch.cuda.synchronize()
    pairs = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
             for _ in range(reps)]
    torch.cuda._sleep(reps * 100_000)  # ~50 us of cycles per repetition
    for i, (start, end) in enumerate(pairs):
        start.record()
        fn(i)
        end.record()
    torch.cuda.synchronize()
    return statistics.median(s.elapsed_time(e) for s, e in pairs)


def copies_for(nbytes, total=256 << 20, most=32):
    """How many copies of an input make a rotation larger than the L2 cache."""
    return max(2, min(most, math.ceil(total / max(nbytes, 1))))


def measure_ceilings():
    """The card's bf16 matrix rate (FLOP/s) and copy bandwidth (B/s)."""
    n = 8192
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    mm_ms = bench_ms(lambda i: a @ b, reps=20)
    src = torch.randn(1 << 29, device="cuda", dtype=torch.bfloat16)  # 1 GiB
    dst = torch.empty_like(src)
    copy_ms = bench_ms(lambda i: dst.copy_(src), reps=20)
    return dict(matrix_flops=2 * n**3 / (mm_ms * 1e-3),
                copy_bytes_per_s=2 * src.numel() * 2 / (copy_ms * 1e-3))


# --------------------------------------------------------------------------
# The model's shapes and costs (from the config)
# --------------------------------------------------------------------------

def model_shapes(cfg):
    """Dimensions of the Bamba config that the costs and peers need."""
    h = cfg["hidden_size"]
    d_inner = cfg["mamba_expand"] * h
    gn = cfg["mamba_n_groups"] * cfg["mamba_d_state"]
    heads, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = h // heads
    attn = len(cfg["attn_layer_indices"])
    return dict(
        hidden=h, layers=cfg["num_hidden_layers"], attn_layers=attn,
        mamba_layers=cfg["num_hidden_layers"] - attn, d_inner=d_inner,
        conv_dim=d_inner + 2 * gn, ssm_heads=cfg["mamba_n_heads"],
        ssm_head_dim=cfg["mamba_d_head"], state=cfg["mamba_d_state"],
        groups=cfg["mamba_n_groups"], chunk=cfg["mamba_chunk_size"],
        conv_k=cfg["mamba_d_conv"], mlp=cfg["intermediate_size"],
        vocab=cfg["vocab_size"], heads=heads, kv_heads=kv, head_dim=hd,
        rotary=int(hd * cfg.get("partial_rotary_factor", 1.0)))


def gemms(s):
    """(name, N, K, count per entry) of every y = x W^T of the model, as
    braidc fuses them (q/k/v in one, gate/up in one)."""
    qkv = (s["heads"] + 2 * s["kv_heads"]) * s["head_dim"]
    return [("in_proj", 2 * s["d_inner"] + 2 * s["groups"] * s["state"] + s["ssm_heads"],
             s["hidden"], s["mamba_layers"]),
            ("out_proj", s["hidden"], s["d_inner"], s["mamba_layers"]),
            ("qkv_proj", qkv, s["hidden"], s["attn_layers"]),
            ("o_proj", s["hidden"], s["heads"] * s["head_dim"], s["attn_layers"]),
            ("gate_up", 2 * s["mlp"], s["hidden"], s["layers"]),
            ("down", s["hidden"], s["mlp"], s["layers"]),
            ("lm_head", s["vocab"], s["hidden"], 1)]


def model_costs(s, tokens, context):
    """Per kernel family: a list of (FLOPs, bytes, count) per launch kind, for
    one entry call over `tokens` tokens (batch 1) with `context` keys in the
    attention caches. Bytes are each input read once and each output written
    once: bf16 activations, weights and KV cache (2 B), f32 SSM and conv
    state (4 B), f32 logits. FLOPs count matrix work only (2 per
    multiply-add), at the matrix rate; elementwise families are bytes alone.
    """
    T, H, E, bf, f32 = tokens, s["hidden"], 2, 2, 4
    c = {}
    c["embedding"] = [(0, 2 * T * H * bf, 1)]  # gather rows, write
    c["rms_norm"] = [(0, 2 * T * H * bf + H * bf, 2 * s["layers"] + 1)]
    c["linear"] = [(2 * T * n * k, (T * k + n * k) * bf + T * n * (f32 if name == "lm_head" else bf), cnt)
                   for name, n, k, cnt in gemms(s)]
    # split: read the fused GEMM output, write its parts.
    c["split"] = [(0, 2 * T * (2 * s["d_inner"] + 2 * s["groups"] * s["state"] + s["ssm_heads"]) * bf, s["mamba_layers"]),
                  (0, 2 * T * s["conv_dim"] * bf, s["mamba_layers"]),
                  (0, 2 * T * 2 * s["mlp"] * bf, s["layers"]),
                  (0, 2 * T * (s["heads"] + 2 * s["kv_heads"]) * s["head_dim"] * bf, s["attn_layers"])]
    c["causal_conv1d"] = [(0, 2 * T * s["conv_dim"] * bf + 2 * s["conv_dim"] * (s["conv_k"] - 1) * f32,
                           s["mamba_layers"])]
    # SSD (Mamba2, chunk Q): per token, C B^T within the chunk (causal half,
    # shared by the heads of a group), its product with x (causal half), the
    # chunk state B^T x and the state's contribution C h: Q N G + Q P Hs +
    # 4 N P Hs. Decode: the state update and read-out, 4 N P Hs.
    Q, N, P, Hs, G = s["chunk"], s["state"], s["ssm_head_dim"], s["ssm_heads"], s["groups"]
    ssd_flops = T * (4 * N * P * Hs if T == 1 else Q * N * G + Q * P * Hs + 4 * N * P * Hs)
    ssd_bytes = (2 * T * Hs * P + T * Hs + 2 * T * G * N) * bf + 2 * Hs * P * N * f32
    c["ssd_scan"] = [(ssd_flops, ssd_bytes, s["mamba_layers"])]
    c["gated_rms_norm"] = [(0, 3 * T * s["d_inner"] * bf, s["mamba_layers"])]
    c["add"] = [(0, 3 * T * H * bf, 2 * s["layers"])]
    c["activation"] = [(0, 2 * T * s["mlp"] * bf, s["layers"])]
    c["mul"] = [(0, 3 * T * s["mlp"] * bf, s["layers"])]
    c["rope"] = [(0, 2 * T * s["heads"] * s["head_dim"] * bf, s["attn_layers"]),
                 (0, 2 * T * s["kv_heads"] * s["head_dim"] * bf, s["attn_layers"])]
    # Attention: QK^T and PV, 4 T L D per head over L keys; causal prefill
    # sees half the square. Bytes: q, k, v, o, and the cache (written in
    # prefill, read in decode).
    Hq, Hk, D = s["heads"], s["kv_heads"], s["head_dim"]
    attn_flops = 2 * Hq * T * T * D if T > 1 else 4 * Hq * context * D
    cache = 2 * Hk * context * D * bf
    attn_bytes = (2 * T * Hq * D + 2 * T * Hk * D) * bf + cache
    c["attention"] = [(attn_flops, attn_bytes, s["attn_layers"])]
    return c


def floor_ms(costs, ceil):
    """Per family: the sum over its launches of max(FLOPs/rate, bytes/bw)."""
    out = {}
    for fam, kinds in costs.items():
        out[fam] = sum(cnt * max(fl / ceil["matrix_flops"], by / ceil["copy_bytes_per_s"])
                       for fl, by, cnt in kinds) * 1e3
    return out


def end_to_end_floor_ms(s, costs, weight_bytes, ceil, tokens, context):
    """The whole model fused: all matrix FLOPs at the matrix rate, or the
    bytes nothing can avoid (weights once, SSM state in and out, the KV cache
    written or read, the f32 logits out) at the copy bandwidth, whichever is
    larger."""
    flops = sum(fl * cnt for kinds in costs.values() for fl, _, cnt in kinds)
    state = s["mamba_layers"] * 2 * s["ssm_heads"] * s["ssm_head_dim"] * s["state"] * 4
    cache = s["attn_layers"] * 2 * s["kv_heads"] * context * s["head_dim"] * 2
    nbytes = weight_bytes + state + cache + tokens * s["vocab"] * 4
    return 1e3 * max(flops / ceil["matrix_flops"], nbytes / ceil["copy_bytes_per_s"])


# --------------------------------------------------------------------------
# Braid (braid-run in a child process)
# --------------------------------------------------------------------------

def read_manifest(bundle):
    """The bundle's manifest JSON (docs/bundle.md: a 32-byte header with the
    section count at byte 12, then 48-byte entries: name[24], offset, size)."""
    with open(bundle, "rb") as f:
        data = f.read()
    count = struct.unpack_from("<I", data, 12)[0]
    for i in range(count):
        name, offset, size = struct.unpack_from("<24sQQ", data, 32 + 48 * i)
        if name.rstrip(b"\0") == b"manifest":
            return json.loads(data[offset:offset + size])
    raise SystemExit(f"{bundle}: no manifest section")


def braid_run(pack, args, profile=None, log=None):
    env = dict(os.environ)
    if profile:
        env["BRAID_PROFILE"] = profile
    cmd = [os.path.join(pack, "braid-run")] + args
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    if log is not None:
        log.append("$ " + " ".join(cmd) + "\n" + out.stdout + out.stderr)
    if out.returncode != 0:
        raise RuntimeError(f"braid-run failed ({out.returncode}): {out.stderr[-2000:]}")
    return out.stdout


def run_braid(pack, work, log):
    """Wall times from plain runs, per-kernel times from profiled ones."""
    bundle = os.path.join(pack, "bamba15.bundle")
    common = ["--backend", "cuda", "--random-weights", "1"]
    prefill = ["run", bundle] + common + ["--max-seq", str(PREFILL_T), "--repeat", "5",
                                          "--ids-file", os.path.join(pack, "ids4096.txt")]
    decode = ["generate", bundle] + common + ["--max-seq", "1024", "-n", str(DECODE_STEPS),
                                              "--ids-file", os.path.join(pack, "ids512.txt")]
    r = {}
    out = braid_run(pack, prefill, log=log)
    r["prefill_wall_ms"] = float(re.search(r"median ([\d.]+) ms", out).group(1))
    for name, extra in (("decode", []), ("decode_graph", ["--cuda-graph"])):
        out = braid_run(pack, decode + extra, log=log)
        r[name + "_wall_ms_per_step"] = float(re.search(r"([\d.]+) ms/step", out).group(1))
    r["profiles"] = {}
    # Profiled runs: the prefill's 4 later calls, 63 decode steps.
    short = [a if a != str(DECODE_STEPS) else "64" for a in decode]
    for name, args in (("prefill", prefill), ("decode", short),
                       ("decode_graph", short + ["--cuda-graph"])):
        path = os.path.join(work, f"profile_{name}.json")
        braid_run(pack, args, profile=path, log=log)
        r["profiles"][name] = path
    return r


# The anchors of ../shared/peers/h100-2026-11-26.json (mamba_ssm is not
# installed on the GPU machine, so its kernels cannot run here).
TRITON_SSD_MS = {(4, 4096): 0.951, (1, 16384): 0.667}
LONG_T = 16384
BATCH_DECODE = 64


def write_ids(work, name, batch, tokens, seed):
    """A file of `batch` rows of `tokens` random ids (one row per line)."""
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, 32000, (batch, tokens), generator=gen)
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write("\n".join(",".join(map(str, r.tolist())) for r in ids) + "\n")
    return path


def launch_times(manifest, entry, launch_ms, kernel):
    """Per-launch medians of one family in an entry, in launch order."""
    launches = next(e for e in manifest["entries"] if e["name"] == entry)["launches"]
    return [launch_ms[i] for i, l in enumerate(launches) if l["kernel"] == kernel and i in launch_ms]


def decode_floor_ms(s, weight_bytes, ceil, batch, context):
    """Bytes one decode step must move at `batch` sequences: the weights once;
    per sequence the SSM state (f32) read and written, the conv state, the KV
    cache read at `context` keys (bf16) and the f32 logits."""
    per_seq = (s["mamba_layers"] * (2 * s["ssm_heads"] * s["ssm_head_dim"] * s["state"] * 4
                                    + 2 * s["conv_dim"] * (s["conv_k"] - 1) * 4)
               + s["attn_layers"] * 2 * s["kv_heads"] * context * s["head_dim"] * 2
               + s["vocab"] * 4)
    return 1e3 * (weight_bytes + batch * per_seq) / ceil["copy_bytes_per_s"]


def ssd_floor_ms(s, ceil, batch, tokens):
    """One SSD layer over batch x tokens (model_costs' formulas, with the
    state read and written once per sequence)."""
    fl, by, _ = model_costs(s, batch * tokens, tokens)["ssd_scan"][0]
    by += (batch - 1) * 2 * s["ssm_heads"] * s["ssm_head_dim"] * s["state"] * 4
    return 1e3 * max(fl / ceil["matrix_flops"], by / ceil["copy_bytes_per_s"])


def run_extended(pack, work, log, s, ceil, manifest, weight_bytes):
    """The milestone shapes (docstring, step 5). Each part is independent:
    a failure is logged and leaves its rows out."""
    bundle = os.path.join(pack, "bamba15.bundle")
    common = ["--backend", "cuda", "--random-weights", "1"]
    rows, raw = [], {}

    def prefill_part(label, batch, tokens, repeat):
        ids = write_ids(work, f"ids_{batch}x{tokens}.txt", batch, tokens, 7)
        args = ["run", bundle] + common + ["--max-seq", str(tokens), "--repeat", str(repeat),
                                           "--ids-file", ids]
        prof = os.path.join(work, f"profile_{label}.json")
        braid_run(pack, args, profile=prof, log=log)
        fam, call_ms, per_launch = profile_split(prof, "prefill")
        os.remove(prof)
        ssd = launch_times(manifest, "prefill", per_launch, "ssd_scan")
        attn = launch_times(manifest, "prefill", per_launch, "attention")
        raw[label] = dict(device_ms=call_ms, families=fam,
                          ssd_ms=statistics.median(ssd) if ssd else None,
                          attention_ms=statistics.median(attn) if attn else None)
        return raw[label]

    try:
        r = prefill_part("prefill_B1_S16384", 1, LONG_T, 3)
        costs = model_costs(s, LONG_T, LONG_T)
        e2e = end_to_end_floor_ms(s, costs, weight_bytes, ceil, LONG_T, LONG_T)
        rows.append(row(f"e2e prefill S={LONG_T} (device, profiled)", r["device_ms"], e2e,
                        185.0, "transformers + mamba_ssm Triton, H100 (peers file)"))
        rows.append(row(f"ssd_scan B=1 S={LONG_T}, one layer", r["ssd_ms"],
                        ssd_floor_ms(s, ceil, 1, LONG_T), TRITON_SSD_MS[(1, LONG_T)],
                        "mamba_ssm Triton, H100 (peers file)"))
        fl = floor_ms({"attention": costs["attention"]}, ceil)["attention"] / s["attn_layers"]
        for b in ("flash", "cudnn"):
            peer = sdpa_ms(b, s, LONG_T, LONG_T, True)
            raw[f"sdpa_{b}_S{LONG_T}"] = peer
            rows.append(row(f"attention prefill S={LONG_T}, one layer (SDPA {b})",
                            r["attention_ms"], fl, peer["ms"], f"SDPA {b}"))
    except Exception as e:  # one part must not sink the run
        log.append(f"prefill S={LONG_T} failed: {e!r}")
        print(f"prefill S={LONG_T} failed:", e, flush=True)
    try:
        r = prefill_part("prefill_B4_S4096", 4, PREFILL_T, 2)
        rows.append(row(f"ssd_scan B=4 S={PREFILL_T}, one layer", r["ssd_ms"],
                        ssd_floor_ms(s, ceil, 4, PREFILL_T), TRITON_SSD_MS[(4, PREFILL_T)],
                        "mamba_ssm Triton, H100 (peers file)"))
    except Exception as e:
        log.append(f"prefill B=4 failed: {e!r}")
        print("prefill B=4 failed:", e, flush=True)
    try:
        ids = write_ids(work, f"ids_{BATCH_DECODE}x{DECODE_PROMPT}.txt", BATCH_DECODE,
                        DECODE_PROMPT, 8)
        steps = 64
        out = braid_run(pack, ["generate", bundle] + common +
                        ["--max-seq", "1024", "-n", str(steps), "--ids-file", ids,
                         "--cuda-graph"], log=log)
        ms = float(re.search(r"([\d.]+) ms/step", out).group(1))
        ctx = DECODE_PROMPT + steps // 2
        fl = decode_floor_ms(s, weight_bytes, ceil, BATCH_DECODE, ctx)
        raw["decode_B64_graph_ms_per_step"] = ms
        raw["decode_B64_tokens_per_s"] = BATCH_DECODE * 1e3 / ms
        raw["decode_B64_floor_ms"] = fl
        rows.append(row(f"e2e decode B={BATCH_DECODE} ms/step, CUDA graph", ms, fl))
        fl1 = decode_floor_ms(s, weight_bytes, ceil, 1, DECODE_PROMPT + DECODE_STEPS // 2)
        raw["decode_B1_floor_ms_bytes_only"] = fl1
    except Exception as e:
        log.append(f"decode B={BATCH_DECODE} failed: {e!r}")
        print(f"decode B={BATCH_DECODE} failed:", e, flush=True)
    return rows, raw


def profile_split(path, entry):
    """From a BRAID_PROFILE file, over the calls of `entry` but its first
    (one-time costs): per family the median of its time per call, the median
    call time, and per launch index the median kernel time."""
    p = json.load(open(path))
    calls = [c for c in p["calls"] if c["entry"] == entry and not c["graph"]][1:]
    keep = {c["call"] for c in calls}
    per_call, per_launch = {}, {}  # family -> call -> ms; launch -> call -> ms
    for k in p["kernels"]:
        if k["call"] in keep:  # a launch may run several kernels: sum them
            for table, key in ((per_call, k["family"]), (per_launch, k["launch"])):
                t = table.setdefault(key, {})
                t[k["call"]] = t.get(k["call"], 0.0) + k["ms"]
    median = lambda table: {key: statistics.median(v.values()) for key, v in table.items()}
    call_ms = statistics.median(c["ms"] for c in calls) if calls else None
    return median(per_call), call_ms, median(per_launch)


def braid_gemm_ms(manifest, entry, launch_ms):
    """Median per-launch Braid time for each GEMM shape (N, K) of an entry."""
    launches = next(e for e in manifest["entries"] if e["name"] == entry)["launches"]
    by_shape = {}
    for i, l in enumerate(launches):
        if l["kernel"] == "linear" and i in launch_ms:
            n, k = l["operands"][1]["shape"]
            by_shape.setdefault((n, k), []).append(launch_ms[i])
    return {shape: statistics.median(v) for shape, v in by_shape.items()}


# --------------------------------------------------------------------------
# Peers in this process
# --------------------------------------------------------------------------

def cublas_ms(n, k, m):
    """torch.matmul (cuBLAS), x [m, k] @ W^T, rotating W copies past L2."""
    ws = [torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
          for _ in range(copies_for(n * k * 2))]
    x = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
    ms = bench_ms(lambda i: x @ ws[i % len(ws)].t())
    del ws
    return ms


def sdpa_ms(backend, s, q_len, kv_len, causal):
    """SDPA pinned to one backend (None when it refuses the shape). GQA by
    enable_gqa where the backend takes it, else with K/V expanded."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    pick = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION}[backend]
    q = torch.randn(1, s["heads"], q_len, s["head_dim"], device="cuda", dtype=torch.bfloat16)
    kv = [torch.randn(1, s["kv_heads"], kv_len, s["head_dim"], device="cuda",
                      dtype=torch.bfloat16) for _ in range(2)]
    group = s["heads"] // s["kv_heads"]
    for gqa in (True, False):
        k, v = kv if gqa else [t.repeat_interleave(group, dim=1) for t in kv]
        try:
            with sdpa_kernel([pick]):
                fn = lambda i: F.scaled_dot_product_attention(q, k, v, is_causal=causal,
                                                              enable_gqa=gqa)
                fn(0)
                return dict(ms=bench_ms(fn), gqa=gqa)
        except RuntimeError as e:
            err = str(e).splitlines()[0]
    return dict(ms=None, error=err)


def hf_eager(cfg_raw, log):
    """transformers eager (torch-only paths as installed), bf16, random
    weights made on the GPU: prefill S=4096 with logits_to_keep=1, and greedy
    decode ms/step after 512 tokens (generate(17) minus generate(1))."""
    import transformers
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from hf_bamba_eager import decode_floats  # the peer's own config reader
    cfg = transformers.BambaConfig(**{k: decode_floats(v) for k, v in cfg_raw.items()
                                      if k not in ("architectures", "model_type")})
    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = transformers.BambaForCausalLM(cfg).eval()
    torch.set_default_dtype(torch.float32)
    ids = torch.randint(3, cfg.vocab_size, (1, PREFILL_T), device="cuda")

    def wall(fn, reps):
        times = []
        for _ in range(reps):
            torch.cuda.synchronize()
            t = time.perf_counter()
            fn()
            torch.cuda.synchronize()
            times.append((time.perf_counter() - t) * 1e3)
        return statistics.median(times)

    with torch.no_grad():
        model(ids[:, :256])
        prefill = wall(lambda: model(ids, logits_to_keep=1), 2)
        gen = lambda n: model.generate(ids[:, :DECODE_PROMPT], max_new_tokens=n,
                                       min_new_tokens=n, do_sample=False, pad_token_id=0)
        gen(2)
        t1, t17 = wall(lambda: gen(1), 2), wall(lambda: gen(17), 1)
    del model
    torch.cuda.empty_cache()
    log.append(f"transformers {transformers.__version__}: prefill {prefill:.1f} ms, "
               f"generate(1) {t1:.1f} ms, generate(17) {t17:.1f} ms")
    return dict(version=transformers.__version__, prefill_ms=prefill,
                decode_ms_per_step=(t17 - t1) / 16)


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def row(name, braid, floor, peer=None, peer_name=""):
    return dict(name=name, braid_ms=braid, floor_ms=floor,
                time_over_floor=braid / floor if braid and floor else None,
                peer=peer_name, peer_ms=peer,
                braid_over_peer=braid / peer if braid and peer else None)


def print_table(rows):
    fmt = lambda v, p=3: "-" if v is None else f"{v:.{p}f}"
    print(f"{'measurement':44} {'Braid ms':>10} {'floor ms':>10} {'t/floor':>8} "
          f"{'peer ms':>10} {'Braid/peer':>10}  peer")
    for r in rows:
        print(f"{r['name']:44} {fmt(r['braid_ms']):>10} {fmt(r['floor_ms']):>10} "
              f"{fmt(r['time_over_floor'], 1):>8} {fmt(r['peer_ms']):>10} "
              f"{fmt(r['braid_over_peer'], 2):>10}  {r['peer']}")


def draw_chart(rows, out_dir, title):
    """Time and floor per row on a log scale: matplotlib where installed,
    else an SVG written by hand plus a PNG of the bars alone."""
    rows = [r for r in rows if r["braid_ms"] and r["floor_ms"]]
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        write_svg(rows, os.path.join(out_dir, "chart.svg"), title)
        write_png(rows, os.path.join(out_dir, "chart.png"))
        return "svg+png(bars only)"
    fig, ax = plt.subplots(figsize=(10, 0.32 * len(rows) + 1.5))
    y = range(len(rows))
    ax.barh([i - 0.2 for i in y], [r["braid_ms"] for r in rows], 0.4, label="Braid")
    ax.barh([i + 0.2 for i in y], [r["floor_ms"] for r in rows], 0.4, label="floor")
    ax.set_yticks(list(y), [r["name"] for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("ms (log)")
    ax.set_title(title, fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "chart.png"), dpi=110)
    return "matplotlib"


def log_x(v, lo, hi, width):
    return width * (math.log10(v) - lo) / (hi - lo)


def scale(rows):
    vals = [v for r in rows for v in (r["braid_ms"], r["floor_ms"])]
    return math.floor(math.log10(min(vals))), math.ceil(math.log10(max(vals)))


def write_svg(rows, path, title):
    lo, hi = scale(rows)
    left, width, step = 300, 600, 18
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 20}" '
             f'height="{len(rows) * step + 60}" font-family="sans-serif" font-size="10">',
             f'<text x="10" y="15">{title} (log scale, blue Braid, grey floor)</text>']
    for d in range(lo, hi + 1):
        x = left + log_x(10 ** d, lo, hi, width)
        parts.append(f'<line x1="{x}" y1="25" x2="{x}" y2="{len(rows) * step + 30}" stroke="#ddd"/>'
                     f'<text x="{x}" y="{len(rows) * step + 45}">{10 ** d:g} ms</text>')
    for i, r in enumerate(rows):
        y = 30 + i * step
        parts.append(f'<text x="5" y="{y + 11}">{r["name"]}</text>')
        parts.append(f'<rect x="{left}" y="{y}" height="7" fill="#1f77b4" '
                     f'width="{max(1, log_x(r["braid_ms"], lo, hi, width)):.1f}"/>')
        parts.append(f'<rect x="{left}" y="{y + 8}" height="7" fill="#999" '
                     f'width="{max(1, log_x(r["floor_ms"], lo, hi, width)):.1f}"/>')
    open(path, "w").write("\n".join(parts + ["</svg>"]))


def write_png(rows, path):
    """An RGB PNG with a blue (Braid) and a grey (floor) bar per row, log
    scale with a line per decade; no text (the SVG and the JSON have it)."""
    lo, hi = scale(rows)
    width, step = 600, 16
    height = len(rows) * step + 10
    pix = [[(255, 255, 255)] * width for _ in range(height)]
    for d in range(lo, hi + 1):
        x = min(width - 1, int(log_x(10 ** d, lo, hi, width)))
        for y in range(height):
            pix[y][x] = (200, 200, 200)
    for i, r in enumerate(rows):
        for value, colour, dy in ((r["braid_ms"], (31, 119, 180), 0), (r["floor_ms"], (150, 150, 150), 7)):
            for y in range(5 + i * step + dy, 5 + i * step + dy + 6):
                for x in range(max(1, int(log_x(value, lo, hi, width)))):
                    pix[y][x] = colour
    raw = b"".join(b"\0" + bytes(c for p in line for c in p) for line in pix)

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    open(path, "wb").write(png)


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pack")
    ap.add_argument("out")
    ap.add_argument("--config")
    ap.add_argument("--no-hf", action="store_true", help="skip transformers eager")
    ap.add_argument("--quick", action="store_true",
                    help="skip the milestone shapes (S=16384, B=4 prefill, B=64 decode)")
    ap.add_argument("--budget", type=float, default=1e9,
                    help="seconds: skip transformers eager (~60 s) when less is left")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="braid-bench-")  # the raw profiles
    started = time.time()
    cfg_raw = json.load(open(a.config or os.path.join(a.pack, "bamba-1.5b.json")))
    s = model_shapes(cfg_raw)
    log = []
    smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,clocks.max.sm",
                          "--format=csv,noheader"], capture_output=True, text=True).stdout.strip()
    info = dict(date=time.strftime("%Y-%m-%d"), gpu=smi, torch=torch.__version__,
                cudnn=torch.backends.cudnn.version(), device=torch.cuda.get_device_name())
    print("card:", smi, "| torch", torch.__version__, flush=True)

    ceil = measure_ceilings()
    print(f"ceilings: bf16 matmul {ceil['matrix_flops'] / 1e12:.0f} TFLOP/s, "
          f"copy {ceil['copy_bytes_per_s'] / 1e9:.0f} GB/s", flush=True)
    braid = run_braid(a.pack, work, log)
    print("braid-run done", flush=True)
    manifest = read_manifest(os.path.join(a.pack, "bamba15.bundle"))
    weight_bytes = sum(math.prod(w["shape"]) * 2 for w in manifest["weights"])

    fam_pre, call_pre, launch_pre = profile_split(braid["profiles"]["prefill"], "prefill")
    fam_dec, call_dec, launch_dec = profile_split(braid["profiles"]["decode"], "decode")
    graph = json.load(open(braid["profiles"]["decode_graph"]))
    graph_calls = [c["ms"] for c in graph["calls"] if c["graph"]][1:]  # first: capture
    graph_ms = statistics.median(graph_calls) if graph_calls else None

    ctx = DECODE_PROMPT + DECODE_STEPS // 2  # mean keys over the decode steps
    cost_pre, cost_dec = model_costs(s, PREFILL_T, PREFILL_T), model_costs(s, 1, ctx)
    floor_pre, floor_dec = floor_ms(cost_pre, ceil), floor_ms(cost_dec, ceil)
    e2e_pre = end_to_end_floor_ms(s, cost_pre, weight_bytes, ceil, PREFILL_T, PREFILL_T)
    e2e_dec = end_to_end_floor_ms(s, cost_dec, weight_bytes, ceil, 1, ctx)

    # Peers.
    gemm_peer = {}
    for name, n, k, cnt in gemms(s):
        for m in (PREFILL_T, 1):
            gemm_peer[(name, m)] = cublas_ms(n, k, m)
    print("cuBLAS done", flush=True)
    attn_peer = {(b, t): sdpa_ms(b, s, *shape) for b in ("flash", "cudnn")
                 for t, shape in (("prefill", (PREFILL_T, PREFILL_T, True)),
                                  ("decode", (1, ctx, False)))}
    print("SDPA done", flush=True)
    hf = None
    if not a.no_hf and time.time() - started > a.budget - 60:
        print("transformers eager skipped: out of --budget", flush=True)
    elif not a.no_hf:
        try:
            hf = hf_eager(cfg_raw, log)
        except Exception as e:  # the peer must not sink the run
            log.append(f"transformers eager failed: {e!r}")
            print("transformers eager failed:", e, flush=True)

    # Rows: end to end, families, GEMM shapes.
    rows = [row(f"e2e prefill S={PREFILL_T} (wall, incl. logits copy)", braid["prefill_wall_ms"], e2e_pre,
                hf and hf["prefill_ms"], "transformers eager (logits_to_keep=1)"),
            row(f"e2e prefill S={PREFILL_T} (device, profiled)", call_pre, e2e_pre),
            row("e2e decode ms/step, one by one", braid["decode_wall_ms_per_step"], e2e_dec,
                hf and hf["decode_ms_per_step"], "transformers eager"),
            row("e2e decode ms/step, CUDA graph", braid["decode_graph_wall_ms_per_step"], e2e_dec,
                hf and hf["decode_ms_per_step"], "transformers eager"),
            row("e2e decode graph replay (device)", graph_ms, e2e_dec)]
    gemm_rows = []
    for entry, fams, floors, launch_ms, m, costs in (
            ("prefill", fam_pre, floor_pre, launch_pre, PREFILL_T, cost_pre),
            ("decode", fam_dec, floor_dec, launch_dec, 1, cost_dec)):
        for fam in sorted(fams, key=lambda f: -fams[f]):
            peer, peer_name = None, ""
            if fam == "linear":
                peer = sum(gemm_peer[(g[0], m)] * g[3] for g in gemms(s))
                peer_name = "cuBLAS (torch.matmul), all GEMMs"
            elif fam == "attention":
                t = attn_peer[("cudnn", entry)]["ms"] or attn_peer[("flash", entry)]["ms"]
                peer = t and t * s["attn_layers"]
                peer_name = "SDPA cuDNN x layers" if attn_peer[("cudnn", entry)]["ms"] else "SDPA flash x layers"
            rows.append(row(f"{entry} {fam}", fams[fam], floors.get(fam), peer, peer_name))
        per_shape = braid_gemm_ms(manifest, entry, launch_ms)
        for name, n, k, cnt in gemms(s):
            fl, by = 2 * m * n * k, (m * k + n * k + m * n) * 2
            fl_ms = 1e3 * max(fl / ceil["matrix_flops"], by / ceil["copy_bytes_per_s"])
            gemm_rows.append(row(f"GEMM {name} M={m} N={n} K={k}", per_shape.get((n, k)), fl_ms,
                                 gemm_peer[(name, m)], "cuBLAS"))
    for t in ("prefill", "decode"):
        flash, cudnn = attn_peer[("flash", t)]["ms"], attn_peer[("cudnn", t)]["ms"]
        launches = next(e for e in manifest["entries"] if e["name"] == t)["launches"]
        lm = launch_pre if t == "prefill" else launch_dec
        braid_attn = [lm[i] for i, l in enumerate(launches) if l["kernel"] == "attention" and i in lm]
        one = statistics.median(braid_attn) if braid_attn else None
        fl = (floor_pre if t == "prefill" else floor_dec)["attention"] / s["attn_layers"]
        gemm_rows.append(row(f"attention {t}, one layer (SDPA flash)", one, fl, flash, "SDPA flash"))
        gemm_rows.append(row(f"attention {t}, one layer (SDPA cuDNN)", one, fl, cudnn, "SDPA cuDNN"))
    rows += gemm_rows
    extended = {}
    if not a.quick:
        ext_rows, extended = run_extended(a.pack, work, log, s, ceil, manifest, weight_bytes)
        print("milestone shapes done", flush=True)
        rows += ext_rows

    title = (f"bamba-1.5b bf16 on {info['device']}: "
             f"matmul {ceil['matrix_flops'] / 1e12:.0f} TFLOP/s, copy {ceil['copy_bytes_per_s'] / 1e9:.0f} GB/s")
    print()
    print(title)
    print_table(rows)
    chart = draw_chart(rows, a.out, title)

    with tarfile.open(os.path.join(a.out, "profiles.tar.gz"), "w:gz") as tar:
        for name, path in braid["profiles"].items():
            tar.add(path, arcname=os.path.basename(path))
    result = dict(info=info, ceilings=ceil, shapes=s, braid={k: v for k, v in braid.items() if k != "profiles"},
                  floors=dict(prefill=floor_pre, decode=floor_dec, e2e_prefill=e2e_pre, e2e_decode=e2e_dec),
                  costs=dict(prefill=cost_pre, decode=cost_dec, decode_context=ctx),
                  peers=dict(cublas={f"{n} M={m}": v for (n, m), v in gemm_peer.items()},
                             sdpa={f"{b} {t}": v for (b, t), v in attn_peer.items()}, hf_eager=hf),
                  extended=extended, rows=rows, chart=chart, seconds=time.time() - started)
    json.dump(result, open(os.path.join(a.out, "bench.json"), "w"), indent=1)
    with open(os.path.join(a.out, "log.txt"), "w") as f:
        f.write("\n".join(log))
    shutil.rmtree(work)  # raw profiles (packed above) and generated ids
    print(f"wrote {a.out}/bench.json, chart ({chart}), profiles.tar.gz in "
          f"{time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
