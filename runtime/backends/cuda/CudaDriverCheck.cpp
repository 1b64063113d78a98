//===- CudaDriverCheck.cpp - CudaDriver.h checked against cuda.h ----------===//
//
// Compiled only where the build finds cuda.h (runtime/CMakeLists.txt): every
// symbol of the table must be declared by cuda.h with a compatible signature
// (runtime/src/DriverCheck.h), and every constant must have cuda.h's value.
// Nothing here runs; a mismatch fails the build.
//
//===----------------------------------------------------------------------===//

#include <cuda.h>

#include "runtime/backends/cuda/CudaDriver.h"
#include "runtime/src/DriverCheck.h"

#include "braid/kernel_abi.h"

#include <cstddef>
#include <type_traits>

// cuLaunchKernelEx takes a struct: the table's CUlaunchConfig is compatible
// with cuda.h's when every field sits where cuda.h puts it (and so for the
// attribute it points to).
namespace braid::rt::check {
#define BRAID_SAME_FIELD(A, B, field)                                          \
  (offsetof(A, field) == offsetof(B, field) &&                                 \
   sizeof(A::field) == sizeof(B::field))
template <>
constexpr bool compatible<braid::rt::cu::CUlaunchConfig, ::CUlaunchConfig>() {
  using A = braid::rt::cu::CUlaunchConfig;
  using B = ::CUlaunchConfig;
  using AA = braid::rt::cu::CUlaunchAttribute;
  using BA = ::CUlaunchAttribute;
  return sizeof(A) == sizeof(B) && alignof(A) == alignof(B) &&
         BRAID_SAME_FIELD(A, B, gridDimX) && BRAID_SAME_FIELD(A, B, gridDimY) &&
         BRAID_SAME_FIELD(A, B, gridDimZ) &&
         BRAID_SAME_FIELD(A, B, blockDimX) &&
         BRAID_SAME_FIELD(A, B, blockDimY) &&
         BRAID_SAME_FIELD(A, B, blockDimZ) &&
         BRAID_SAME_FIELD(A, B, sharedMemBytes) &&
         BRAID_SAME_FIELD(A, B, hStream) && BRAID_SAME_FIELD(A, B, attrs) &&
         BRAID_SAME_FIELD(A, B, numAttrs) && sizeof(AA) == sizeof(BA) &&
         alignof(AA) == alignof(BA) && BRAID_SAME_FIELD(AA, BA, id) &&
         BRAID_SAME_FIELD(AA, BA, value) &&
         offsetof(AA, value.programmaticStreamSerializationAllowed) ==
             offsetof(BA, value.programmaticStreamSerializationAllowed);
}
#undef BRAID_SAME_FIELD
template <>
constexpr bool compatible<braid::rt::cu::CUtensorMap, ::CUtensorMap>() {
  return sizeof(braid::rt::cu::CUtensorMap) == sizeof(::CUtensorMap) &&
         alignof(braid::rt::cu::CUtensorMap) == alignof(::CUtensorMap);
}
} // namespace braid::rt::check

