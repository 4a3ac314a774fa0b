// CUDA tensors: the fused CUDA kernel (randquant::cuda, when linked) against
// the CPU kernel, bit for bit, with CPU generators seeded the same (SPEC.md,
// "Randomness"), in what only CUDA tensors have: chunked and huge slices,
// device generators, the module, transforms and autograd on the device, the
// backend's registration. The sweep over dtypes, layouts and options is
// test_equivalence.cpp's. Every test name ends in _CUDA and every test skips
// itself when no CUDA device is present, so the CPU-only build compiles them
// all and runs none (scripts/gpu-check.sh runs them on a GPU machine).
//
// Only API present in LibTorch 1.13 and 2.x, and no CUDA header: this file is
// compiled by g++ in CPU-only builds too.
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/cuda.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "cuda_fixture.h"
#include "test_util.h"

namespace rq = randquant;
using rq::Collapse;
using rq::RandomizedQuantizationOptions;
using rq::Spacing;
using rq_test::gen;
using rq_test::random_input;
/// Options are builders whose setters modify and return *this: Opt(o).x(..)
/// is a modified copy of o.
using Opt = RandomizedQuantizationOptions;

namespace {

using CudaLayout = rq_test::Layout;

const at::ScalarType kFloatDtypes[] = {at::kFloat, at::kDouble, at::kHalf,
                                       at::kBFloat16};

const at::Device kCuda(at::kCUDA, 0);

/// y = RQ(x_cpu) on the CPU and RQ(x_cuda) on the GPU, each with a CPU
/// generator seeded `seed`: bitwise equal values, the same shape, dtype and
/// (fused kernel) strides, the output on x_cuda's device, x_cuda unchanged.
::testing::AssertionResult cpu_matches_cuda(
    const at::Tensor& x_cpu, const at::Tensor& x_cuda,
    const RandomizedQuantizationOptions& o, uint64_t seed) {
  if (x_cuda.device() == x_cpu.device() || !x_cuda.is_cuda())
    return ::testing::AssertionFailure() << "x_cuda is not a CUDA tensor";
  if (!rq_test::same_bits(x_cpu, x_cuda.cpu()))
    return ::testing::AssertionFailure() << "inputs differ";
  const at::Tensor before = x_cuda.clone();
  const at::Tensor y_cpu = rq::randomized_quantize(x_cpu, o, gen(seed));
  const at::Tensor y_cuda = rq::randomized_quantize(x_cuda, o, gen(seed));
  if (y_cuda.device() != x_cuda.device())
    return ::testing::AssertionFailure() << "output on " << y_cuda.device()
                                         << ", input on " << x_cuda.device();
  if (y_cuda.sizes() != x_cuda.sizes() ||
      y_cuda.scalar_type() != x_cuda.scalar_type())
    return ::testing::AssertionFailure()
           << "output " << y_cuda.sizes() << " " << y_cuda.scalar_type()
           << ", input " << x_cuda.sizes() << " " << x_cuda.scalar_type();
  // The fused kernels of both devices allocate the output alike (the
  // composite fallback returns a dense tensor in the suggested format).
  if (rq::detail::registered_backend(c10::DeviceType::CUDA) != nullptr &&
      y_cuda.strides() != y_cpu.strides())
    return ::testing::AssertionFailure()
           << "output strides " << y_cuda.strides() << " on CUDA, "
           << y_cpu.strides() << " on CPU";
  const at::Tensor y_back = y_cuda.cpu();
  if (!rq_test::same_bits(y_cpu, y_back))
    return ::testing::AssertionFailure()
           << "CPU vs CUDA: " << rq_test::describe_mismatch(y_cpu, y_back);
  if (!rq_test::same_bits(before.cpu(), x_cuda.cpu()))
    return ::testing::AssertionFailure() << "the CUDA input was modified";
  return ::testing::AssertionSuccess();
}

/// Same, for a CPU tensor whose CUDA copy keeps its strides (dense ones).
::testing::AssertionResult cpu_matches_cuda(
    const at::Tensor& x_cpu, const RandomizedQuantizationOptions& o,
    uint64_t seed) {
  return cpu_matches_cuda(x_cpu, x_cpu.to(kCuda), o, seed);
}

/// Bytes of physical host memory (0 when unknown).
uint64_t host_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0
             ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page)
             : 0;
}

