// The CUDA kernels' per-block code (randquant/cuda/passes.h) run on
// the CPU by the emulated launch of cuda_emulation.h: it must give the CPU
// kernel's output bit for bit. This checks, without a GPU, the code the GPU
// runs (the element walk, 16-byte packs with their head and tail, chunked
// slices, both region lookups, the block-parallel cut points, rank sort and
// proxies); what it cannot check is what only a GPU does (the block
// reduction, barriers, the launches themselves). The sweep over every dtype,
// layout and option is test_equivalence.cpp's (instances EmulatedCuda*);
// this file holds the cases only the emulation reaches: chunk boundaries, the
// lookup choice, misaligned views, the rank sort, the parameter pass.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "cuda_emulation.h"
#include "randquant/cuda/passes.h"
#include "test_util.h"

namespace rq = randquant;
using rq::Collapse;
using rq::RandomizedQuantizationOptions;
using rq::Spacing;
using rq_test::random_input;
using Opt = RandomizedQuantizationOptions;

namespace {

/// The CPU kernel's output for the same key.
at::Tensor cpu_kernel(const at::Tensor& x, const Opt& options, uint64_t key) {
  const rq::detail::Geometry geometry =
      rq::detail::check_inputs(x, options, "cpu");
  return rq::RandomizedQuantizeFunctor<c10::DeviceType::CPU>()(
      x, geometry, options, rq::detail::CallKey::from_host(key));
}

::testing::AssertionResult same_as_cpu(const at::Tensor& x, const Opt& o,
                                       uint64_t key) {
  const at::Tensor before = x.clone();
  const rq_test::Emulated e = rq_test::emulate_cuda(x, o, key);
  const at::Tensor expected = cpu_kernel(x, o, key);
  if (!rq_test::same_bits(e.out, expected)) {
    return ::testing::AssertionFailure()
           << "emulated CUDA launch differs from the CPU kernel for " << o
           << " on " << x.sizes() << " " << x.scalar_type() << " strides "
           << x.strides() << ": "
           << rq_test::describe_mismatch(expected, e.out);
  }
  if (!rq_test::same_bits(before, x))
    return ::testing::AssertionFailure() << "the input was modified";
  // In place (input and output one tensor, as randomized_quantize_ on a
  // CUDA tensor): every element is read before it is written.
  const rq_test::Emulated in_place =
      rq_test::emulate_cuda(x, o, key, /*max_units=*/-1, /*in_place=*/true);
  if (!rq_test::same_bits(in_place.out, expected)) {
    return ::testing::AssertionFailure()
           << "emulated in-place CUDA launch differs from the CPU kernel for "
           << o << " on " << x.sizes() << " " << x.scalar_type() << ": "
           << rq_test::describe_mismatch(expected, in_place.out);
  }
  return ::testing::AssertionSuccess();
}

}  // namespace

// The lookup follows R (register lookup up to R = 16), and a slice larger
// than one chunk is split into several units, at chunk boundaries that fall
// inside 16-byte packs.
TEST(CudaEmulation, ChunkedSlicesAndLookupChoice) {
  EXPECT_TRUE(
      rq_test::emulate_cuda(at::rand({1, 1, 8}), Opt(16), 1).register_lookup);
  EXPECT_FALSE(
      rq_test::emulate_cuda(at::rand({1, 1, 8}), Opt(17), 1).register_lookup);
  EXPECT_FALSE(
      rq_test::emulate_cuda(at::rand({1, 1, 8}), Opt(2).max_regions(17), 1)
          .register_lookup);
  // A huge slice gets at most kMaxUnitsPerSlice units (longer ones).
  const int64_t huge = int64_t{1} << 32;
  const rq::cuda::LaunchPlan plan = rq::cuda::plan_launch(2, 1, huge, 8);
  EXPECT_EQ(plan.grid.chunks, rq::core::kMaxUnitsPerSlice);
  EXPECT_EQ(plan.grid.units(), 2 * rq::core::kMaxUnitsPerSlice);
  EXPECT_EQ(plan.grid.chunk_begin(plan.grid.chunks), huge);
  for (const at::ScalarType dtype : {at::kFloat, at::kByte, at::kHalf}) {
    const int64_t n = 3 * rq::core::kUnitElements + 5;
    const at::Tensor x = random_input({1, 2, n}, dtype, 11);
    EXPECT_EQ(rq_test::emulate_cuda(x, Opt(8), 2).chunks, 4);
    EXPECT_TRUE(same_as_cpu(x, Opt(8), 3)) << c10::toString(dtype);
    EXPECT_TRUE(same_as_cpu(x, Opt(300), 4)) << c10::toString(dtype);
  }
  // Several chunks of 2-D layouts, walked element by element: chunks start
  // mid-row.
  const at::Tensor big = random_input({1, 2, 300, 170}, at::kFloat, 12);
  for (const rq_test::Layout& layout : rq_test::layouts()) {
    const at::Tensor x = layout.make(big);
    EXPECT_EQ(rq_test::emulate_cuda(x, Opt(8), 5).chunks, 4);
    EXPECT_TRUE(same_as_cpu(x, Opt(8), 6)) << layout.name;
    EXPECT_TRUE(same_as_cpu(x, Opt(40), 7)) << layout.name;
  }
}

