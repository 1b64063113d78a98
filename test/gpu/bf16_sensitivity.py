#!/usr/bin/env python3
"""How much logits error does bf16 itself cost on the six goldens?

Runs each golden's transformers model (fp32 weights from test/data/goldens)
several ways and prints the rel-L2 of the logits against golden.safetensors,
per batch row, next to the tolerance of DESIGN.md (3e-2 for bf16):

  fp32          the model as saved (sanity: should be ~1e-6)
  hf-bf16       model.to(torch.bfloat16): what a transformers user gets
  w-all         every parameter rounded to bf16, arithmetic in fp32
  w-mat         only matrices (dim >= 2) rounded: vectors (norms, A_log, D,
                dt_bias, biases) stay fp32, as Braid's mixed policy would keep
  w-mat-r32     w-mat with the MoE routers' weights also fp32
  act           activations rounded to bf16 at every Linear/Embedding/norm
                output, weights fp32
  w-mat+act     both
  w-mat+act-res as w-mat+act, plus every decoder layer's output (the residual
                stream) rounded to bf16
  (--braid DIR: also Braid's saved logits DIR/<golden>.safetensors)

Where `w-mat+act` is already above the tolerance, no kernel can meet it with
bf16 weights and bf16 activations; the numbers say which tensors must stay
fp32. Needs torch, transformers and safetensors (the GPU machine has them);
runs on CUDA if present, else CPU.

usage: test/gpu/bf16_sensitivity.py [--goldens test/data/goldens] [--braid DIR]
"""
import argparse
import json
import os
import re
import sys

import torch
import transformers
from safetensors.torch import load_file

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

GOLDENS = ["bamba_tiny", "falconh1_tiny", "granitehybrid_tiny", "jamba_tiny",
           "nemotronh_tiny", "zamba2_tiny"]


def rel_l2(a, b):
    a = a.double().cpu()
    b = b.double().cpu()
    return [float((a[i] - b[i]).norm() / b[i].norm()) for i in range(b.shape[0])]


def is_router(name):
    return ".router." in name or name.endswith(".router.weight") or ".gate.weight" in name