using CudaAutograd = rq_test::CudaDevice;
using CudaBackend = rq_test::CudaDevice;
using CudaGenerators = rq_test::CudaDevice;
using CudaInPlace = rq_test::CudaDevice;
using CudaKernel = rq_test::CudaDevice;
using CudaModuleTransforms = rq_test::CudaDevice;
using CudaSampleKeys = rq_test::CudaDevice;

}  // namespace

// Slices larger than one CUDA work unit (core::kUnitElements = 2^14 elements)
// are split over several blocks; many small slices use many parameter blocks.
TEST_F(CudaKernel, MultiChunkSlicesAndManySlices_CUDA) {
  uint64_t seed = 900;
  for (at::ScalarType dtype :
       {at::kFloat, at::kHalf, at::kBFloat16, at::kDouble, at::kByte}) {
    SCOPED_TRACE(c10::toString(dtype));
    at::Tensor base = random_input({2, 3, 700, 800}, dtype, 8);  // 560000/slice
    if (at::isFloatingType(dtype)) {
      // Extremes and a NaN in the last chunk of one slice.
      base[1][2][699][799] = std::numeric_limits<double>::quiet_NaN();
      base[1][2][699][798] = 40.0;
      base[1][2][699][797] = -40.0;
    } else {
      base[1][2][699][799] = 0;
      base[1][2][699][798] = 255;
    }
    const at::Tensor base_cuda = base.to(kCuda);
    for (const CudaLayout& layout : rq_test::layouts()) {
      SCOPED_TRACE(layout.name);
      for (int64_t regions : {8, 1024}) {
        EXPECT_TRUE(cpu_matches_cuda(layout.make(base), layout.make(base_cuda),
                                     RandomizedQuantizationOptions(regions),
                                     ++seed));
      }
    }
    // One unbatched slice of 2^20 + 3 elements.
    const at::Tensor one = random_input({1, (1 << 20) + 3}, dtype, 9);
    EXPECT_TRUE(cpu_matches_cuda(
        one, RandomizedQuantizationOptions(200).batched(false), ++seed));
  }
  // 300000 slices of 2 elements; and 262144 slices with p = 0.5.
  for (at::ScalarType dtype : {at::kFloat, at::kByte}) {
    SCOPED_TRACE(c10::toString(dtype));
    EXPECT_TRUE(cpu_matches_cuda(random_input({3000, 100, 2}, dtype, 10),
                                 RandomizedQuantizationOptions(8), ++seed));
    EXPECT_TRUE(cpu_matches_cuda(random_input({4096, 64, 4}, dtype, 11),
                                 RandomizedQuantizationOptions(3).p(0.5),
                                 ++seed));
  }
}

