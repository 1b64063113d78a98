//===- FusedElementwise.cpp - verifier of braid.fused_elementwise ---------===//
//
// Kept apart from BraidOps.cpp: the op's region is a serialized program
// (targets/common/kernels/ElementwiseProgram.h) whose parser the runtime and
// the GPU specializer share, so the verifier checks exactly what they read.
//
//===----------------------------------------------------------------------===//
#include "dialects/Braid/BraidOps.h"

#include "targets/common/kernels/ElementwiseProgram.h"

using namespace mlir;
using namespace braid;

LogicalResult FusedElementwiseOp::verify() {
  ewp::Program program;
  std::string error;
  if (!ewp::parseProgram(getProgram(), program, error))
    return emitOpError("'program': ") << error;
  int64_t numInputs = getInputs().size();
  if (program.numInputsRead > numInputs)
    return emitOpError("'program' reads input ")
           << program.numInputsRead - 1 << " but the op has " << numInputs
           << " inputs";

  ArrayRef<int64_t> loops = getLoopSizes();
  int64_t numLoops = loops.size();
  for (auto [i, size] : llvm::enumerate(loops))
    if (size < 1 && size != -1)
      return emitOpError("'loop_sizes' entry ")
             << i << " is " << size << "; sizes are positive or -1 (dynamic)";

  ewp::Reduce reduce;
  if (!ewp::parseReduce(getReduce(), reduce))
    return emitOpError("'reduce' is '")
           << getReduce() << "'; expected none, sum, max, min or prod";
  ArrayRef<int64_t> reductions = getReductionDims();
  if ((reduce == ewp::Reduce::None) != reductions.empty())
    return emitOpError("'reduce' is '")
           << getReduce() << "' but 'reduction_dims' has " << reductions.size()
           << " loops";
  llvm::SmallVector<bool> reduced(numLoops, false);
  for (int64_t d : reductions) {
    if (d < 0 || d >= numLoops || reduced[d])
      return emitOpError("'reduction_dims' entry ")
             << d << " is out of range or repeated (" << numLoops << " loops)";
    if (loops[d] == -1)
      return emitOpError("reduction loop ")
             << d << " is dynamic; only static loops are reduced";
    reduced[d] = true;
  }

  ArrayRef<int64_t> maps = getInputMaps();
  int64_t next = 0;
  for (auto [i, input] : llvm::enumerate(getInputs())) {
    auto type = cast<RankedTensorType>(input.getType());
    if (next + type.getRank() > int64_t(maps.size()))
      return emitOpError("'input_maps' has ")
             << maps.size() << " entries, fewer than the inputs' ranks";
    for (int64_t dim = 0; dim < type.getRank(); ++dim) {
      int64_t loop = maps[next++];
      int64_t size = type.getDimSize(dim);
      if (loop == -1) {
        if (size != 1)
          return emitOpError("input ")
                 << i << " dim " << dim
                 << " is broadcast (map -1) but has size "
                 << (ShapedType::isDynamic(size) ? std::string("?")
                                                 : std::to_string(size));
        continue;
      }
      if (loop < -1 || loop >= numLoops)
        return emitOpError("input ")
               << i << " dim " << dim << " maps to loop " << loop
               << ", out of range (" << numLoops << " loops)";
      bool dynamicLoop = loops[loop] == -1;
      if (dynamicLoop != ShapedType::isDynamic(size) ||
          (!dynamicLoop && size != loops[loop]))
        return emitOpError("input ")
               << i << " dim " << dim << " has size "
               << (ShapedType::isDynamic(size) ? std::string("?")
                                               : std::to_string(size))
               << " but loop " << loop << " has size "
               << (dynamicLoop ? std::string("?")
                               : std::to_string(loops[loop]));
    }
  }
  if (next != int64_t(maps.size()))
    return emitOpError("'input_maps' has ")
           << maps.size() << " entries but the inputs' ranks add up to "
           << next;

  auto resultType = cast<RankedTensorType>(getResult().getType());
  int64_t dim = 0;
  for (int64_t loop = 0; loop < numLoops; ++loop) {
    if (reduced[loop])
      continue;
    if (dim >= resultType.getRank())
      return emitOpError("result has rank ")
             << resultType.getRank() << " but there are more parallel loops";
    int64_t size = resultType.getDimSize(dim);
    bool dynamicLoop = loops[loop] == -1;
    if (dynamicLoop != ShapedType::isDynamic(size) ||
        (!dynamicLoop && size != loops[loop]))
      return emitOpError("result dim ")
             << dim << " does not match parallel loop " << loop << " (size "
             << (dynamicLoop ? std::string("?") : std::to_string(loops[loop]))
             << ")";
    ++dim;
  }
  if (dim != resultType.getRank())
    return emitOpError("result has rank ")
           << resultType.getRank() << " but there are " << dim
           << " parallel loops";
  return success();
}
