//===- Mamba2StepTest.cpp - mamba2_step: one Mamba2 mixer step of decode -===//
//
// A double-precision reference of one decode step (conv with its state,
// split, SSD state update with D skip, then the gate: gated RMS norm, SiLU
// or none) written from the op descriptions, checked over two consecutive
// steps so that the carried states are checked too.
//
//===----------------------------------------------------------------------===//
#include "CpuTestUtil.h"

using namespace braid::rt;
using namespace braid::rt::test;

namespace {

struct StepCase {
  int64_t B = 3, H = 4, P = 3, G = 2, N = 5, K = 4;
  std::string gate = "norm";
  int64_t normGroup = 6; // divides H * P
  bool normFirst = false;
  int64_t channels() const { return H * P + 2 * G * N; }
};

struct StepData {
  Tensor xbc, convW, convBias, convState, dt, A, D, dtBias, ssm, z, normW;
  StepData(const StepCase &c, Rng &rng)
      : xbc(rng.uniform({c.B, 1, c.channels()})),
        convW(rng.uniform({c.channels(), c.K})),
        convBias(rng.uniform({c.channels()})),
        convState(rng.uniform({c.B, c.channels(), c.K - 1})),
        dt(rng.uniform({c.B, 1, c.H}, -3, 1)), A(rng.uniform({c.H}, -2, -0.1f)),
        D(rng.uniform({c.H})), dtBias(rng.uniform({c.H})),
        ssm(rng.uniform({c.B, c.H, c.P, c.N})),
        z(rng.uniform({c.B, 1, c.H * c.P}, -2, 2)),
        normW(rng.uniform({c.H * c.P}, 0.5f, 1.5f)) {}
};

/// One step in double: returns y, updates the states in place.
std::vector<double> stepRef(const StepCase &c, const StepData &d,
                            std::vector<double> &conv,
                            std::vector<double> &ssm) {
  const int64_t C = c.channels(), HP = c.H * c.P, hist = c.K - 1;
  std::vector<double> y(static_cast<size_t>(c.B * HP));
  for (int64_t b = 0; b < c.B; ++b) {
    std::vector<double> out(static_cast<size_t>(C));
    for (int64_t ch = 0; ch < C; ++ch) {
      double *st = &conv[(b * C + ch) * hist];
      double xin = d.xbc.f[b * C + ch], acc = d.convBias.f[ch];
      for (int64_t j = 0; j < hist; ++j)
        acc += d.convW.f[ch * c.K + j] * st[j];
      acc += d.convW.f[ch * c.K + hist] * xin;
      out[ch] = siluRef(acc);
      for (int64_t j = 0; j + 1 < hist; ++j)
        st[j] = st[j + 1];
      st[hist - 1] = xin;
    }
    for (int64_t h = 0; h < c.H; ++h) {
      const int64_t g = h / (c.H / c.G);
      double dt = softplusRef(d.dt.f[b * c.H + h] + d.dtBias.f[h]);
      double decay = std::exp(dt * d.A.f[h]);
      for (int64_t p = 0; p < c.P; ++p) {
        double x = out[h * c.P + p], acc = 0.0;
        for (int64_t n = 0; n < c.N; ++n) {
          double &s = ssm[((b * c.H + h) * c.P + p) * c.N + n];
          s = s * decay + dt * x * out[HP + g * c.N + n];
          acc += s * out[HP + c.G * c.N + g * c.N + n];
        }
        y[b * HP + h * c.P + p] = acc + d.D.f[h] * x;
      }
    }
    double *row = &y[b * HP];
    const float *z = &d.z.f[b * HP];
    if (c.gate == "silu") {
      for (int64_t i = 0; i < HP; ++i)
        row[i] *= siluRef(z[i]);
    } else if (c.gate == "norm") {
      for (int64_t g0 = 0; g0 < HP; g0 += c.normGroup) {
        double ss = 0.0;
        for (int64_t i = g0; i < g0 + c.normGroup; ++i) {
          double u = c.normFirst ? row[i] : row[i] * siluRef(z[i]);
          ss += u * u;
        }
        double inv = 1.0 / std::sqrt(ss / double(c.normGroup) + 1e-5);
        for (int64_t i = g0; i < g0 + c.normGroup; ++i)
          row[i] = c.normFirst ? row[i] * inv * d.normW.f[i] * siluRef(z[i])
                               : row[i] * siluRef(z[i]) * inv * d.normW.f[i];
      }
    }
  }
  return y;
}

std::string runStep(const StepCase &c, StepData &d, Tensor &y,
                    ThreadPool *pool) {
  Launch l("mamba2_step");
  l.in(d.xbc).in(d.convW).in(d.convBias).in(d.convState).in(d.dt).in(d.A);
  l.in(d.D).in(d.dtBias).in(d.ssm);
  c.gate == "none" ? l.none() : l.in(d.z);
  c.gate == "norm" ? l.in(d.normW) : l.none();
  // The states are updated in place, as the decode entry passes them.
  l.out(y).out(d.convState).out(d.ssm);
  l.attr("num_heads", c.H)
      .attr("head_dim", c.P)
      .attr("num_groups", c.G)
      .attr("state_size", c.N)
      .attr("chunk_size", 4)
      .attr("kernel_size", c.K)
      .attr("activation", "silu")
      .attr("dt_softplus", true)
      .attr("dt_min", 0.0)
      .attr("gate", c.gate.c_str())
      .attr("epsilon", 1e-5)
      .attr("group_size", c.normGroup)
      .attr("norm_before_gate", c.normFirst);
  return l.run(pool);
}

TEST(Mamba2Step, TwoStepsMatchReferenceForEveryGate) {
  for (const char *gate : {"norm", "silu", "none"})
    for (bool normFirst : {false, true}) {
      if (normFirst && std::string(gate) != "norm")
        continue;
      for (ThreadPool *pool : pools()) {
        StepCase c;
        c.gate = gate;
        c.normFirst = normFirst;
        Rng rng(7);
        StepData d(c, rng);
        std::vector<double> conv = toDouble(d.convState), ssm = toDouble(d.ssm);
        for (int step = 0; step < 2; ++step) {
          SCOPED_TRACE(std::string(gate) + (normFirst ? " norm first" : "") +
                       ", step " + std::to_string(step));
          Tensor y({c.B, 1, c.H * c.P});
          ASSERT_EQ(runStep(c, d, y, pool), "");
          EXPECT_CLOSE(y.f, stepRef(c, d, conv, ssm));
          EXPECT_CLOSE(d.convState.f, conv);
          EXPECT_CLOSE(d.ssm.f, ssm);
          d.xbc = rng.uniform({c.B, 1, c.channels()});
          d.dt = rng.uniform({c.B, 1, c.H}, -3, 1);
          d.z = rng.uniform({c.B, 1, c.H * c.P}, -2, 2);
        }
      }
    }
}

TEST(Mamba2Step, ReportsBadGateAndShapes) {
  StepCase c;
  Rng rng(3);
  StepData d(c, rng);
  Tensor y({c.B, 1, c.H * c.P});
  c.gate = "tanh";
  EXPECT_NE(runStep(c, d, y, nullptr).find("attribute 'gate' is 'tanh'"),
            std::string::npos);
  c.gate = "norm";
  d.xbc = rng.uniform({c.B, 1, c.channels() + 1});
  std::string message = runStep(c, d, y, nullptr);
  EXPECT_NE(message.find("'xBC' dim 2"), std::string::npos) << message;
}

} // namespace