// NaN, +-Inf, all-NaN, constant, signed-zero and extreme slices; integer
// extremes; empty tensors.
TEST_F(CudaKernel, NonFiniteConstantExtremeAndEmpty_CUDA) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  uint64_t seed = 1300;
  std::vector<RandomizedQuantizationOptions> options;
  for (Collapse collapse :
       {Collapse::InsideRandom, Collapse::Middle, Collapse::Zeros})
    for (Spacing spacing : {Spacing::Random, Spacing::Uniform})
      for (int64_t regions : {1, 8, 255})
        for (double p : {1.0, 0.5})
          options.push_back(RandomizedQuantizationOptions(regions)
                                .collapse(collapse)
                                .spacing(spacing)
                                .p(p));
  for (at::ScalarType dtype : kFloatDtypes) {
    SCOPED_TRACE(c10::toString(dtype));
    at::Tensor x = random_input({3, 6, 5, 7}, at::kDouble, 12);
    x[0][0].fill_(nan);   // no finite value
    x[0][1].fill_(2.5);   // constant
    x[0][2][0][0] = nan;  // mixed non-finite
    x[0][2][1][1] = inf;
    x[0][2][2][2] = -inf;
    x[0][3].fill_(0.0);  // +0 and -0 only
    x[0][3][1].fill_(-0.0);
    x[0][4].fill_(inf);  // all +inf
    x[0][5].fill_(nan);  // one finite value
    x[0][5][2][3] = -7.0;
    x[1][0].fill_(-inf);
    x[1][0][4][6] = 1.0;
    // Largest finite magnitudes of the dtype: hi - lo overflows.
    const double big =
        dtype == at::kHalf       ? 65504.0
        : dtype == at::kBFloat16 ? 3.3895313892515355e38
        : dtype == at::kFloat
            ? static_cast<double>(std::numeric_limits<float>::max())
            : std::numeric_limits<double>::max();
    x[1][1][0][0] = big;
    x[1][1][0][1] = -big;
    x[1][2].fill_(big);
    x[1][3][0].fill_(-big);
    const at::Tensor xd = x.to(dtype);
    for (const auto& o : options) {
      SCOPED_TRACE(::testing::Message() << o);
      ASSERT_TRUE(cpu_matches_cuda(xd, o, ++seed));
      ASSERT_TRUE(cpu_matches_cuda(
          xd.contiguous(at::MemoryFormat::ChannelsLast), o, ++seed));
    }
    // Non-finite values pass through unchanged on CUDA.
    const at::Tensor y =
        rq::randomized_quantize(xd.to(kCuda), RandomizedQuantizationOptions(4),
                                gen(1))
            .cpu();
    const at::Tensor nonfinite = at::isfinite(xd).logical_not();
    EXPECT_TRUE(rq_test::same_values(xd.masked_select(nonfinite),
                                     y.masked_select(nonfinite)));
    EXPECT_TRUE(rq_test::same_bits(y[0][0], xd[0][0])) << "all-NaN slice";
  }
  for (at::ScalarType dtype :
       {at::kByte, at::kChar, at::kShort, at::kInt, at::kLong}) {
    SCOPED_TRACE(c10::toString(dtype));
    at::Tensor x = random_input({3, 4, 5, 7}, dtype, 13);
    const auto lowest = [&]() -> at::Scalar {
      switch (dtype) {
        case at::kByte:
          return 0;
        case at::kChar:
          return -128;
        case at::kShort:
          return -32768;
        case at::kInt:
          return std::numeric_limits<int32_t>::min();
        default:
          return std::numeric_limits<int64_t>::min();
      }
    }();
    const auto highest = [&]() -> at::Scalar {
      switch (dtype) {
        case at::kByte:
          return 255;
        case at::kChar:
          return 127;
        case at::kShort:
          return 32767;
        case at::kInt:
          return std::numeric_limits<int32_t>::max();
        default:
          return std::numeric_limits<int64_t>::max();
      }
    }();
    x[0][0].fill_(7);  // constant
    x[0][1].fill_(lowest);
    x[0][1][0].fill_(highest);  // only the dtype's extremes
    x[0][2].fill_(highest);     // constant at the top
    x[1][3][2][2] = lowest;
    x[2][1][4][6] = highest;
    for (const auto& o : options) {
      SCOPED_TRACE(::testing::Message() << o);
      ASSERT_TRUE(cpu_matches_cuda(x, o, ++seed));
    }
  }
  // Empty tensors: empty output of the same shape, on the device; the key
  // is still drawn (the generator advances as on the CPU).
  for (const std::vector<int64_t>& shape : std::vector<std::vector<int64_t>>{
           {0, 3, 4, 4}, {2, 0, 4, 4}, {2, 3, 0, 4}, {2, 3, 4, 0}}) {
    for (at::ScalarType dtype : {at::kFloat, at::kByte, at::kBFloat16}) {
      SCOPED_TRACE(::testing::Message()
                   << at::IntArrayRef(shape) << " " << c10::toString(dtype));
      const at::Tensor e = at::empty(shape, at::TensorOptions(dtype));
      at::Generator g_cpu = gen(42), g_cuda = gen(42);
      const at::Tensor ye_cpu = rq::randomized_quantize(e, {}, g_cpu);
      const at::Tensor ye = rq::randomized_quantize(e.to(kCuda), {}, g_cuda);
      EXPECT_TRUE(ye.is_cuda());
      EXPECT_EQ(ye.sizes(), e.sizes());
      EXPECT_EQ(ye.scalar_type(), dtype);
      const at::Tensor next = random_input({2, 3, 4, 4}, dtype, 14);
      EXPECT_TRUE(rq_test::same_bits(
          rq::randomized_quantize(next, {}, g_cpu),
          rq::randomized_quantize(next.to(kCuda), {}, g_cuda).cpu()));
    }
  }
  const at::Tensor unbatched_empty =
      at::empty({3, 0}, at::TensorOptions(at::kFloat).device(kCuda));
  const at::Tensor yu = rq::randomized_quantize(
      unbatched_empty, RandomizedQuantizationOptions().batched(false), gen(1));
  EXPECT_TRUE(yu.is_cuda());
  EXPECT_EQ(yu.sizes(), unbatched_empty.sizes());
}

