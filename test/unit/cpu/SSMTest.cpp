//===- SSMTest.cpp - ssd_scan and selective_scan
//---------------------------===//
//
// References in double from the op descriptions (sequential recurrences),
// and prefill-then-decode through the carried state against one call.
//
//===----------------------------------------------------------------------===//
#include "CpuTestUtil.h"

using namespace braid::rt;
using namespace braid::rt::test;

namespace {

//===----------------------------------------------------------------------===//
// ssd_scan
//===----------------------------------------------------------------------===//

struct SsdCase {
  int64_t B = 2, T = 7, H = 4, P = 5, G = 2, N = 6;
  bool withD = true, withBias = true, softplus = true;
  double dtMin = 0.0, dtMax = INFINITY;
};

struct SsdData {
  Tensor x, dt, A, Bm, Cm, D, bias, state;
  SsdData(const SsdCase &c, Rng &rng)
      : x(rng.uniform({c.B, c.T, c.H, c.P})),
        dt(rng.uniform({c.B, c.T, c.H}, -3, 1)),
        A(rng.uniform({c.H}, -2, -0.1f)), Bm(rng.uniform({c.B, c.T, c.G, c.N})),
        Cm(rng.uniform({c.B, c.T, c.G, c.N})), D(rng.uniform({c.H})),
        bias(rng.uniform({c.H})), state(rng.uniform({c.B, c.H, c.P, c.N})) {}
};

/// Returns y; updates `state` ([B, H, P, N], double) in place.
std::vector<double> ssdRef(const SsdCase &c, const SsdData &d,
                           std::vector<double> &state) {
  std::vector<double> y(d.x.f.size());
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t h = 0; h < c.H; ++h) {
      int64_t g = h / (c.H / c.G);
      for (int64_t t = 0; t < c.T; ++t) {
        double dt =
            d.dt.f[(b * c.T + t) * c.H + h] + (c.withBias ? d.bias.f[h] : 0.0);
        if (c.softplus)
          dt = softplusRef(dt);
        dt = std::min(std::max(dt, c.dtMin), c.dtMax);
        double decay = std::exp(dt * d.A.f[h]);
        for (int64_t p = 0; p < c.P; ++p) {
          double xv = d.x.f[((b * c.T + t) * c.H + h) * c.P + p], out = 0;
          for (int64_t n = 0; n < c.N; ++n) {
            double &s = state[((b * c.H + h) * c.P + p) * c.N + n];
            s = decay * s +
                dt * xv * d.Bm.f[((b * c.T + t) * c.G + g) * c.N + n];
            out += s * d.Cm.f[((b * c.T + t) * c.G + g) * c.N + n];
          }
          y[((b * c.T + t) * c.H + h) * c.P + p] =
              out + (c.withD ? d.D.f[h] * xv : 0.0);
        }
      }
    }
  return y;
}

Launch ssdLaunch(const SsdCase &c, SsdData &d, Tensor &x, Tensor &dt,
                 Tensor &Bm, Tensor &Cm, Tensor *state, Tensor &y,
                 Tensor *finalState) {
  Launch l("ssd_scan");
  l.in(x).in(dt).in(d.A).in(Bm).in(Cm);
  c.withD ? l.in(d.D) : l.none();
  c.withBias ? l.in(d.bias) : l.none();
  state ? l.in(*state) : l.none();
  l.out(y);
  if (finalState)
    l.out(*finalState);
  l.attr("num_heads", c.H)
      .attr("head_dim", c.P)
      .attr("num_groups", c.G)
      .attr("state_size", c.N);
  l.attr("chunk_size", 4)
      .attr("dt_softplus", c.softplus)
      .attr("dt_min", c.dtMin);
  if (!std::isinf(c.dtMax))
    l.attr("dt_max", c.dtMax);
  return l;
}

