//===- HipDriverCheck.cpp - HipDriver.h checked against the HIP headers ---===//
//
// Compiled only where the build finds hip/hip_runtime_api.h
// (runtime/CMakeLists.txt), into an object library that nothing links: every
// symbol of the table must be declared by the headers with a compatible
// signature (runtime/src/DriverCheck.h), and every constant must have their
// value. The device-properties entries are left out on purpose: the runtime
// passes them an opaque buffer (HipDriver.h). A mismatch fails the build.
//
//===----------------------------------------------------------------------===//

#ifndef __HIP_PLATFORM_AMD__
#define __HIP_PLATFORM_AMD__ 1
#endif
#include <hip/hip_runtime_api.h>

#include "runtime/backends/hip/HipDriver.h"
#include "runtime/src/DriverCheck.h"

#include <type_traits>

namespace {

using braid::rt::check::SameSignature;
using braid::rt::hip::HipDriver;

#define BRAID_HIP_CHECK(member, symbol, ret, params)                           \
  static_assert(                                                               \
      SameSignature<decltype(HipDriver::member), decltype(&::symbol)>::value,  \
      "HipDriver::" #member " does not match the HIP headers' " #symbol);
BRAID_HIP_CORE_SYMBOLS(BRAID_HIP_CHECK)
BRAID_HIP_CHECK(runtimeGetVersion, hipRuntimeGetVersion, , )
BRAID_HIP_CHECK(funcSetAttribute, hipFuncSetAttribute, , )
BRAID_HIP_CHECK(streamBeginCapture, hipStreamBeginCapture, , )
BRAID_HIP_CHECK(streamEndCapture, hipStreamEndCapture, , )
BRAID_HIP_CHECK(graphInstantiate, hipGraphInstantiate, , )
BRAID_HIP_CHECK(graphLaunch, hipGraphLaunch, , )
BRAID_HIP_CHECK(graphDestroy, hipGraphDestroy, , )
BRAID_HIP_CHECK(graphExecDestroy, hipGraphExecDestroy, , )
BRAID_HIP_EVENT_SYMBOLS(BRAID_HIP_CHECK)
#undef BRAID_HIP_CHECK
// hipMalloc has C++ template overloads: the cast selects the plain one
// (it fails to compile unless that one has this type).
using HeaderMalloc = ::hipError_t (*)(void **, size_t);
[[maybe_unused]] constexpr HeaderMalloc kHeaderMalloc = &::hipMalloc;
static_assert(SameSignature<decltype(HipDriver::malloc), HeaderMalloc>::value,
              "HipDriver::malloc does not match the HIP headers' hipMalloc");

namespace h = braid::rt::hip;
static_assert(std::is_same_v<h::hipDeviceptr_t, ::hipDeviceptr_t>);
static_assert(std::is_same_v<h::hipStream_t, ::hipStream_t>);
static_assert(std::is_same_v<h::hipModule_t, ::hipModule_t>);
static_assert(std::is_same_v<h::hipFunction_t, ::hipFunction_t>);
static_assert(std::is_same_v<h::hipGraph_t, ::hipGraph_t>);
static_assert(std::is_same_v<h::hipGraphExec_t, ::hipGraphExec_t>);
static_assert(std::is_same_v<h::hipGraphNode_t, ::hipGraphNode_t>);
static_assert(std::is_same_v<h::hipEvent_t, ::hipEvent_t>);
static_assert(h::hipSuccess == ::hipSuccess);
static_assert(h::hipErrorOutOfMemory == ::hipErrorOutOfMemory);
static_assert(h::hipErrorNoDevice == ::hipErrorNoDevice);
static_assert(h::hipDeviceAttributeMultiprocessorCount ==
              ::hipDeviceAttributeMultiprocessorCount);
static_assert(h::hipDeviceAttributeMaxSharedMemoryPerBlock ==
              ::hipDeviceAttributeMaxSharedMemoryPerBlock);
static_assert(h::hipFuncAttributeMaxDynamicSharedMemorySize ==
              ::hipFuncAttributeMaxDynamicSharedMemorySize);
static_assert(h::hipStreamCaptureModeThreadLocal ==
              ::hipStreamCaptureModeThreadLocal);
static_assert(sizeof(::hipDeviceProp_t) <= h::kDevicePropertiesBytes);

} // namespace