// The int64 index path: one slice of more than 2^31 uint8 elements (and a
// strided view whose element offsets pass 2^31), the min and max planted
// beyond index 2^31. Needs ~4.3 GB of GPU memory and ~7 GB of host memory;
// skipped (with a message) when either is short, or when
// RANDQUANT_SKIP_LARGE_TESTS is set.
TEST_F(CudaKernel, LargeSliceInt64Indexing_CUDA) {
  if (std::getenv("RANDQUANT_SKIP_LARGE_TESTS") != nullptr)
    GTEST_SKIP() << "RANDQUANT_SKIP_LARGE_TESTS is set";
  const int64_t two31 = int64_t{1} << 31;
  const int64_t n = two31 + (int64_t{1} << 21);  // even, > 2^31
  if (host_memory_bytes() < (uint64_t{16} << 30))
    GTEST_SKIP() << "large-slice test needs >= 16 GiB of host memory, have "
                 << (host_memory_bytes() >> 20) << " MiB";
  const auto u8_cuda = at::TensorOptions(at::kByte).device(kCuda);
  try {
    // Input, output and the comparison's bool tensor at once, plus slack.
    at::Tensor probe = at::empty({3 * n + (int64_t{1} << 28)}, u8_cuda);
    (void)probe;
  } catch (const c10::Error& e) {
    GTEST_SKIP() << "large-slice test needs ~" << ((3 * n) >> 20)
                 << " MiB of free GPU memory: " << e.what_without_backtrace();
  }
  at::Tensor x = at::randint(100, 150, {1, 1, n}, u8_cuda);
  x.select(2, two31).fill_(254);  // the max: exactly at index 2^31
  x.select(2, n - 1).fill_(0);    // the min: the very last element
  {
    // R = 1, uniform, middle: every element becomes (0 + 254) / 2 = 127,
    // which needs both planted values to be found.
    const auto o = RandomizedQuantizationOptions(1)
                       .spacing(Spacing::Uniform)
                       .collapse(Collapse::Middle);
    const at::Tensor y = rq::randomized_quantize(x, o, gen(1));
    ASSERT_TRUE(y.is_cuda());
    EXPECT_TRUE(y.eq(127).all().item<bool>())
        << "min/max or write pass missed elements beyond 2^31; first values "
        << y.select(2, 0).item<int>()
        << ", at 2^31: " << y.select(2, two31).item<int>()
        << ", last: " << y.select(2, n - 1).item<int>();
  }
  const at::Tensor x_cpu = x.cpu();
  {
    // Default options: bitwise equal to the CPU kernel.
    const auto o = RandomizedQuantizationOptions(8);
    const at::Tensor y_cuda = rq::randomized_quantize(x, o, gen(2)).cpu();
    const at::Tensor y_cpu = rq::randomized_quantize(x_cpu, o, gen(2));
    EXPECT_TRUE(rq_test::same_bits(y_cpu, y_cuda))
        << "one slice of " << n
        << " elements: " << rq_test::describe_mismatch(y_cpu, y_cuda);
  }
  {
    // Two slices of n/2 elements with stride 2: offsets up to n - 1.
    const auto o = RandomizedQuantizationOptions(255).spacing(Spacing::Uniform);
    const at::Tensor xs = x.view({n / 2, 2}).t().unsqueeze(1);
    const at::Tensor xs_cpu = x_cpu.view({n / 2, 2}).t().unsqueeze(1);
    ASSERT_EQ(xs.strides(), xs_cpu.strides());
    const at::Tensor y_cuda = rq::randomized_quantize(xs, o, gen(3)).cpu();
    const at::Tensor y_cpu = rq::randomized_quantize(xs_cpu, o, gen(3));
    EXPECT_TRUE(rq_test::same_bits(y_cpu, y_cuda))
        << "two strided slices of " << n / 2
        << " elements: " << rq_test::describe_mismatch(y_cpu, y_cuda);
  }
}