TEST(SsdScan, MatchesReferenceAcrossOptions) {
  Rng rng(60);
  for (int64_t T : {1, 3, 7, 33})
    for (int variant = 0; variant < 6; ++variant)
      for (bool withState : {false, true})
        for (ThreadPool *pool : pools()) {
          SsdCase c;
          c.T = T;
          c.withD = variant != 1;
          c.withBias = variant != 2;
          c.softplus = variant != 3;
          if (variant == 4) {
            c.dtMin = 0.05;
            c.dtMax = 0.3;
          }
          if (variant == 5) {
            c.G = 1;
            c.H = 3;
            c.N = 17;
            c.P = 9;
          }
          SsdData d(c, rng);
          std::vector<double> state(static_cast<size_t>(c.B * c.H * c.P * c.N),
                                    0.0);
          if (withState)
            state.assign(d.state.f.begin(), d.state.f.end());
          std::vector<double> want = ssdRef(c, d, state);
          Tensor y({c.B, c.T, c.H, c.P}, NAN);
          ASSERT_EQ(ssdLaunch(c, d, d.x, d.dt, d.Bm, d.Cm,
                              withState ? &d.state : nullptr, y,
                              withState ? &d.state : nullptr)
                        .run(pool),
                    "");
          EXPECT_CLOSE(y.f, want) << "T=" << T << " variant=" << variant;
          if (withState) {
            EXPECT_CLOSE(d.state.f, state)
                << "T=" << T << " variant=" << variant;
          }
        }
}

/// Tokens [t0, t0 + n) of a [B, T, ...] tensor.
Tensor sliceTokens(const Tensor &src, int64_t t0, int64_t n) {
  std::vector<int64_t> shape = src.shape;
  int64_t B = shape[0], T = shape[1], row = src.numel() / (B * T);
  shape[1] = n;
  Tensor out(shape);
  for (int64_t b = 0; b < B; ++b)
    std::copy_n(src.f.begin() + (b * T + t0) * row, n * row,
                out.f.begin() + b * n * row);
  return out;
}

/// Writes tokens [t0, t0 + n) of `dst` from a [B, n, ...] piece.
void putTokens(std::vector<float> &dst, const std::vector<int64_t> &fullShape,
               const Tensor &piece, int64_t t0) {
  int64_t B = fullShape[0], T = fullShape[1], n = piece.shape[1],
          row = piece.numel() / (B * n);
  for (int64_t b = 0; b < B; ++b)
    std::copy_n(piece.f.begin() + b * n * row, n * row,
                dst.begin() + (b * T + t0) * row);
}

TEST(SsdScan, PrefillThenDecodeMatchesOnePrefill) {
  Rng rng(61);
  for (bool alias : {true, false}) {
    SsdCase c;
    c.T = 19;
    SsdData d(c, rng);
    Tensor y({c.B, c.T, c.H, c.P});
    Tensor zero({c.B, c.H, c.P, c.N}, 0.0f), fullState = zero;
    ASSERT_EQ(ssdLaunch(c, d, d.x, d.dt, d.Bm, d.Cm, &fullState, y, &fullState)
                  .run(testPool()),
              "");
    std::vector<double> refState(zero.f.size(), 0.0);
    EXPECT_CLOSE(y.f, ssdRef(c, d, refState));
    EXPECT_CLOSE(fullState.f, refState);

    Tensor st = zero, st2 = zero;
    std::vector<float> got(y.f.size());
    int64_t done = 0;
    for (int64_t n : {7, 1, 1, 1, 5, 1, 1, 1, 1}) {
      SsdCase piece = c;
      piece.T = n;
      Tensor xs = sliceTokens(d.x, done, n), dts = sliceTokens(d.dt, done, n);
      Tensor bs = sliceTokens(d.Bm, done, n), cs = sliceTokens(d.Cm, done, n);
      Tensor ys({c.B, n, c.H, c.P});
      ASSERT_EQ(
          ssdLaunch(piece, d, xs, dts, bs, cs, &st, ys, alias ? &st : &st2)
              .run(testPool()),
          "");
      if (!alias)
        st = st2;
      putTokens(got, y.shape, ys, done);
      done += n;
    }
    ASSERT_EQ(done, c.T);
    EXPECT_CLOSE(got, y.f);
    EXPECT_CLOSE(st.f, fullState.f);
  }
}

