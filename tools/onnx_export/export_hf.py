#!/usr/bin/env python3
"""Export a Hugging Face hybrid model to ONNX that braidc imports directly.

    python tools/onnx_export/export_hf.py MODEL_DIR OUT.onnx [--seq 37] [--batch 2]
        [--check] [--golden golden.safetensors] [--keep-raw]

MODEL_DIR is a folder with config.json and safetensors weights (e.g.
test/data/goldens/bamba_tiny). Needs torch, transformers and onnx; runs on the
GPU machine (the development machines have no torch). The post-processing
step, onnx_fixup.py beside this file, needs only onnx.

Why: torch.onnx decomposes a Mamba2 mixer into ~150 generic nodes, and the
TorchScript exporter cannot export transformers' mask helpers (aten::diff) or
GraniteMoeHybrid's expert counting (aten::histc). This script replaces, before
tracing, every module braidc has an op for by a custom autograd Function whose
eager forward computes the real thing (so tracing sees correct values) and
whose `symbolic` emits one ONNX node:

- Mamba2 / Mamba mixers: `braid` domain CausalConv1d, SSDScan or
  SelectiveScan, GatedRMSNorm (docs/onnx.md);
- MoE blocks (Jamba, GraniteMoeHybrid): `braid.MoE` (its eager forward is
  the op's reference semantics, all experts computed densely; --golden
  checks it against transformers' logits);
- RMSNorms: RMSNormalization (23); exact GELU activations: Gelu (20);
- attention: an attention function in place of transformers'
  `eager_attention_forward` emits Attention (23), 4-D heads-major, causal;
  `apply_rotary_pos_emb` emits RotaryEmbedding (23) with cos/sin tables from
  the model's rotary embedding and the graph's `position_ids`; the causal
  mask helpers are replaced by functions returning None (the Attention is
  causal by itself), which also removes aten::diff.

The projections, splits, residuals and multipliers export as usual.
The TorchScript exporter (`dynamo=False`, opset 18) honours `symbolic` but not
opset 23, so the opset-23 ops go out in a placeholder domain that
onnx_fixup.py moves to ai.onnx 23; it also drops no-op Slices and dead nodes.
The input shape is fixed (`[batch, seq]`, default `[2, 37]`, the goldens'),
which makes every Reshape target a constant; braidc reads the batch and
sequence dimensions as dynamic. The graph takes `input_ids` and
`position_ids` and returns `logits`.

--check prints the op histogram and checks that every mixer, MoE block and
attention call became its node. --golden G runs the patched model eagerly on G's
input_ids and prints the rel-L2 of its logits against G's (it checks the
Functions' eager forwards, which define what the symbolic nodes mean).

Status: verified with torch 2.11, transformers 5.17.0, onnx 1.23.1 on the GPU
machine for bamba, falcon_h1, nemotron_h, zamba2, granitemoehybrid and jamba:
the exports of test/data/goldens/*_tiny (copies in test/data/onnx/exported/)
compile with braidc and pass `braid-run check --golden` on the CPU target
(rel-L2 1e-6, 6/6 tokens; test/frontends/onnx/hf-exports.test), and the
eager patched models match transformers to rel-L2 <= 2.1e-6 (--golden).
Not handled: dynamic shapes, sliding-window or soft-capped attention, MoE
routings with selection bias or groups, non-SiLU experts, several different
rotary embeddings in one model.
"""
import argparse
import collections
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_fixup  # noqa: E402

BRAID_OPSET = 1


def _like(node, value):
    """Gives a symbolic's output the type (dtype and static shape) of `value`,
    so that the exporter's shape inference, and the Shape nodes torch
    records for `x.shape`, see through the custom node."""
    node.setType(value.type())
    return node


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
        return _like(g.op("braid::CausalConv1d", x, weight, bias, activation_s=activation), x)


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
        return _like(g.op("braid::SSDScan", x, dt, A, Bm, Cm, D, dt_bias, **attrs), x)


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
        return _like(g.op("braid::GatedRMSNorm", x, gate, weight, epsilon_f=float(epsilon),
                          group_size_i=int(group_size),
                          norm_before_gate_i=int(bool(norm_before_gate))), x)


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
        return _like(g.op("braid::SelectiveScan", *inputs, norm_epsilon_f=float(norm_epsilon)), x)


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
        bt = (int(x.shape[0]), int(x.shape[1]))  # static: constant Reshape targets
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