// The module (training: quantizes, eval: identity) and both dataset
// transforms on CUDA tensors.
TEST_F(CudaModuleTransforms, ModuleAndTransformsOnCudaTensors_CUDA) {
  const auto o = RandomizedQuantizationOptions(6).max_regions(9);
  const at::Tensor x = random_input({4, 3, 16, 16}, at::kFloat, 15);
  const at::Tensor xc = x.to(kCuda);
  rq::RandomizedQuantization module(o);
  module->to(kCuda);  // no parameters or buffers: a no-op
  module->set_generator(gen(5));
  const at::Tensor y = module(xc);
  EXPECT_TRUE(y.is_cuda());
  EXPECT_TRUE(
      rq_test::same_bits(y.cpu(), rq::randomized_quantize(x, o, gen(5))));
  module->eval();
  EXPECT_TRUE(module(xc).is_same(xc)) << "eval mode returns the input itself";
  module->train();

  // Per-example transform: unbatched semantics.
  const at::Tensor sample = random_input({3, 20, 24}, at::kByte, 16);
  rq::transforms::RandomizedQuantize<> per_example(o, gen(6));
  const at::Tensor ys = per_example(sample.to(kCuda));
  EXPECT_TRUE(ys.is_cuda());
  EXPECT_TRUE(rq_test::same_bits(
      ys.cpu(),
      rq::randomized_quantize(sample, Opt(o).batched(false), gen(6))));

  // Batch transform: stack, then one batched call.
  using Example = torch::data::Example<at::Tensor, at::Tensor>;
  std::vector<Example> examples;
  std::vector<at::Tensor> cpu_data;
  for (int64_t i = 0; i < 5; ++i) {
    const at::Tensor d = random_input({3, 12, 10}, at::kBFloat16, 20 + i);
    cpu_data.push_back(d);
    examples.push_back(
        Example{d.to(kCuda),
                at::full({}, i, at::TensorOptions(at::kLong).device(kCuda))});
  }
  rq::transforms::BatchRandomizedQuantize<> collate(o, gen(7));
  const Example batch = collate.apply_batch(examples);
  EXPECT_TRUE(batch.data.is_cuda());
  EXPECT_EQ(batch.data.sizes(), (at::IntArrayRef{5, 3, 12, 10}));
  EXPECT_TRUE(rq_test::same_bits(
      batch.data.cpu(), rq::randomized_quantize(at::stack(cpu_data),
                                                Opt(o).batched(true), gen(7))));
  EXPECT_TRUE(batch.target.is_cuda());

  // Recorded params replay the CUDA call.
  at::Generator g = gen(8);
  const auto params = rq::quantization_params(xc, o, g.clone());
  const at::Tensor yq = rq::randomized_quantize(xc, o, g);
  const at::Tensor replay = rq::apply_quantization_params(xc, params, o);
  EXPECT_TRUE(replay.is_cuda());
  EXPECT_TRUE(rq_test::same_bits(yq.cpu(), replay.cpu()));
}

