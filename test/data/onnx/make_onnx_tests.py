#!/usr/bin/env python3
"""Builds the ONNX test models of Braid's ONNX front end (test/frontends/onnx/).

Run from anywhere with the onnx, onnxruntime, numpy and safetensors packages:

    python3 -m venv build/onnx-venv
    build/onnx-venv/bin/pip install onnx onnxruntime numpy safetensors
    build/onnx-venv/bin/python test/data/onnx/make_onnx_tests.py

Writes, next to this script:

* `transformer.onnx` + `transformer_ref.safetensors`: a 2-layer transformer
  using only ai.onnx and com.microsoft ops (RMSNormalization and
  RotaryEmbedding and Attention of opset 23, SkipSimplifiedLayerNormalization,
  GroupQueryAttention with do_rotary, SimplifiedLayerNormalization, a SiLU
  MLP written as x * Sigmoid(x)). The reference logits come from
  onnxruntime; a numpy model of the same graph must agree with it (checked
  here), and its greedy tokens (no cache, full recompute) are `generated`.
* `hybrid.onnx` + `hybrid_ref.safetensors`: embedding -> RMSNorm ->
  braid.CausalConv1d -> braid.SSDScan -> braid.GatedRMSNorm -> linear
  (a Mamba2 mixer), an Attention(23) layer, a SiLU-gated MLP and an LM head.
  onnxruntime has no kernels for the `braid` domain, so the reference is the
  numpy model, which implements the semantics docs/onnx.md specifies.
* `op_moe.onnx` + `op_moe_ref.safetensors`: two braid.MoE layers (Jamba's
  routing; GraniteMoeHybrid's with a shared expert and routed_scaling), the
  reference from the numpy `np_moe` of docs/onnx.md's semantics.
* small `op_*.onnx` models for the FileCheck tests of single ops, and
  `bad_*.onnx` (+ `bad_not_onnx.onnx`, `bad_truncated.onnx`) for the error
  tests.

Reference files hold `input_ids` (int64 [2, 7]), `logits` (f32 [2, 7, V])
and `generated` (int64 [2, 11]: the prompt and 4 greedy tokens), the layout
`braid-run check --golden` reads.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
RNG = np.random.default_rng(20261126)

V, H = 64, 32          # vocab, hidden
B, T = 2, 7            # batch, prompt length
NEW_TOKENS = 4
MAX_POS = 64           # rows of the RoPE caches
THETA = 10000.0


def rand(*shape, scale=None):
    scale = scale if scale is not None else 1.0 / np.sqrt(shape[-1])
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def norm_weight(n):
    return (1.0 + 0.1 * RNG.standard_normal(n)).astype(np.float32)


def rope_cache(rotary_dim):
    inv = THETA ** (-np.arange(0, rotary_dim, 2, dtype=np.float64) / rotary_dim)
    angles = np.arange(MAX_POS, dtype=np.float64)[:, None] * inv[None, :]
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


# --------------------------------------------------------------------------
# numpy semantics (docs/onnx.md)
# --------------------------------------------------------------------------

def np_rms(x, w, eps=1e-5):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def np_layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def silu(x):
    return x / (1.0 + np.exp(-x))


def softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


def np_rope(x, pos, rotary_dim):
    """x [B, T, heads, D], GPT-NeoX halves over the first rotary_dim."""
    cos, sin = rope_cache(rotary_dim)
    c, s = cos[pos][:, :, None, :], sin[pos][:, :, None, :]
    half = rotary_dim // 2
    x1, x2 = x[..., :half], x[..., half:rotary_dim]
    out = x.copy()
    out[..., :half] = x1 * c - x2 * s
    out[..., half:rotary_dim] = x2 * c + x1 * s
    return out


def np_attention(q, k, v, scale):
    """q [B, T, Hq, D], k/v [B, T, Hkv, D], causal GQA."""
    group = q.shape[2] // k.shape[2]
    k = np.repeat(k, group, axis=2)
    v = np.repeat(v, group, axis=2)
    s = np.einsum("bthd,bshd->bhts", q, k) * scale
    t = q.shape[1]
    s = s + np.triu(np.full((t, t), -np.inf), 1)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return np.einsum("bhts,bshd->bthd", p, v)


def np_causal_conv(x, w, b, act):
    """x [B, T, C], w [C, K]: y[t] = b + sum_j w[j] x[t - K + 1 + j]."""
    k = w.shape[1]
    xp = np.concatenate([np.zeros((x.shape[0], k - 1, x.shape[2]), x.dtype), x], 1)
    y = np.zeros_like(x)
    for j in range(k):
        y += xp[:, j:j + x.shape[1], :] * w[:, j]
    y += b
    return silu(y) if act == "silu" else y


def np_ssd_scan(x, dt, A, Bm, Cm, D, dt_bias):
    """Sequential form of braid.ssd_scan (docs/onnx.md, braid.SSDScan)."""
    bsz, t, heads, p = x.shape
    groups, n = Bm.shape[2], Bm.shape[3]
    dt = softplus(dt + dt_bias)
    y = np.zeros_like(x)
    for b in range(bsz):
        state = np.zeros((heads, p, n), np.float64)
        for i in range(t):
            for h in range(heads):
                g = h // (heads // groups)
                state[h] = (np.exp(dt[b, i, h] * A[h]) * state[h]
                            + dt[b, i, h] * np.outer(x[b, i, h], Bm[b, i, g]))
                y[b, i, h] = state[h] @ Cm[b, i, g] + D[h] * x[b, i, h]
    return y.astype(np.float32)


def np_gated_rms(x, z, w, group, eps=1e-5):
    g = x * silu(z)
    shape = g.shape
    g = g.reshape(*shape[:-1], shape[-1] // group, group)
    g = g / np.sqrt((g * g).mean(-1, keepdims=True) + eps)
    return g.reshape(shape) * w


def greedy(forward, ids):
    tokens = ids.copy()
    for _ in range(NEW_TOKENS):
        logits = forward(tokens)
        nxt = logits[:, -1, :].argmax(-1)
        tokens = np.concatenate([tokens, nxt[:, None]], 1)
    return tokens


def positions_of(ids):
    return np.broadcast_to(np.arange(ids.shape[1]), ids.shape).astype(np.int64)


# --------------------------------------------------------------------------
# graph helpers
# --------------------------------------------------------------------------

class Graph:
    def __init__(self):
        self.nodes, self.inits, self.count = [], [], 0

    def init(self, name, array):
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type, inputs, n_out=1, domain="", name=None, **attrs):
        self.count += 1
        name = name or f"{op_type.lower()}_{self.count}"
        outs = [f"{name}_out{i}" if n_out > 1 else f"{name}_out"
                for i in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=name,
                                           domain=domain, **attrs))
        return outs if n_out > 1 else outs[0]

    def model(self, name, inputs, outputs, opsets, value_info=()):
        graph = helper.make_graph(self.nodes, name, inputs, outputs,
                                  self.inits, value_info=list(value_info))
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets])
        model.ir_version = 10
        return model


def ids_input(dims=("batch", "seq")):
    return helper.make_tensor_value_info("input_ids", TensorProto.INT64, list(dims))


def pos_input(dims=("batch", "seq")):
    return helper.make_tensor_value_info("position_ids", TensorProto.INT64, list(dims))


def logits_output(name, vocab=V, dims=("batch", "seq")):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [*dims, vocab])


def save(model, filename, **kwargs):
    onnx.save(model, os.path.join(HERE, filename), **kwargs)


# --------------------------------------------------------------------------
# end-to-end model 1: ai.onnx + com.microsoft only, checked by onnxruntime
# --------------------------------------------------------------------------

def transformer():
    heads, kv_heads, hd = 4, 2, 16  # ORT's GQA rotary needs head_size % 16 == 0
    rot0, rot1 = 8, 16         # partial rotary in layer 0, full in layer 1
    inter = 48
    w = {
        "embed": rand(V, H, scale=1.0),
        "l0.norm": norm_weight(H),
        "l0.q": rand(H, heads * hd), "l0.k": rand(H, kv_heads * hd),
        "l0.v": rand(H, kv_heads * hd), "l0.o": rand(heads * hd, H),
        "l0.ffn_norm": norm_weight(H),
        "l0.gate": rand(H, inter), "l0.up": rand(H, inter),
        "l0.down": rand(inter, H),
        "l1.norm": norm_weight(H),
        "l1.qkv": rand(H, (heads + 2 * kv_heads) * hd),
        "l1.o": rand(heads * hd, H),
        "final_norm": norm_weight(H),
        "lm_head": rand(H, V),
    }
    cos0, sin0 = rope_cache(rot0)
    cos1, sin1 = rope_cache(rot1)

    g = Graph()
    for k, a in w.items():
        g.init(k, a)
    for k, a in {"cos0": cos0, "sin0": sin0, "cos1": cos1, "sin1": sin1}.items():
        g.init(k, a)
    g.init("split_qkv", np.array([heads * hd, kv_heads * hd, kv_heads * hd], np.int64))
    h0 = g.op("Gather", ["embed", "input_ids"], name="embed")
    n = g.op("RMSNormalization", [h0, "l0.norm"], name="l0_norm", epsilon=1e-5)
    q = g.op("MatMul", [n, "l0.q"], name="l0_q")
    k = g.op("MatMul", [n, "l0.k"], name="l0_k")
    v = g.op("MatMul", [n, "l0.v"], name="l0_v")
    q = g.op("RotaryEmbedding", [q, "cos0", "sin0", "position_ids"], name="l0_rope_q",
             num_heads=heads, rotary_embedding_dim=rot0)
    k = g.op("RotaryEmbedding", [k, "cos0", "sin0", "position_ids"], name="l0_rope_k",
             num_heads=kv_heads, rotary_embedding_dim=rot0)
    a = g.op("Attention", [q, k, v], name="l0_attn", is_causal=1,
             q_num_heads=heads, kv_num_heads=kv_heads)
    o = g.op("MatMul", [a, "l0.o"], name="l0_o")
    # h1 = h0 + o, n1 = rmsnorm(h1): one SkipSimplifiedLayerNormalization.
    n1, _, _, h1 = g.op("SkipSimplifiedLayerNormalization", [h0, o, "l0.ffn_norm"],
                        n_out=4, domain="com.microsoft", name="l0_ffn_norm",
                        epsilon=1e-5)
    gate = g.op("MatMul", [n1, "l0.gate"], name="l0_gate")
    sig = g.op("Sigmoid", [gate], name="l0_sigmoid")
    act = g.op("Mul", [gate, sig], name="l0_silu")
    up = g.op("MatMul", [n1, "l0.up"], name="l0_up")
    down = g.op("MatMul", [g.op("Mul", [act, up], name="l0_gated"), "l0.down"],
                name="l0_down")
    h2 = g.op("Add", [h1, down], name="l0_residual")
    n = g.op("SimplifiedLayerNormalization", [h2, "l1.norm"], name="l1_norm",
             epsilon=1e-5, axis=-1)
    qkv = g.op("MatMul", [n, "l1.qkv"], name="l1_qkv")
    q, k, v = g.op("Split", [qkv, "split_qkv"], n_out=3, name="l1_split", axis=2)
    a = g.op("GroupQueryAttention",
             [q, k, v, "", "", "seqlens_k", "total_sequence_length", "cos1", "sin1"],
             n_out=3, domain="com.microsoft", name="l1_gqa", num_heads=heads,
             kv_num_heads=kv_heads, do_rotary=1)[0]
    o = g.op("MatMul", [a, "l1.o"], name="l1_o")
    h3 = g.op("Add", [h2, o], name="l1_residual")
    n = g.op("SimplifiedLayerNormalization", [h3, "final_norm"], name="final_norm",
             epsilon=1e-5)
    g.op("MatMul", [n, "lm_head"], name="lm_head")
    g.nodes[-1].output[0] = "logits"
    inputs = [ids_input(), pos_input(),
              helper.make_tensor_value_info("seqlens_k", TensorProto.INT32, ["batch"]),
              helper.make_tensor_value_info("total_sequence_length", TensorProto.INT32, [])]
    model = g.model("transformer", inputs, [logits_output("logits")],
                    [("", 23), ("com.microsoft", 1)])

    def forward(ids):
        pos = positions_of(ids)
        h0 = w["embed"][ids]
        n = np_rms(h0, w["l0.norm"])
        bt = ids.shape
        q = (n @ w["l0.q"]).reshape(*bt, heads, hd)
        k = (n @ w["l0.k"]).reshape(*bt, kv_heads, hd)
        v = (n @ w["l0.v"]).reshape(*bt, kv_heads, hd)
        q, k = np_rope(q, pos, rot0), np_rope(k, pos, rot0)
        a = np_attention(q, k, v, 1 / np.sqrt(hd)).reshape(*bt, heads * hd)
        h1 = h0 + a @ w["l0.o"]
        n1 = np_rms(h1, w["l0.ffn_norm"])
        h2 = h1 + (silu(n1 @ w["l0.gate"]) * (n1 @ w["l0.up"])) @ w["l0.down"]
        n = np_rms(h2, w["l1.norm"])
        qkv = n @ w["l1.qkv"]
        q = qkv[..., :heads * hd].reshape(*bt, heads, hd)
        k = qkv[..., heads * hd:(heads + kv_heads) * hd].reshape(*bt, kv_heads, hd)
        v = qkv[..., (heads + kv_heads) * hd:].reshape(*bt, kv_heads, hd)
        q, k = np_rope(q, pos, rot1), np_rope(k, pos, rot1)
        a = np_attention(q, k, v, 1 / np.sqrt(hd)).reshape(*bt, heads * hd)
        h3 = h2 + a @ w["l1.o"]
        return np_rms(h3, w["final_norm"]) @ w["lm_head"]

    return model, forward


def run_ort(model, ids):
    import onnxruntime as ort
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    feeds = {"input_ids": ids, "position_ids": positions_of(ids),
             "seqlens_k": np.full(ids.shape[0], ids.shape[1] - 1, np.int32),
             "total_sequence_length": np.array(ids.shape[1], np.int32)}
    names = {i.name for i in session.get_inputs()}
    return session.run(None, {k: v for k, v in feeds.items() if k in names})[0]


# --------------------------------------------------------------------------
# end-to-end model 2: a hybrid with braid-domain Mamba2 ops
# --------------------------------------------------------------------------

def hybrid():
    d_inner, heads, p, groups, n_state, kconv = 64, 4, 16, 1, 16, 4
    conv_ch = d_inner + 2 * groups * n_state
    inter, a_heads, a_kv, a_hd, rot = 64, 4, 2, 8, 8
    w = {
        "embed": rand(V, H, scale=1.0),
        "m.norm": norm_weight(H),
        "m.in_proj": rand(H, d_inner + conv_ch + heads),
        "m.conv": rand(conv_ch, 1, kconv, scale=0.5),
        "m.conv_bias": rand(conv_ch, scale=0.1),
        "m.A_log": np.log(RNG.uniform(1, 16, heads)).astype(np.float32),
        "m.D": norm_weight(heads),
        "m.dt_bias": rand(heads, scale=0.5),
        "m.gate_norm": norm_weight(d_inner),
        "m.out_proj": rand(d_inner, H),
        "a.norm": norm_weight(H),
        "a.q": rand(H, a_heads * a_hd), "a.k": rand(H, a_kv * a_hd),
        "a.v": rand(H, a_kv * a_hd), "a.o": rand(a_heads * a_hd, H),
        "f.norm": norm_weight(H),
        "f.gate": rand(H, inter), "f.up": rand(H, inter), "f.down": rand(inter, H),
        "final_norm": norm_weight(H),
        "lm_head": rand(H, V),
    }
    cos, sin = rope_cache(rot)
    g = Graph()
    for k, a in w.items():
        g.init(k, a)
    g.init("cos", cos)
    g.init("sin", sin)
    g.init("split_in", np.array([d_inner, conv_ch, heads], np.int64))
    g.init("split_xbc", np.array([d_inner, n_state, n_state], np.int64))
    g.init("shape_x", np.array([0, 0, heads, p], np.int64))
    g.init("shape_bc", np.array([0, 0, groups, n_state], np.int64))
    g.init("shape_y", np.array([0, 0, d_inner], np.int64))

    h0 = g.op("Gather", ["embed", "input_ids"], name="embed")
    n = g.op("RMSNormalization", [h0, "m.norm"], name="m_norm", epsilon=1e-5)
    proj = g.op("MatMul", [n, "m.in_proj"], name="m_in_proj")
    z, xbc, dt = g.op("Split", [proj, "split_in"], n_out=3, name="m_split", axis=-1)
    xbc = g.op("CausalConv1d", [xbc, "m.conv", "m.conv_bias"], domain="braid",
               name="m_conv", activation="silu")
    xs, bs, cs = g.op("Split", [xbc, "split_xbc"], n_out=3, name="m_split_xbc", axis=2)
    x4 = g.op("Reshape", [xs, "shape_x"], name="m_x_heads")
    b4 = g.op("Reshape", [bs, "shape_bc"], name="m_b_groups")
    c4 = g.op("Reshape", [cs, "shape_bc"], name="m_c_groups")
    a = g.op("Neg", [g.op("Exp", ["m.A_log"], name="m_exp")], name="m_A")
    y = g.op("SSDScan", [x4, dt, a, b4, c4, "m.D", "m.dt_bias"], domain="braid",
             name="m_scan", chunk_size=4, dt_softplus=1)
    y = g.op("Reshape", [y, "shape_y"], name="m_y_flat")
    y = g.op("GatedRMSNorm", [y, z, "m.gate_norm"], domain="braid", name="m_gate_norm",
             epsilon=1e-5, group_size=d_inner)
    h1 = g.op("Add", [h0, g.op("MatMul", [y, "m.out_proj"], name="m_out_proj")],
              name="m_residual")
    n = g.op("RMSNormalization", [h1, "a.norm"], name="a_norm", epsilon=1e-5)
    q = g.op("MatMul", [n, "a.q"], name="a_q")
    k = g.op("MatMul", [n, "a.k"], name="a_k")
    v = g.op("MatMul", [n, "a.v"], name="a_v")
    q = g.op("RotaryEmbedding", [q, "cos", "sin", "position_ids"], name="a_rope_q",
             num_heads=a_heads)
    k = g.op("RotaryEmbedding", [k, "cos", "sin", "position_ids"], name="a_rope_k",
             num_heads=a_kv)
    o = g.op("Attention", [q, k, v], name="a_attn", is_causal=1,
             q_num_heads=a_heads, kv_num_heads=a_kv)
    h2 = g.op("Add", [h1, g.op("MatMul", [o, "a.o"], name="a_o")], name="a_residual")
    n = g.op("RMSNormalization", [h2, "f.norm"], name="f_norm", epsilon=1e-5)
    gate = g.op("MatMul", [n, "f.gate"], name="f_gate")
    act = g.op("Mul", [gate, g.op("Sigmoid", [gate], name="f_sigmoid")], name="f_silu")
    up = g.op("MatMul", [n, "f.up"], name="f_up")
    down = g.op("MatMul", [g.op("Mul", [act, up], name="f_gated"), "f.down"],
                name="f_down")
    h3 = g.op("Add", [h2, down], name="f_residual")
    n = g.op("RMSNormalization", [h3, "final_norm"], name="final_norm", epsilon=1e-5)
    g.op("MatMul", [n, "lm_head"], name="lm_head")
    g.nodes[-1].output[0] = "logits"
    model = g.model("hybrid", [ids_input(), pos_input()], [logits_output("logits")],
                    [("", 23), ("braid", 1)])

    def forward(ids):
        pos = positions_of(ids)
        bt = ids.shape
        h0 = w["embed"][ids]
        proj = np_rms(h0, w["m.norm"]) @ w["m.in_proj"]
        z, xbc, dt = np.split(proj, [d_inner, d_inner + conv_ch], -1)
        xbc = np_causal_conv(xbc, w["m.conv"][:, 0, :], w["m.conv_bias"], "silu")
        xs, bs, cs = np.split(xbc, [d_inner, d_inner + n_state], -1)
        y = np_ssd_scan(xs.reshape(*bt, heads, p), dt, -np.exp(w["m.A_log"]),
                        bs.reshape(*bt, groups, n_state),
                        cs.reshape(*bt, groups, n_state), w["m.D"], w["m.dt_bias"])
        y = np_gated_rms(y.reshape(*bt, d_inner), z, w["m.gate_norm"], d_inner)
        h1 = h0 + y @ w["m.out_proj"]
        n = np_rms(h1, w["a.norm"])
        q = np_rope((n @ w["a.q"]).reshape(*bt, a_heads, a_hd), pos, rot)
        k = np_rope((n @ w["a.k"]).reshape(*bt, a_kv, a_hd), pos, rot)
        v = (n @ w["a.v"]).reshape(*bt, a_kv, a_hd)
        o = np_attention(q, k, v, 1 / np.sqrt(a_hd)).reshape(*bt, a_heads * a_hd)
        h2 = h1 + o @ w["a.o"]
        n = np_rms(h2, w["f.norm"])
        h3 = h2 + (silu(n @ w["f.gate"]) * (n @ w["f.up"])) @ w["f.down"]
        return np_rms(h3, w["final_norm"]) @ w["lm_head"]

    return model, forward


def write_reference(filename, ids, logits, generated):
    save_file({"input_ids": ids.astype(np.int64),
               "logits": np.ascontiguousarray(logits, np.float32),
               "generated": generated.astype(np.int64)},
              os.path.join(HERE, filename))


def rel_l2(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def end_to_end():
    ids = RNG.integers(0, V, (B, T)).astype(np.int64)
    model, forward = transformer()
    save(model, "transformer.onnx")
    ort_logits = run_ort(model, ids)
    err = rel_l2(forward(ids).astype(np.float32), ort_logits)
    assert err < 1e-5, f"numpy transformer disagrees with onnxruntime: {err}"
    print(f"transformer: numpy vs onnxruntime rel-L2 {err:.2e}")
    write_reference("transformer_ref.safetensors", ids, ort_logits,
                    greedy(forward, ids))

    model, forward = hybrid()
    save(model, "hybrid.onnx")
    write_reference("hybrid_ref.safetensors", ids, forward(ids), greedy(forward, ids))


# --------------------------------------------------------------------------
# single-op models (FileCheck) and malformed models (errors)
# --------------------------------------------------------------------------

def small_head(g, x, vocab=8):
    """x [.., H'] -> logits via one MatMul named lm_head."""
    return g.op("MatMul", [x, g.init("lm_head", rand(H, vocab))], name="lm_head")


def finish(g, name, last, opsets=(("", 23),), vocab=8, inputs=None, value_info=()):
    g.nodes[-1].output[0] = "logits"
    return g.model(name, inputs or [ids_input(), pos_input()],
                   [logits_output("logits", vocab)], list(opsets), value_info)


def generic_ops():
    """Generic ai.onnx ops on activations, checked against onnxruntime:
    Unsqueeze, Tanh, Concat, Split, Squeeze, Reshape, Gelu (tanh), MatMul,
    Add, Cast, Identity, Softplus, LayerNormalization, Constant, Mul by a
    scalar, Div and Sub by per-channel constants, Relu."""
    g = Graph()
    w = {"embed": rand(V, H, scale=1.0), "w": rand(2 * H, H),
         "ln_w": norm_weight(H), "ln_b": rand(H, scale=0.1),
         "div": (1.0 + RNG.uniform(0, 1, H)).astype(np.float32),
         "sub": rand(H, scale=0.1), "lm_head": rand(H, V)}
    for k, a in w.items():
        g.init(k, a)
    g.init("axis2", np.array([2], np.int64))
    g.init("halves", np.array([1, 1], np.int64))
    g.init("flat", np.array([0, 0, 2 * H], np.int64))
    h = g.op("Gather", ["embed", "input_ids"], name="embed")
    u = g.op("Unsqueeze", [h, "axis2"], name="unsqueeze")
    c = g.op("Concat", [u, g.op("Tanh", [u], name="tanh")], name="concat", axis=2)
    _, second = g.op("Split", [c, "halves"], n_out=2, name="split_heads", axis=2)
    s = g.op("Squeeze", [second, "axis2"], name="squeeze")
    f = g.op("Gelu", [g.op("Reshape", [c, "flat"], name="flatten")], name="gelu",
             approximate="tanh")
    m = g.op("Add", [g.op("MatMul", [f, "w"], name="proj"), s], name="add")
    m = g.op("Identity", [g.op("Cast", [m], name="cast", to=TensorProto.FLOAT)],
             name="identity")
    p = g.op("Softplus", [m], name="softplus")
    n = g.op("LayerNormalization", [p, "ln_w", "ln_b"], name="ln", epsilon=1e-5)
    k = g.op("Constant", [], name="three", value_float=3.0)
    n = g.op("Mul", [n, k], name="times_three")
    n = g.op("Sub", [g.op("Div", [n, "div"], name="div_channels"), "sub"],
             name="sub_channels")
    n = g.op("Relu", [n], name="relu")
    g.op("MatMul", [n, "lm_head"], name="lm_head")
    g.nodes[-1].output[0] = "logits"
    model = g.model("generic", [ids_input(), pos_input()], [logits_output("logits")],
                    [("", 23)])
    ids = RNG.integers(0, V, (B, T)).astype(np.int64)
    save(model, "generic.onnx")
    logits = run_ort(model, ids)
    save_file({"input_ids": ids, "logits": np.ascontiguousarray(logits, np.float32)},
              os.path.join(HERE, "generic_ref.safetensors"))


def microsoft_ops():
    """com.microsoft ops whose semantics the importer maps by convention,
    checked against onnxruntime: RotaryEmbedding (interleaved, 3-D input),
    SkipSimplifiedLayerNormalization with a bias, GroupQueryAttention with a
    local window (braid's sliding_window takes the same number) and no
    rotary."""
    heads, hd = 2, 16
    g = Graph()
    w = {"embed": rand(V, H, scale=1.0), "gamma": norm_weight(H),
         "beta": rand(H, scale=0.1), "q": rand(H, H), "k": rand(H, H),
         "v": rand(H, H), "lm_head": rand(H, V)}
    for k, a in w.items():
        g.init(k, a)
    cos, sin = rope_cache(hd)
    g.init("cos", cos)
    g.init("sin", sin)
    h = g.op("Gather", ["embed", "input_ids"], name="embed")
    r = g.op("RotaryEmbedding", [h, "position_ids", "cos", "sin"], domain="com.microsoft",
             name="ms_rope", interleaved=1, num_heads=heads)
    n, _, _, s = g.op("SkipSimplifiedLayerNormalization", [h, r, "gamma", "beta"],
                      n_out=4, domain="com.microsoft", name="skip_norm", epsilon=1e-5)
    q = g.op("MatMul", [n, "q"], name="q")
    k = g.op("MatMul", [n, "k"], name="k")
    v = g.op("MatMul", [n, "v"], name="v")
    a = g.op("GroupQueryAttention",
             [q, k, v, "", "", "seqlens_k", "total_sequence_length"], n_out=3,
             domain="com.microsoft", name="gqa_window", num_heads=heads,
             kv_num_heads=heads, local_window_size=3)[0]
    o = g.op("Add", [s, a], name="residual")
    g.op("MatMul", [o, "lm_head"], name="lm_head")
    g.nodes[-1].output[0] = "logits"
    inputs = [ids_input(), pos_input(),
              helper.make_tensor_value_info("seqlens_k", TensorProto.INT32, ["batch"]),
              helper.make_tensor_value_info("total_sequence_length", TensorProto.INT32, [])]
    model = g.model("microsoft", inputs, [logits_output("logits")],
                    [("", 23), ("com.microsoft", 1)])
    ids = RNG.integers(0, V, (B, T)).astype(np.int64)
    save(model, "microsoft.onnx")
    save_file({"input_ids": ids,
               "logits": np.ascontiguousarray(run_ort(model, ids), np.float32)},
              os.path.join(HERE, "microsoft_ref.safetensors"))


def op_models():
    # Gemm after flattening tokens (static [2, 5] export), with bias, and a
    # tied LM head through a transposed embedding.
    g = Graph()
    g.init("embed", rand(V, H))
    g.init("w", rand(16, H))
    g.init("b", rand(16))
    g.init("flat", np.array([-1, H], np.int64))
    g.init("unflat", np.array([2, 5, 16], np.int64))
    h = g.op("Gather", ["embed", "input_ids"], name="embed")
    f = g.op("Reshape", [h, "flat"], name="flatten")
    y = g.op("Gemm", [f, "w", "b"], name="proj", transB=1)
    y = g.op("Reshape", [y, "unflat"], name="unflatten")
    g.init("w2", rand(16, H))
    y = g.op("MatMul", [y, "w2"], name="back")
    et = g.op("Transpose", ["embed"], name="embed_t", perm=[1, 0])
    g.op("MatMul", [y, et], name="tied_head")
    save(finish(g, "gemm", y, vocab=V, inputs=[ids_input((2, 5))]), "op_gemm.onnx")

    # Norms: LayerNormalization, com.microsoft SimplifiedLayerNormalization,
    # fp16 and bf16 initializers.
    g = Graph()
    g.init("embed", rand(V, H))
    g.inits.append(numpy_helper.from_array(norm_weight(H).astype(np.float16), "ln_w"))
    g.init("ln_b", rand(H))
    bf = helper.make_tensor("rms_w", TensorProto.BFLOAT16, [H],
                            vals=[int(v) for v in
                                  (norm_weight(H).view(np.uint32) >> 16).astype(np.uint16)])
    g.inits.append(bf)
    h = g.op("Gather", ["embed", "input_ids"], name="embed")
    h = g.op("LayerNormalization", [h, "ln_w", "ln_b"], name="ln", epsilon=1e-6)
    h = g.op("SimplifiedLayerNormalization", [h, "rms_w"], domain="com.microsoft",
             name="ms_rms", epsilon=1e-6)
    small_head(g, h)
    save(finish(g, "norms", h, opsets=[("", 23), ("com.microsoft", 1)]), "op_norms.onnx")

    # Weights as external data in a side file.
    g = Graph()
    g.init("embed", rand(V, H))
    h = g.op("Gather", ["embed", "input_ids"], name="embed")
    h = g.op("Relu", [h], name="relu")
    small_head(g, h)
    model = finish(g, "external", h)
    save(model, "op_external.onnx", save_as_external_data=True,
         all_tensors_to_one_file=True, location="op_external.weights",
         size_threshold=0)

    # 4-D attention: Transpose to [B, H, T, D], RotaryEmbedding and Attention
    # in that layout, Transpose back; plus Sub and a scalar Div.
    g = Graph()
    g.init("embed", rand(V, H))
    g.init("heads", np.array([0, 0, 4, 8], np.int64))
    g.init("merge", np.array([0, 0, H], np.int64))
    cos, sin = rope_cache(8)
    g.init("cos", cos)
    g.init("sin", sin)
    g.init("two", np.array(2.0, np.float32))
    h = g.op("Gather", ["embed", "input_ids"], name="embed")
    x = g.op("Transpose", [g.op("Reshape", [h, "heads"], name="split_heads")],
             name="to_heads_major", perm=[0, 2, 1, 3])
    r = g.op("RotaryEmbedding", [x, "cos", "sin", "position_ids"], name="rope4d")
    a = g.op("Attention", [r, r, x], name="attn4d", is_causal=1, scale=0.5)
    a = g.op("Transpose", [a], name="to_tokens_major", perm=[0, 2, 1, 3])
    a = g.op("Reshape", [a, "merge"], name="merge_heads")
    a = g.op("Div", [g.op("Sub", [a, h], name="sub"), "two"], name="half")
    small_head(g, a)
    save(finish(g, "attention4d", a), "op_attention4d.onnx")

    # braid.SelectiveScan (Mamba1) with gate, D and dt/B/C norms.
    d_inner, rank, state = 32, 4, 8
    g = Graph()
    g.init("embed", rand(V, H))
    g.init("x_proj", rand(rank + 2 * state, d_inner))
    g.init("dt_proj", rand(d_inner, rank))
    g.init("dt_bias", rand(d_inner))
    g.init("A", -np.exp(rand(d_inner, state)))
    g.init("D", norm_weight(d_inner))
    g.init("dt_norm", norm_weight(rank))
    g.init("b_norm", norm_weight(state))
    g.init("c_norm", norm_weight(state))
    h = g.op("Gather", ["embed", "input_ids"], name="embed")
    y = g.op("SelectiveScan", [h, "x_proj", "dt_proj", "dt_bias", "A", h, "D",
                               "dt_norm", "b_norm", "c_norm"],
             domain="braid", name="mamba1_scan", norm_epsilon=1e-6)
    small_head(g, y)
    save(finish(g, "mamba1", y, opsets=[("", 23), ("braid", 1)]), "op_selective_scan.onnx")


def bad_models():
    def base(extra=None, opsets=(("", 23),), double=False, value_info=()):
        g = Graph()
        g.init("embed", rand(V, H).astype(np.float64) if double else rand(V, H))
        h = g.op("Gather", ["embed", "input_ids"], name="embed")
        if extra:
            h = extra(g, h)
        small_head(g, h)
        return finish(g, "bad", h, opsets=list(opsets), value_info=value_info)

    def three_unsupported(g, h):
        g.op("Conv", [h], name="conv_1")
        g.op("CumSum", [h, "axis"], name="cumsum_1")
        g.op("Conv", [h], name="conv_2")
        return h

    save(base(lambda g, h: g.op("Mish", [h], name="mish_1")), "bad_unknown_op.onnx")
    save(base(three_unsupported), "bad_unknown_ops_count.onnx")
    save(base(lambda g, h: g.op("Mul", [h, g.init("w", rand(16))], name="mul_vec")),
         "bad_shape_broadcast.onnx")

    # Forms braid cannot express, each naming the node.
    save(base(lambda g, h: g.op("Transpose", [h], name="swap_bt", perm=[1, 0, 2])),
         "bad_transpose.onnx")
    # Decomposed attention starts with a MatMul of two activations (the
    # shapes do not matter: the importer stops at the form).
    save(base(lambda g, h: g.op("MatMul", [h, h], name="scores") and h),
         "bad_matmul_activations.onnx")

    def masked_attention(g, h):
        g.init("mask", np.zeros((T, T), np.float32))
        return g.op("Attention", [h, h, h, "mask"], name="masked", q_num_heads=4,
                    kv_num_heads=4)
    save(base(masked_attention), "bad_attn_mask.onnx")

    def scaled_rope(g, h):
        cos, sin = rope_cache(8)
        pos = np.arange(MAX_POS, dtype=np.float64)[:, None] / 4.0  # linear scaling
        inv = THETA ** (-np.arange(0, 8, 2) / 8.0)
        g.init("cos", np.cos(pos * inv).astype(np.float32))
        g.init("sin", np.sin(pos * inv).astype(np.float32))
        return g.op("RotaryEmbedding", [h, "cos", "sin", "position_ids"],
                    name="rope_scaled", num_heads=4)
    save(base(scaled_rope), "bad_rope_scaled.onnx")

    model = base()
    model.graph.input.append(
        helper.make_tensor_value_info("mask", TensorProto.DOUBLE, ["batch", "seq"]))
    save(model, "bad_input_dtype.onnx")

    # External data whose side file is missing.
    model = base()
    save(model, "bad_external_missing.onnx", save_as_external_data=True,
         all_tensors_to_one_file=True, location="bad_external_missing.weights",
         size_threshold=0)
    os.remove(os.path.join(HERE, "bad_external_missing.weights"))

    # An initializer whose raw data is shorter than its shape needs.
    model = base()
    short = helper.make_tensor("short", TensorProto.FLOAT, [4], vals=[0.0] * 4, raw=False)
    short.ClearField("float_data")
    short.raw_data = b"\0" * 8
    model.graph.initializer.append(short)
    save(model, "bad_short_data.onnx")
    save(base(lambda g, h: g.op("Sigmoid", [h, h], name="sig_2in")), "bad_arity.onnx")
    save(base(lambda g, h: g.op("MatMul", [h, g.init("w", rand(16, 8))],
                                name="mm_conflict")), "bad_shape_matmul.onnx")
    info = [helper.make_tensor_value_info("relu_out", TensorProto.FLOAT,
                                          ["batch", "seq", 48])]
    save(base(lambda g, h: g.op("Relu", [h], name="relu"), value_info=info),
         "bad_shape_declared.onnx")
    save(base(double=True), "bad_dtype.onnx")
    save(base(opsets=[("", 24)]), "bad_opset.onnx")
    save(base(opsets=[("", 23), ("ai.onnx.ml", 3)]), "bad_domain.onnx")
    with open(os.path.join(HERE, "hybrid.onnx"), "rb") as f:
        data = f.read()
    with open(os.path.join(HERE, "bad_truncated.onnx"), "wb") as f:
        f.write(data[:len(data) // 2])
    with open(os.path.join(HERE, "bad_not_onnx.onnx"), "w") as f:
        f.write("this is a text file, not an ONNX model\n")



# --------------------------------------------------------------------------
# raising: decomposed subgraphs as torch.onnx (dynamo, opset 18) writes them,
# static input [2, 7]; references from onnxruntime on the unraised graph
# (test/frontends/onnx/raise-*.test). Own generator, so the files above keep
# their bytes.
# --------------------------------------------------------------------------

RRNG = np.random.default_rng(20261127)


def rrand(*shape, scale=None):
    scale = scale if scale is not None else 1.0 / np.sqrt(shape[0])
    return (RRNG.standard_normal(shape) * scale).astype(np.float32)


def static_ids():
    return helper.make_tensor_value_info("input_ids", TensorProto.INT64, [B, T])


def i64(*values):
    return np.array(values, np.int64)


def f32(value):
    return np.array(value, np.float32)


def rms_decomposed(g, x, w, eps=1e-5, axes=(-1,), tag="norm"):
    """x * rsqrt(mean(x^2, -1) + eps) * w, the way torch.onnx writes it."""
    p = g.op("Pow", [x, g.init(f"{tag}_two", f32(2.0))], name=f"{tag}_pow")
    m = g.op("ReduceMean", [p, g.init(f"{tag}_axes", i64(*axes))],
             name=f"{tag}_mean", keepdims=1)
    a = g.op("Add", [m, g.init(f"{tag}_eps", f32(eps))], name=f"{tag}_add")
    r = g.op("Reciprocal", [g.op("Sqrt", [a], name=f"{tag}_sqrt")], name=f"{tag}_rsqrt")
    n = g.op("Mul", [x, r], name=f"{tag}_mul")
    return g.op("Mul", [w, n], name=f"{tag}_scale")


def silu_decomposed(g, x, tag):
    return g.op("Mul", [x, g.op("Sigmoid", [x], name=f"{tag}_sigmoid")], name=tag)


def raise_finish(g, name, last, vocab=V):
    g.op("MatMul", [last, g.init("lm_head", rrand(H, vocab))], name="lm_head")
    g.nodes[-1].output[0] = "logits"
    model = g.model(name, [static_ids()],
                    [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                                   [B, T, vocab])], [("", 18)])
    return model


def raise_reference(model, filename):
    ids = RRNG.integers(0, V, (B, T)).astype(np.int64)
    import onnxruntime as ort
    sess = ort.InferenceSession(model.SerializeToString(),
                                providers=["CPUExecutionProvider"])
    logits = sess.run(None, {"input_ids": ids})[0]
    save_file({"input_ids": ids, "logits": np.ascontiguousarray(logits, np.float32)},
              os.path.join(HERE, filename))


def raise_norms(eps=1e-5, axes=(-1,), name="raise_norms"):
    """RMSNorm (its input also feeds the residual) and Mamba2's gated norm in
    2 groups: Reshape [B, T, 2, 16], norm, Reshape back, weight."""
    g = Graph()
    h = g.op("Gather", [g.init("embed", rrand(V, H, scale=1.0)), "input_ids"], name="embed")
    n = rms_decomposed(g, h, g.init("w1", 1 + rrand(H, scale=0.1)), eps, axes, "norm1")
    h2 = g.op("Add", [h, g.op("MatMul", [n, g.init("proj", rrand(H, H))], name="proj")],
              name="residual")
    z = g.op("MatMul", [h2, g.init("gate_w", rrand(H, H))], name="gate_proj")
    gated = g.op("Mul", [h2, silu_decomposed(g, z, "gate_silu")], name="gated")
    grouped = g.op("Reshape", [gated, g.init("groups", i64(B, T, 2, H // 2))], name="group")
    p = g.op("Pow", [grouped, "norm1_two"], name="norm2_pow")
    m = g.op("ReduceMean", [p, "norm1_axes"], name="norm2_mean", keepdims=1)
    a = g.op("Add", [m, g.init("norm2_eps", f32(1e-6))], name="norm2_add")
    r = g.op("Reciprocal", [g.op("Sqrt", [a], name="norm2_sqrt")], name="norm2_rsqrt")
    n2 = g.op("Reshape", [g.op("Mul", [grouped, r], name="norm2_mul"),
                          g.init("ungroup", i64(B, T, H))], name="ungroup")
    out = g.op("Mul", [g.init("w2", 1 + rrand(H, scale=0.1)), n2], name="norm2_scale")
    return raise_finish(g, name, out)


def raise_activations(threshold=20.0, name="raise_activations"):
    """softplus with torch's threshold, exact GELU, squared ReLU."""
    g = Graph()
    h = g.op("Gather", [g.init("embed", rrand(V, H, scale=1.0)), "input_ids"], name="embed")
    sp = g.op("Softplus", [h], name="sp")
    big = g.op("Greater", [h, g.init("threshold", f32(threshold))], name="sp_greater")
    s = g.op("Where", [big, h, sp], name="sp_where")
    d = g.op("Div", [s, g.init("sqrt2", f32(np.sqrt(2.0)))], name="gelu_div")
    e = g.op("Add", [g.op("Erf", [d], name="gelu_erf"), g.init("one", f32(1.0))],
             name="gelu_add")
    e = g.op("Mul", [g.init("half", f32(0.5)), e], name="gelu_half")
    gl = g.op("Mul", [s, e], name="gelu")
    r = g.op("Relu", [g.op("MatMul", [gl, g.init("up", rrand(H, H))], name="up")],
             name="relu")
    r2 = g.op("Pow", [r, g.init("two", f32(2.0))], name="relu_sq")
    return raise_finish(g, name, r2)


def raise_conv(pads=3, name="raise_conv"):
    """Mamba's conv1d: Transpose, depthwise Conv (K = 4, padding K - 1),
    Slice to T, SiLU, Transpose back."""
    g = Graph()
    h = g.op("Gather", [g.init("embed", rrand(V, H, scale=1.0)), "input_ids"], name="embed")
    t = g.op("Transpose", [h], name="to_channels", perm=[0, 2, 1])
    c = g.op("Conv", [t, g.init("conv_w", rrand(H, 1, 4, scale=0.5)),
                      g.init("conv_b", rrand(H, scale=0.1))],
             name="conv1d", group=H, kernel_shape=[4], pads=[pads, pads],
             strides=[1], dilations=[1])
    s = g.op("Slice", [c, g.init("zero", i64(0)), g.init("t", i64(T)),
                       g.init("axis2", i64(2)), g.init("step", i64(1))], name="causal")
    y = g.op("Transpose", [silu_decomposed(g, s, "conv_silu")], name="to_tokens",
             perm=[0, 2, 1])
    return raise_finish(g, name, y)


def rope_table(rotary):
    inv = 1.0 / THETA ** (np.arange(0, rotary, 2) / rotary)
    ang = np.arange(T)[:, None] * inv[None, :]
    ang = np.concatenate([ang, ang], -1)
    return (np.cos(ang)[None, None].astype(np.float32),
            np.sin(ang)[None, None].astype(np.float32))


def raise_attention(causal=True, name="raise_attention"):
    """GQA 4/2 heads of 8, partial rotary 4/8, the causal mask as a constant,
    scores scaled on both sides, NaN rows zeroed, as torch.onnx writes SDPA."""
    hq, hkv, d, rot = 4, 2, 8, 4
    g = Graph()
    h = g.op("Gather", [g.init("embed", rrand(V, H, scale=1.0)), "input_ids"], name="embed")
    cos, sin = rope_table(rot)
    g.init("cos", cos)
    g.init("sin", sin)
    for nm, v in {"s0": i64(0), "sr": i64(rot), "sh": i64(rot // 2), "end": i64(2**63 - 1),
                  "ax3": i64(3), "one": i64(1), "ax2": i64(2)}.items():
        g.init(nm, v)

    def heads(tag, n):
        p = g.op("MatMul", [h, g.init(f"w{tag}", rrand(H, n * d))], name=f"{tag}_proj")
        r = g.op("Reshape", [p, g.init(f"{tag}_shape", i64(B, T, -1, d))], name=f"{tag}_view")
        return g.op("Transpose", [r], name=f"{tag}_heads", perm=[0, 2, 1, 3])

    def rope(x, tag):
        x1 = g.op("Slice", [x, "s0", "sr", "ax3", "one"], name=f"{tag}_rot")
        x2 = g.op("Slice", [x, "sr", "end", "ax3", "one"], name=f"{tag}_pass")
        lo = g.op("Slice", [x1, "s0", "sh", "ax3", "one"], name=f"{tag}_lo")
        hi = g.op("Slice", [x1, "sh", "end", "ax3", "one"], name=f"{tag}_hi")
        rh = g.op("Concat", [g.op("Neg", [hi], name=f"{tag}_neg"), lo], name=f"{tag}_rh", axis=-1)
        a = g.op("Add", [g.op("Mul", [x1, "cos"], name=f"{tag}_cos"),
                         g.op("Mul", [rh, "sin"], name=f"{tag}_sin")], name=f"{tag}_add")
        return g.op("Concat", [a, x2], name=f"{tag}_rope", axis=-1)

    q = rope(heads("q", hq), "q")
    k = rope(heads("k", hkv), "k")
    v = heads("v", hkv)
    rep = i64(B, hkv, hq // hkv, T, d)
    k = g.op("Expand", [g.op("Unsqueeze", [k, "ax2"], name="k_unsq"), g.init("rep", rep)],
             name="k_expand")
    k = g.op("Reshape", [k, g.init("k_flat", i64(B * hq, T, d))], name="k_flat")
    k = g.op("Transpose", [k], name="k_t", perm=[0, 2, 1])
    k = g.op("Reshape", [k, g.init("k_4d", i64(B, hq, d, T))], name="k_4d")
    v = g.op("Expand", [g.op("Unsqueeze", [v, "ax2"], name="v_unsq"), "rep"], name="v_expand")
    v = g.op("Reshape", [v, g.init("v_4d", i64(B, hq, T, d))], name="v_4d")
    c = g.init("qk_scale", f32(d ** -0.25))
    s = g.op("MatMul", [g.op("Mul", [q, c], name="q_scaled"),
                        g.op("Mul", [k, c], name="k_scaled")], name="scores")
    mask = np.triu(np.full((T, T), -np.inf, np.float32), 1) if causal \
        else np.zeros((T, T), np.float32)
    s = g.op("Add", [s, g.init("mask", np.broadcast_to(mask, (B, 1, T, T)).copy())],
             name="masked")
    p = g.op("Softmax", [s], name="softmax", axis=-1)
    p = g.op("Where", [g.op("IsNaN", [p], name="isnan"), g.init("zero_f", f32(0.0)), p],
             name="nan_to_zero")
    o = g.op("MatMul", [p, v], name="pv")
    o = g.op("Transpose", [o], name="o_tokens", perm=[0, 2, 1, 3])
    o = g.op("Reshape", [o, g.init("o_flat", i64(B, T, -1))], name="o_flat")
    o = g.op("MatMul", [o, g.init("wo", rrand(hq * d, H))], name="o_proj")
    return raise_finish(g, name, g.op("Add", [h, o], name="residual"))


def raise_models():
    for build, filename in [(raise_norms, "raise_norms"),
                            (raise_activations, "raise_activations"),
                            (raise_conv, "raise_conv"),
                            (raise_attention, "raise_attention")]:
        model = build()
        save(model, filename + ".onnx")
        raise_reference(model, filename + "_ref.safetensors")
    # Negative cases: one structural difference each; the pattern must not
    # fire and the import fails with the unsupported ops.
    save(raise_norms(axes=(1,), name="raise_bad_norm_axis"), "raise_bad_norm_axis.onnx")
    save(raise_activations(threshold=5.0, name="raise_bad_softplus"),
         "raise_bad_softplus.onnx")
    save(raise_conv(pads=2, name="raise_bad_conv_pads"), "raise_bad_conv_pads.onnx")
    save(raise_attention(causal=False, name="raise_bad_mask"), "raise_bad_mask.onnx")


# --------------------------------------------------------------------------
# braid.MoE (export_hf.py's MoE blocks): numpy reference of docs/onnx.md.
# Own generator, so the files above keep their bytes.
# --------------------------------------------------------------------------

MRNG = np.random.default_rng(20261128)


def mrand(*shape, scale=None):
    scale = scale if scale is not None else 1.0 / np.sqrt(shape[-1])
    return (MRNG.standard_normal(shape) * scale).astype(np.float32)


def np_moe(x, router, gate_up, down, top_k, routing, normalize=False, scaling=1.0,
           shared_gate_up=None, shared_down=None):
    """braid.MoE: x [B, T, H]; router [E, H]; gate_up [E, 2I, H]; down [E, H, I]."""
    logits = x @ router.T
    if routing == "topk_softmax":
        idx = np.argsort(-logits, -1, kind="stable")[..., :top_k]
        top = np.take_along_axis(logits, idx, -1)
        weights = np.exp(top - top.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
    else:
        if routing == "softmax_topk":
            probs = np.exp(logits - logits.max(-1, keepdims=True))
            probs /= probs.sum(-1, keepdims=True)
        else:
            probs = 1 / (1 + np.exp(-logits))
        idx = np.argsort(-probs, -1, kind="stable")[..., :top_k]
        weights = np.take_along_axis(probs, idx, -1)
        if normalize:
            weights = weights / weights.sum(-1, keepdims=True)
    inner = down.shape[-1]
    y = np.zeros_like(x)
    for e in range(router.shape[0]):
        w_e = (weights * (idx == e)).sum(-1, keepdims=True) * scaling
        h = x @ gate_up[e].T
        y += w_e * ((silu(h[..., :inner]) * h[..., inner:]) @ down[e].T)
    if shared_gate_up is not None:
        shared = shared_down.shape[-1]
        h = x @ shared_gate_up.T
        y += (silu(h[..., :shared]) * h[..., shared:]) @ shared_down.T
    return y


def moe_model(top_k=2, name="op_moe"):
    """embedding -> RMSNorm -> braid.MoE (Jamba: softmax over all experts,
    top k as they are) -> residual -> RMSNorm -> braid.MoE (GraniteMoeHybrid-
    like: softmax over the top-k logits, a shared expert, routed_scaling) ->
    residual -> LM head."""
    experts, inner, shared = 4, 24, 16
    w = {
        "embed": mrand(V, H, scale=1.0),
        "n1": norm_weight(H), "r1": mrand(experts, H),
        "gu1": mrand(experts, 2 * inner, H), "d1": mrand(experts, H, inner),
        "n2": norm_weight(H), "r2": mrand(experts, H),
        "gu2": mrand(experts, 2 * inner, H), "d2": mrand(experts, H, inner),
        "sgu2": mrand(2 * shared, H), "sd2": mrand(H, shared),
        "final_norm": norm_weight(H), "lm_head": mrand(H, V),
    }
    g = Graph()
    for k, a in w.items():
        g.init(k, a)
    h0 = g.op("Gather", ["embed", "input_ids"], name="embed")
    n = g.op("RMSNormalization", [h0, "n1"], name="norm1", epsilon=1e-5)
    m = g.op("MoE", [n, "r1", "gu1", "d1"], domain="braid", name="moe_jamba",
             top_k=top_k, routing="softmax_topk", normalize_topk=0, activation="silu")
    h1 = g.op("Add", [h0, m], name="residual1")
    n = g.op("RMSNormalization", [h1, "n2"], name="norm2", epsilon=1e-5)
    m = g.op("MoE", [n, "r2", "gu2", "d2", "", "sgu2", "sd2"], domain="braid",
             name="moe_granite", top_k=2, routing="topk_softmax", routed_scaling=0.5,
             activation="silu")
    h2 = g.op("Add", [h1, m], name="residual2")
    n = g.op("RMSNormalization", [h2, "final_norm"], name="final_norm", epsilon=1e-5)
    g.op("MatMul", [n, "lm_head"], name="lm_head")
    g.nodes[-1].output[0] = "logits"
    model = g.model(name, [ids_input()], [logits_output("logits")],
                    [("", 23), ("braid", 1)])

    def forward(ids):
        h0 = w["embed"][ids]
        h1 = h0 + np_moe(np_rms(h0, w["n1"]), w["r1"], w["gu1"], w["d1"], top_k,
                         "softmax_topk")
        h2 = h1 + np_moe(np_rms(h1, w["n2"]), w["r2"], w["gu2"], w["d2"], 2,
                         "topk_softmax", scaling=0.5, shared_gate_up=w["sgu2"],
                         shared_down=w["sd2"])
        return np_rms(h2, w["final_norm"]) @ w["lm_head"]

    return model, forward


def moe_models():
    ids = MRNG.integers(0, V, (B, T)).astype(np.int64)
    model, forward = moe_model()
    save(model, "op_moe.onnx")
    write_reference("op_moe_ref.safetensors", ids, forward(ids), greedy(forward, ids))
    model, _ = moe_model(top_k=5, name="bad_moe_topk")
    save(model, "bad_moe_topk.onnx")


if __name__ == "__main__":
    end_to_end()
    generic_ops()
    microsoft_ops()
    op_models()
    bad_models()
    raise_models()
    moe_models()
