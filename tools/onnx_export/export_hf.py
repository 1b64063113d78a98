#!/usr/bin/env python3
"""Export a Hugging Face hybrid model to ONNX with its SSM mixers as `braid` ops.

    python tools/onnx_export/export_hf.py MODEL_DIR OUT.onnx [--seq 16] [--check]

MODEL_DIR is a folder with config.json and safetensors weights (e.g.
../shared/goldens/bamba_tiny). Needs torch, transformers and onnx (and
onnxruntime for nothing: the braid domain has no onnxruntime kernels). Runs on
the GPU machine; the development machines have no torch.

Why: torch.onnx decomposes a Mamba2 mixer into ~150 generic nodes (Pad, Conv,
CumSum, Exp, Where, Expand, ReduceSum, ...), the chunked scan unrolled for the
traced length, and cannot export Jamba's or GraniteMoeHybrid's MoE routing
(aten::diff, aten::histc) with the dynamo exporter. This script replaces each
mixer's forward by a function whose SSM part is three custom autograd
Functions. Their eager forward computes the real thing (so tracing sees
correct values); their `symbolic` emits one node of the `braid` domain
(docs/onnx.md): CausalConv1d, SSDScan or SelectiveScan, GatedRMSNorm. The
projections, splits and everything outside the mixers export as usual.

Status: written against transformers 5.17 / torch 2.11 but not yet run (no
torch on the development machines). Only the mixers are replaced: the
decoder's RMSNorms, the rotary embedding and the attention still export the
way torch decomposes them (Pow/ReduceMean/..., Cos/Sin/Slice/Concat,
MatMul/Softmax), which braidc does not import yet (milestone M1.6 items 2 and
3); replacing those too (SimplifiedLayerNormalization, an attention function
registered through transformers' AttentionInterface that emits Attention(23),
RotaryEmbedding) is the next step.

Families (model_type): bamba, nemotron_h, zamba2, falcon_h1 and
granitemoehybrid (Mamba2 mixers) and jamba (Mamba1 mixers). A mixer is found
by its attributes (in_proj, conv1d, A_log, out_proj); anything else about the
model is left to torch.onnx.

The export uses the TorchScript exporter (`dynamo=False`), which honours
`symbolic`; batch and sequence are dynamic axes, use_cache is off, and the
graph takes `input_ids` and `position_ids` and returns `logits`, which is what
braidc expects. With --check the script compares the exported model's
structure (every mixer became braid nodes) and prints the op histogram.
"""
import argparse
import collections

import torch
import torch.nn.functional as F

BRAID_OPSET = 1


def _silu(x):
    return x * torch.sigmoid(x)


# --------------------------------------------------------------------------
# The braid ops: eager semantics + ONNX symbolic
# --------------------------------------------------------------------------

class CausalConv1d(torch.autograd.Function):
    """braid.CausalConv1d: x [B, T, C], weight [C, K], bias [C]."""

    @staticmethod
    def forward(ctx, x, weight, bias, activation):
        k = weight.shape[-1]
        y = F.conv1d(F.pad(x.transpose(1, 2), (k - 1, 0)), weight.unsqueeze(1),
                     bias, groups=x.shape[-1]).transpose(1, 2)
        return _silu(y) if activation == "silu" else y

    @staticmethod
    def symbolic(g, x, weight, bias, activation):
        return g.op("braid::CausalConv1d", x, weight, bias, activation_s=activation)


def _ssd_reference(x, dt, A, Bm, Cm, D, dt_bias, dt_min, dt_max):
    """Sequential SSD scan in fp32 (exact; the export only needs values)."""
    dt = F.softplus(dt + dt_bias).clamp(min=dt_min, max=dt_max)
    bsz, t, heads, p = x.shape
    groups, n = Bm.shape[2], Bm.shape[3]
    rep = heads // groups
    Bh = Bm.repeat_interleave(rep, dim=2)
    Ch = Cm.repeat_interleave(rep, dim=2)
    state = x.new_zeros(bsz, heads, p, n, dtype=torch.float32)
    ys = []
    for i in range(t):
        decay = torch.exp(dt[:, i] * A)[:, :, None, None]
        update = (dt[:, i, :, None, None] * x[:, i, :, :, None].float()
                  * Bh[:, i, :, None, :].float())
        state = decay * state + update
        y = (state * Ch[:, i, :, None, :].float()).sum(-1) + D[:, None] * x[:, i].float()
        ys.append(y)
    return torch.stack(ys, 1).to(x.dtype)