// straight_through: backward hands the incoming gradient to x unchanged, on
// CUDA; without it the output carries no gradient.
TEST_F(CudaAutograd, StraightThroughGradient_CUDA) {
  for (at::ScalarType dtype : {at::kFloat, at::kBFloat16, at::kDouble}) {
    SCOPED_TRACE(c10::toString(dtype));
    const at::Tensor x0 = random_input({2, 3, 8, 8}, dtype, 17);
    const at::Tensor x = x0.to(kCuda).requires_grad_(true);
    const auto o = RandomizedQuantizationOptions(4).straight_through(true);
    const at::Tensor y = rq::randomized_quantize(x, o, gen(9));
    ASSERT_TRUE(y.requires_grad());
    EXPECT_TRUE(y.is_cuda());
    EXPECT_TRUE(rq_test::same_bits(y.detach().cpu(),
                                   rq::randomized_quantize(x0, o, gen(9))));
    const at::Tensor g_out = at::randn_like(y.detach());
    const auto grads = torch::autograd::grad({y}, {x}, {g_out});
    ASSERT_EQ(grads.size(), 1u);
    EXPECT_TRUE(grads[0].is_cuda());
    EXPECT_TRUE(rq_test::same_bits(grads[0].cpu(), g_out.cpu()))
        << "straight-through gradient must equal the incoming gradient";
    const at::Tensor plain =
        rq::randomized_quantize(x, RandomizedQuantizationOptions(4), gen(9));
    EXPECT_FALSE(plain.requires_grad()) << "an augmentation carries no grad";
  }
  // Inside a small network: the gradient of a weight upstream of the op is
  // the one it would get without the op.
  const at::Tensor in = at::randn({8, 3, 5}, gen(10)).to(kCuda);
  const at::Tensor w =
      at::randn({5, 5}, gen(11)).to(kCuda).requires_grad_(true);
  const at::Tensor c = at::randn({8, 3, 5}, gen(12)).to(kCuda);
  const at::Tensor h = at::matmul(in, w);
  const at::Tensor q = rq::randomized_quantize(
      h, RandomizedQuantizationOptions(3).straight_through(true), gen(13));
  const auto gq = torch::autograd::grad({(q * c).sum()}, {w});
  const auto gh = torch::autograd::grad({(at::matmul(in, w) * c).sum()}, {w});
  EXPECT_TRUE(gq[0].cpu().allclose(gh[0].cpu()));
}

// The output stays on the input's device (every visible device), and bad
// arguments are rejected on CUDA tensors as on CPU ones.
TEST_F(CudaBackend, OutputStaysOnInputDeviceAndErrors_CUDA) {
  const at::Tensor x = random_input({2, 3, 6, 6}, at::kFloat, 18);
  const int64_t devices = static_cast<int64_t>(torch::cuda::device_count());
  for (int64_t d = 0; d < devices; ++d) {
    const at::Device dev(at::kCUDA, static_cast<c10::DeviceIndex>(d));
    SCOPED_TRACE(dev.str());
    const at::Tensor xd = x.to(dev);
    const at::Tensor y = rq::randomized_quantize(xd, {}, gen(19));
    EXPECT_EQ(y.device(), dev);
    EXPECT_TRUE(
        rq_test::same_bits(y.cpu(), rq::randomized_quantize(x, {}, gen(19))));
    const at::Tensor yc = rq::randomized_quantize_composite(xd, {}, gen(19));
    EXPECT_EQ(yc.device(), dev);
    EXPECT_TRUE(rq_test::same_bits(y.cpu(), yc.cpu()));
  }
  const at::Tensor xc = x.to(kCuda);
  const at::Tensor before = xc.clone();
  // A CUDA generator does not serve a CPU tensor.
  const at::Generator cuda_default =
      at::globalContext().defaultGenerator(kCuda);
  EXPECT_THROW(rq::randomized_quantize(x, {}, cuda_default), c10::Error);
  EXPECT_THROW(rq::randomized_quantize(xc, RandomizedQuantizationOptions(0)),
               c10::Error);
  EXPECT_THROW(
      rq::randomized_quantize(xc, RandomizedQuantizationOptions(4).p(1.5)),
      c10::Error);
  EXPECT_THROW(rq::randomized_quantize(
                   xc, RandomizedQuantizationOptions(4).channel_dim(3)),
               c10::Error);
  EXPECT_THROW(rq::randomized_quantize(xc.to(at::kBool)), c10::Error);
  EXPECT_TRUE(rq_test::same_bits(before.cpu(), xc.cpu()));
  // channels-last stays channels-last.
  const at::Tensor cl = xc.contiguous(at::MemoryFormat::ChannelsLast);
  EXPECT_TRUE(rq::randomized_quantize(cl, {}, gen(20))
                  .is_contiguous(at::MemoryFormat::ChannelsLast));
}

