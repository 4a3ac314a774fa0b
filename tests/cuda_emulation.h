#pragma once
// The CUDA launch of randquant/cuda/kernel.cuh emulated on the CPU: every
// thread of every block of both passes in turn, each phase of a block for
// all its threads before the next (the GPU has a barrier there), with the
// per-thread code the GPU runs (randquant/cuda/block_passes.h). Used by
// tests/test_cuda_emulation.cpp and the fuzz harness.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "randquant/cuda/block_passes.h"
#include "randquant/randquant.h"

namespace rq_test {

/// What an emulated launch did.
struct Emulated {
  at::Tensor out;                ///< the output (undefined: skipped)
  bool register_lookup = false;  ///< which lookup pass 2 used
  int64_t chunks = 1;            ///< chunks per slice
};

/// kernel.cuh's launch for element type T, one thread after another.
template <typename T>
void emulate_launch(const randquant::detail::SliceViews& views,
                    const randquant::cuda::LaunchPlan& plan,
                    const randquant::RandomizedQuantizationOptions& options,
                    uint64_t key, Emulated* result) {
  using A = randquant::core::acc_type<T>;
  namespace cu = randquant::cuda;
  const T* in = views.in_v.data_ptr<T>();
  T* out = views.out_v.data_ptr<T>();
  std::vector<A> unit_lo(plan.units), unit_hi(plan.units);
  for (int64_t unit = 0; unit < plan.units; ++unit) {  // pass 1
    A lo = std::numeric_limits<A>::infinity(), hi = -lo;
    for (int tid = 0; tid < cu::kThreads; ++tid) {
      const cu::MinMaxOp<T, A> mm = cu::min_max_unit<T, A>(
          tid, cu::kThreads, in, views.layout, plan.grid, unit);
      lo = std::min(lo, mm.lo);
      hi = std::max(hi, mm.hi);
    }
    unit_lo[unit] = lo;
    unit_hi[unit] = hi;
  }
  const randquant::core::SliceConfig cfg{
      static_cast<int>(options.regions()),
      static_cast<int>(options.max_regions()), options.spacing(),
      options.collapse()};
  // Pass 2: the block's "shared memory", its phases one after another
  // (each phase ends at a barrier on the GPU), then the write.
  std::vector<A> draws(plan.rmax), cuts(plan.rmax);
  std::vector<T> proxies(plan.rmax);
  for (int64_t block = 0; block < plan.units; ++block) {
    const int64_t unit = cu::pass2_unit(block, plan.units);
    const int64_t s = unit / plan.grid.chunks;
    const cu::SliceHeader<A> h = cu::slice_header<A>(
        s, unit_lo.data(), unit_hi.data(), plan.grid, key, cfg, options.p());
    if (h.quantize) {
      for (int tid = 0; tid < cu::kThreads; ++tid) {
        cu::draw_cuts_phase<A>(tid, cu::kThreads, key, s, h, cfg, draws.data());
      }
      for (int tid = 0; tid < cu::kThreads; ++tid) {
        cu::sort_cuts_phase<A>(tid, cu::kThreads, h.regions - 1, draws.data(),
                               cuts.data());
      }
      for (int tid = 0; tid < cu::kThreads; ++tid) {
        cu::proxies_phase<T, A>(tid, cu::kThreads, key, s, h, cfg, cuts.data(),
                                proxies.data());
      }
    }
    for (int tid = 0; tid < cu::kThreads; ++tid) {
      if (plan.register_lookup) {
        cu::write_unit<T, A, cu::RegisterLookup<A>>(
            tid, cu::kThreads, in, out, views.layout, plan.grid, unit,
            cuts.data(), proxies.data(), h.regions - 1, h.quantize);
      } else {
        cu::write_unit<T, A, cu::SearchLookup<A>>(
            tid, cu::kThreads, in, out, views.layout, plan.grid, unit,
            cuts.data(), proxies.data(), h.regions - 1, h.quantize);
      }
    }
  }
  result->register_lookup = plan.register_lookup;
  result->chunks = plan.grid.chunks;
}

/// randomized_quantize() of x with `key`, through the emulated CUDA launch.
/// The output starts as NaN (floats) or 0x5A bytes, so a missed element
/// shows. A launch of more than `max_units` blocks (when >= 0) is skipped:
/// the emulation costs 256 thread steps per block and phase.
inline Emulated emulate_cuda(
    const at::Tensor& x,
    const randquant::RandomizedQuantizationOptions& options, uint64_t key,
    int64_t max_units = -1) {
  const randquant::detail::Geometry g =
      randquant::detail::check_inputs(x, options, "emu");
  const randquant::detail::SliceViews views =
      randquant::detail::make_slice_views(x, g);
  const randquant::cuda::LaunchPlan plan = randquant::cuda::plan_launch(
      g.slices(), g.channels, views.layout.slice_size(),
      std::max(options.regions(), options.max_regions()));
  if (max_units >= 0 && plan.units > max_units) return Emulated{};
  if (at::isFloatingType(x.scalar_type())) {
    views.out_v.fill_(std::numeric_limits<double>::quiet_NaN());
  } else {
    views.out_v.fill_(0x5A);
  }
  Emulated result;
  AT_DISPATCH_ALL_TYPES_AND2(
      at::kHalf, at::kBFloat16, x.scalar_type(), "emulate",
      [&] { emulate_launch<scalar_t>(views, plan, options, key, &result); });
  result.out = views.out;
  return result;
}

}  // namespace rq_test
