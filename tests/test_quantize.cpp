// randomized_quantize(): the properties SPEC.md promises (agreement with
// the other implementations is test_equivalence.cpp's).
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "test_util.h"

namespace rq = randquant;
using rq::Collapse;
using rq::RandomizedQuantizationOptions;
using rq::Spacing;
using rq_test::gen;
using rq_test::random_input;

namespace {

using rq_test::Layout;

/// Checks SPEC.md's per-slice properties of y = RQ(x): finite values map to
/// at most R values inside [lo, hi], monotonically; non-finite pass through.
void expect_slice_properties(const at::Tensor& x, const at::Tensor& y,
                             const RandomizedQuantizationOptions& o) {
  const at::Tensor xs = rq_test::slices_of(x, o.batched(), o.channel_dim())
                            .flatten(0, 1)
                            .to(at::kDouble);
  const at::Tensor ys = rq_test::slices_of(y, o.batched(), o.channel_dim())
                            .flatten(0, 1)
                            .to(at::kDouble);
  const int64_t rmax = std::max(o.regions(), o.max_regions());
  for (int64_t s = 0; s < xs.size(0); ++s) {
    const at::Tensor xv = xs[s], yv = ys[s];
    const at::Tensor finite = at::isfinite(xv);
    ASSERT_TRUE(rq_test::same_values(xv.masked_select(finite.logical_not()),
                                     yv.masked_select(finite.logical_not())))
        << "non-finite values must pass through (slice " << s << ")";
    const at::Tensor xf = xv.masked_select(finite),
                     yf = yv.masked_select(finite);
    if (xf.numel() == 0) continue;
    if (o.collapse() != Collapse::Zeros) {
      ASSERT_GE(yf.min().item<double>(), xf.min().item<double>())
          << "slice " << s;
      ASSERT_LE(yf.max().item<double>(), xf.max().item<double>())
          << "slice " << s;
    } else {
      ASSERT_TRUE(yf.eq(0).all().item<bool>()) << "Zeros gives 0";
    }
    ASSERT_LE(std::get<0>(at::_unique(yf)).numel(), rmax) << "slice " << s;
    const at::Tensor order = xf.argsort();
    const at::Tensor ysorted = yf.index_select(0, order);
    if (ysorted.numel() > 1) {
      ASSERT_TRUE(
          (ysorted.slice(0, 1) >= ysorted.slice(0, 0, -1)).all().item<bool>())
          << "quantization must be monotone (slice " << s << ")";
    }
  }
}

class SliceProperties : public ::testing::TestWithParam<at::ScalarType> {};

}  // namespace

// SPEC.md's per-slice properties on every dtype (parameter), layout,
// collapse, spacing and R; that every other implementation gives these bits
// is test_equivalence.cpp's sweep.
TEST_P(SliceProperties, HoldOverLayoutsCollapsesSpacingsRegions) {
  const at::ScalarType dtype = GetParam();
  const at::Tensor base = random_input({2, 3, 9, 11}, dtype, 7);
  uint64_t seed = 0;
  for (const Layout& layout : rq_test::layouts()) {
    const at::Tensor x = layout.make(base);
    ASSERT_TRUE(rq_test::same_values(x, base));
    for (Collapse collapse :
         {Collapse::InsideRandom, Collapse::Middle, Collapse::Zeros}) {
      for (Spacing spacing : {Spacing::Random, Spacing::Uniform}) {
        for (int64_t regions : {1, 2, 8, 255, 1024}) {
          for (int64_t max_regions :
               {int64_t{0}, std::min<int64_t>(regions + 9, 1024)}) {
            SCOPED_TRACE(::testing::Message()
                         << layout.name << " " << collapse << " " << spacing
                         << " R=" << regions << " max=" << max_regions);
            const auto o = RandomizedQuantizationOptions(regions)
                               .max_regions(max_regions)
                               .collapse(collapse)
                               .spacing(spacing)
                               .p(seed % 3 == 0 ? 0.5 : 1.0);
            ++seed;
            const at::Tensor before = x.clone();
            const at::Tensor fused = rq::randomized_quantize(x, o, gen(seed));
            ASSERT_TRUE(rq_test::same_bits(x, before)) << "input modified";
            ASSERT_EQ(fused.sizes(), x.sizes());
            ASSERT_EQ(fused.scalar_type(), dtype);
            if (o.p() == 1.0) {
              expect_slice_properties(x, fused, o);
            }
          }
        }
      }
    }
  }
}