# --------------------------------------------------------------------------
# Standard ops newer than the TorchScript exporter's opset (see onnx_fixup.py)
# --------------------------------------------------------------------------

STD = onnx_fixup.PLACEHOLDER  # placeholder domain for ai.onnx 23 ops


class RMSNorm(torch.autograd.Function):
    """RMSNormalization(23) over the last axis."""

    @staticmethod
    def forward(ctx, x, weight, epsilon):
        v = x.float()
        v = v * torch.rsqrt(v.pow(2).mean(-1, keepdim=True) + epsilon)
        return weight * v.to(x.dtype)

    @staticmethod
    def symbolic(g, x, weight, epsilon):
        return _like(g.op(f"{STD}::RMSNormalization", x, weight, axis_i=-1,
                          epsilon_f=float(epsilon)), x)


class Gelu(torch.autograd.Function):
    """Gelu(20), exact (erf) form."""

    @staticmethod
    def forward(ctx, x):
        return F.gelu(x)

    @staticmethod
    def symbolic(g, x):
        return _like(g.op(f"{STD}::Gelu", x), x)


def _rope_reference(x, cos_cache, sin_cache, position_ids):
    """Rotate-half RoPE on the first 2 * cos_cache.shape[1] features of
    x [B, H, T, D] at position_ids [B, T]."""
    half = cos_cache.shape[1]
    cos = cos_cache[position_ids][:, None]  # [B, 1, T, half]
    sin = sin_cache[position_ids][:, None]
    x1, x2, rest = x[..., :half], x[..., half:2 * half], x[..., 2 * half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin, rest], -1)


class Rotary(torch.autograd.Function):
    """RotaryEmbedding(23), 4-D input, non-interleaved, partial when the
    tables cover fewer than head_dim features."""

    @staticmethod
    def forward(ctx, x, cos_cache, sin_cache, position_ids, rotary_dim):
        return _rope_reference(x, cos_cache, sin_cache, position_ids)

    @staticmethod
    def symbolic(g, x, cos_cache, sin_cache, position_ids, rotary_dim):
        return _like(g.op(f"{STD}::RotaryEmbedding", x, cos_cache, sin_cache, position_ids,
                          interleaved_i=0, rotary_embedding_dim_i=int(rotary_dim)), x)


class Attention(torch.autograd.Function):
    """Attention(23), 4-D heads-major q [B, Hq, T, D], k/v [B, Hkv, T, D],
    causal, grouped-query when Hkv < Hq."""

    @staticmethod
    def forward(ctx, q, k, v, scale):
        rep = q.shape[1] // k.shape[1]
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        scores = (q.float() @ k.float().transpose(-1, -2)) * scale
        t = q.shape[2]
        causal = torch.ones(t, t, dtype=torch.bool, device=q.device).tril()
        scores = scores.masked_fill(~causal, float("-inf"))
        return (scores.softmax(-1) @ v.float()).to(q.dtype)

    @staticmethod
    def symbolic(g, q, k, v, scale):
        # The models exported have value heads as wide as query heads.
        return _like(g.op(f"{STD}::Attention", q, k, v, is_causal_i=1,
                          scale_f=float(scale)), q)


def _moe_reference(x, router, gate_up, down, top_k, routing, normalize):
    """braid.MoE's semantics (docs/onnx.md), every expert computed densely."""
    logits = x.float() @ router.float().t()  # [B, T, E]
    if routing == "topk_softmax":
        top, idx = logits.topk(top_k, dim=-1)
        weights = top.softmax(-1)
    else:
        probs = logits.softmax(-1) if routing == "softmax_topk" else logits.sigmoid()
        weights, idx = probs.topk(top_k, dim=-1)
        if normalize:
            weights = weights / weights.sum(-1, keepdim=True)
    dense = torch.zeros_like(logits).scatter(-1, idx, weights)  # [B, T, E]
    inner = down.shape[-1]
    y = torch.zeros_like(x, dtype=torch.float32)
    for e in range(router.shape[0]):
        h = x.float() @ gate_up[e].float().t()
        h = _silu(h[..., :inner]) * h[..., inner:]
        y = y + dense[..., e:e + 1] * (h @ down[e].float().t())
    return y.to(x.dtype)