// Input and output unequally aligned (an input that starts one element into
// its storage) take the element-wise walk; NaN/Inf, constant and
// all-non-finite slices; unbatched and channel_dim -1.
TEST(CudaEmulation, MisalignedNonFiniteAndChannelDims) {
  const at::Tensor storage = at::randn({2 * 3 * 40 + 1});
  const at::Tensor shifted = storage.narrow(0, 1, 2 * 3 * 40).view({2, 3, 40});
  EXPECT_TRUE(same_as_cpu(shifted, Opt(5), 5));
  EXPECT_TRUE(same_as_cpu(shifted.to(at::kByte), Opt(5), 6));

  at::Tensor odd = at::randn({2, 3, 40}, at::kDouble);
  odd[0][0][3] = std::numeric_limits<double>::quiet_NaN();
  odd[0][1][7] = std::numeric_limits<double>::infinity();
  odd[0][1][8] = -std::numeric_limits<double>::infinity();
  odd[1][0].fill_(2.5);
  odd[1][2].fill_(std::numeric_limits<double>::quiet_NaN());
  odd[1][1].zero_();  // min -0, max +0: the proxies must come out +0
  odd[1][1][0] = -0.0;
  for (const at::ScalarType dtype : {at::kDouble, at::kFloat, at::kBFloat16}) {
    EXPECT_TRUE(same_as_cpu(odd.to(dtype), Opt(4), 7));
    EXPECT_TRUE(same_as_cpu(odd.to(dtype), Opt(40), 8));
    EXPECT_TRUE(
        same_as_cpu(odd.to(dtype), Opt(2).collapse(Collapse::Middle), 9));
  }
  const at::Tensor nld = at::randn({3, 11, 6});
  EXPECT_TRUE(same_as_cpu(nld, Opt(5).channel_dim(-1), 9));
  EXPECT_TRUE(same_as_cpu(nld[0], Opt(5).batched(false), 10));
}

// The CUDA block's rank sort (all threads of one block, phase run in turn)
// gives the array std::sort gives, ties included.
TEST(CudaEmulation, RankSortSortsAnyLength) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-5.0f, 5.0f);
  for (int n : {0, 1, 2, 3, 7, 8, 255, 1023}) {
    std::vector<float> a(n);
    for (float& v : a) v = std::round(dist(rng));  // with ties
    std::vector<float> expected = a;
    std::sort(expected.begin(), expected.end());
    std::vector<float> sorted(n, std::numeric_limits<float>::quiet_NaN());
    for (int tid = 0; tid < rq::cuda::kThreads; ++tid) {
      rq::cuda::sort_cuts_phase<float>(tid, rq::cuda::kThreads, n, a.data(),
                                       sorted.data());
    }
    EXPECT_EQ(sorted, expected) << "n = " << n;
  }
}

// The CPU's parameters (quantization_params) and the emulated CUDA
// parameter pass agree field by field: lo, hi, R, quantized, and the cut
// points and proxies a slice uses. Covers slices without finite values
// (R = 0 on both), constant and signed-zero slices, samples whose coin
// said no (parameters drawn, not quantized), and a range of R.
TEST(CudaEmulation, ParameterPassMatchesCpuParamsFieldByField) {
  at::Tensor x = at::randn({6, 3, 50}, at::kDouble);
  x[0][0].fill_(std::numeric_limits<double>::quiet_NaN());
  x[0][1].fill_(std::numeric_limits<double>::infinity());
  x[1][0].fill_(1.5);
  x[1][1].zero_();
  x[1][1][3] = -0.0;
  x[2][2][4] = std::numeric_limits<double>::quiet_NaN();
  uint64_t seed = 40;
  for (const at::ScalarType dtype : {at::kDouble, at::kFloat, at::kByte}) {
    for (const Opt& o : {Opt(8), Opt(300).collapse(Collapse::Middle),
                         Opt(2).max_regions(40).p(0.5), Opt(1)}) {
      SCOPED_TRACE(c10::toString(dtype));
      const at::Tensor input = dtype == at::kByte ? x.nan_to_num(0.0, 0.0, 0.0)
                                                        .clamp(-3, 3)
                                                        .mul(40)
                                                        .add(128)
                                                        .to(dtype)
                                                  : x.to(dtype);
      at::Generator g = rq_test::gen(++seed);
      const rq::QuantizationParams cpu =
          rq::quantization_params(input, o, g.clone());
      const rq_test::Emulated emu = rq_test::emulate_cuda(input, o, cpu.key);
      const int64_t slices = cpu.regions.numel();
      EXPECT_TRUE(rq_test::same_bits(cpu.lo.reshape({slices}), emu.lo));
      EXPECT_TRUE(rq_test::same_bits(cpu.hi.reshape({slices}), emu.hi));
      EXPECT_TRUE(at::equal(cpu.regions.reshape({slices}), emu.regions));
      EXPECT_TRUE(at::equal(cpu.quantized.reshape({slices}), emu.quantized));
      const at::Tensor cpu_cuts = cpu.cuts.reshape({slices, -1});
      const at::Tensor cpu_proxies = cpu.proxies.reshape({slices, -1});
      int64_t without_finite = 0, not_applied = 0;
      for (int64_t s = 0; s < slices; ++s) {
        const int64_t r = cpu.regions.reshape({slices})[s].item<int64_t>();
        without_finite += r == 0;
        not_applied +=
            r > 0 && !cpu.quantized.reshape({slices})[s].item<bool>();
        if (r == 0) continue;
        EXPECT_TRUE(rq_test::same_bits(cpu_cuts[s].narrow(0, 0, r - 1),
                                       emu.cuts[s].narrow(0, 0, r - 1)))
            << "slice " << s;
        EXPECT_TRUE(rq_test::same_bits(cpu_proxies[s].narrow(0, 0, r),
                                       emu.proxies[s].narrow(0, 0, r)))
            << "slice " << s;
      }
      EXPECT_EQ(without_finite, dtype == at::kByte ? 0 : 2);
      if (o.p() < 1.0) {
        EXPECT_GT(not_applied, 0);
      }
    }
  }
}
