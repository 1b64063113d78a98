#!/usr/bin/env python3
"""Post-processing of export_hf.py's TorchScript export (needs only `onnx`).

    python tools/onnx_export/onnx_fixup.py RAW.onnx OUT.onnx

The TorchScript exporter stops at opset 20 and runs the ONNX checker, which
rejects ai.onnx ops newer than the graph's opset. export_hf.py therefore emits
the opset-23 ops it needs (RMSNormalization, RotaryEmbedding, Attention, Gelu)
in a placeholder domain, `onnx23`, and this step moves them to ai.onnx and
raises the model's ai.onnx opset to 23 (the other ops the export uses have the
same meaning at 18 and 23). It also drops what braidc has no use for:

- no-op `Slice`s (starts 0, steps 1, ends past any length), which tracing
  records for `hidden_states[:, slice(-0, None)]` in the LM head;
- `Shape` of tensors whose shape is static (onnx shape inference, braid ops
  keeping their first input's type) and the index arithmetic on it
  (constants); a Slice of one axis that is then constant becomes a Split;
- nodes whose outputs nothing reads.
"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper

PLACEHOLDER = "onnx23"
TARGET_OPSET = 23


def _constants(graph):
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            for attr in node.attribute:
                if attr.name == "value":
                    values[node.output[0]] = numpy_helper.to_array(attr.t)
    return values


def _is_noop_slice(node, consts):
    if node.op_type != "Slice" or len(node.input) < 3:
        return False
    starts = consts.get(node.input[1])
    ends = consts.get(node.input[2])
    steps = consts.get(node.input[4]) if len(node.input) > 4 and node.input[4] else None
    if starts is None or ends is None:
        return False
    if (starts != 0).any() or (ends < 2**31 - 1).any():
        return False
    return steps is None or bool((steps == 1).all())


def _static_shapes(graph):
    shapes = {}
    for v in list(graph.value_info) + list(graph.input) + list(graph.output):
        dims = v.type.tensor_type.shape.dim
        if v.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in dims):
            shapes[v.name] = [d.dim_value for d in dims]
    for t in graph.initializer:
        shapes[t.name] = list(t.dims)
    return shapes


def _infer_shapes(model):
    """onnx shape inference, with each `braid` node's output given its first
    input's type (true of every braid op), repeated until nothing changes;
    the export's own value_info lacks some activations' shapes."""
    for _ in range(16):
        try:
            inferred = onnx.shape_inference.infer_shapes(model)
        except Exception as err:  # an onnx too old for opset 23, for example
            print(f"onnx_fixup: shape inference skipped: {err}")
            return
        known = {v.name: v for v in inferred.graph.value_info}
        known.update({v.name: v for v in inferred.graph.input})
        added = 0
        for node in inferred.graph.node:
            if node.domain != "braid" or node.output[0] in known:
                continue
            src = known.get(node.input[0])
            if src is not None:
                info = onnx.ValueInfoProto()
                info.CopyFrom(src)
                info.name = node.output[0]
                inferred.graph.value_info.append(info)
                added += 1
        del model.graph.value_info[:]
        model.graph.value_info.extend(inferred.graph.value_info)
        if not added:
            return


def _fold_shapes(graph):
    """Shape of a tensor whose shape the export recorded as static becomes
    a Constant (the Reshape targets torch builds from `x.shape`)."""
    shapes = _static_shapes(graph)
    folded = 0
    for i, node in enumerate(graph.node):
        if node.op_type != "Shape" or node.domain not in ("", "ai.onnx"):
            continue
        shape = shapes.get(node.input[0])
        if shape is None:
            continue
        attrs = {a.name: a.i for a in node.attribute}
        rank = len(shape)
        start, end = attrs.get("start", 0), attrs.get("end", rank)
        start, end = (start + rank if start < 0 else start), (end + rank if end < 0 else end)
        value = numpy_helper.from_array(np.array(shape[start:end], dtype=np.int64))
        graph.node[i].CopyFrom(onnx.helper.make_node(
            "Constant", [], [node.output[0]], name=node.name, value=value))
        folded += 1
    return folded


_FOLD = {
    "Gather": lambda x, i, axis=0: np.take(x, i, axis=axis),
    "Add": lambda a, b: a + b, "Sub": lambda a, b: a - b,
    "Mul": lambda a, b: a * b,
    "Div": lambda a, b: a // b if a.dtype.kind == "i" else a / b,
    "Unsqueeze": lambda x, axes: np.expand_dims(x, tuple(int(a) for a in axes)),
    "Squeeze": lambda x, axes: np.squeeze(x, tuple(int(a) for a in axes)),
    "Concat": None,  # variadic, below
}


def _fold_constants(graph):
    """Evaluates the integer index arithmetic torch records around `x.shape`
    (Gather, Add, Sub, Mul, Div, Unsqueeze, Squeeze, Concat of constants)."""
    consts = _constants(graph)
    folded = 0
    for i, node in enumerate(graph.node):
        if node.op_type not in _FOLD or node.domain not in ("", "ai.onnx"):
            continue
        if not all(name in consts for name in node.input):
            continue
        args = [consts[name] for name in node.input]
        if any(a.dtype.kind not in "iu" for a in args):
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Concat":
            value = np.concatenate(args, axis=attrs["axis"])
        elif node.op_type == "Gather":
            value = _FOLD["Gather"](args[0], args[1], attrs.get("axis", 0))
        else:
            value = _FOLD[node.op_type](*args)
        value = np.asarray(value, dtype=args[0].dtype)
        consts[node.output[0]] = value
        graph.node[i].CopyFrom(onnx.helper.make_node(
            "Constant", [], [node.output[0]], name=node.name,
            value=numpy_helper.from_array(value)))
        folded += 1
    return folded


def _slices_to_splits(graph):
    """A Slice of one axis with constant bounds and step 1 becomes a Split
    (braidc imports Split): torch's `chunk` of a tensor whose shape its
    export did not know."""
    consts = _constants(graph)
    shapes = _static_shapes(graph)
    count = 0
    for i, node in enumerate(graph.node):
        if node.op_type != "Slice" or node.input[0] not in shapes:
            continue
        names = list(node.input) + [""] * (5 - len(node.input))
        if not all(n in consts for n in names[1:3]) or \
                any(n and n not in consts for n in names[3:]):
            continue
        starts, ends = consts[names[1]], consts[names[2]]
        if starts.size != 1:
            continue
        shape = shapes[node.input[0]]
        axis = int(consts[names[3]][0]) if names[3] else 0
        axis += len(shape) if axis < 0 else 0
        step = int(consts[names[4]][0]) if names[4] else 1
        dim = shape[axis]
        start = int(np.clip(starts[0] + (dim if starts[0] < 0 else 0), 0, dim))
        end = int(np.clip(ends[0] + (dim if ends[0] < 0 else 0), 0, dim))
        if step != 1 or end <= start or (start == 0 and end == dim):
            continue
        sizes = [n for n in (start, end - start, dim - end) if n > 0]
        which = 1 if start > 0 else 0
        outs = [f"{node.output[0]}_part{k}" for k in range(len(sizes))]
        outs[which] = node.output[0]
        split_name = f"{node.output[0]}_sizes"
        graph.initializer.append(numpy_helper.from_array(
            np.array(sizes, dtype=np.int64), split_name))
        graph.node[i].CopyFrom(onnx.helper.make_node(
            "Split", [node.input[0], split_name], outs, name=node.name, axis=axis))
        count += 1
    return count


def fixup(model):
    graph = model.graph
    _infer_shapes(model)
    _fold_shapes(graph)
    _fold_constants(graph)
    _slices_to_splits(graph)
    # 1. The placeholder domain becomes ai.onnx at opset 23.
    moved = 0
    for node in graph.node:
        if node.domain == PLACEHOLDER:
            node.domain = ""
            moved += 1
    imports = [o for o in model.opset_import if o.domain != PLACEHOLDER]
    del model.opset_import[:]
    for o in imports:
        if o.domain in ("", "ai.onnx"):
            o.version = max(o.version, TARGET_OPSET)
        model.opset_import.append(o)

    # 2. No-op slices: readers take the slice's input instead.
    consts = _constants(graph)
    rename = {}
    kept = []
    for node in graph.node:
        if _is_noop_slice(node, consts):
            rename[node.output[0]] = rename.get(node.input[0], node.input[0])
        else:
            kept.append(node)
    outputs = {o.name for o in graph.output}
    for node in kept:
        for i, name in enumerate(node.input):
            if name in rename:
                node.input[i] = rename[name]
    for out in graph.output:
        if out.name in rename:
            # Keep the graph's output name: an Identity carries it.
            kept.append(onnx.helper.make_node("Identity", [rename[out.name]], [out.name]))

    # 3. Dead nodes, to a fixed point.
    while True:
        used = set(outputs)
        for node in kept:
            used.update(node.input)
        alive = [n for n in kept if any(o in used for o in n.output)]
        if len(alive) == len(kept):
            break
        kept = alive
    dropped = len(graph.node) - len(kept)
    del graph.node[:]
    graph.node.extend(kept)
    used = set()
    for node in kept:
        used.update(node.input)
    inits = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    del graph.value_info[:]  # shapes of removed or renamed values would go stale
    return moved, len(rename), dropped


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.split("\n\n")[1])
    model = onnx.load(sys.argv[1])
    moved, slices, dropped = fixup(model)
    onnx.save(model, sys.argv[2])
    print(f"{sys.argv[2]}: {moved} ops moved to ai.onnx {TARGET_OPSET}, "
          f"{slices} no-op slices and {dropped} nodes removed")


if __name__ == "__main__":
    main()