class MoE(torch.autograd.Function):
    """braid.MoE: top-k routed gated (SiLU) experts, docs/onnx.md."""

    @staticmethod
    def forward(ctx, x, router, gate_up, down, top_k, routing, normalize, activation):
        return _moe_reference(x, router, gate_up, down, top_k, routing, normalize)

    @staticmethod
    def symbolic(g, x, router, gate_up, down, top_k, routing, normalize, activation):
        return _like(g.op("braid::MoE", x, router, gate_up, down, top_k_i=int(top_k),
                          routing_s=routing, normalize_topk_i=int(normalize),
                          activation_s=activation), x)


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


# --------------------------------------------------------------------------
# Norms, activations, MoE
# --------------------------------------------------------------------------

def patch_norms(model):
    """RMSNorm modules (not the gated ones inside mixers) -> RMSNormalization."""
    count = 0
    for name, module in model.named_modules():
        cls = type(module).__name__
        if not cls.endswith("RMSNorm") or "Gated" in cls:
            continue
        eps = _attr(module, "variance_epsilon", "eps")
        weight = module.weight

        def forward(hidden_states, weight=weight, eps=eps):
            return RMSNorm.apply(hidden_states, weight, float(eps))
        module.forward = forward
        count += 1
    return count


def patch_activations(model):
    """Exact GELU modules -> Gelu (torch exports it decomposed at opset 18)."""
    count = 0
    for module in model.modules():
        cls = type(module).__name__
        exact = (cls == "GELUActivation" or
                 (isinstance(module, torch.nn.GELU) and module.approximate == "none"))
        if exact:
            module.forward = lambda x: Gelu.apply(x)
            count += 1
    return count


# How each family turns router logits into expert weights (braid.moe's
# routings): Jamba takes the top k of a softmax over all experts as they are;
# GraniteMoeHybrid takes a softmax over the top-k logits.
MOE_ROUTING = {"jamba": ("softmax_topk", False),
               "granitemoehybrid": ("topk_softmax", False)}


def _moe_layout(module, config):
    """(router [E, H], gate_up [E, 2I, H], down [E, H, I], top_k, routing,
    normalize) for the MoE blocks braid.moe covers: per-expert modules
    (gate_proj/up_proj/down_proj) or stacked ones (transformers 5's
    `experts.gate_up_proj` / `experts.down_proj`, gate rows before up rows)."""
    router = module.router.weight
    experts = module.experts
    num = router.shape[0]
    if isinstance(experts, torch.nn.ModuleList):
        gate_up = torch.stack([torch.cat([e.gate_proj.weight, e.up_proj.weight])
                               for e in experts])
        down = torch.stack([e.down_proj.weight for e in experts])
    else:  # stacked experts (transformers 5's fused MoE modules)
        gate_up, down = experts.gate_up_proj, experts.down_proj
    hidden = router.shape[1]
    if gate_up.shape[1] == hidden and gate_up.shape[2] != hidden:
        gate_up = gate_up.transpose(1, 2)
    if down.shape[1] != hidden:
        down = down.transpose(1, 2)
    if gate_up.shape[0] != num or down.shape[0] != num:
        raise SystemExit(f"{type(module).__name__}: expert weights {tuple(gate_up.shape)}, "
                         f"{tuple(down.shape)} do not match {num} experts")
    top_k = int(config.num_experts_per_tok)
    routing = MOE_ROUTING.get(config.model_type)
    if routing is None:
        raise SystemExit(f"{config.model_type}: MoE routing unknown; add it to MOE_ROUTING")
    return (router, gate_up.contiguous(), down.contiguous(), top_k) + routing


def _activation_name(config):
    act = getattr(config, "hidden_act", "silu")
    if act not in ("silu", "swish"):
        raise SystemExit(f"MoE experts with hidden_act={act!r}: only silu is exported")
    return "silu"


