#!/usr/bin/env python3
"""Writes the launch IR of the dense-family GPU test cases.

One module per element type (f32: validation mode, bf16: tensor cores) with a
`prefill` and a `decode` entry. Every dense family appears with odd sizes
(N, K, hidden not multiples of the tiles or of the 16-byte vectors), with
and without its optional operands; dense_kernels_test.cu runs each launch at
several (B, T) and compares with the CPU reference kernels. Launches whose
source is "bench" are also timed (bf16 GEMM shapes of the bamba-1.5b model).

usage: make_dense_cases.py OUTDIR
"""
import os
import sys


def shape_text(shape):
    return "[" + ", ".join(str(d) for d in shape) + "]"


class Module:
    def __init__(self, dt):
        self.dt = dt
        self.weights = {}
        self.states = {}
        self.entries = {"prefill": [], "decode": []}
        self.offset = 0

    # Buffers -------------------------------------------------------------
    def act(self, *dims, dt=None):
        dt = dt or self.dt
        off = self.offset
        self.offset += 64
        return f"#launch.buffer<arena {off} : {shape_text(('B', 'T') + dims)} x {dt}>"

    def raw(self, shape, dt=None):
        dt = dt or self.dt
        off = self.offset
        self.offset += 64
        return f"#launch.buffer<arena {off} : {shape_text(shape)} x {dt}>"

    def weight(self, name, *dims, dt=None):
        dt = dt or self.dt
        self.weights[name] = (dims, dt)
        return f'#launch.buffer<weight "{name}" : {shape_text(dims)} x {dt}>'

    def state(self, name, *dims):
        self.states[name] = dims
        return f'#launch.buffer<state "{name}" : {shape_text(dims)} x f32>'

    def inp(self, name, shape, dt):
        return f'#launch.buffer<input "{name}" : {shape_text(shape)} x {dt}>'

    # Launches ------------------------------------------------------------
    def kernel(self, family, operands, results, attrs="", entries=("prefill", "decode"),
               source="case"):
        ops = ", ".join(operands)
        res = ", ".join(results)
        line = (f'    launch.kernel "{family}" "{source}" [{ops}] -> [{res}] '
                f"attrs {{{attrs}}}")
        for e in entries:
            self.entries[e].append(line)

    def text(self):
        out = [f"module @dense_cases_{self.dt} {{"]
        for name, (dims, dt) in self.weights.items():
            out.append(
                f'  launch.weight "{name}" : {shape_text(dims)} x {dt} {{axis = 0 : i64, '
                f'combine = "single", elementwise = "identity", group_size = 0 : i64, '
                f'sources = [{{dtype = "{dt}", shape = array<i64: {", ".join(map(str, dims))}>, '
                f'tensor = "{name}"}}]}}')
        for name, dims in self.states.items():
            out.append(f'  launch.state "{name}" : {shape_text(dims)} x f32')
        for entry, lines in self.entries.items():
            out.append(f'  launch.entry "{entry}" attributes {{inputs = ["input_ids", '
                       f'"positions", "cache_position"], outputs = ["logits"]}} {{')
            out.extend(lines)
            out.append("  }")
        out.append("}")
        return "\n".join(out) + "\n"


def f64(v):
    return f"{v:.6e} : f64"


