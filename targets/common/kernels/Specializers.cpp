//===- Specializers.cpp - the registry of GPU kernel specializers ---------===//
#include "targets/common/kernels/Specializers.h"

namespace braid::gpu {

Specializer findSpecializer(llvm::StringRef family) {
  if (Specializer dense = findDenseSpecializer(family))
    return dense;
  if (Specializer fused = findFusedSpecializer(family))
    return fused;
  return findSequenceSpecializer(family);
}

} // namespace braid::gpu
