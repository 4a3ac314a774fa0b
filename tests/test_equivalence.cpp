// The equivalence sweep: every implementation of randomized_quantize() gives
// the fused CPU kernel's output bit for bit (SPEC.md, "Randomness": one key,
// one result, whatever computes it). One sweep, one comparator, one
// mismatch describer; each implementation is an instance of it:
//
//   Composite          the ATen composite (randomized_quantize_composite)
//   EmulatedCuda       the CUDA kernels' per-block code run on the CPU
//                      (cuda_emulation.h), out of place
//   EmulatedCudaInPlace  the same launch writing over its own input
//   Cuda_CUDA          the fused CUDA kernel on a CUDA tensor (skipped
//                      without a device, like every *_CUDA test)
//   CudaComposite_CUDA the composite on a CUDA tensor
//
// Only API present in LibTorch 1.13 and 2.x, and no CUDA header: this file
// is compiled by g++ in CPU-only builds too.
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "cuda_emulation.h"
#include "test_util.h"

namespace rq = randquant;
using rq::Collapse;
using rq::RandomizedQuantizationOptions;
using rq::Spacing;
using rq_test::gen;
using Opt = RandomizedQuantizationOptions;

namespace {

/// One implementation under test: `run` quantizes x (on `device`) with the
/// key a CPU generator seeded `seed` gives, and returns the output on x's
/// device.
struct Implementation {
  const char* name;  ///< the test-name suffix
  c10::DeviceType device;
  /// Allocates its output as the fused CPU kernel does (same strides); the
  /// composite returns a dense tensor in the suggested memory format.
  bool same_strides_as_cpu;
  at::Tensor (*run)(const at::Tensor& x, const Opt& o, uint64_t seed);
};

uint64_t key_of(uint64_t seed) { return rq::detail::draw_host_key(gen(seed)); }

const Implementation kImplementations[] = {
    {"Composite", c10::DeviceType::CPU, false,
     [](const at::Tensor& x, const Opt& o, uint64_t seed) {
       return rq::randomized_quantize_composite(x, o, gen(seed));
     }},
    {"EmulatedCuda", c10::DeviceType::CPU, true,
     [](const at::Tensor& x, const Opt& o, uint64_t seed) {
       return rq_test::emulate_cuda(x, o, key_of(seed)).out;
     }},
    {"EmulatedCudaInPlace", c10::DeviceType::CPU, false,
     [](const at::Tensor& x, const Opt& o, uint64_t seed) {
       // emulate_cuda writes over a copy of x: x itself stays as it was.
       return rq_test::emulate_cuda(x, o, key_of(seed), /*max_units=*/-1,
                                    /*in_place=*/true)
           .out;
     }},
    {"Cuda_CUDA", c10::DeviceType::CUDA, true,
     [](const at::Tensor& x, const Opt& o, uint64_t seed) {
       return rq::randomized_quantize(x, o, gen(seed));
     }},
    {"CudaComposite_CUDA", c10::DeviceType::CUDA, false,
     [](const at::Tensor& x, const Opt& o, uint64_t seed) {
       return rq::randomized_quantize_composite(x, o, gen(seed));
     }},
};

/// Test names and gtest's parameter line print the implementation's name.
void PrintTo(const Implementation& implementation, std::ostream* os) {
  *os << implementation.name;
}

class Equivalence : public ::testing::TestWithParam<Implementation> {
 protected:
  void SetUp() override {
    if (implementation().device == c10::DeviceType::CUDA &&
        !torch::cuda::is_available())
      GTEST_SKIP() << "no CUDA device";
  }
  const Implementation& implementation() const { return GetParam(); }

  /// x moved to the implementation's device (strides kept for dense x).
  at::Tensor on_device(const at::Tensor& x) const {
    return implementation().device == c10::DeviceType::CUDA
               ? x.to(at::Device(at::kCUDA, 0))
               : x;
  }

  /// The implementation's output for x (on its device) equals the fused CPU
  /// kernel's for x_cpu (the same values and strides), bit for bit; x is
  /// left as it was.
  ::testing::AssertionResult matches_cpu(const at::Tensor& x_cpu,
                                         const at::Tensor& x, const Opt& o,
                                         uint64_t seed) const {
    const Implementation& impl = implementation();
    if (!rq_test::same_bits(x_cpu, x.cpu()))
      return ::testing::AssertionFailure() << "inputs differ";
    const at::Tensor before = x.clone();
    const at::Tensor expected = rq::randomized_quantize(x_cpu, o, gen(seed));
    const at::Tensor y = impl.run(x, o, seed);
    if (y.device() != x.device())
      return ::testing::AssertionFailure()
             << impl.name << ": output on " << y.device() << ", input on "
             << x.device();
    if (y.sizes() != x.sizes() || y.scalar_type() != x.scalar_type())
      return ::testing::AssertionFailure()
             << impl.name << ": output " << y.sizes() << " " << y.scalar_type()
             << ", input " << x.sizes() << " " << x.scalar_type();
    // A CUDA build without the CUDA component runs the composite instead.
    const bool fused =
        impl.same_strides_as_cpu &&
        (impl.device != c10::DeviceType::CUDA ||
         rq::detail::registered_backend(c10::DeviceType::CUDA) != nullptr);
    if (fused && y.strides() != expected.strides())
      return ::testing::AssertionFailure()
             << impl.name << ": output strides " << y.strides()
             << ", the CPU kernel's " << expected.strides();
    const at::Tensor y_cpu = y.cpu();
    if (!rq_test::same_bits(expected, y_cpu))
      return ::testing::AssertionFailure()
             << impl.name << " vs the fused CPU kernel for " << o << " on "
             << x.sizes() << " " << x.scalar_type() << " strides "
             << x.strides() << ": "
             << rq_test::describe_mismatch(expected, y_cpu);
    if (!rq_test::same_bits(before.cpu(), x.cpu()))
      return ::testing::AssertionFailure()
             << impl.name << ": the input was modified";
    return ::testing::AssertionSuccess();
  }