/// A fresh CUDA generator state: a clone of the default CUDA generator,
/// seeded `seed` (cloning keeps the default one untouched).
at::Generator cuda_gen(uint64_t seed) {
  at::Generator g = at::globalContext().defaultGenerator(kCuda).clone();
  g.set_current_seed(seed);
  return g;
}

// CUDA generators: the key is drawn on the device. The same state gives the
// same output, fused and composite agree, the key means what it means on the
// CPU, and without a generator CUDA tensors use the default CUDA generator.
TEST_F(CudaGenerators, KeysDrawnOnTheDevice_CUDA) {
  const at::Tensor x_cpu = random_input({4, 3, 17, 19}, at::kFloat, 30);
  const at::Tensor x = x_cpu.to(kCuda);
  const auto o = RandomizedQuantizationOptions(6).p(0.7);
  at::Generator g1 = cuda_gen(31), g2 = cuda_gen(31), g3 = cuda_gen(31);
  const at::Tensor y1 = rq::randomized_quantize(x, o, g1);
  EXPECT_TRUE(y1.is_cuda());
  EXPECT_TRUE(
      rq_test::same_bits(y1.cpu(), rq::randomized_quantize(x, o, g2).cpu()));
  EXPECT_TRUE(rq_test::same_bits(
      y1.cpu(), rq::randomized_quantize_composite(x, o, g3).cpu()));
  EXPECT_FALSE(
      rq_test::same_bits(y1.cpu(), rq::randomized_quantize(x, o, g1).cpu()))
      << "the generator did not advance";
  // The drawn key, applied on the CPU, gives the same bits.
  const rq::QuantizationParams params =
      rq::quantization_params(x, o, cuda_gen(31));
  const rq::detail::Geometry geo = rq::detail::check_inputs(x_cpu, o, "test");
  EXPECT_TRUE(rq_test::same_bits(
      y1.cpu(),
      rq::detail::composite_quantize(
          x_cpu, geo, o, rq::detail::CallKey::from_host(params.key))));
  // No generator: the default CUDA generator, whatever the CPU one does.
  at::Generator cuda_default = at::globalContext().defaultGenerator(kCuda);
  at::Generator cpu_default = at::detail::getDefaultCPUGenerator();
  cuda_default.set_current_seed(32);
  cpu_default.set_current_seed(1);
  const at::Tensor d1 = rq::randomized_quantize(x, o);
  cuda_default.set_current_seed(32);
  cpu_default.set_current_seed(2);
  EXPECT_TRUE(
      rq_test::same_bits(d1.cpu(), rq::randomized_quantize(x, o).cpu()));
  // A CPU generator still gives the CPU's bits.
  EXPECT_TRUE(rq_test::same_bits(rq::randomized_quantize(x, o, gen(33)).cpu(),
                                 rq::randomized_quantize(x_cpu, o, gen(33))));
}

// In place and out= on CUDA tensors equal the out-of-place call, which
// equals the CPU kernel (fused component or composite fallback alike).
TEST_F(CudaInPlace, InPlaceAndOutEqualTheOutOfPlaceCall_CUDA) {
  for (const at::ScalarType dtype : {at::kFloat, at::kHalf, at::kByte}) {
    for (const rq_test::Layout& layout : rq_test::layouts()) {
      SCOPED_TRACE(::testing::Message() << dtype << " " << layout.name);
      const at::Tensor x_cpu =
          layout.make(random_input({3, 4, 70, 50}, dtype, 5));
      const auto o = RandomizedQuantizationOptions(12).p(0.7);
      const at::Tensor expected = rq::randomized_quantize(x_cpu, o, gen(8));
      at::Tensor x = layout.make(x_cpu.contiguous().to(kCuda));
      rq::randomized_quantize_(x, o, gen(8));
      EXPECT_TRUE(rq_test::same_bits(x.cpu(), expected));
      at::Tensor out = at::empty({0}, x.options());
      rq::randomized_quantize_out(out, x_cpu.to(kCuda), o, gen(8));
      EXPECT_TRUE(rq_test::same_bits(out.cpu(), expected));
    }
  }
}

