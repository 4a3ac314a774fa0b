// The shared per-slice math: interpolation, region lookup, dtype
// conversion, parameter generation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "randquant/core/bucket_table.h"
#include "randquant/core/slice_math.h"

namespace rc = randquant::core;

TEST(SliceMath, LerpInsideStaysInsideEvenWhenWidthOverflows) {
  const float big = std::numeric_limits<float>::max();
  for (float t : {0.0f, 0.25f, 0.5f, 1.0f - 0x1p-24f}) {
    const float r = rc::lerp_inside(-big, big, t);
    EXPECT_TRUE(std::isfinite(r));
    EXPECT_GE(r, -big);
    EXPECT_LE(r, big);
    const float s = rc::lerp_inside(1.0f, 1.0f + 0x1p-23f, t);
    EXPECT_GE(s, 1.0f);
    EXPECT_LE(s, 1.0f + 0x1p-23f);
  }
  EXPECT_EQ(rc::lerp_inside(2.0f, 6.0f, 0.25f), 3.0f);
  EXPECT_EQ(rc::lerp_inside(2.0, 6.0, 0.5), 4.0);
}

TEST(SliceMath, RegionOfCountsCutsAtOrBelow) {
  const float cuts[] = {1.0f, 2.0f, 2.0f, 5.0f};
  EXPECT_EQ(rc::region_of(cuts, 4, 0.5f), 0);
  EXPECT_EQ(rc::region_of(cuts, 4, 1.0f), 1);  // ties go right
  EXPECT_EQ(rc::region_of(cuts, 4, 1.5f), 1);
  EXPECT_EQ(rc::region_of(cuts, 4, 2.0f), 3);
  EXPECT_EQ(rc::region_of(cuts, 4, 5.0f), 4);
  EXPECT_EQ(rc::region_of(cuts, 0, 5.0f), 0);
}

TEST(SliceMath, BucketHintsGiveTheExactRegion) {
  std::mt19937 rng(2);
  for (int trial = 0; trial < 50; ++trial) {
    std::uniform_real_distribution<float> ends(-100.0f, 100.0f);
    float lo = ends(rng), hi = ends(rng);
    if (lo > hi) std::swap(lo, hi);
    const int n_cuts = 1 + trial * 20;
    std::vector<float> cuts(n_cuts + 1);
    std::uniform_real_distribution<float> inside(lo, hi);
    for (int k = 0; k < n_cuts; ++k) {
      // Clustered and duplicated cut points are the hard case.
      cuts[k] = trial % 3 == 0 ? lo + (hi - lo) * 1e-3f * (k % 5) : inside(rng);
    }
    std::sort(cuts.begin(), cuts.begin() + n_cuts);
    cuts[n_cuts] = std::numeric_limits<float>::infinity();
    const auto map = rc::BucketMap<float>::make(lo, hi, 4 * (n_cuts + 1));
    std::vector<int32_t> table(map.buckets);
    rc::build_bucket_table(map, cuts.data(), n_cuts, table.data());
    for (int i = 0; i < 2000; ++i) {
      const float v = i < n_cuts ? cuts[i] : inside(rng);  // exact ties too
      EXPECT_EQ(rc::region_from_buckets(map, table.data(), cuts.data(), v),
                rc::region_of(cuts.data(), n_cuts, v));
    }
    EXPECT_EQ(rc::region_from_buckets(map, table.data(), cuts.data(), lo),
              rc::region_of(cuts.data(), n_cuts, lo));
    EXPECT_EQ(rc::region_from_buckets(map, table.data(), cuts.data(), hi),
              n_cuts);
  }
}