TEST(SsdScan, ReportsMismatches) {
  SsdCase c;
  Rng rng(62);
  SsdData d(c, rng);
  Tensor y({c.B, c.T, c.H, c.P});
  Tensor badB({c.B, c.T, 3, c.N});
  EXPECT_EQ(
      ssdLaunch(c, d, d.x, d.dt, badB, d.Cm, nullptr, y, nullptr).run(nullptr),
      "ssd_scan: 'B' dim 2 (num_groups) is 3, expected 2");
  SsdCase g = c;
  g.G = 3;
  EXPECT_EQ(
      ssdLaunch(g, d, d.x, d.dt, d.Bm, d.Cm, nullptr, y, nullptr).run(nullptr),
      "ssd_scan: attribute 'num_heads' (4) must be a multiple of 'num_groups' "
      "(3)");
  Tensor badState({c.B, c.H, c.P, c.N + 1});
  EXPECT_EQ(ssdLaunch(c, d, d.x, d.dt, d.Bm, d.Cm, &badState, y, &badState)
                .run(nullptr),
            "ssd_scan: 'initial_state' has shape [2, 4, 5, 7], expected [2, 4, "
            "5, 6]");
  SsdCase lim = c;
  lim.dtMin = 0.5;
  lim.dtMax = 0.1;
  EXPECT_EQ(ssdLaunch(lim, d, d.x, d.dt, d.Bm, d.Cm, nullptr, y, nullptr)
                .run(nullptr),
            "ssd_scan: dt limits must satisfy 0 <= dt_min <= dt_max, got "
            "[0.500000, 0.100000]");
}

//===----------------------------------------------------------------------===//
// selective_scan
//===----------------------------------------------------------------------===//

struct SelCase {
  int64_t B = 2, T = 7, Di = 21, R = 3, N = 5;
  bool gate = true, D = true, norms = false;
};

struct SelData {
  Tensor x, xProj, dtProj, dtBias, A, z, D, dtNorm, bNorm, cNorm, state;
  SelData(const SelCase &c, Rng &rng)
      : x(rng.uniform({c.B, c.T, c.Di})),
        xProj(rng.uniform({c.R + 2 * c.N, c.Di}, -0.4f, 0.4f)),
        dtProj(rng.uniform({c.Di, c.R})), dtBias(rng.uniform({c.Di}, -2, 0)),
        A(rng.uniform({c.Di, c.N}, -3, -0.2f)),
        z(rng.uniform({c.B, c.T, c.Di}, -3, 3)), D(rng.uniform({c.Di})),
        dtNorm(rng.uniform({c.R}, 0.5, 1.5)),
        bNorm(rng.uniform({c.N}, 0.5, 1.5)),
        cNorm(rng.uniform({c.N}, 0.5, 1.5)),
        state(rng.uniform({c.B, c.Di, c.N})) {}
};

std::vector<double> selectiveRef(const SelCase &c, const SelData &d,
                                 std::vector<double> &h, double eps) {
  int64_t W = c.R + 2 * c.N;
  std::vector<double> y(d.x.f.size());
  auto norm = [&](std::vector<double> &v, int64_t off, int64_t n,
                  const Tensor &w) {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i)
      ss += v[off + i] * v[off + i];
    double inv = 1.0 / std::sqrt(ss / n + eps);
    for (int64_t i = 0; i < n; ++i)
      v[off + i] = v[off + i] * inv * w.f[i];
  };
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t t = 0; t < c.T; ++t) {
      const float *xr = d.x.f.data() + (b * c.T + t) * c.Di;
      std::vector<double> proj(W, 0.0);
      for (int64_t o = 0; o < W; ++o)
        for (int64_t k = 0; k < c.Di; ++k)
          proj[o] += double(d.xProj.f[o * c.Di + k]) * xr[k];
      if (c.norms) {
        norm(proj, 0, c.R, d.dtNorm);
        norm(proj, c.R, c.N, d.bNorm);
        norm(proj, c.R + c.N, c.N, d.cNorm);
      }
      for (int64_t ch = 0; ch < c.Di; ++ch) {
        double dt = d.dtBias.f[ch];
        for (int64_t r = 0; r < c.R; ++r)
          dt += proj[r] * d.dtProj.f[ch * c.R + r];
        dt = softplusRef(dt);
        double out = 0;
        for (int64_t n = 0; n < c.N; ++n) {
          double &s = h[(b * c.Di + ch) * c.N + n];
          s = std::exp(dt * d.A.f[ch * c.N + n]) * s +
              dt * proj[c.R + n] * xr[ch];
          out += proj[c.R + c.N + n] * s;
        }
        if (c.D)
          out += d.D.f[ch] * xr[ch];
        if (c.gate)
          out *= siluRef(d.z.f[(b * c.T + t) * c.Di + ch]);
        y[(b * c.T + t) * c.Di + ch] = out;
      }
    }
  return y;
}

