// Exact results every path must give, written from docs/SPEC.md rather than
// from another implementation: values equal to a cut point go to the right
// region, integer proxies round half to even, the finite min may sit
// anywhere in a slice, -0 is reported as +0, and a constant slice gets R
// regions. Each case runs on every family of CPU vector loops, the
// composite path and the emulated CUDA launch.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "cuda_emulation.h"
#include "randquant/randquant.h"
#include "test_util.h"

namespace {

namespace rq = randquant;
using Opt = rq::RandomizedQuantizationOptions;
using rq::Collapse;
using rq::Spacing;
using rq::cpu::VectorLoops;
using rq_test::same_bits;

/// x quantized by the fused CPU kernel (with each family of vector loops),
/// the composite path and the emulated CUDA launch, all equal to
/// `expected`.
::testing::AssertionResult every_path_gives(const at::Tensor& x, const Opt& o,
                                            const at::Tensor& expected) {
  for (VectorLoops loops :
       {VectorLoops::kPortable, VectorLoops::kAvx2, VectorLoops::kAvx512}) {
    const rq_test::VectorLoopsCap cap(loops);
    const at::Tensor fused = rq::randomized_quantize(x, o, rq_test::gen(1));
    if (!same_bits(fused, expected)) {
      return ::testing::AssertionFailure()
             << "fused CPU, loops " << static_cast<int>(loops) << ": got "
             << fused.flatten().slice(0, 0, 12) << " expected "
             << expected.flatten().slice(0, 0, 12);
    }
  }
  if (!same_bits(rq::randomized_quantize_composite(x, o, rq_test::gen(1)),
                 expected)) {
    return ::testing::AssertionFailure() << "composite";
  }
  if (!same_bits(rq_test::emulate_cuda(x, o, 1).out, expected)) {
    return ::testing::AssertionFailure() << "emulated CUDA";
  }
  return ::testing::AssertionSuccess();
}

/// One slice of integer values lo + i for i in [0, regions * step], with
/// its minimum second and its maximum last (the rest in a scrambled
/// order), as `dtype`.
at::Tensor staircase(int64_t lo, int64_t regions, int64_t step,
                     at::ScalarType dtype) {
  const int64_t span = regions * step;
  std::vector<double> values;
  values.push_back(static_cast<double>(lo + span / 2));
  values.push_back(static_cast<double>(lo));  // the minimum, second
  for (int64_t i = 1; i < span; ++i) {
    values.push_back(static_cast<double>(lo + (i * 37) % span));
  }
  values.push_back(static_cast<double>(lo + span));  // the maximum, last
  return at::tensor(values, at::kDouble).to(dtype).view({1, 1, -1});
}

/// What SPEC.md gives a staircase with Uniform spacing and Middle proxies:
/// cut points lo + k * step exactly (R a power of two), so value v is in
/// region min((v - lo) / step, R - 1) (ties go right), whose proxy is its
/// middle, lo + step * (j + 1/2), rounded half to even for integer dtypes.
at::Tensor staircase_expected(const at::Tensor& x, int64_t lo, int64_t regions,
                              int64_t step) {
  const at::Tensor v = x.to(at::kDouble);
  const at::Tensor region = at::clamp_max(
      at::floor((v - static_cast<double>(lo)) / static_cast<double>(step)),
      static_cast<double>(regions - 1));
  at::Tensor proxy = region * static_cast<double>(step) +
                     static_cast<double>(lo) + static_cast<double>(step) / 2.0;
  if (!at::isFloatingType(x.scalar_type())) proxy = at::round(proxy);
  return proxy.to(x.scalar_type());
}

}  // namespace

TEST(ExactPaths, ValuesOnACutPointGoRightAndIntegerProxiesRoundHalfToEven) {
  struct Case {
    at::ScalarType dtype;
    int64_t lo, regions, step;
  };
  // R = 4: the small-R compare loops; 16: the AVX-512 register lookup;
  // 64 and 128: bucket tables and searches. Odd steps give proxies that
  // end in .5 (integers round them half to even).
  const std::vector<Case> cases = {
      {at::kFloat, -40, 4, 61},  {at::kFloat, 0, 16, 15},
      {at::kFloat, 3, 64, 3},    {at::kFloat, 0, 128, 1},
      {at::kDouble, -9, 16, 15}, {at::kByte, 0, 4, 61},
      {at::kByte, 7, 16, 15},    {at::kByte, 0, 64, 3},
      {at::kByte, 100, 128, 1},  {at::kChar, -128, 4, 61},
      {at::kChar, -120, 16, 15}, {at::kShort, -300, 64, 3},
      {at::kInt, 1000, 16, 15},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << c.dtype << " lo " << c.lo << " R "
                                      << c.regions << " step " << c.step);
    const at::Tensor x = staircase(c.lo, c.regions, c.step, c.dtype);
    const Opt o =
        Opt(c.regions).spacing(Spacing::Uniform).collapse(Collapse::Middle);
    EXPECT_TRUE(
        every_path_gives(x, o, staircase_expected(x, c.lo, c.regions, c.step)));
  }
}

TEST(ExactPaths, NegativeZeroIsReportedAndUsedAsPositiveZero) {
  const at::Tensor x = at::tensor({-0.0f, 1.0f, 0.5f, 2.0f}).view({1, 1, 4});
  const Opt o = Opt(2).spacing(Spacing::Uniform).collapse(Collapse::Middle);
  const rq::QuantizationParams params =
      rq::quantization_params(x, o, rq_test::gen(3));
  EXPECT_EQ(params.lo.item<float>(), 0.0f);
  EXPECT_FALSE(std::signbit(params.lo.item<float>())) << "lo is -0";
  // Cut point 1, proxies 0.5 and 1.5.
  EXPECT_TRUE(every_path_gives(
      x, o, at::tensor({0.5f, 1.5f, 0.5f, 1.5f}).view({1, 1, 4})));
}

TEST(ExactPaths, AConstantSliceHasRRegionsAndZerosGivesZero) {
  const at::Tensor x = at::full({2, 2, 5}, 7.25f);
  for (Collapse collapse :
       {Collapse::InsideRandom, Collapse::Middle, Collapse::Zeros}) {
    SCOPED_TRACE(::testing::Message() << collapse);
    const Opt o = Opt(6).collapse(collapse);
    const rq::QuantizationParams params =
        rq::quantization_params(x, o, rq_test::gen(4));
    EXPECT_TRUE(params.regions.eq(6).all().item<bool>());
    EXPECT_TRUE(params.quantized.all().item<bool>());
    const at::Tensor expected =
        collapse == Collapse::Zeros ? at::zeros_like(x) : x.clone();
    EXPECT_TRUE(every_path_gives(x, o, expected));
  }
}