namespace {

using braid::rt::check::SameSignature;
using braid::rt::cu::CudaDriver;

#define BRAID_CUDA_CHECK(member, symbol, ret, params)                          \
  static_assert(                                                               \
      SameSignature<decltype(CudaDriver::member), decltype(&::symbol)>::value, \
      "CudaDriver::" #member " does not match cuda.h's " #symbol);
BRAID_CUDA_DRIVER_SYMBOLS(BRAID_CUDA_CHECK)
BRAID_CUDA_OPTIONAL_SYMBOLS(BRAID_CUDA_CHECK)
#undef BRAID_CUDA_CHECK

namespace cu = braid::rt::cu;
static_assert(std::is_same_v<cu::CUdeviceptr, ::CUdeviceptr>);
static_assert(std::is_same_v<cu::CUcontext, ::CUcontext>);
static_assert(std::is_same_v<cu::CUmodule, ::CUmodule>);
static_assert(std::is_same_v<cu::CUfunction, ::CUfunction>);
static_assert(std::is_same_v<cu::CUstream, ::CUstream>);
static_assert(std::is_same_v<cu::CUgraph, ::CUgraph>);
static_assert(std::is_same_v<cu::CUgraphExec, ::CUgraphExec>);
static_assert(std::is_same_v<cu::CUevent, ::CUevent>);
static_assert(cu::CUDA_SUCCESS == ::CUDA_SUCCESS);
static_assert(cu::CUDA_ERROR_OUT_OF_MEMORY == ::CUDA_ERROR_OUT_OF_MEMORY);
static_assert(cu::CUDA_ERROR_NO_DEVICE == ::CUDA_ERROR_NO_DEVICE);
static_assert(cu::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT ==
              ::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
static_assert(cu::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR ==
              ::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
static_assert(cu::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR ==
              ::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
static_assert(cu::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN ==
              ::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
static_assert(cu::CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK ==
              ::CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
static_assert(cu::CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES ==
              ::CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES);
static_assert(cu::CU_FUNC_ATTRIBUTE_NUM_REGS == ::CU_FUNC_ATTRIBUTE_NUM_REGS);
static_assert(cu::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES ==
              ::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES);
static_assert(cu::CU_JIT_ERROR_LOG_BUFFER == ::CU_JIT_ERROR_LOG_BUFFER);
static_assert(cu::CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES ==
              ::CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES);
static_assert(cu::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL ==
              ::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
static_assert(cu::CU_STREAM_DEFAULT == ::CU_STREAM_DEFAULT);
static_assert(cu::CU_EVENT_DEFAULT == ::CU_EVENT_DEFAULT);
static_assert(cu::CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION ==
              ::CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION);
static_assert(std::is_same_v<cu::cuuint32_t, ::cuuint32_t>);
static_assert(std::is_same_v<cu::cuuint64_t, ::cuuint64_t>);
static_assert(cu::CU_TENSOR_MAP_DATA_TYPE_UINT8 ==
              ::CU_TENSOR_MAP_DATA_TYPE_UINT8);
static_assert(cu::CU_TENSOR_MAP_DATA_TYPE_UINT16 ==
              ::CU_TENSOR_MAP_DATA_TYPE_UINT16);
static_assert(cu::CU_TENSOR_MAP_DATA_TYPE_UINT32 ==
              ::CU_TENSOR_MAP_DATA_TYPE_UINT32);
static_assert(cu::CU_TENSOR_MAP_DATA_TYPE_UINT64 ==
              ::CU_TENSOR_MAP_DATA_TYPE_UINT64);
static_assert(cu::CU_TENSOR_MAP_INTERLEAVE_NONE ==
              ::CU_TENSOR_MAP_INTERLEAVE_NONE);
static_assert(cu::CU_TENSOR_MAP_SWIZZLE_NONE == ::CU_TENSOR_MAP_SWIZZLE_NONE);
static_assert(cu::CU_TENSOR_MAP_SWIZZLE_32B == ::CU_TENSOR_MAP_SWIZZLE_32B);
static_assert(cu::CU_TENSOR_MAP_SWIZZLE_64B == ::CU_TENSOR_MAP_SWIZZLE_64B);
static_assert(cu::CU_TENSOR_MAP_SWIZZLE_128B == ::CU_TENSOR_MAP_SWIZZLE_128B);
static_assert(cu::CU_TENSOR_MAP_L2_PROMOTION_L2_256B ==
              ::CU_TENSOR_MAP_L2_PROMOTION_L2_256B);
static_assert(cu::CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE ==
              ::CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
static_assert(sizeof(BraidTensorMap) == sizeof(::CUtensorMap) &&
              alignof(BraidTensorMap) == alignof(::CUtensorMap));

} // namespace