def round_like_bundle(model):
    """The weights a bf16 bundle holds: each parameter rounded to bf16 after
    its load-time transform; for A = -exp(A_log) that is bf16(-exp(A_log)),
    so A_log becomes log(bf16(exp(A_log)))."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("A_log"):
                p.copy_(torch.log(torch.exp(p.float()).to(torch.bfloat16).float()))
            else:
                p.copy_(p.to(torch.bfloat16).float())


def round_params(model, keep):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not keep(name, p):
                p.copy_(p.to(torch.bfloat16).to(p.dtype))


def add_act_rounding(model, residual):
    handles = []

    def hook(_m, _i, out):
        if isinstance(out, torch.Tensor) and out.is_floating_point():
            return out.to(torch.bfloat16).to(out.dtype)
        if isinstance(out, tuple) and out and isinstance(out[0], torch.Tensor):
            return (out[0].to(torch.bfloat16).to(out[0].dtype),) + out[1:]
        return out

    for m in model.modules():
        kind = type(m).__name__
        if isinstance(m, (torch.nn.Linear, torch.nn.Embedding)) or "Norm" in kind:
            handles.append(m.register_forward_hook(hook))
    if residual:  # each decoder layer's output is the residual stream
        for m in model.model.layers:
            handles.append(m.register_forward_hook(hook))
    return handles


def load(path, device):
    model = transformers.AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32)
    return model.eval().to(device)


def run(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).logits.float()


def leaf_key(name):
    return re.sub(r"\.\d+\.", ".*.", name)


def attribute(args):
    """Rounds weights as a bf16 bundle does and every leaf module's output
    (Linear, Embedding, norms, Conv1d, activations) plus each decoder layer's
    output to bf16; then, one module kind at a time (layer index folded),
    keeps that kind's outputs fp32 and prints how much the logits' rel-L2
    against the fp32 golden drops. The kinds at the top are the activations
    a bf16 policy should keep fp32."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    floors = {}
    for g in GOLDENS:
        path = os.path.join(args.goldens, g)
        gold = load_file(os.path.join(path, "golden.safetensors"))
        ids = gold["input_ids"].to(device)
        ref = gold["logits"]
        model = load(path, device)
        round_like_bundle(model)
        points = {}
        for name, m in model.named_modules():
            leaf = len(list(m.children())) == 0
            if leaf and name and not isinstance(m, torch.nn.Dropout):
                points.setdefault(leaf_key(name), []).append(m)
        points["<residual>"] = list(model.model.layers)
        skip = set()

        def hook_for(key):
            def hook(_m, _i, out):
                if key in skip:
                    return out
                if isinstance(out, torch.Tensor) and out.is_floating_point():
                    return out.to(torch.bfloat16).to(out.dtype)
                if isinstance(out, tuple) and out and isinstance(out[0], torch.Tensor):
                    return (out[0].to(torch.bfloat16).to(out[0].dtype),) + out[1:]
                return out
            return hook

        for key, mods in points.items():
            for m in mods:
                m.register_forward_hook(hook_for(key))
        base_rows = rel_l2(run(model, ids), ref)
        base = max(base_rows)
        skip.update(points)
        weights_rows = rel_l2(run(model, ids), ref)
        skip.clear()
        floors[g] = {"ideal_bf16": base_rows, "weights_only": weights_rows}
        if args.floor_json:
            continue
        gains = []
        for key in points:
            skip.clear()
            skip.add(key)
            gains.append((max(rel_l2(run(model, ids), ref)), key))
        skip.clear()
        skip.update(points)
        none = max(rel_l2(run(model, ids), ref))
        gains.sort()
        print(f"\n{g}: all rounded {base:.2e}; only weights rounded {none:.2e}; keeping one kind fp32:")
        for err, key in gains[:8]:
            print(f"  {err:.2e}  {key}")
        kept = []  # greedy: keep fp32 the kind that helps most, repeatedly
        for _ in range(5):
            best = None
            for key in points:
                if key in kept:
                    continue
                skip.clear()
                skip.update(kept + [key])
                err = max(rel_l2(run(model, ids), ref))
                if best is None or err < best[0]:
                    best = (err, key)
            kept.append(best[1])
            print(f"  greedy {best[0]:.2e}  fp32: {', '.join(kept)}")
    if args.floor_json:
        import datetime
        card = torch.cuda.get_device_name() if device == "cuda" else "cpu"
        json.dump({"what": "rel-L2 of logits against golden.safetensors, per batch row, of the "
                           "transformers model with a bf16 bundle's weights (ideal_bf16: and every "
                           "leaf module's output and each decoder layer's output rounded to bf16; "
                           "weights_only: activations fp32)",
                   "made_by": "test/gpu/bf16_sensitivity.py --floor-json",
                   "transformers": transformers.__version__, "torch": torch.__version__,
                   "device": card, "date": datetime.date.today().isoformat(),
                   "floors": floors}, open(args.floor_json, "w"), indent=1)
        print(json.dumps(floors))
        sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--goldens", default="test/data/goldens")
    ap.add_argument("--braid", default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument("--attribute", action="store_true",
                    help="instead: which activations' bf16 rounding costs most (see attribute())")
    ap.add_argument("--floor-json", default=None,
                    help="instead: write each golden's bf16 floors (ideal_bf16, weights_only) to this file")
    args = ap.parse_args()
    if args.attribute or args.floor_json:
        return attribute(args)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"transformers {transformers.__version__}, torch {torch.__version__}, {device}")
    results = {}
    for g in GOLDENS:
        path = os.path.join(args.goldens, g)
        gold = load_file(os.path.join(path, "golden.safetensors"))
        ids = gold["input_ids"].to(device)
        ref = gold["logits"]
        row = {}

        def variant(label, keep=None, act=False, res=False, bf16=False):
            model = load(path, device)
            if bf16:
                model = model.to(torch.bfloat16)
            if keep is not None:
                round_params(model, keep)
            handles = add_act_rounding(model, res) if act else []
            row[label] = rel_l2(run(model, ids), ref)
            for h in handles:
                h.remove()

        variant("fp32")
        variant("hf-bf16", bf16=True)
        variant("w-all", keep=lambda n, p: False)
        variant("w-mat", keep=lambda n, p: p.dim() < 2)
        variant("w-mat-r32", keep=lambda n, p: p.dim() < 2 or is_router(n))
        variant("act", act=True)
        variant("w-mat+act", keep=lambda n, p: p.dim() < 2, act=True)
        variant("w-mat-r32+act", keep=lambda n, p: p.dim() < 2 or is_router(n), act=True)
        variant("w-mat+act-res", keep=lambda n, p: p.dim() < 2, act=True, res=True)
        if args.braid:
            f = os.path.join(args.braid, g + ".safetensors")
            if os.path.exists(f):
                row["braid"] = rel_l2(load_file(f)["logits"], ref)
        results[g] = row
        print(f"\n{g}")
        for label, v in row.items():
            flag = " " if max(v) <= 3e-2 else "!"
            print(f"  {label:16s} {flag} " + "  ".join(f"{x:.2e}" for x in v))
        sys.stdout.flush()
    if args.json:
        json.dump(results, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