TEST_P(SliceProperties, ChannelLastDimAndUnbatched) {
  const at::ScalarType dtype = GetParam();
  // (N, L, D) embeddings with channel_dim -1 == (N, D, L) with channel 0.
  const at::Tensor x = random_input({4, 50, 6}, dtype, 3);
  const auto o = RandomizedQuantizationOptions(5).channel_dim(-1);
  const at::Tensor y = rq::randomized_quantize(x, o, gen(11));
  const at::Tensor yt =
      rq::randomized_quantize(x.transpose(1, 2).contiguous(),
                              RandomizedQuantizationOptions(5), gen(11));
  EXPECT_TRUE(rq_test::same_bits(y, yt.transpose(1, 2)));
  expect_slice_properties(x, y, o);
  // One (P, 3) sample unbatched == a batch of one.
  const at::Tensor pts = random_input({200, 3}, dtype, 4);
  const auto ou =
      RandomizedQuantizationOptions(4).batched(false).channel_dim(-1);
  const at::Tensor yu = rq::randomized_quantize(pts, ou, gen(12));
  const at::Tensor yb = rq::randomized_quantize(
      pts.unsqueeze(0), RandomizedQuantizationOptions(4).channel_dim(-1),
      gen(12));
  EXPECT_TRUE(rq_test::same_bits(yu, yb.squeeze(0)));
}

INSTANTIATE_TEST_SUITE_P(
    Dtypes, SliceProperties, ::testing::ValuesIn(rq_test::all_dtypes()),
    [](const ::testing::TestParamInfo<at::ScalarType>& info) {
      return std::string(c10::toString(info.param));
    });

TEST(Quantize, LayoutsGiveTheSameValuesAndKeepDenseStrides) {
  const at::Tensor base = random_input({3, 4, 16, 20}, at::kFloat, 1);
  const at::Tensor ref = rq::randomized_quantize(base, {}, gen(5));
  for (const Layout& layout : rq_test::layouts()) {
    SCOPED_TRACE(layout.name);
    const at::Tensor x = layout.make(base);
    const at::Tensor y = rq::randomized_quantize(x, {}, gen(5));
    EXPECT_TRUE(rq_test::same_bits(y, ref));
  }
  const at::Tensor cl = base.contiguous(at::MemoryFormat::ChannelsLast);
  EXPECT_TRUE(rq::randomized_quantize(cl).is_contiguous(
      at::MemoryFormat::ChannelsLast));
  // A middle channel dim in a 4-D sample needs three levels: still correct.
  const at::Tensor x5 = random_input({2, 5, 3, 7, 4}, at::kFloat, 2);
  const auto o5 = RandomizedQuantizationOptions(6).channel_dim(1);
  EXPECT_TRUE(rq_test::same_bits(
      rq::randomized_quantize(x5.transpose(3, 4), o5, gen(9)),
      rq::randomized_quantize_composite(x5.transpose(3, 4), o5, gen(9))));
}

TEST(Quantize, UniformMiddleEqualsClosedForm) {
  // Every slice spans exactly [0, 16]; R = 8 uniform cuts at 2, 4, ..., 14;
  // proxies are the midpoints 1, 3, ..., 15.
  at::Tensor x = at::rand({4, 3, 10, 10}, gen(3)) * 16.0;
  x.select(2, 0).select(2, 0).fill_(0.0);
  x.select(2, 0).select(2, 1).fill_(16.0);
  x.select(2, 1).select(2, 1).fill_(4.0);  // exactly on a cut: goes right
  const auto o = RandomizedQuantizationOptions(8)
                     .spacing(Spacing::Uniform)
                     .collapse(Collapse::Middle);
  for (at::ScalarType dtype :
       {at::kFloat, at::kDouble, at::kHalf, at::kBFloat16}) {
    const at::Tensor xd = x.to(dtype);
    const at::Tensor y = rq::randomized_quantize(xd, o);
    const at::Tensor xv = xd.to(at::kDouble);
    const at::Tensor expected =
        at::clamp_max(at::floor(xv / 2.0) * 2.0 + 1.0, 15.0);
    EXPECT_TRUE(rq_test::same_values(y.to(at::kDouble), expected)) << dtype;
  }
  // uint8 over [0, 255] with R = 5: cuts at 51, 102, 153, 204; midpoints
  // 25.5, 76.5, 127.5, 178.5, 229.5 round half to even.
  const at::Tensor bytes = at::arange(256, at::kByte).view({1, 1, 256});
  const at::Tensor yb =
      rq::randomized_quantize(bytes, RandomizedQuantizationOptions(5)
                                         .spacing(Spacing::Uniform)
                                         .collapse(Collapse::Middle));
  const std::vector<int> mids = {26, 76, 128, 178, 230};
  for (int v = 0; v < 256; ++v) {
    const int region = std::min(v / 51, 4);
    ASSERT_EQ(yb[0][0][v].item<int>(), mids[region]) << "v = " << v;
  }
}