def patch_moe(model):
    """MoE blocks (a router and experts) -> braid.MoE."""
    count = 0
    for name, module in model.named_modules():
        if not (hasattr(module, "router") and hasattr(module, "experts")):
            continue
        router, gate_up, down, top_k, routing, normalize = _moe_layout(module, model.config)
        # Stacked copies become buffers so that they export as initializers.
        if not isinstance(gate_up, torch.nn.Parameter):
            module.register_buffer("braid_gate_up", gate_up.detach().clone(), persistent=False)
            gate_up = module.braid_gate_up
        if not isinstance(down, torch.nn.Parameter):
            module.register_buffer("braid_down", down.detach().clone(), persistent=False)
            down = module.braid_down
        probe = module.forward(torch.zeros(1, 2, router.shape[1]))
        as_tuple = isinstance(probe, tuple)
        activation = _activation_name(model.config)

        def forward(hidden_states, *args, _r=router, _gu=gate_up, _d=down, _k=top_k,
                    _rt=routing, _n=normalize, _a=activation, _tuple=as_tuple, **kwargs):
            y = MoE.apply(hidden_states, _r, _gu, _d, _k, _rt, int(_n), _a)
            # The router logits a tuple-returning block also gives back are
            # only read for training losses; these are the same numbers.
            return (y, F.linear(hidden_states, _r)) if _tuple else y
        module.forward = forward
        count += 1
    return count


# --------------------------------------------------------------------------
# Attention, rotary embedding, masks
# --------------------------------------------------------------------------

_TRACE = {}  # position_ids and the rope tables while the model runs
_COUNTS = collections.Counter()


def braid_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0,
                    **kwargs):
    """transformers' attention-function signature; q/k/v are [B, H, T, D]."""
    if kwargs.get("sliding_window"):
        raise NotImplementedError("sliding-window attention is not exported yet")
    if kwargs.get("softcap"):
        raise NotImplementedError("attention softcapping is not exported yet")
    scale = scaling if scaling is not None else query.shape[-1] ** -0.5
    _COUNTS["attention"] += 1
    out = Attention.apply(query, key, value, float(scale))
    return out.transpose(1, 2).contiguous(), None


def braid_apply_rotary_pos_emb(q, k, cos, sin, *args, **kwargs):
    """Replaces transformers' apply_rotary_pos_emb: the tables come from the
    model's rotary embedding (rope_tables), the positions from the graph."""
    tables = _TRACE.get("rope")
    if tables is None:
        raise SystemExit("apply_rotary_pos_emb called but the model has no rotary "
                         "embedding with inv_freq")
    cos_cache, sin_cache, rot = tables
    pos = _TRACE["position_ids"]
    _COUNTS["rope"] += 2
    return (Rotary.apply(q, cos_cache, sin_cache, pos, rot),
            Rotary.apply(k, cos_cache, sin_cache, pos, rot))


def _no_mask(*args, **kwargs):
    return None


def patch_transformers_functions():
    """Swaps the module-level attention, rope and mask functions of every
    loaded transformers modeling module."""
    patched = collections.Counter()
    for name, mod in list(sys.modules.items()):
        if not name.startswith("transformers.") or mod is None:
            continue
        for attr, repl in (("eager_attention_forward", braid_attention),
                           ("apply_rotary_pos_emb", braid_apply_rotary_pos_emb),
                           ("create_causal_mask", _no_mask),
                           ("create_sliding_window_causal_mask", _no_mask),
                           ("find_packed_sequence_indices", _no_mask)):
            if callable(getattr(mod, attr, None)):
                setattr(mod, attr, repl)
                patched[attr] += 1
    return patched


def rope_tables(model, length):
    """cos/sin tables [length, rotary_dim / 2] from the model's rotary
    embedding module(s), or None when the model has none."""
    found = None
    for module in model.modules():
        inv = getattr(module, "inv_freq", None)
        if not isinstance(inv, torch.Tensor):
            continue
        scaling = float(getattr(module, "attention_scaling", 1.0))
        if found is not None and (found[0].shape != inv.shape or
                                  not torch.equal(found[0], inv) or found[1] != scaling):
            raise SystemExit("several different rotary embeddings: not exported yet")
        found = (inv.float(), scaling)
    if found is None:
        return None
    inv, scaling = found
    freqs = torch.arange(length, dtype=torch.float32)[:, None] * inv[None, :]
    return torch.cos(freqs) * scaling, torch.sin(freqs) * scaling


class LogitsOnly(torch.nn.Module):
    def __init__(self, model, rope_length):
        super().__init__()
        self.model = model
        tables = rope_tables(model, rope_length)
        if tables is not None:
            self.register_buffer("rope_cos", tables[0], persistent=False)
            self.register_buffer("rope_sin", tables[1], persistent=False)
            self.rotary_dim = 2 * int(tables[0].shape[1])

    def forward(self, input_ids, position_ids):
        _TRACE["position_ids"] = position_ids
        # The rotary width is a Python int taken before tracing: a traced
        # size would reach the symbolic as a graph value.
        _TRACE["rope"] = ((self.rope_cos, self.rope_sin, self.rotary_dim)
                          if hasattr(self, "rope_cos") else None)
        out = self.model(input_ids=input_ids, position_ids=position_ids, use_cache=False)
        return out.logits


