#!/usr/bin/env python3
"""Builds the ONNX models of the generic-op path (test/frontends/onnx/generic-*.test).

Run like make_onnx_tests.py (whose graph helpers it uses), with onnx,
onnxruntime, numpy and safetensors:

    build/onnx-venv/bin/python test/data/onnx/make_generic_tests.py

Each model is the logits frame the importer needs (input_ids -> Gather ->
ops -> MatMul to the vocabulary) around ops that no braid op expresses, so
they go through linalg and the `fused_elementwise` kernel family. The
reference logits are onnxruntime's (CPUExecutionProvider), for input_ids
[2, 7] drawn from a generator of its own (seed below), so this script does
not change the other test models.

* `generic_elementwise.onnx`: broadcasting between activations ([B, T, 4, 8]
  with [B, T, 1, 8] and [B, T, 4, 1]), constants of every broadcast form,
  Sub/Div with the constant first, Pow, Sqrt, Reciprocal, Exp, Log, Neg,
  Abs, Tanh, Sigmoid, Erf, Relu, Softplus, Max, Min, Clip (inputs and
  none), comparisons, Where, IsNaN, Cast, Transpose of feature dims, Expand.
* `generic_reduce.onnx`: a decomposed layer norm whose scale is computed
  from an initializer by element-wise ops on constants (folded at import),
  ReduceMean/ReduceSum/ReduceMax over one and two trailing axes, keepdims 0
  and 1, axes as inputs, Softmax over the last and a middle axis,
  LogSoftmax.
* `generic_reduce13.onnx`: the same reductions with opset 13 (axes as
  attributes of ReduceMean/ReduceMax).
* `generic_bad_bt_reduce.onnx`: ReduceSum over the sequence axis (error).
* `raise_bad_softplus_ref.safetensors`: onnxruntime's logits of
  make_onnx_tests.py's `raise_bad_softplus.onnx` (a softplus threshold the
  raise pattern refuses), which now imports through the generic path.
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper
from safetensors.numpy import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_onnx_tests as base  # noqa: E402

HERE = base.HERE
RNG = np.random.default_rng(20261127)
V, H = 64, 32
B, T = 2, 7


def rand(*shape, scale=None):
    scale = scale if scale is not None else 1.0 / np.sqrt(shape[-1])
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def frame(g, w):
    for k, a in w.items():
        g.init(k, a)
    return g.op("Gather", ["embed", "input_ids"], name="embed")


def write(model, name):
    base.save(model, name + ".onnx")
    ids = RNG.integers(0, V, (B, T)).astype(np.int64)
    logits = base.run_ort(model, ids)
    save_file({"input_ids": ids,
               "logits": np.ascontiguousarray(logits, np.float32)},
              os.path.join(HERE, name + "_ref.safetensors"))


def elementwise():
    g = base.Graph()
    w = {"embed": rand(V, H, scale=1.0), "lm_head": rand(H, V),
         "c_row": rand(8, scale=1.0),                 # [8]: trailing
         "c_col": rand(4, 1, scale=1.0),              # [4, 1]: middle
         "c_full": rand(1, 1, 4, 8, scale=1.0),       # leading ones
         "lo": np.array(-0.5, np.float32), "hi": np.array([0.75], np.float32),
         "two": np.array(2.0, np.float32),
         "mask": (RNG.uniform(0, 1, (4, 8)) > 0.5)}
    g.init("shape4", np.array([0, 0, 4, 8], np.int64))
    g.init("shape3", np.array([0, 0, H], np.int64))
    g.init("axis3", np.array([3], np.int64))
    g.init("axis2", np.array([2], np.int64))
    g.init("expand_to", np.array([1, 1, 4, 8], np.int64))
    h = frame(g, w)
    x = g.op("Reshape", [h, "shape4"], name="split_heads")          # [B,T,4,8]
    # Activation broadcasting: a [B,T,1,8] row mean and a [B,T,4,1] column.
    rows = g.op("ReduceMean", [x, "axis2"], name="row_mean", keepdims=1)
    cols = g.op("ReduceMax", [x, "axis3"], name="col_max", keepdims=1)
    a = g.op("Sub", [x, rows], name="center")                        # bcast dim 2
    a = g.op("Div", [a, g.op("Add", [g.op("Abs", [cols], name="abs"),
                                     "two"], name="abs_plus_two")],
             name="div_cols")                                       # bcast dim 3
    a = g.op("Mul", [a, "c_row"], name="mul_row")
    a = g.op("Add", [a, "c_col"], name="add_col")
    a = g.op("Sub", ["c_full", a], name="const_minus")              # const first
    b = g.op("Div", ["two", g.op("Add", [g.op("Exp", [a], name="exp"), "two"],
                                 name="exp_plus_two")], name="two_over")
    b = g.op("Pow", [b, "two"], name="square")
    b = g.op("Sqrt", [g.op("Add", [b, "two"], name="plus_two")], name="sqrt")
    b = g.op("Log", [g.op("Reciprocal", [b], name="recip")], name="log")
    b = g.op("Neg", [b], name="neg")
    c = g.op("Tanh", [a], name="tanh")
    d = g.op("Sigmoid", [g.op("Erf", [a], name="erf")], name="sigmoid_erf")
    e = g.op("Softplus", [g.op("Relu", [a], name="relu")], name="softplus_relu")
    m = g.op("Max", [b, c, d], name="max3")
    n = g.op("Min", [m, e], name="min2")
    n = g.op("Clip", [n, "lo", "hi"], name="clip")
    n2 = g.op("Clip", [a], name="clip_none")
    cond = g.op("Greater", [a, "c_row"], name="greater")
    n = g.op("Where", [cond, n, n2], name="where")
    le = g.op("Cast", [g.op("LessOrEqual", [a, n], name="le")], name="cast_le",
              to=TensorProto.FLOAT)
    n = g.op("Add", [n, le], name="add_le")
    n = g.op("Where", ["mask", n, g.op("Neg", [n], name="neg_n")], name="where_mask")
    nan = g.op("Cast", [g.op("IsNaN", [g.op("Log", [a], name="log_a")], name="isnan")],
               name="cast_nan", to=TensorProto.FLOAT)
    n = g.op("Add", [n, g.op("Mul", [nan, "two"], name="nan_times_two")],
             name="add_nan")
    eq = g.op("Cast", [g.op("Equal", [g.op("Less", [a, "c_row"], name="lt"),
                                      g.op("Less", [n, "c_row"], name="lt2")],
                            name="eq")], name="cast_eq", to=TensorProto.FLOAT)
    n = g.op("Sub", [n, eq], name="sub_eq")
    t = g.op("Transpose", [n], name="swap_features", perm=[0, 1, 3, 2])  # [B,T,8,4]
    t = g.op("Transpose", [g.op("Mul", [t, "two"], name="t_times_two")],
             name="swap_back", perm=[0, 1, 3, 2])
    ex = g.op("Expand", [rows, "expand_to"], name="expand")              # [B,T,4,8]
    n = g.op("Add", [t, ex], name="add_expanded")
    n = g.op("Reshape", [n, "shape3"], name="merge_heads")
    g.op("MatMul", [n, "lm_head"], name="lm_head")
    g.nodes[-1].output[0] = "logits"
    model = g.model("generic_elementwise", [base.ids_input(), base.pos_input()],
                    [base.logits_output("logits")], [("", 23)])
    write(model, "generic_elementwise")


def reduce(opset):
    g = base.Graph()
    w = {"embed": rand(V, H, scale=1.0), "lm_head": rand(H, V),
         "ln_w": (1.0 + 0.1 * RNG.standard_normal(H)).astype(np.float32),
         "eps": np.array(1e-5, np.float32)}
    g.init("shape4", np.array([0, 0, 4, 8], np.int64))
    g.init("shape3", np.array([0, 0, H], np.int64))
    g.init("axis_last", np.array([-1], np.int64))
    h = frame(g, w)

    def red(op, x, axes, keepdims, name):
        if opset >= 18 or (op == "ReduceSum" and opset >= 13):
            g.init(name + "_axes", np.array(axes, np.int64))
            return g.op(op, [x, name + "_axes"], name=name, keepdims=keepdims)
        return g.op(op, [x], name=name, axes=axes, keepdims=keepdims)

    # A decomposed layer norm: mean, centered variance, rsqrt.
    mu = red("ReduceMean", h, [-1], 1, "mean")
    xc = g.op("Sub", [h, mu], name="center")
    var = red("ReduceMean", g.op("Mul", [xc, xc], name="sq"), [-1], 1, "var")
    n = g.op("Div", [xc, g.op("Sqrt", [g.op("Add", [var, "eps"], name="add_eps")],
                              name="std")], name="normalize")
    # Element-wise ops on constants fold at import: the scale is
    # Where(Clip(Sqrt(Abs(w)^2)) > 1, ., Sigmoid(.) + 0.5) of the initializer.
    for k, v in {"two": 2.0, "lo": 0.95, "hi": 1.05, "one": 1.0, "half": 0.5}.items():
        g.init(k, np.array(v, np.float32))
    c = g.op("Sqrt", [g.op("Pow", [g.op("Abs", ["ln_w"], name="c_abs"), "two"],
                           name="c_pow")], name="c_sqrt")
    c = g.op("Clip", [c, "lo", "hi"], name="c_clip")
    c = g.op("Where", [g.op("Greater", [c, "one"], name="c_gt"), c,
                       g.op("Add", [g.op("Sigmoid", [c], name="c_sigmoid"), "half"],
                            name="c_add")], name="c_where")
    n = g.op("Mul", [n, c], name="scale")
    x = g.op("Reshape", [n, "shape4"], name="split_heads")          # [B,T,4,8]
    s_last = g.op("Softmax", [x], name="softmax_last", axis=-1)
    s_mid = g.op("Softmax", [x], name="softmax_mid", axis=2)
    ls = g.op("LogSoftmax", [x], name="logsoftmax", axis=-1)
    y = g.op("Add", [g.op("Mul", [s_last, s_mid], name="mul_softmax"),
                     g.op("Mul", [ls, "eps"], name="small_log")], name="mix")
    tot = red("ReduceSum", y, [2, 3], 0, "sum23")                    # [B,T]
    mx = red("ReduceMax", x, [3], 0, "max_last")                     # [B,T,4]
    mx = g.op("Unsqueeze", [mx, "axis_last"], name="unsq")           # [B,T,4,1]
    y = g.op("Add", [y, mx], name="add_max")
    y = g.op("Reshape", [y, "shape3"], name="merge_heads")
    tot = g.op("Unsqueeze", [tot, "axis_last"], name="unsq_tot")      # [B,T,1]
    y = g.op("Mul", [y, tot], name="mul_tot")
    g.op("MatMul", [y, "lm_head"], name="lm_head")
    g.nodes[-1].output[0] = "logits"
    name = "generic_reduce" if opset >= 18 else f"generic_reduce{opset}"
    model = g.model(name, [base.ids_input(), base.pos_input()],
                    [base.logits_output("logits")], [("", opset)])
    write(model, name)


def bad():
    g = base.Graph()
    w = {"embed": rand(V, H, scale=1.0), "lm_head": rand(H, V)}
    g.init("axis1", np.array([1], np.int64))
    h = frame(g, w)
    s = g.op("ReduceSum", [h, "axis1"], name="sum_over_seq", keepdims=1)
    g.op("MatMul", [g.op("Add", [h, s], name="add"), "lm_head"], name="lm_head")
    g.nodes[-1].output[0] = "logits"
    model = g.model("generic_bad_bt_reduce", [base.ids_input(), base.pos_input()],
                    [base.logits_output("logits")], [("", 23)])
    base.save(model, "generic_bad_bt_reduce.onnx")


def unraised_refs():
    import onnx
    model = onnx.load(os.path.join(HERE, "raise_bad_softplus.onnx"))
    ids = RNG.integers(0, V, (B, T)).astype(np.int64)
    logits = base.run_ort(model, ids)
    save_file({"input_ids": ids,
               "logits": np.ascontiguousarray(logits, np.float32)},
              os.path.join(HERE, "raise_bad_softplus_ref.safetensors"))


if __name__ == "__main__":
    elementwise()
    reduce(23)
    reduce(13)
    bad()
    unraised_refs()
