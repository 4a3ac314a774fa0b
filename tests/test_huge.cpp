// One slice of more than 2^31 uint8 elements on the CPU: the 64-bit index
// paths of both passes. Needs ~4.3 GB (input + output); set
// RANDQUANT_SKIP_LARGE_TESTS=1 to skip it on small machines.
#include <gtest/gtest.h>

#include <cstdlib>

#include "test_util.h"

namespace rq = randquant;

TEST(Huge, SliceBeyondTwoToThe31Elements) {
  if (std::getenv("RANDQUANT_SKIP_LARGE_TESTS") != nullptr) {
    GTEST_SKIP() << "RANDQUANT_SKIP_LARGE_TESTS is set";
  }
  const int64_t n = (int64_t{1} << 31) + (int64_t{1} << 20);
  at::Tensor x = at::full({1, 1, n}, 100, at::kByte);
  const int64_t max_at = (int64_t{1} << 31) + 5;  // only reachable with int64
  x[0][0][max_at] = 250;
  x[0][0][n - 1] = 3;
  // R = 1, Middle: everything becomes (3 + 250) / 2 = 126.5 -> 126 (half to
  // even) only if min and max were both found past 2^31.
  const auto middle =
      rq::RandomizedQuantizationOptions(1).collapse(rq::Collapse::Middle);
  {
    const at::Tensor y = rq::randomized_quantize(x, middle);
    EXPECT_EQ(y.min().item<int>(), 126);
    EXPECT_EQ(y.max().item<int>(), 126);
  }
  // R = 2, Uniform + Middle: cut at 126.5; 3 and 100 -> 65 (64.75 rounds
  // to 65), 250 -> 188 (188.25 rounds to 188).
  const auto two = rq::RandomizedQuantizationOptions(2)
                       .spacing(rq::Spacing::Uniform)
                       .collapse(rq::Collapse::Middle);
  const at::Tensor y = rq::randomized_quantize(x, two);
  EXPECT_EQ(y[0][0][max_at].item<int>(), 188);
  EXPECT_EQ(y[0][0][n - 1].item<int>(), 65);
  EXPECT_EQ(y[0][0][n - 2].item<int>(), 65);
  EXPECT_EQ(y.eq(188).nonzero().size(0),
            1);  // (sum() of bool would widen to int64: 17 GB)
  // Input unchanged.
  EXPECT_EQ(x[0][0][max_at].item<int>(), 250);
}
