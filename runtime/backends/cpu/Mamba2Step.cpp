//===- Mamba2Step.cpp - mamba2_step: one Mamba2 mixer step of decode ------===//
//
// The decode launch of a Mamba2 mixer (passes/DecodeFusion.h has the
// contract): conv1d with its state, the [x, B, C] split, the SSD state
// update and the gate. The CPU reference runs the families it fuses one
// after the other on temporaries, so its numbers are exactly those of the
// unfused launches: the GPU kernels are checked against them.
//
//===----------------------------------------------------------------------===//
#include "runtime/backends/cpu/KernelSupport.h"

#include <vector>

namespace braid::rt::cpu {

namespace {

/// A temporary f32 tensor and its view.
struct Temp {
  std::vector<float> data;
  TensorView view;
  explicit Temp(std::vector<int64_t> shape) {
    view.shape = std::move(shape);
    data.resize(static_cast<size_t>(view.numel()));
    view.data = data.data();
  }
};

TensorView reshaped(const TensorView &t, std::vector<int64_t> shape) {
  TensorView v = t;
  v.shape = std::move(shape);
  return v;
}

std::string run(KernelFn fn, const KernelCall &parent,
                std::vector<TensorView> operands,
                std::vector<TensorView> results, const AttrMap &attrs) {
  KernelCall call;
  call.operands = std::move(operands);
  call.results = std::move(results);
  call.attrs = attrs;
  call.pool = parent.pool;
  call.location = parent.location;
  std::string error = fn(call);
  return error.empty() ? error : "mamba2_step: " + error;
}

} // namespace

std::string mamba2StepKernel(const KernelCall &call) {
  const TensorView &xbc = operandAt(call, 0), &convW = operandAt(call, 1),
                   &convBias = operandAt(call, 2),
                   &convState = operandAt(call, 3), &dt = operandAt(call, 4),
                   &A = operandAt(call, 5), &D = operandAt(call, 6),
                   &dtBias = operandAt(call, 7), &ssmState = operandAt(call, 8),
                   &z = operandAt(call, 9), &normW = operandAt(call, 10);
  const TensorView &y = resultAt(call, 0), &convOut = resultAt(call, 1),
                   &ssmOut = resultAt(call, 2);
  const AttrMap &attrs = call.attrs;
  int64_t heads = attrs.getInt("num_heads"), headDim = attrs.getInt("head_dim");
  int64_t groups = attrs.getInt("num_groups");
  int64_t n = attrs.getInt("state_size");
  std::string gate = attrs.getString("gate");

  Check c(call, "mamba2_step");
  c.operandCount(11, 11)
      .resultCount(3)
      .attrsOk()
      .attrAtLeast("num_heads", heads, 1)
      .attrAtLeast("head_dim", headDim, 1)
      .attrAtLeast("num_groups", groups, 1)
      .attrAtLeast("state_size", n, 1)
      .require(gate == "norm" || gate == "silu" || gate == "none",
               "attribute 'gate' is '" + gate +
                   "', expected norm, silu or none")
      .f32("xBC", xbc)
      .rank("xBC", xbc, 3)
      .require(convState.present() && ssmState.present(),
               "needs its conv_state and ssm_state operands")
      .f32("output", y)
      .rank("output", y, 3);
  if (c.ok())
    c.dimIs("xBC", xbc, 2, heads * headDim + 2 * groups * n,
            "num_heads * head_dim + 2 * num_groups * state_size")
        .dimIs("output", y, 2, heads * headDim, "num_heads * head_dim")
        .require(gate == "none" || z.present(),
                 "gate '" + gate + "' needs the z operand")
        .require(gate != "norm" || normW.present(),
                 "gate 'norm' needs the norm weight operand");
  if (!c.ok())
    return c.message();

  const int64_t batch = xbc.dim(0), seq = xbc.dim(1);
  const int64_t inner = heads * headDim, bc = groups * n;
  Temp conv({batch, seq, xbc.dim(2)});
  if (std::string e =
          run(&causalConv1dKernel, call, {xbc, convW, convBias, convState},
              {conv.view, convOut}, attrs);
      !e.empty())
    return e;

  AttrMap splitAttrs;
  splitAttrs.set("axis", int64_t(2));
  splitAttrs.set("sizes", std::vector<int64_t>{inner, bc, bc});
  Temp x({batch, seq, inner}), B({batch, seq, bc}), C({batch, seq, bc});
  if (std::string e = run(&splitKernel, call, {conv.view},
                          {x.view, B.view, C.view}, splitAttrs);
      !e.empty())
    return e;

  // Without a gate the scan writes the launch's output directly.
  Temp scanned({batch, seq, gate == "none" ? 0 : inner});
  TensorView scanOut = gate == "none" ? y : scanned.view;
  if (std::string e =
          run(&ssdScanKernel, call,
              {reshaped(x.view, {batch, seq, heads, headDim}), dt, A,
               reshaped(B.view, {batch, seq, groups, n}),
               reshaped(C.view, {batch, seq, groups, n}), D, dtBias, ssmState},
              {reshaped(scanOut, {batch, seq, heads, headDim}), ssmOut}, attrs);
      !e.empty())
    return e;

  if (gate == "norm")
    return run(&gatedRmsNormKernel, call, {scanned.view, z, normW}, {y}, attrs);
  if (gate == "silu") {
    AttrMap actAttrs;
    actAttrs.set("kind", std::string("silu"));
    Temp act({batch, seq, inner});
    if (std::string e = run(&activationKernel, call, {z}, {act.view}, actAttrs);
        !e.empty())
      return e;
    return run(&mulKernel, call, {scanned.view, act.view}, {y}, AttrMap());
  }
  return "";
}

} // namespace braid::rt::cpu