  /// Every layout of `base`, every collapse and spacing, R across both CUDA
  /// lookups (registers up to 16, binary search above) and both sides of 256
  /// (the CPU's byte table), with and without max_regions, p = 1 and 0.5.
  void sweep(const at::Tensor& base) const {
    const at::Tensor base_on_device = on_device(base);
    uint64_t seed = 0;
    for (const rq_test::Layout& layout : rq_test::layouts()) {
      const at::Tensor x_cpu = layout.make(base);
      const at::Tensor x = layout.make(base_on_device);
      ASSERT_EQ(x.device(), base_on_device.device());
      ASSERT_EQ(x.strides(), x_cpu.strides()) << layout.name;
      for (Collapse collapse :
           {Collapse::InsideRandom, Collapse::Middle, Collapse::Zeros}) {
        for (Spacing spacing : {Spacing::Random, Spacing::Uniform}) {
          for (int64_t regions : {1, 2, 8, 16, 17, 255, 1024}) {
            for (int64_t max_regions :
                 {int64_t{0}, std::min<int64_t>(regions + 9, 1024)}) {
              ++seed;
              const Opt o = Opt(regions)
                                .max_regions(max_regions)
                                .collapse(collapse)
                                .spacing(spacing)
                                .p(seed % 3 == 0 ? 0.5 : 1.0);
              SCOPED_TRACE(::testing::Message()
                           << layout.name << " " << o << " seed=" << seed);
              ASSERT_TRUE(matches_cpu(x_cpu, x, o, seed));
            }
          }
        }
      }
    }
  }

  /// Channel dims, unbatched inputs and three strided levels, in `dtype`.
  void channel_dims(at::ScalarType dtype) const {
    const at::Tensor nld = rq_test::random_input({4, 50, 6}, dtype, 3);
    const at::Tensor pts = rq_test::random_input({200, 3}, dtype, 4);
    const at::Tensor chw = rq_test::random_input({3, 17, 19}, dtype, 5);
    const at::Tensor vol = rq_test::random_input({2, 5, 3, 7, 4}, dtype, 6);
    uint64_t seed = 500;
    for (int64_t regions : {1, 5, 255}) {
      SCOPED_TRACE(::testing::Message() << "R=" << regions);
      const Opt o(regions);
      EXPECT_TRUE(
          matches_cpu(nld, on_device(nld), Opt(o).channel_dim(-1), ++seed));
      EXPECT_TRUE(matches_cpu(nld.transpose(1, 2),
                              on_device(nld).transpose(1, 2), o, ++seed));
      const Opt unbatched_last = Opt(o).batched(false).channel_dim(-1);
      EXPECT_TRUE(matches_cpu(pts, on_device(pts), unbatched_last, ++seed));
      EXPECT_TRUE(
          matches_cpu(chw, on_device(chw), Opt(o).batched(false), ++seed));
      EXPECT_TRUE(matches_cpu(chw, on_device(chw), Opt(o).batched(false).p(0.5),
                              ++seed));
      EXPECT_TRUE(matches_cpu(vol.transpose(3, 4),
                              on_device(vol).transpose(3, 4),
                              Opt(o).channel_dim(1), ++seed));
      EXPECT_TRUE(
          matches_cpu(vol, on_device(vol), Opt(o).channel_dim(-1), ++seed));
    }
  }
};

}  // namespace

// Every dtype; 37 columns: most slices start off a 16-byte boundary, so the
// packed walks need their scalar head and tail.
TEST_P(Equivalence, BitIdenticalOverLayoutsCollapsesSpacingsRegions) {
  for (const at::ScalarType dtype : rq_test::all_dtypes()) {
    SCOPED_TRACE(c10::toString(dtype));
    ASSERT_NO_FATAL_FAILURE(
        sweep(rq_test::random_input({3, 4, 5, 37}, dtype, 7)));
  }
}

// (N, L, D) with channel_dim -1 and as a transposed view, unbatched point
// clouds and images, and (N, C, D, H, W) with H and W swapped: three strided
// levels.
TEST_P(Equivalence, ChannelDimsUnbatchedAndThreeLevelLayouts) {
  for (const at::ScalarType dtype : rq_test::all_dtypes()) {
    SCOPED_TRACE(c10::toString(dtype));
    channel_dims(dtype);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Implementations, Equivalence, ::testing::ValuesIn(kImplementations),
    [](const ::testing::TestParamInfo<Implementation>& info) {
      return std::string(info.param.name);
    });
