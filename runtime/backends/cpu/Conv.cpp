//===- Conv.cpp - causal_conv1d -------------------------------------------===//
//
// Depthwise causal convolution over time, parallel over (batch, block of
// channels). Within a block the channel loop is innermost: x rows are
// contiguous over channels, and the block's weights are transposed once to
// [tap][channel] so every tap is a vectorizable multiply-add over channels.
// Taps before the first token read the carried state (the last
// kernel_size - 1 inputs of the previous call) or zeros. The new state is
// the last kernel_size - 1 pre-activation inputs of [state, x].
//
// The output may come in pieces (passes/EpilogueFusion.h: a conv that writes
// its split's pieces): results are then one buffer per column piece, then
// the updated state. The conv runs into one row buffer and the pieces are
// copied out of it: the same values as the unfused split.
//
//===----------------------------------------------------------------------===//
#include "runtime/backends/cpu/KernelSupport.h"

#include <algorithm>
#include <vector>

namespace braid::rt::cpu {

namespace {
constexpr int64_t kChannelBlock = 64;
} // namespace

std::string causalConv1dKernel(const KernelCall &call) {
  const TensorView &x = operandAt(call, 0), &w = operandAt(call, 1);
  const TensorView &bias = operandAt(call, 2), &state = operandAt(call, 3);
  // Output pieces, then the updated state when there is a state.
  const size_t pieces =
      call.results.size() - (state.present() && !call.results.empty() ? 1 : 0);
  const TensorView &y = resultAt(call, 0);
  const TensorView &newState = resultAt(call, pieces);
  int64_t width = call.attrs.getInt("kernel_size");
  std::string actName = call.attrs.getString("activation");
  Activation act = Activation::Identity;
  bool knownAct = parseActivation(actName, act);

  Check c(call, "causal_conv1d");
  c.operandCount(2, 4)
      .require(pieces >= 1,
               "expects at least " + std::to_string(state.present() ? 2 : 1) +
                   " results (the output or its pieces" +
                   (state.present() ? ", then the updated state" : "") +
                   "), got " + std::to_string(call.results.size()))
      .attrsOk()
      .attrAtLeast("kernel_size", width, 1)
      .require(
          knownAct && (act == Activation::Identity || act == Activation::Silu),
          "activation '" + actName + "' is not supported; use identity or silu")
      .f32("input", x)
      .rank("input", x, 3)
      .f32("weight", w)
      .rank("weight", w, 2)
      .dimsMatch("weight", w, 0, "input", x, 2, "channels")
      .dimIs("weight", w, 1, width, "kernel_size")
      .f32("output", y);
  if (pieces == 1) {
    c.sameShape("output", y, "input", x);
  } else {
    int64_t columns = 0;
    for (size_t i = 0; i < pieces && c.ok(); ++i) {
      const TensorView &p = call.results[i];
      const std::string name = "output piece #" + std::to_string(i);
      c.f32(name, p).rank(name, p, 3);
      for (int64_t d = 0; c.ok() && d < 2; ++d)
        c.dimsMatch(name, p, d, "input", x, d, "leading");
      if (c.ok())
        columns += p.dim(2);
    }
    if (c.ok())
      c.require(columns == x.dim(2),
                "the output pieces' last dims add up to " +
                    std::to_string(columns) + " but the input has " +
                    std::to_string(x.dim(2)) + " channels");
  }
  if (bias.present())
    c.f32("bias", bias)
        .rank("bias", bias, 1)
        .dimsMatch("bias", bias, 0, "input", x, 2, "channels");
  if (state.present())
    c.f32("conv_state", state)
        .rank("conv_state", state, 3)
        .dimsMatch("conv_state", state, 0, "input", x, 0, "batch")
        .dimsMatch("conv_state", state, 1, "input", x, 2, "channels")
        .dimIs("conv_state", state, 2, width - 1, "kernel_size - 1")
        .f32("updated state", newState)
        .sameShape("updated state", newState, "conv_state", state);
  if (!c.ok())
    return c.message();

  int64_t batch = x.dim(0), seq = x.dim(1), channels = x.dim(2);
  int64_t hist = width - 1;
  float *st = nullptr;
  if (state.present()) {
    copyStateIfDistinct(state, newState);
    st = newState.f32();
  }
  const float *xp = x.f32(), *wp = w.f32();
  const float *bp = bias.present() ? bias.f32() : nullptr;
  std::vector<float> whole; // the output before it is cut into pieces
  if (pieces > 1)
    whole.resize(static_cast<size_t>(batch * seq * channels));
  float *yp = pieces > 1 ? whole.data() : y.f32();
  int64_t blocks = (channels + kChannelBlock - 1) / kChannelBlock;

  parallelFor(call.pool, batch * blocks, [&](int64_t i0, int64_t i1) {
    std::vector<float> wt(static_cast<size_t>(width * kChannelBlock));
    for (int64_t i = i0; i < i1; ++i) {
      int64_t b = i / blocks;
      int64_t c0 = (i % blocks) * kChannelBlock;
      int64_t cb = std::min(kChannelBlock, channels - c0);
      for (int64_t j = 0; j < width; ++j)
        for (int64_t ch = 0; ch < cb; ++ch)
          wt[j * cb + ch] = wp[(c0 + ch) * width + j];
      // State of this block: row ch holds hist values, oldest first.
      float *sb = st ? st + (b * channels + c0) * hist : nullptr;

      for (int64_t t = 0; t < seq; ++t) {
        float *yr = yp + (b * seq + t) * channels + c0;
        for (int64_t ch = 0; ch < cb; ++ch)
          yr[ch] = bp ? bp[c0 + ch] : 0.0f;
        for (int64_t j = 0; j < width; ++j) {
          int64_t src = t - hist + j; // input time of tap j
          const float *wj = wt.data() + j * cb;
          if (src >= 0) {
            const float *xr = xp + (b * seq + src) * channels + c0;
            for (int64_t ch = 0; ch < cb; ++ch)
              yr[ch] += wj[ch] * xr[ch];
          } else if (sb) {
            for (int64_t ch = 0; ch < cb; ++ch)
              yr[ch] += wj[ch] * sb[ch * hist + hist + src];
          }
        }
        activateInPlace(act, yr, cb);
      }

      // New state: the last hist inputs of [state, x]. Entry k reads old
      // entry seq + k >= k, so the ascending in-place update is safe.
      if (sb)
        for (int64_t ch = 0; ch < cb; ++ch)
          for (int64_t k = 0; k < hist; ++k) {
            int64_t src = seq - hist + k;
            sb[ch * hist + k] = src >= 0
                                    ? xp[(b * seq + src) * channels + c0 + ch]
                                    : sb[ch * hist + seq + k];
          }
    }
  });
  if (pieces > 1)
    for (int64_t row = 0; row < batch * seq; ++row) {
      const float *from = yp + row * channels;
      for (size_t i = 0; i < pieces; ++i) {
        const int64_t width = call.results[i].dim(2);
        std::copy(from, from + width, call.results[i].f32() + row * width);
        from += width;
      }
    }
  return "";
}

} // namespace braid::rt::cpu
