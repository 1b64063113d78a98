"""transformers eager on the bamba-1.5b config (random weights, bf16): the
peer for Braid's end-to-end numbers. Prints prefill time at S=4096 and greedy
decode ms/step after a 512-token prompt, median of repeats, CUDA-synchronized.

  python hf_bamba_eager.py CONFIG.json
"""
import json
import statistics
import sys
import time

import torch
import transformers


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def decode_floats(value):
    """transformers 5 writes infinities as {"__float__": "Infinity"}."""
    if isinstance(value, dict) and "__float__" in value:
        return float(value["__float__"].replace("Infinity", "inf"))
    if isinstance(value, list):
        return [decode_floats(v) for v in value]
    return value


def main(path):
    raw = json.load(open(path))
    config = transformers.BambaConfig(**{k: decode_floats(v) for k, v in raw.items()
                                         if k not in ("architectures", "model_type")})
    torch.manual_seed(0)
    model = transformers.BambaForCausalLM(config).to(torch.bfloat16).cuda().eval()
    ids4096 = torch.randint(3, config.vocab_size, (1, 4096), device="cuda")
    ids512 = torch.randint(3, config.vocab_size, (1, 512), device="cuda")
    with torch.no_grad():
        model(ids4096[:, :256])  # warm up
        prefill = timed(lambda: model(ids4096, logits_to_keep=1), 3)
        generate = lambda n: model.generate(ids512, max_new_tokens=n, min_new_tokens=n,
                                            do_sample=False, pad_token_id=0)
        generate(4)
        t1 = timed(lambda: generate(1), 3)
        t33 = timed(lambda: generate(33), 2)
    print(json.dumps(dict(transformers=transformers.__version__, torch=torch.__version__,
                          device=torch.cuda.get_device_name(),
                          prefill_s4096_ms=prefill * 1e3,
                          decode_ms_per_step=(t33 - t1) / 32 * 1e3)))


if __name__ == "__main__":
    main(sys.argv[1])