Launch selLaunch(const SelCase &c, SelData &d, Tensor &x, Tensor &z,
                 Tensor *state, Tensor &y, Tensor *finalState, double eps) {
  Launch l("selective_scan");
  l.in(x).in(d.xProj).in(d.dtProj).in(d.dtBias).in(d.A);
  c.gate ? l.in(z) : l.none();
  c.D ? l.in(d.D) : l.none();
  if (c.norms)
    l.in(d.dtNorm).in(d.bNorm).in(d.cNorm);
  else
    l.none().none().none();
  state ? l.in(*state) : l.none();
  l.out(y);
  if (finalState)
    l.out(*finalState);
  l.attr("dt_rank", c.R).attr("state_size", c.N).attr("norm_epsilon", eps);
  return l;
}

TEST(SelectiveScan, MatchesReferenceAcrossOptions) {
  Rng rng(63);
  for (int64_t T : {1, 3, 7, 33})
    for (int mask = 0; mask < 16; ++mask)
      for (ThreadPool *pool : pools()) {
        SelCase c;
        c.T = T;
        c.gate = mask & 1;
        c.D = mask & 2;
        c.norms = mask & 4;
        bool withState = mask & 8;
        SelData d(c, rng);
        std::vector<double> h(static_cast<size_t>(c.B * c.Di * c.N), 0.0);
        if (withState)
          h.assign(d.state.f.begin(), d.state.f.end());
        std::vector<double> want = selectiveRef(c, d, h, 1e-6);
        Tensor y({c.B, c.T, c.Di}, NAN);
        ASSERT_EQ(selLaunch(c, d, d.x, d.z, withState ? &d.state : nullptr, y,
                            withState ? &d.state : nullptr, 1e-6)
                      .run(pool),
                  "");
        EXPECT_CLOSE(y.f, want) << "T=" << T << " mask=" << mask;
        if (withState) {
          EXPECT_CLOSE(d.state.f, h) << "T=" << T << " mask=" << mask;
        }
      }
}

TEST(SelectiveScan, PrefillThenDecodeMatchesOnePrefill) {
  Rng rng(64);
  for (bool alias : {true, false}) {
    SelCase c;
    c.T = 17;
    c.norms = true;
    c.Di = 40;
    SelData d(c, rng);
    Tensor y({c.B, c.T, c.Di}), zero({c.B, c.Di, c.N}, 0.0f), full = zero;
    ASSERT_EQ(selLaunch(c, d, d.x, d.z, &full, y, &full, 1e-6).run(testPool()),
              "");
    std::vector<double> h(zero.f.size(), 0.0);
    EXPECT_CLOSE(y.f, selectiveRef(c, d, h, 1e-6));
    Tensor st = zero, st2 = zero;
    std::vector<float> got(y.f.size());
    int64_t done = 0;
    for (int64_t n : {5, 1, 1, 4, 1, 1, 1, 3}) {
      SelCase piece = c;
      piece.T = n;
      Tensor xs = sliceTokens(d.x, done, n), zs = sliceTokens(d.z, done, n),
             ys({c.B, n, c.Di});
      ASSERT_EQ(selLaunch(piece, d, xs, zs, &st, ys, alias ? &st : &st2, 1e-6)
                    .run(testPool()),
                "");
      if (!alias)
        st = st2;
      putTokens(got, y.shape, ys, done);
      done += n;
    }
    ASSERT_EQ(done, c.T);
    EXPECT_CLOSE(got, y.f);
    EXPECT_CLOSE(st.f, full.f);
  }
}

TEST(SelectiveScan, ReportsMismatches) {
  SelCase c;
  Rng rng(65);
  SelData d(c, rng);
  Tensor y({c.B, c.T, c.Di});
  SelCase wrong = c;
  wrong.N = 6;
  EXPECT_EQ(
      selLaunch(wrong, d, d.x, d.z, nullptr, y, nullptr, 1e-6).run(nullptr),
      "selective_scan: 'x_proj' dim 0 (dt_rank + 2 * state_size) is 13, "
      "expected 15");
  Tensor z({c.B, c.T + 1, c.Di});
  EXPECT_EQ(
      selLaunch(c, d, d.x, z, nullptr, y, nullptr, 1e-6).run(nullptr),
      "selective_scan: 'gate' has shape [2, 8, 21] but 'input' has [2, 7, 21]");
  Launch l("selective_scan");
  l.in(d.x)
      .in(d.xProj)
      .in(d.dtProj)
      .in(d.dtBias)
      .in(d.A)
      .none()
      .none()
      .in(d.dtNorm)
      .out(y);
  l.attr("dt_rank", c.R).attr("state_size", c.N).attr("norm_epsilon", 1e-6);
  EXPECT_EQ(l.run(nullptr), "selective_scan: 'b_norm' is missing");
}

} // namespace
