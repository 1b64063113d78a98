//===- FakeKernels.h - the kernels of the fake GPU drivers ------*- C++ -*-===//
//
// FakeCudaDriver.cpp and FakeHipDriver.cpp run "device code" on the host:
// these kernels implement the tiny test model of TestUtil.h (hidden 8, vocab
// 16) on BraidKernelParams: fake_embedding, fake_rms_norm, fake_accumulate,
// fake_linear (and its variants by rows fake_linear_few, fake_linear_many),
// fake_greedy_next (decode_greedy's argmax into the ids).
// fake_fail and unknown functions fail.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TEST_UNIT_RUNTIME_FAKEKERNELS_H
#define BRAID_TEST_UNIT_RUNTIME_FAKEKERNELS_H

#include "braid/kernel_abi.h"

#include <cstdint>
#include <string>

/// Runs kernel `function`; false when it finds its parameters wrong.
bool runFakeKernel(const std::string &function, const BraidKernelParams &p);

#endif // BRAID_TEST_UNIT_RUNTIME_FAKEKERNELS_H