TEST(Quantize, ProbabilityZeroIsABitwiseCopyAndHalfAppliesToHalf) {
  at::Tensor x = random_input({50, 2, 4, 4}, at::kFloat, 9);
  x[0][0][0][0] = std::numeric_limits<float>::quiet_NaN();
  const at::Tensor y0 =
      rq::randomized_quantize(x, RandomizedQuantizationOptions(4).p(0.0));
  EXPECT_TRUE(rq_test::same_bits(y0, x));

  const int64_t n = 4000;
  const at::Tensor xs = random_input({n, 2, 3}, at::kFloat, 10);
  const auto o = RandomizedQuantizationOptions(4).p(0.5);
  at::Generator g = gen(77);
  const auto params = rq::quantization_params(xs, o, g.clone());
  const at::Tensor y = rq::randomized_quantize(xs, o, g);
  const int64_t applied = params.applied.sum().item<int64_t>();
  EXPECT_NEAR(static_cast<double>(applied), n * 0.5, 4.0 * std::sqrt(n * 0.25));
  const at::Tensor unchanged = y.eq(xs).all(2).all(1);
  // Every sample not applied is unchanged; applied ones follow the params.
  EXPECT_TRUE(unchanged.logical_or(params.applied).all().item<bool>());
  EXPECT_GT(unchanged.logical_not().sum().item<int64_t>(), applied * 9 / 10);
  EXPECT_TRUE(
      rq_test::same_bits(y, rq::apply_quantization_params(xs, params, o)));
}

namespace {
/// Kolmogorov-Smirnov distance of a sample from U[0, 1).
double ks_uniform(at::Tensor sample) {
  const at::Tensor s = std::get<0>(sample.to(at::kDouble).flatten().sort());
  const int64_t n = s.numel();
  const at::Tensor i = at::arange(n, at::kDouble);
  const at::Tensor above = (i + 1.0) / n - s, below = s - i / n;
  return std::max(above.max().item<double>(), below.max().item<double>());
}
}  // namespace

TEST(Quantize, CutPointsAndProxyWeightsAreUniform) {
  // 2000 slices spanning exactly [0, 1]: pooled cut points ~ U[0, 1).
  at::Tensor x = at::rand({1000, 2, 64}, gen(1));
  x.select(2, 0).fill_(0.0);
  x.select(2, 1).fill_(1.0);
  const auto params =
      rq::quantization_params(x, RandomizedQuantizationOptions(8), gen(2));
  const at::Tensor cuts = params.cuts;
  ASSERT_EQ(cuts.sizes(), (at::IntArrayRef{1000, 2, 7}));
  const double n = static_cast<double>(cuts.numel());
  // Critical value at alpha = 0.001: 1.95 / sqrt(n).
  EXPECT_LT(ks_uniform(cuts), 1.95 / std::sqrt(n));
  EXPECT_TRUE(std::get<0>(cuts.sort(-1)).equal(cuts)) << "cuts sorted";
  // Proxy weights w = (proxy - left) / (right - left) ~ U[0, 1).
  const at::Tensor lo = params.lo.unsqueeze(-1), hi = params.hi.unsqueeze(-1);
  const at::Tensor left = at::cat({lo, cuts}, -1),
                   right = at::cat({cuts, hi}, -1);
  const at::Tensor width = right - left;
  const at::Tensor w =
      ((params.proxies - left) / width).masked_select(width > 1e-3);
  EXPECT_LT(ks_uniform(w), 1.95 / std::sqrt(static_cast<double>(w.numel())));
  // A skewed sampler must fail the same test (the test can fail).
  EXPECT_GT(ks_uniform(cuts * cuts), 1.95 / std::sqrt(n));
}