class SSDScan(torch.autograd.Function):
    """braid.SSDScan: x [B, T, H, P], dt [B, T, H], A/D/dt_bias [H], B/C [B, T, G, N]."""

    @staticmethod
    def forward(ctx, x, dt, A, Bm, Cm, D, dt_bias, chunk_size, dt_min, dt_max):
        return _ssd_reference(x, dt, A, Bm, Cm, D, dt_bias, dt_min, dt_max)

    @staticmethod
    def symbolic(g, x, dt, A, Bm, Cm, D, dt_bias, chunk_size, dt_min, dt_max):
        attrs = {"chunk_size_i": int(chunk_size), "dt_softplus_i": 1,
                 "dt_min_f": float(dt_min)}
        if dt_max != float("inf"):
            attrs["dt_max_f"] = float(dt_max)
        return g.op("braid::SSDScan", x, dt, A, Bm, Cm, D, dt_bias, **attrs)


class GatedRMSNorm(torch.autograd.Function):
    """braid.GatedRMSNorm: rmsnorm over groups of x * silu(gate), times weight."""

    @staticmethod
    def forward(ctx, x, gate, weight, epsilon, group_size, norm_before_gate):
        def rms(v):
            shape = v.shape
            v = v.float().reshape(*shape[:-1], shape[-1] // group_size, group_size)
            v = v * torch.rsqrt(v.pow(2).mean(-1, keepdim=True) + epsilon)
            return v.reshape(shape)
        if norm_before_gate:
            return (rms(x) * weight * _silu(gate.float())).to(x.dtype)
        return (rms(x.float() * _silu(gate.float())) * weight).to(x.dtype)

    @staticmethod
    def symbolic(g, x, gate, weight, epsilon, group_size, norm_before_gate):
        return g.op("braid::GatedRMSNorm", x, gate, weight, epsilon_f=float(epsilon),
                    group_size_i=int(group_size),
                    norm_before_gate_i=int(bool(norm_before_gate)))


class SelectiveScan(torch.autograd.Function):
    """braid.SelectiveScan (Mamba1, with its x_proj / dt_proj)."""

    @staticmethod
    def forward(ctx, x, x_proj, dt_proj, dt_bias, A, z, D, dt_norm, b_norm, c_norm,
                norm_epsilon):
        rank, n = dt_proj.shape[1], A.shape[1]
        dbc = x @ x_proj.t()
        dt, Bt, Ct = torch.split(dbc, [rank, n, n], dim=-1)
        if dt_norm is not None:
            def rms(v, w):
                return v * torch.rsqrt(v.pow(2).mean(-1, keepdim=True) + norm_epsilon) * w
            dt, Bt, Ct = rms(dt, dt_norm), rms(Bt, b_norm), rms(Ct, c_norm)
        dt = F.softplus(dt @ dt_proj.t() + dt_bias)
        state = x.new_zeros(x.shape[0], x.shape[2], n, dtype=torch.float32)
        ys = []
        for i in range(x.shape[1]):
            state = (torch.exp(dt[:, i, :, None] * A) * state
                     + dt[:, i, :, None] * Bt[:, i, None, :] * x[:, i, :, None])
            ys.append((state * Ct[:, i, None, :]).sum(-1) + D * x[:, i])
        y = torch.stack(ys, 1)
        return y * _silu(z) if z is not None else y

    @staticmethod
    def symbolic(g, x, x_proj, dt_proj, dt_bias, A, z, D, dt_norm, b_norm, c_norm,
                 norm_epsilon):
        inputs = [x, x_proj, dt_proj, dt_bias, A, z, D]
        if dt_norm is not None:
            inputs += [dt_norm, b_norm, c_norm]
        return g.op("braid::SelectiveScan", *inputs, norm_epsilon_f=float(norm_epsilon))


# --------------------------------------------------------------------------
# Mixer forwards
# --------------------------------------------------------------------------

def _attr(module, *names, default=None, required=True):
    for name in names:
        if hasattr(module, name):
            return getattr(module, name)
    if required and default is None:
        raise AttributeError(f"{type(module).__name__} has none of {names}; "
                             "extend tools/onnx_export/export_hf.py for this mixer")
    return default


def mamba2_forward(mixer, config):
    """A forward for a Mamba2 mixer (Bamba, Nemotron-H, Zamba2, Falcon-H1,
    GraniteMoeHybrid) built from the braid ops."""
    heads = _attr(mixer, "num_heads", "nheads")
    head_dim = _attr(mixer, "head_dim")
    groups = _attr(mixer, "n_groups", "ngroups")
    state = _attr(mixer, "ssm_state_size", "d_state")
    inner = _attr(mixer, "intermediate_size", "d_inner")
    chunk = _attr(mixer, "chunk_size", default=256, required=False)
    dt_min, dt_max = _attr(mixer, "time_step_limit", default=(0.0, float("inf")),
                           required=False)
    conv_dim = inner + 2 * groups * state
    mup = getattr(mixer, "mup_vector", None)  # Falcon-H1's in_proj multipliers
    norm = getattr(mixer, "norm", None)
    if getattr(config, "model_type", "") == "falcon_h1" and not getattr(
            config, "mamba_rms_norm", False):
        norm = None
    norm_before_gate = bool(getattr(config, "mamba_norm_before_gate", False)) \
        if getattr(config, "model_type", "") == "falcon_h1" else False

    def forward(hidden_states, *args, **kwargs):
        proj = mixer.in_proj(hidden_states)
        if mup is not None:
            proj = proj * mup.reshape(-1)
        d_mlp = (proj.shape[-1] - 2 * inner - 2 * groups * state - heads) // 2
        if d_mlp:
            raise NotImplementedError("Mamba2 in_proj with an MLP part (d_mlp > 0)")
        z, xbc, dt = torch.split(proj, [inner, conv_dim, heads], dim=-1)
        weight = mixer.conv1d.weight.squeeze(1)
        xbc = CausalConv1d.apply(xbc, weight, mixer.conv1d.bias, "silu")
        x, Bm, Cm = torch.split(xbc, [inner, groups * state, groups * state], dim=-1)
        bt = x.shape[:2]
        A = -torch.exp(mixer.A_log.float())
        y = SSDScan.apply(x.reshape(*bt, heads, head_dim), dt, A,
                          Bm.reshape(*bt, groups, state), Cm.reshape(*bt, groups, state),
                          mixer.D, mixer.dt_bias, chunk, float(dt_min), float(dt_max))
        y = y.reshape(*bt, inner)
        if norm is not None:
            eps = _attr(norm, "variance_epsilon", "eps")
            group = _attr(norm, "group_size", default=inner // groups, required=False)
            y = GatedRMSNorm.apply(y, z, norm.weight, eps, group, norm_before_gate)
        else:
            y = y * _silu(z)
        return mixer.out_proj(y)

    return forward


def mamba1_forward(mixer, config):
    """A forward for Jamba's Mamba1 mixer."""
    inner = _attr(mixer, "intermediate_size")
    eps = getattr(config, "rms_norm_eps", 1e-6)
    norms = [getattr(mixer, n, None) for n in ("dt_layernorm", "b_layernorm", "c_layernorm")]

    def forward(hidden_states, *args, **kwargs):
        x, z = mixer.in_proj(hidden_states).chunk(2, dim=-1)
        x = CausalConv1d.apply(x, mixer.conv1d.weight.squeeze(1), mixer.conv1d.bias,
                               "silu")
        weights = [n.weight if n is not None else None for n in norms]
        y = SelectiveScan.apply(x, mixer.x_proj.weight, mixer.dt_proj.weight,
                                mixer.dt_proj.bias, -torch.exp(mixer.A_log.float()), z,
                                mixer.D, *weights, eps)
        assert y.shape[-1] == inner
        return mixer.out_proj(y)

    return forward


def patch_mixers(model):
    """Replaces every Mamba/Mamba2 mixer's forward; returns how many."""
    count = 0
    for name, module in model.named_modules():
        if not all(hasattr(module, a) for a in ("in_proj", "conv1d", "A_log", "out_proj")):
            continue
        if hasattr(module, "x_proj"):
            module.forward = mamba1_forward(module, model.config)
        else:
            module.forward = mamba2_forward(module, model.config)
        count += 1
    return count


class LogitsOnly(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, position_ids):
        out = self.model(input_ids=input_ids, position_ids=position_ids, use_cache=False)
        return out.logits


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("output")
    parser.add_argument("--seq", type=int, default=16, help="traced sequence length")
    parser.add_argument("--check", action="store_true",
                        help="print the op histogram and check every mixer was replaced")
    args = parser.parse_args()

    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(args.model_dir, torch_dtype=torch.float32)
    model.eval()
    mixers = patch_mixers(model)
    if not mixers:
        raise SystemExit(f"{args.model_dir}: no Mamba mixers found")
    ids = torch.randint(0, model.config.vocab_size, (2, args.seq))
    pos = torch.arange(args.seq).expand(2, -1)
    with torch.no_grad():
        torch.onnx.export(
            LogitsOnly(model), (ids, pos), args.output, dynamo=False, opset_version=18,
            input_names=["input_ids", "position_ids"], output_names=["logits"],
            dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                          "position_ids": {0: "batch", 1: "seq"},
                          "logits": {0: "batch", 1: "seq"}},
            custom_opsets={"braid": BRAID_OPSET})
    print(f"{args.output}: {mixers} mixers exported as braid ops")
    if args.check:
        import onnx
        graph = onnx.load(args.output).graph
        ops = collections.Counter((n.domain or "ai.onnx", n.op_type) for n in graph.node)
        for (domain, op), n in sorted(ops.items()):
            print(f"  {domain}.{op}: {n}")
        scans = ops[("braid", "SSDScan")] + ops[("braid", "SelectiveScan")]
        if scans != mixers:
            raise SystemExit(f"expected {mixers} braid scans, found {scans}")


if __name__ == "__main__":
    main()