// Sample-keyed draws on CUDA tensors (the composite path) equal the CPU's.
TEST_F(CudaSampleKeys, KeyedCallsEqualTheCpu_CUDA) {
  const at::Tensor x_cpu = random_input({3, 4, 20, 30}, at::kFloat, 6);
  const rq::SampleKeys cpu_keys{5, 1, at::tensor({9, 2, 7}, at::kLong)};
  rq::SampleKeys cuda_keys = cpu_keys;
  cuda_keys.index = cpu_keys.index.to(kCuda);  // on x's device
  const auto o = RandomizedQuantizationOptions(12).p(0.7);
  const at::Tensor expected = rq::randomized_quantize(x_cpu, o, cpu_keys);
  EXPECT_TRUE(rq_test::same_bits(
      rq::randomized_quantize(x_cpu.to(kCuda), o, cuda_keys).cpu(), expected));
  // In place and out= pick their kernel the same way.
  at::Tensor x = x_cpu.to(kCuda);
  rq::randomized_quantize_(x, o, cuda_keys);
  EXPECT_TRUE(rq_test::same_bits(x.cpu(), expected));
  at::Tensor out = at::empty({0}, x.options());
  rq::randomized_quantize_out(out, x_cpu.to(kCuda), o, cuda_keys);
  EXPECT_TRUE(rq_test::same_bits(out.cpu(), expected));
}

// Which path CUDA tensors take in this binary: prints it, and skips when the
// CUDA component (randquant::cuda) is not linked (composite fallback).
TEST_F(CudaBackend, FusedKernelIsRegistered_CUDA) {
#if RANDQUANT_TEST_WITH_CUDA_COMPONENT
  // This binary links randquant::cuda: its registration must have filled
  // the slot, or every CUDA tensor would silently take the composite path.
  const rq::detail::Backend* cuda =
      rq::detail::registered_backend(c10::DeviceType::CUDA);
  ASSERT_NE(cuda, nullptr)
      << "randquant::cuda is linked but its backend is not registered";
  std::cout << "[randquant] CUDA path: fused kernel (randquant::cuda)"
            << std::endl;
  RecordProperty("cuda_path", "fused");
  const at::Tensor x_cpu = random_input({2, 3, 6, 6}, at::kHalf, 21);
  const at::Tensor x = x_cpu.to(kCuda);
  const auto o = RandomizedQuantizationOptions(5);
  const rq::detail::CallKey key = rq::detail::CallKey::from_host(12345);
  const at::Tensor direct = at::empty_like(x);
  cuda->quantize_into(x, direct, rq::detail::check_inputs(x, o, "test"), o,
                      key);
  ASSERT_TRUE(direct.is_cuda());
  // The registered kernel is the fused CUDA kernel: the CPU kernel's bits
  // for the same key.
  const at::Tensor on_cpu =
      rq::RandomizedQuantizeFunctor<c10::DeviceType::CPU>()(
          x_cpu, rq::detail::check_inputs(x_cpu, o, "test"), o, key);
  EXPECT_TRUE(rq_test::same_bits(direct.cpu(), on_cpu));
  EXPECT_FALSE(rq_test::same_bits(direct.cpu(), x_cpu));
#else
  EXPECT_EQ(rq::detail::registered_backend(c10::DeviceType::CUDA), nullptr)
      << "randquant::cuda is not linked into this binary, yet the slot is set";
  std::cout << "[randquant] CUDA path: composite (randquant::cuda not "
               "linked into this binary)"
            << std::endl;
  GTEST_SKIP() << "randquant::cuda is not linked: CUDA tensors take the "
                  "composite path";
#endif
}
