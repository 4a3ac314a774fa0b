#pragma once
// The CUDA launch of randquant/cuda/kernel.cuh emulated on the CPU: every
// thread of every block of the three passes in turn, each phase of a block for
// all its threads before the next (the GPU has a barrier there), with the
// per-thread code the GPU runs (randquant/cuda/block_passes.h). Used by
// tests/test_cuda_emulation.cpp and the fuzz harness.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
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
  constexpr int kThreads = cu::kThreads;
  const T* in = views.in_v.data_ptr<T>();
  T* out = views.out_v.data_ptr<T>();
  // Pass 1: each block's threads, then the block's reduction.
  std::vector<A> unit_lo(plan.units), unit_hi(plan.units);
  for (int64_t unit = 0; unit < plan.units; ++unit) {
    cu::MinMax<A> block;
    for (int tid = 0; tid < kThreads; ++tid) {
      const cu::MinMax<A> m = cu::min_max_unit<T, A>(
          tid, kThreads, in, views.layout, plan.grid, unit);
      block.add(m.lo, m.hi);
    }
    unit_lo[unit] = block.lo;
    unit_hi[unit] = block.hi;
  }
  // Pass 2: one block per slice, phase by phase. Shared memory is carved
  // from exactly the bytes the kernel asks for; it and the global rows
  // start as 0xFF bytes (NaN, or -1), so a read of what no phase wrote
  // shows, as would a size or offset error (under ASan too).
  const randquant::core::SliceConfig cfg{
      static_cast<int>(options.regions()),
      static_cast<int>(options.max_regions()), options.spacing(),
      options.collapse()};
  std::vector<A> cuts(plan.slices * plan.rmax);
  std::vector<T> proxies(plan.slices * plan.rmax);
  std::memset(static_cast<void*>(cuts.data()), 0xFF, cuts.size() * sizeof(A));
  std::memset(static_cast<void*>(proxies.data()), 0xFF,
              proxies.size() * sizeof(T));
  std::vector<int32_t> regions(plan.slices);
  std::vector<uint8_t> quantized(plan.slices);
  std::vector<unsigned char> params_shared(
      cu::ParamsShared<A>::bytes(plan.rmax));
  for (int64_t s = 0; s < plan.slices; ++s) {
    cu::MinMax<A> block;
    for (int tid = 0; tid < kThreads; ++tid) {
      const cu::MinMax<A> m = cu::fold_units<A>(
          tid, kThreads, s, unit_lo.data(), unit_hi.data(), plan.grid);
      block.add(m.lo, m.hi);
    }
    const cu::SliceHeader<A> h = cu::slice_header<A>(
        s, block.lo, block.hi, plan.grid, key, cfg, options.p());
    std::memset(params_shared.data(), 0xFF, params_shared.size());
    const cu::ParamsShared<A> sh =
        cu::ParamsShared<A>::carve(params_shared.data(), plan.rmax);
    if (h.quantize) {
      for (int tid = 0; tid < kThreads; ++tid) {
        cu::draw_cuts_phase<A>(tid, kThreads, key, s, h, cfg, sh.draws);
      }
      for (int tid = 0; tid < kThreads; ++tid) {
        cu::sort_cuts_phase<A>(tid, kThreads, h.regions - 1, sh.draws, sh.cuts);
      }
      for (int tid = 0; tid < kThreads; ++tid) {
        cu::store_params_phase<T, A>(tid, kThreads, key, s, h, cfg, sh.cuts,
                                     &cuts[s * plan.rmax],
                                     &proxies[s * plan.rmax]);
      }
    }
    regions[s] = h.regions;
    quantized[s] = h.quantize;
  }
  // Pass 3: one block per unit, in the kernel's order.
  std::vector<unsigned char> write_shared(
      cu::WriteShared<T, A>::bytes(plan.rmax));
  for (int64_t block = 0; block < plan.units; ++block) {
    const int64_t unit = cu::write_unit_of_block(block, plan.units);
    const int64_t s = unit / plan.grid.chunks;
    const bool quantize = quantized[s] != 0;
    const int n_cuts = regions[s] - 1;
    std::memset(write_shared.data(), 0xFF, write_shared.size());
    const cu::WriteShared<T, A> sh =
        cu::WriteShared<T, A>::carve(write_shared.data(), plan.rmax);
    if (quantize) {
      for (int tid = 0; tid < kThreads; ++tid) {
        cu::stage_params_phase<T, A>(
            tid, kThreads, n_cuts, &cuts[s * plan.rmax],
            &proxies[s * plan.rmax], sh.cuts, sh.proxies);
      }
    }
    for (int tid = 0; tid < kThreads; ++tid) {
      if (plan.register_lookup) {
        cu::write_unit<T, A, cu::RegisterLookup<A>>(
            tid, kThreads, in, out, views.layout, plan.grid, unit, sh.cuts,
            sh.proxies, n_cuts, quantize);
      } else {
        cu::write_unit<T, A, cu::SearchLookup<A>>(
            tid, kThreads, in, out, views.layout, plan.grid, unit, sh.cuts,
            sh.proxies, n_cuts, quantize);
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