TEST(Quantize, SameSeedSameOutputDifferentSeedDifferent) {
  const at::Tensor x = random_input({4, 3, 8, 8}, at::kFloat, 2);
  const at::Tensor a = rq::randomized_quantize(x, {}, gen(1));
  EXPECT_TRUE(rq_test::same_bits(a, rq::randomized_quantize(x, {}, gen(1))));
  EXPECT_FALSE(a.equal(rq::randomized_quantize(x, {}, gen(2))));
  // One generator advances: two calls differ.
  at::Generator g = gen(3);
  EXPECT_FALSE(rq::randomized_quantize(x, {}, g).equal(
      rq::randomized_quantize(x, {}, g)));
  // The default generator is used and seeded by at::manual_seed.
  at::manual_seed(123);
  const at::Tensor d1 = rq::randomized_quantize(x);
  at::manual_seed(123);
  EXPECT_TRUE(rq_test::same_bits(d1, rq::randomized_quantize(x)));
}

TEST(Quantize, ThreadCountDoesNotChangeTheResult) {
  const int threads = at::get_num_threads();
  const at::Tensor one =
      random_input({3, 256, 256}, at::kFloat, 4);  // few big slices
  const at::Tensor batch = random_input({16, 3, 40, 40}, at::kByte, 5);
  const auto ou = RandomizedQuantizationOptions(200).batched(false);
  at::set_num_threads(1);
  const at::Tensor a1 = rq::randomized_quantize(one, ou, gen(8));
  const at::Tensor b1 = rq::randomized_quantize(batch, {}, gen(8));
  at::set_num_threads(2);
  const at::Tensor a2 = rq::randomized_quantize(one, ou, gen(8));
  const at::Tensor b2 = rq::randomized_quantize(batch, {}, gen(8));
  at::set_num_threads(4);
  const at::Tensor a4 = rq::randomized_quantize(one, ou, gen(8));
  at::set_num_threads(threads);
  EXPECT_TRUE(rq_test::same_bits(a1, a2));
  EXPECT_TRUE(rq_test::same_bits(a1, a4));
  EXPECT_TRUE(rq_test::same_bits(b1, b2));
  EXPECT_TRUE(rq_test::same_bits(
      a1, rq::randomized_quantize_composite(one, ou, gen(8))));
}

TEST(Quantize, ParamsDescribeTheCall) {
  const at::Tensor x = random_input({3, 2, 5, 5}, at::kFloat, 6);
  const auto o = RandomizedQuantizationOptions(3).max_regions(6);
  at::Generator g = gen(21);
  const auto p = rq::quantization_params(x, o, g.clone());
  const at::Tensor y = rq::randomized_quantize(x, o, g);
  EXPECT_TRUE(rq_test::same_bits(y, rq::apply_quantization_params(x, p, o)));
  EXPECT_TRUE(p.lo.equal(x.flatten(2).amin(-1)));
  EXPECT_TRUE(p.hi.equal(x.flatten(2).amax(-1)));
  EXPECT_TRUE(p.regions.ge(3).logical_and(p.regions.le(6)).all().item<bool>());
  EXPECT_GT(std::get<0>(at::_unique(p.regions)).numel(), 1);
  EXPECT_EQ(p.cuts.size(2), 5);
  EXPECT_EQ(p.proxies.size(2), 6);
  EXPECT_TRUE(p.applied.all().item<bool>());
  // Replay with the recorded params gives the call's output for each slice.
  for (int64_t s = 0; s < 6; ++s) {
    const int64_t n = s / 2, c = s % 2;
    const int64_t r = p.regions[n][c].item<int64_t>();
    const at::Tensor used = std::get<0>(at::_unique(y[n][c]));
    const at::Tensor allowed = p.proxies[n][c].slice(0, 0, r);
    EXPECT_TRUE(at::isin(used, allowed).all().item<bool>());
  }
}