TEST(SliceMath, ToElementRoundsHalfToEvenAndClamps) {
  EXPECT_EQ(rc::to_element<uint8_t>(2.5f), 2);
  EXPECT_EQ(rc::to_element<uint8_t>(3.5f), 4);
  EXPECT_EQ(rc::to_element<uint8_t>(-3.0f), 0);
  EXPECT_EQ(rc::to_element<uint8_t>(300.0f), 255);
  EXPECT_EQ(rc::to_element<int8_t>(-128.6f), -128);
  EXPECT_EQ(rc::to_element<int64_t>(1e300),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(rc::to_element<int32_t>(-0.5), 0);
  EXPECT_EQ(static_cast<float>(rc::to_element<c10::Half>(1.0f + 0x1p-12f)),
            1.0f);  // half has 10 mantissa bits: rounds to nearest
}

namespace {

/// The parameters of a slice over [lo, hi] whose sample is quantized, as
/// the CPU builds them: header, then cut points and proxies. Returns R.
int fill_params(uint64_t key, uint64_t slice, float lo, float hi,
                const rc::SliceConfig& cfg, float* cuts, float* proxies) {
  const rc::SliceHeader<float> header =
      rc::slice_header(key, slice, lo, hi, cfg, /*applied=*/true);
  rc::fill_slice_params<float>(key, slice, header, cfg, cuts, proxies);
  return header.regions;
}

}  // namespace

TEST(SliceMath, SliceParamsAreSortedInsideAndDeterministic) {
  const rc::SliceConfig cfg{8, 0, randquant::Spacing::Random,
                            randquant::Collapse::InsideRandom};
  float cuts[7], cuts2[7];
  float proxies[8], proxies2[8];
  const int r = fill_params(99, 5, -1.0f, 3.0f, cfg, cuts, proxies);
  ASSERT_EQ(r, 8);
  fill_params(99, 5, -1.0f, 3.0f, cfg, cuts2, proxies2);
  EXPECT_TRUE(std::equal(cuts, cuts + 7, cuts2));
  EXPECT_TRUE(std::equal(proxies, proxies + 8, proxies2));
  EXPECT_TRUE(std::is_sorted(cuts, cuts + 7));
  for (int j = 0; j < 8; ++j) {
    const float left = j == 0 ? -1.0f : cuts[j - 1];
    const float right = j == 7 ? 3.0f : cuts[j];
    EXPECT_GE(proxies[j], left);
    EXPECT_LE(proxies[j], right);
  }
  fill_params(99, 6, -1.0f, 3.0f, cfg, cuts2, proxies2);
  EXPECT_FALSE(std::equal(cuts, cuts + 7, cuts2)) << "slices must differ";
}

TEST(SliceMath, RegionRangeIsUniform) {
  const rc::SliceConfig cfg{2, 5, randquant::Spacing::Uniform,
                            randquant::Collapse::Middle};
  std::vector<int> counts(6, 0);
  float cuts[4];
  float proxies[5];
  const int trials = 8000;
  for (int s = 0; s < trials; ++s) {
    ++counts[fill_params(3, s, 0.0f, 1.0f, cfg, cuts, proxies)];
  }
  EXPECT_EQ(counts[0] + counts[1], 0);
  for (int r = 2; r <= 5; ++r) {
    // Binomial(8000, 1/4): sd ~ 38.7; 4 sd.
    EXPECT_NEAR(counts[r], trials / 4, 155) << "R = " << r;
  }
}

TEST(SliceMath, SampleCoinFollowsP) {
  EXPECT_TRUE(rc::sample_applied(1, 0, 1.0));
  EXPECT_FALSE(rc::sample_applied(1, 0, 0.0));
  int hits = 0;
  for (int n = 0; n < 10000; ++n) hits += rc::sample_applied(5, n, 0.3);
  EXPECT_NEAR(hits, 3000, 4 * 45.8);
}

TEST(SliceMath, SortCutPointsGivesWhatStdSortGives) {
  std::mt19937 engine(5);
  for (int n : {0, 1, 2, 5, 31, 32, 33, 255, 1023}) {
    for (int trial = 0; trial < 20; ++trial) {
      // Uniform values, clustered values with many ties, and bounds that
      // do not match the values (the bucket map degenerates; the result
      // must still be sorted).
      std::uniform_real_distribution<float> uniform(-3.0f, 5.0f);
      std::vector<float> values(n);
      for (float& v : values) {
        v = trial % 3 == 1 ? std::round(uniform(engine)) : uniform(engine);
      }
      std::vector<float> expected = values, got = values;
      std::sort(expected.begin(), expected.end());
      const float lo = trial % 3 == 2 ? 10.0f : -3.0f;
      const float hi = trial % 3 == 2 ? 11.0f : 5.0f;
      randquant::core::sort_cut_points(got.data(), n, lo, hi);
      ASSERT_EQ(got, expected) << "n = " << n << ", trial " << trial;
      std::vector<double> doubles(values.begin(), values.end());
      std::vector<double> doubles_expected = doubles;
      std::sort(doubles_expected.begin(), doubles_expected.end());
      randquant::core::sort_cut_points(doubles.data(), n, -3.0, 5.0);
      ASSERT_EQ(doubles, doubles_expected);
    }
  }
}

TEST(SliceMath, SortCutPointsWithATinyOrHugeRange) {
  // A subnormal range (the bucket scale overflows to +inf) and one so wide
  // that it is not finite: still the sorted array.
  std::vector<float> narrow(64), wide(64);
  for (int i = 0; i < 64; ++i) {
    narrow[i] = static_cast<float>((i * 37) % 64) *
                std::numeric_limits<float>::denorm_min();
    wide[i] = (i % 2 ? 1.0f : -1.0f) * 3e38f / static_cast<float>(1 + i);
  }
  for (auto* values : {&narrow, &wide}) {
    std::vector<float> expected = *values;
    std::sort(expected.begin(), expected.end());
    randquant::core::sort_cut_points(values->data(), 64, expected.front(),
                                     expected.back());
    EXPECT_EQ(*values, expected);
  }
}
