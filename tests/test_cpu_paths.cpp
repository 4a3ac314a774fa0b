// The CPU kernel's paths: slice-local and two passes (any number of
// chunks per slice) give the same bits, and so does every family of vector
// loops (portable, AVX2, AVX-512) this CPU runs, against the composite.
#include <gtest/gtest.h>

#include <cstdint>
#include <iostream>
#include <stdexcept>

#include "test_util.h"

namespace rq = randquant;
using rq_test::gen;
using rq_test::same_bits;
using Opt = rq::RandomizedQuantizationOptions;

namespace {

/// Runs one of the CPU kernel's two paths on x with `chunks` units per
/// slice, for key `key`.
template <typename T>
at::Tensor run_path(const at::Tensor& x, const Opt& o, uint64_t key,
                    bool slice_local, int64_t chunks) {
  const rq::detail::Geometry geometry =
      rq::detail::check_inputs(x, o, "run_path");
  const rq::detail::SliceViews views =
      rq::detail::make_output_views(x, geometry);
  const rq::core::UnitGrid grid{geometry.channels, geometry.slices(),
                                views.layout.slice_size(), chunks};
  const auto params = rq::detail::ParamBuffer<T>::allocate(
      geometry.samples, geometry.channels, rq::detail::max_slice_regions(o));
  const rq::detail::ParamsWriter<T> writer(params.table, params.applied,
                                           geometry.samples, geometry.channels,
                                           key, nullptr, o);
  writer.draw_coins();
  const T* in = views.in_v.data_ptr<T>();
  T* out = views.out_v.data_ptr<T>();
  if (slice_local) {
    rq::cpu::quantize_slice_local(in, out, views.layout, grid, params.table,
                                  writer);
  } else {
    rq::cpu::quantize_two_pass(in, out, views.layout, grid, params.table,
                               writer);
  }
  return views.finish();
}

}  // namespace

TEST(CpuPaths, SliceLocalAndTwoPassGiveTheSameBits) {
  for (at::ScalarType dtype : rq_test::all_dtypes()) {
    for (const rq_test::Layout& layout : rq_test::layouts()) {
      for (const Opt& o : rq_test::code_path_options()) {
        SCOPED_TRACE(::testing::Message()
                     << dtype << " " << layout.name << " " << o);
        const at::Tensor x =
            layout.make(rq_test::awkward_input({3, 2, 40, 30}, dtype, 8));
        const at::Tensor fused =
            rq::detail::registered_backend(c10::DeviceType::CPU)
                ->quantize_new(x, rq::detail::check_inputs(x, o, "test"), o,
                               rq::detail::CallKey::from_host(77));
        AT_DISPATCH_ALL_TYPES_AND2(
            at::kHalf, at::kBFloat16, dtype, "paths", [&] {
              const at::Tensor local = run_path<scalar_t>(x, o, 77, true, 1);
              EXPECT_TRUE(same_bits(local, fused));
              for (int64_t chunks : {1, 3, 7}) {
                EXPECT_TRUE(same_bits(
                    run_path<scalar_t>(x, o, 77, false, chunks), fused))
                    << chunks << " chunks";
              }
            });
      }
    }
  }
}

namespace {

using rq_test::VectorLoopsCap;

/// Whether this CPU runs the loops of `loops` (every family up to the
/// cap's default is allowed while this asks).
bool cpu_runs(rq::cpu::VectorLoops loops) {
  const VectorLoopsCap all(rq::cpu::VectorLoops::kAvx512);
  switch (loops) {
    case rq::cpu::VectorLoops::kPortable:
      return true;
    case rq::cpu::VectorLoops::kAvx2:
      return rq::cpu::avx2::available();
    case rq::cpu::VectorLoops::kAvx512:
      return rq::cpu::avx512::float_available();
  }
  return false;
}

/// The kernel, its loops capped at `loops`, against the composite path, on
/// float32 and bytes over small and large R (67 columns: every loop also
/// has a tail). Skips, saying so, where this CPU lacks the family.
void check_vector_loops(rq::cpu::VectorLoops loops, const char* name) {
  if (!cpu_runs(loops)) {
    GTEST_SKIP() << "this CPU does not run the " << name << " loops";
  }
  std::cout << "[randquant] vector loops checked: " << name << std::endl;
  const VectorLoopsCap cap(loops);
  for (at::ScalarType dtype : {at::kFloat, at::kByte, at::kChar}) {
    for (int64_t r : {2, 8, 9, 16, 17, 40, 256}) {
      SCOPED_TRACE(::testing::Message() << name << " " << dtype << " R " << r);
      const at::Tensor x = rq_test::awkward_input({2, 3, 33, 67}, dtype, r);
      const Opt o(r);
      EXPECT_TRUE(same_bits(rq::randomized_quantize(x, o, gen(r)),
                            rq::randomized_quantize_composite(x, o, gen(r))));
    }
  }
}

}  // namespace

TEST(CpuPaths, PortableLoopsGiveTheCompositeBits) {
  check_vector_loops(rq::cpu::VectorLoops::kPortable, "portable");
}

TEST(CpuPaths, Avx2LoopsGiveTheCompositeBits) {
  check_vector_loops(rq::cpu::VectorLoops::kAvx2, "AVX2");
}

TEST(CpuPaths, Avx512LoopsGiveTheCompositeBits) {
  check_vector_loops(rq::cpu::VectorLoops::kAvx512, "AVX-512");
}

TEST(CpuPaths, TheLoopsCapIsRestoredAfterAFailure) {
  const int before = rq::cpu::vector_loops_cap().load();
  try {
    const VectorLoopsCap cap(rq::cpu::VectorLoops::kPortable);
    EXPECT_EQ(rq::cpu::vector_loops_cap().load(),
              static_cast<int>(rq::cpu::VectorLoops::kPortable));
    throw std::runtime_error("a failing check");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(rq::cpu::vector_loops_cap().load(), before);
}