def build(dt):
    m = Module(dt)
    uid = [0]

    def w(*dims, dt=None):
        uid[0] += 1
        return m.weight(f"w{uid[0]}", *dims, dt=dt)

    # linear: N, K, bias. Odd N and K (37: not a multiple of 8), K < BK,
    # several tiles, the configs of every N range.
    for n, k, bias in [(296, 64, False), (37, 40, True), (33, 37, True), (1000, 128, True),
                       (3, 24, False), (2056, 136, True), (520, 2048, False)]:
        ops = [m.act(k), w(n, k), w(n) if bias else "unit"]
        m.kernel("linear", ops, [m.act(n)])
    # linear with a fused epilogue (passes/EpilogueFusion.h): the pieces of an
    # absorbed split, even widths (pair stores; Mamba2 in_proj z/xBC/dt,
    # q/k/v) and odd ones (scalar stores, a pair across two pieces), with
    # and without bias; then a residual added in the epilogue.
    for k, widths, bias in [(64, (128, 160, 8), False), (40, (37, 3, 16), True),
                            (136, (1024, 256, 256), True), (24, (1, 2, 5), False)]:
        n = sum(widths)
        ops = [m.act(k), w(n, k), w(n) if bias else "unit"]
        m.kernel("linear", ops, [m.act(p) for p in widths])
    # (4096 outputs: sm_90a's ping-pong tiles, the residual copied into
    # their output slots.)
    for n, k, bias in [(64, 128, False), (37, 40, True), (2048, 136, False), (520, 2048, True),
                       (4096, 256, True)]:
        ops = [m.act(k), w(n, k), w(n) if bias else "unit", m.act(n)]
        m.kernel("linear", ops, [m.act(n)])
    # A gated MLP in the epilogue (glu): [gate; up] rows read interleaved,
    # act(gate) * up written; odd I, bias, another activation, the model's
    # MLP shape (bamba-1.5b: I = 5632 of hidden 2048; checked, not timed:
    # the GEMM bench's reference is a plain linear).
    for i, k, bias, act in [(33, 40, True, "silu"), (128, 64, False, "silu"),
                            (520, 136, False, "gelu_tanh")]:
        ops = [m.act(k), w(2 * i, k), w(2 * i) if bias else "unit"]
        m.kernel("linear", ops, [m.act(i)], f'glu = "{act}"')
    m.kernel("linear", [m.act(2048), w(11264, 2048), "unit"], [m.act(5632)], 'glu = "silu"')
    # The gate second ([up; gate], glu_gate = 1), with and without bias.
    for i, k, bias in [(33, 40, True), (128, 64, False)]:
        ops = [m.act(k), w(2 * i, k), w(2 * i) if bias else "unit"]
        m.kernel("linear", ops, [m.act(i)], 'glu = "silu", glu_gate = 1')
    # Decode GEMMs above 16 rows split K over a cluster on sm_90a when the
    # output is narrow (SpecializersGemm.cpp decodeTensorCoreEngine): each
    # epilogue at the model's narrow shapes (out_proj and down + residual,
    # qkv pieces with bias, a 2048-wide gated MLP with the gate second and
    # bias), uneven k-tile shares (K = 700: 11 k-tiles over 4 blocks), K not
    # a multiple of 8 (element loads) and a partial last column tile.
    for n, k, bias in [(2048, 4096, False), (2048, 5632, True), (296, 700, True)]:
        ops = [m.act(k), w(n, k), w(n) if bias else "unit", m.act(n)]
        m.kernel("linear", ops, [m.act(n)])
    for k, widths, bias in [(2048, (2048, 1024, 1024), True), (1001, (300, 220), False)]:
        n = sum(widths)
        ops = [m.act(k), w(n, k), w(n) if bias else "unit"]
        m.kernel("linear", ops, [m.act(p) for p in widths])
    m.kernel("linear", [m.act(2048), w(2048, 2048), w(2048)], [m.act(1024)],
             'glu = "silu", glu_gate = 1')
    # A decode linear that folds its input's rms_norm (passes/PrologueFusion.h:
    # operands input, weight, bias or unit, residual or unit, norm weight;
    # attribute norm_eps): the skinny kernel normalizes as it streams the
    # rows, the tensor-core variants (> 16 rows) run the norm into the
    # workspace first. Plain, K not a multiple of 8 (element loads), bias,
    # a residual, split pieces, a gated MLP (gate first and second), an f32
    # norm weight in a bf16 model, and the model's shapes (bamba-1.5b
    # in_proj pieces, gate_up with glu, lm_head). Prefill (small ones) takes
    # the workspace path with every engine.
    eps = f"norm_eps = {f64(1e-5)}"
    for n, k, bias, both in [(296, 64, False, True), (37, 40, True, True),
                             (520, 2048, False, False)]:
        ops = [m.act(k), w(n, k), w(n) if bias else "unit", "unit", w(k)]
        m.kernel("linear", ops, [m.act(n)], eps,
                 entries=("prefill", "decode") if both else ("decode",))
    m.kernel("linear", [m.act(128), w(64, 128), w(64), m.act(64), w(128)], [m.act(64)], eps)
    m.kernel("linear", [m.act(64), w(296, 64), "unit", "unit", w(64)],
             [m.act(p) for p in (128, 160, 8)], eps)
    m.kernel("linear", [m.act(40), w(66, 40), w(66), "unit", w(40)], [m.act(33)],
             f'glu = "silu", {eps}')
    m.kernel("linear", [m.act(64), w(256, 64), "unit", "unit", w(64, dt="f32")], [m.act(128)],
             f'glu = "silu", glu_gate = 1, {eps}')
    m.kernel("linear", [m.act(2048), w(8512, 2048), "unit", "unit", w(2048)],
             [m.act(p) for p in (4096, 4288, 128)], eps, entries=("decode",))
    m.kernel("linear", [m.act(2048), w(11264, 2048), "unit", "unit", w(2048)], [m.act(5632)],
             f'glu = "silu", {eps}', entries=("decode",))
    m.kernel("linear", [m.act(2048), w(32000, 2048), "unit", "unit", w(2048)], [m.act(32000)],
             eps, entries=("decode",))
    # The same launches with the norm's weight folded into the linear's
    # (fuse-norms: no operand 4; the runtime scaled the weight's columns at
    # load). Without operand 5 the skinny kernel scales the rows it streams
    # and the tile engines run a weightless norm into the workspace; with
    # the input's row sums of squares (operand 5, [.., ceil(K / 128)] f32,
    # filled from the input by the harness) sm_90a's TMA engine scales its
    # accumulators by them (RowNormOps), cooperative and ping-pong tiles.
    # Every epilogue form, K not a multiple of 8 or of 128, and the model's
    # prefill shapes (bamba-1.5b in_proj pieces, q/k/v pieces, gate_up with
    # glu).
    def sums(k):
        return m.act(-(-k // 128), dt="f32")
    for with_sums in (False, True):
        def ops(k, n, bias, res=None):
            return ([m.act(k), w(n, k), w(n) if bias else "unit",
                     m.act(res) if res else "unit", "unit"] +
                    ([sums(k)] if with_sums else []))
        for n, k, bias in [(296, 64, False), (37, 40, True), (520, 2048, False),
                           (4096, 256, True), (300, 200, False)]:
            m.kernel("linear", ops(k, n, bias), [m.act(n)], eps)
        m.kernel("linear", ops(128, 64, True, res=64), [m.act(64)], eps)
        m.kernel("linear", ops(64, 296, False), [m.act(p) for p in (128, 160, 8)], eps)
        m.kernel("linear", ops(40, 66, True), [m.act(33)], f'glu = "silu", {eps}')
        m.kernel("linear", ops(64, 256, False), [m.act(128)],
                 f'glu = "silu", glu_gate = 1, {eps}')
        m.kernel("linear", ops(2048, 8512, False), [m.act(p) for p in (4096, 4288, 128)],
                 eps)
        m.kernel("linear", ops(2048, 4096, True), [m.act(p) for p in (2048, 1024, 1024)],
                 eps)
        m.kernel("linear", ops(2048, 11264, False), [m.act(5632)], f'glu = "silu", {eps}')
    # A linear that also writes its result rows' sums of squares (attribute
    # row_sumsq; last result [.., ceil(N / 128)] f32) for the next launch's
    # folded norm: the 2048-wide residual GEMMs of bamba-1.5b sum them in
    # sm_90a's staged residual epilogue; other shapes and engines run
    # rowSumSq after the GEMM (N not a multiple of 128, no residual, f32).
    for n, k, bias, res in [(2048, 4096, False, True), (2048, 5632, True, True),
                            (200, 136, False, True), (37, 40, True, False),
                            (4096, 256, False, False)]:
        ops = [m.act(k), w(n, k), w(n) if bias else "unit"] + ([m.act(n)] if res else [])
        m.kernel("linear", ops, [m.act(n), m.act(-(-n // 128), dt="f32")],
                 "row_sumsq = true", entries=("prefill",))
    # A gated MLP's product (I = 300 of [gate; up] 600 rows): the sums run
    # over its I columns.
    m.kernel("linear", [m.act(64), w(600, 64), "unit"], [m.act(300), m.act(3, dt="f32")],
             'glu = "silu", row_sumsq = true', entries=("prefill",))
    # The model's GEMMs (timed at M = 4096 in bf16).
    for n, k in [(8512, 2048), (2048, 2048), (4096, 2048), (11264, 2048), (2048, 4096),
                 (2048, 5632), (32000, 2048)]:
        m.kernel("linear", [m.act(k), w(n, k), "unit"], [m.act(n)], source="bench")

    # moe.
    def moe(routing, act, e, k, h, ff, sff, rbias, normalize, scaling):
        ops = [m.act(h), w(e, h), w(e, 2 * ff, h), w(e, h, ff), w(e) if rbias else "unit"]
        if sff:
            ops += [w(2 * sff, h), w(h, sff)]
        else:
            ops += ["unit", "unit"]
        attrs = (f'activation = "{act}", normalize_topk = {"true" if normalize else "false"}, '
                 f"num_experts = {e} : i64, routed_scaling = {f64(scaling)}, "
                 f'routing = "{routing}", top_k = {k} : i64')
        m.kernel("moe", ops, [m.act(h)], attrs)

    moe("topk_softmax", "silu", 4, 2, 64, 128, 32, False, False, 1.0)
    moe("softmax_topk", "silu", 4, 2, 64, 128, 0, False, False, 1.0)
    moe("softmax_topk", "gelu", 8, 3, 40, 24, 0, True, True, 2.5)
    moe("sigmoid_topk", "silu", 6, 2, 36, 20, 12, True, True, 1.0)
    moe("softmax_topk", "silu", 64, 6, 256, 96, 64, False, True, 1.0)

    # activation.
    for kind in ["identity", "silu", "gelu", "gelu_tanh", "relu", "relu2", "sigmoid",
                 "softplus", "tanh"]:
        m.kernel("activation", [m.act(100)], [m.act(100)], f'kind = "{kind}"')
    m.kernel("activation", [m.act(37)], [m.act(37)], 'kind = "silu"')

    # add / mul: same shape, per-channel broadcast, odd sizes, 2-d broadcast.
    for fam in ["add", "mul"]:
        m.kernel(fam, [m.act(64), m.act(64)], [m.act(64)])
        m.kernel(fam, [m.act(64), w(64)], [m.act(64)])
        m.kernel(fam, [m.act(37), w(37)], [m.act(37)])
        m.kernel(fam, [m.act(3, 5), w(3, 5)], [m.act(3, 5)])
        m.kernel(fam, [m.act(2048), m.act(2048)], [m.act(2048)])

    # scale.
    m.kernel("scale", [m.act(37)], [m.act(37)], f"factor = {f64(0.37)}")
    m.kernel("scale", [m.act(256)], [m.act(256)], f"factor = {f64(12.0)}")

    # rms_norm / layer_norm.
    for h in [64, 37, 2048, 4096, 5000]:
        m.kernel("rms_norm", [m.act(h), w(h)], [m.act(h)], f"epsilon = {f64(1e-5)}")
    for h, wt, bi in [(64, True, True), (300, True, False), (37, False, False), (2048, True, True)]:
        m.kernel("layer_norm", [m.act(h), w(h) if wt else "unit", w(h) if bi else "unit"],
                 [m.act(h)], f"epsilon = {f64(1e-5)}")

    # gated_rms_norm.
    for h, g, first in [(128, 128, False), (128, 64, False), (128, 64, True), (4096, 4096, False),
                        (60, 20, False), (60, 20, True)]:
        m.kernel("gated_rms_norm", [m.act(h), m.act(h), w(h)], [m.act(h)],
                 f"epsilon = {f64(1e-6)}, group_size = {g} : i64, "
                 f"norm_before_gate = {'true' if first else 'false'}")

    # rope.
    pos = m.inp("positions", ["B", "T"], "i64")
    # (5, 18, 6) and (2, 9, 6): one channel per access (an odd rotary half,
    # an odd head_dim with interleaved pairs), no head grouping for 5 heads.
    for heads, d, rot, inter in [(4, 16, 8, False), (16, 128, 64, False), (2, 10, 6, True),
                                 (8, 64, 64, False), (3, 32, 32, True), (5, 18, 6, False),
                                 (2, 9, 6, True)]:
        attrs = (("interleaved, " if inter else "") +
                 f"rotary_dim = {rot} : i64, theta = {f64(10000.0)}")
        m.kernel("rope", [m.act(heads, d), pos], [m.act(heads, d)], attrs)

    # embedding.
    ids = m.inp("input_ids", ["B", "T"], "i64")
    m.kernel("embedding", [ids, w(256, 64)], [m.act(64)])
    m.kernel("embedding", [ids, w(1000, 37)], [m.act(37)])

    # split / concat.
    m.kernel("split", [m.act(296)], [m.act(128), m.act(160), m.act(8)],
             "axis = 2 : i64, sizes = array<i64: 128, 160, 8>")
    m.kernel("split", [m.act(37)], [m.act(10), m.act(27)],
             "axis = 2 : i64, sizes = array<i64: 10, 27>")
    m.kernel("split", [m.act(4, 6)], [m.act(1, 6), m.act(3, 6)],
             "axis = 2 : i64, sizes = array<i64: 1, 3>")
    m.kernel("concat", [m.act(64), m.act(64)], [m.act(128)], "axis = 2 : i64")
    m.kernel("concat", [m.act(5), m.act(7), m.act(1)], [m.act(13)], "axis = 2 : i64")
    m.kernel("concat", [m.act(2, 6), m.act(3, 6)], [m.act(5, 6)], "axis = 2 : i64")

    # merge.
    m.kernel("merge", [m.act(64), m.act(64), "unit"], [m.act(64)],
             'mode = "sum", multipliers = array<f64: 1.0, 0.5>')
    m.kernel("merge", [m.act(37), m.act(37), m.act(37), "unit"], [m.act(37)], 'mode = "mean"')
    m.kernel("merge", [m.act(64), m.act(64), w(64)], [m.act(64)], 'mode = "attention"')
    m.kernel("merge", [m.act(37), m.act(37), m.act(37), w(37)], [m.act(37)], 'mode = "attention"')
    m.kernel("merge", [m.act(64), m.act(64), w(64, 128)], [m.act(64)], 'mode = "concat_proj"')
    m.kernel("merge", [m.act(36), m.act(36), w(36, 72)], [m.act(36)], 'mode = "concat_proj"')
    # Wide enough that decode splits K over a cluster (sm_90a).
    m.kernel("merge", [m.act(1024), m.act(1024), w(1024, 2048)], [m.act(1024)],
             'mode = "concat_proj"')

    # causal_conv1d.
    # Channel counts with 8, 4 (36, 4100) and 1 (37) channels per access;
    # kernel sizes 2 to 5.
    for c, k, bias, state, act in [(160, 4, True, True, "silu"), (37, 3, False, False, "identity"),
                                   (37, 3, True, True, "identity"), (4352, 4, True, True, "silu"),
                                   (64, 2, True, False, "silu"), (36, 4, True, True, "silu"),
                                   (4100, 5, False, True, "identity"), (8, 4, True, False, "silu")]:
        uid[0] += 1
        ops = [m.act(c), w(c, k), w(c) if bias else "unit"]
        res = [m.act(c)]
        if state:
            st = m.state(f"conv_state{uid[0]}", "B", c, k - 1)
            ops.append(st)
            res.append(st)
        m.kernel("causal_conv1d", ops, res, f'activation = "{act}", kernel_size = {k} : i64')
    # Memory-bound families at the bamba-1.5b sizes (timed at T = 4096 in
    # bf16; checked like every other case).
    m.kernel("rms_norm", [m.act(2048), w(2048)], [m.act(2048)], f"epsilon = {f64(1e-5)}",
             source="bench")
    m.kernel("add", [m.act(2048), m.act(2048)], [m.act(2048)], source="bench")
    m.kernel("mul", [m.act(5632), m.act(5632)], [m.act(5632)], source="bench")
    m.kernel("activation", [m.act(5632)], [m.act(5632)], 'kind = "silu"', source="bench")
    m.kernel("split", [m.act(8512)], [m.act(4096), m.act(4352), m.act(64)],
             "axis = 2 : i64, sizes = array<i64: 4096, 4352, 64>", source="bench")
    m.kernel("gated_rms_norm", [m.act(4096), m.act(4096), w(4096)], [m.act(4096)],
             f"epsilon = {f64(1e-5)}, group_size = 4096 : i64, norm_before_gate = false",
             source="bench")
    m.kernel("rope", [m.act(16, 128), pos], [m.act(16, 128)],
             f"rotary_dim = 64 : i64, theta = {f64(10000.0)}", source="bench")
    m.kernel("embedding", [ids, w(32000, 2048)], [m.act(2048)], source="bench")
    st = m.state("conv_state_bench", "B", 4352, 3)
    m.kernel("causal_conv1d", [m.act(4352), w(4352, 4), w(4352), st], [m.act(4352), st],
             'activation = "silu", kernel_size = 4 : i64', source="bench")
    return m


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for dt in ["f32", "bf16"]:
        with open(os.path.join(out, f"dense_cases_{dt}.mlir"), "w") as f:
            f.write(build(dt).text())


if __name__ == "__main__":
    main()
