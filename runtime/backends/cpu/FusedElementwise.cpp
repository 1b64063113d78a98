//===- FusedElementwise.cpp - the fused_elementwise family ----------------===//
//
// Interprets the op's expression program (targets/common/kernels/
// ElementwiseProgram.h) at every index of its loop nest. Threads split the
// result's elements; each element runs its reduction loops (if any) in
// order, from `init`, so the result does not depend on the thread count.
//
//===----------------------------------------------------------------------===//
#include "runtime/backends/cpu/KernelSupport.h"

#include "targets/common/kernels/ElementwiseProgram.h"

namespace braid::rt::cpu {

std::string fusedElementwiseKernel(const KernelCall &call) {
  Check c(call, "fused_elementwise");
  c.resultCount(1).attrsOk();
  if (!c.ok())
    return c.message();
  const TensorView &out = call.results[0];
  c.f32("result", out);
  ewp::Program program;
  std::string error;
  const std::string text = call.attrs.getString("program");
  std::vector<int64_t> loops = call.attrs.getInts("loop_sizes");
  std::vector<int64_t> maps = call.attrs.getInts("input_maps");
  std::vector<int64_t> reductions = call.attrs.getInts("reduction_dims");
  ewp::Reduce reduce = ewp::Reduce::None;
  const std::string reduceName = call.attrs.getString("reduce", "none");
  float init = static_cast<float>(call.attrs.getFloatOr("init", 0.0));
  // Parsed before the message is built from `error`.
  bool parsed = ewp::parseProgram(text, program, error);
  c.attrsOk()
      .require(parsed, "'program': " + error)
      .require(ewp::parseReduce(reduceName, reduce),
               "'reduce' is '" + reduceName + "'");
  if (!c.ok())
    return c.message();
  const size_t numInputs = call.operands.size();
  c.require(program.numInputsRead <= int(numInputs),
            "'program' reads input " +
                std::to_string(program.numInputsRead - 1) + " but " +
                std::to_string(numInputs) + " operands were passed");
  const int64_t numLoops = static_cast<int64_t>(loops.size());
  std::vector<bool> reduced(numLoops, false);
  for (int64_t d : reductions) {
    c.require(d >= 0 && d < numLoops, "'reduction_dims' entry " +
                                          std::to_string(d) +
                                          " is out of range");
    if (c.ok())
      reduced[d] = true;
  }
  if (!c.ok())
    return c.message();

  // Bind dynamic loops from the result (the parallel loops, in order).
  std::vector<int64_t> parallel;
  for (int64_t l = 0; l < numLoops; ++l)
    if (!reduced[l])
      parallel.push_back(l);
  c.rank("result", out, static_cast<int64_t>(parallel.size()));
  for (size_t k = 0; c.ok() && k < parallel.size(); ++k) {
    int64_t &size = loops[parallel[k]];
    if (size == -1)
      size = out.shape[k];
    else
      c.dimIs("result", out, int64_t(k), size,
              "loop " + std::to_string(parallel[k]));
  }
  for (int64_t l = 0; c.ok() && l < numLoops; ++l)
    c.require(loops[l] >= 0,
              "reduction loop " + std::to_string(l) + " has no static size");
  // Per input and loop: the element stride (0 where broadcast).
  std::vector<std::vector<int64_t>> strides(numInputs,
                                            std::vector<int64_t>(numLoops, 0));
  size_t next = 0;
  for (size_t i = 0; c.ok() && i < numInputs; ++i) {
    const TensorView &in = call.operands[i];
    std::string name = "input " + std::to_string(i);
    c.f32(name, in);
    if (!c.ok())
      break;
    c.require(next + in.shape.size() <= maps.size(),
              "'input_maps' is shorter than the inputs' ranks");
    int64_t stride = 1;
    std::vector<int64_t> dimStride(in.shape.size());
    for (int64_t d = in.rank() - 1; d >= 0; --d) {
      dimStride[d] = stride;
      stride *= in.shape[d];
    }
    for (int64_t d = 0; c.ok() && d < in.rank(); ++d) {
      int64_t loop = maps[next++];
      if (loop == -1) {
        c.dimIs(name, in, d, 1, "broadcast");
        continue;
      }
      c.require(loop >= 0 && loop < numLoops,
                name + " dim " + std::to_string(d) + " maps to loop " +
                    std::to_string(loop) + ", out of range");
      if (c.ok())
        c.dimIs(name, in, d, loops[loop], "loop " + std::to_string(loop));
      if (c.ok())
        strides[i][loop] += dimStride[d];
    }
  }
  c.require(!c.ok() || next == maps.size(),
            "'input_maps' has more entries than the inputs' ranks");
  if (!c.ok())
    return c.message();

  std::vector<int64_t> reductionLoops;
  int64_t reductionCount = 1;
  for (int64_t l = 0; l < numLoops; ++l)
    if (reduced[l]) {
      reductionLoops.push_back(l);
      reductionCount *= loops[l];
    }
  const int64_t total = out.numel();
  std::vector<const float *> bases(numInputs);
  for (size_t i = 0; i < numInputs; ++i)
    bases[i] = call.operands[i].f32();
  float *y = out.f32();
  const std::vector<ewp::Instr> &code = program.code;

  parallelFor(
      call.pool, total,
      [&](int64_t begin, int64_t end) {
        std::vector<float> values(code.size());
        std::vector<int64_t> index(numLoops, 0), offsets(numInputs);
        auto evaluate = [&]() {
          for (size_t k = 0; k < code.size(); ++k) {
            const ewp::Instr &ins = code[k];
            if (ins.op == ewp::Op::In)
              values[k] = bases[ins.input][offsets[ins.input]];
            else if (ins.op == ewp::Op::Cst)
              values[k] = ins.value;
            else
              values[k] =
                  ewp::apply(ins.op, values[ins.args[0]],
                             ins.args[1] >= 0 ? values[ins.args[1]] : 0.0f,
                             ins.args[2] >= 0 ? values[ins.args[2]] : 0.0f);
          }
          return values.back();
        };
        for (int64_t e = begin; e < end; ++e) {
          // The parallel loops' indices of result element e.
          int64_t rest = e;
          for (size_t k = parallel.size(); k-- > 0;) {
            index[parallel[k]] = rest % loops[parallel[k]];
            rest /= loops[parallel[k]];
          }
          for (int64_t l : reductionLoops)
            index[l] = 0;
          float acc = init;
          for (int64_t r = 0; r < reductionCount; ++r) {
            for (size_t i = 0; i < numInputs; ++i) {
              int64_t off = 0;
              for (int64_t l = 0; l < numLoops; ++l)
                off += index[l] * strides[i][l];
              offsets[i] = off;
            }
            float v = evaluate();
            acc =
                reduce == ewp::Reduce::None ? v : ewp::combine(reduce, acc, v);
            // Next reduction index (last loop fastest).
            for (size_t k = reductionLoops.size(); k-- > 0;) {
              if (++index[reductionLoops[k]] < loops[reductionLoops[k]])
                break;
              index[reductionLoops[k]] = 0;
            }
          }
          y[e] = acc;
        }
      },
      grainFor(int64_t(code.size()) * reductionCount));
  return "";
}

} // namespace braid::rt::cpu