def prepare(model_dir):
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32,
                                                 attn_implementation="eager")
    model.eval()
    counts = {"mixers": patch_mixers(model), "norms": patch_norms(model),
              "gelu": patch_activations(model), "moe": patch_moe(model)}
    if not counts["mixers"]:
        raise SystemExit(f"{model_dir}: no Mamba mixers found")
    functions = patch_transformers_functions()
    rope_length = min(int(getattr(model.config, "max_position_embeddings", 4096) or 4096),
                      4096)
    return model, LogitsOnly(model, rope_length).eval(), counts, functions


def check_golden(wrapper, path):
    from safetensors.torch import load_file
    golden = load_file(path)
    ids = golden["input_ids"].long()
    pos = torch.arange(ids.shape[1]).expand(ids.shape[0], -1)
    with torch.no_grad():
        logits = wrapper(ids, pos)
    ref = golden["logits"].float()
    for row in range(ids.shape[0]):
        err = (logits[row] - ref[row]).norm() / ref[row].norm()
        print(f"  eager patched model vs golden, row {row}: rel-L2 {err:.3e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("output")
    parser.add_argument("--seq", type=int, default=37, help="traced sequence length")
    parser.add_argument("--batch", type=int, default=2, help="traced batch size")
    parser.add_argument("--check", action="store_true",
                        help="print the op histogram and check every module was replaced")
    parser.add_argument("--golden", help="golden.safetensors to compare the eager "
                        "patched model with")
    parser.add_argument("--keep-raw", action="store_true",
                        help="also keep the exporter's output before onnx_fixup "
                        "(OUT.raw.onnx)")
    args = parser.parse_args()

    model, wrapper, counts, functions = prepare(args.model_dir)
    print(f"{args.model_dir}: patched {counts}, functions {dict(functions)}")
    if args.golden:
        check_golden(wrapper, args.golden)
    _COUNTS.clear()
    ids = torch.randint(0, model.config.vocab_size, (args.batch, args.seq))
    pos = torch.arange(args.seq).expand(args.batch, -1).contiguous()
    raw = args.output[:-len(".onnx")] + ".raw.onnx" if args.output.endswith(".onnx") \
        else args.output + ".raw"
    with torch.no_grad():
        torch.onnx.export(
            wrapper, (ids, pos), raw, dynamo=False, opset_version=18,
            input_names=["input_ids", "position_ids"], output_names=["logits"],
            custom_opsets={"braid": BRAID_OPSET, STD: 1})
    import onnx
    proto = onnx.load(raw)
    moved, slices, dropped = onnx_fixup.fixup(proto)
    onnx.save(proto, args.output)
    if not args.keep_raw:
        os.remove(raw)
    print(f"{args.output}: {counts['mixers']} mixers, {counts['moe']} MoE, "
          f"{_COUNTS['attention']} attention calls; fixup moved {moved} ops to ai.onnx "
          f"{onnx_fixup.TARGET_OPSET}, removed {slices} no-op slices, {dropped} nodes")
    if args.check:
        graph = proto.graph
        ops = collections.Counter((n.domain or "ai.onnx", n.op_type) for n in graph.node)
        for (domain, op), n in sorted(ops.items()):
            print(f"  {domain}.{op}: {n}")
        scans = ops[("braid", "SSDScan")] + ops[("braid", "SelectiveScan")]
        problems = []
        if scans != counts["mixers"]:
            problems.append(f"expected {counts['mixers']} braid scans, found {scans}")
        if ops[("braid", "MoE")] != counts["moe"]:
            problems.append(f"expected {counts['moe']} braid MoE, found "
                            f"{ops[('braid', 'MoE')]}")
        if ops[("ai.onnx", "Attention")] != _COUNTS["attention"]:
            problems.append(f"{_COUNTS['attention']} attention calls but "
                            f"{ops[('ai.onnx', 'Attention')]} Attention nodes")
        if problems:
            raise SystemExit("; ".join(problems))


if __name__ == "__main__":
    main()
