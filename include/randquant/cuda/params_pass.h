#pragma once
/// \file
/// Pass 2 of the CUDA launch: one block per slice folds its units' min/max,
/// makes the slice's header (core::slice_header, as the CPU does) and
/// derives its cut points and proxies in parallel from the shared
/// per-slice math, in phases that end at block barriers.

#include <cstdint>

#include "randquant/core/macros.h"
#include "randquant/core/philox.h"
#include "randquant/core/slice_math.h"
#include "randquant/cuda/launch_plan.h"
#include "randquant/cuda/min_max_pass.h"

namespace randquant {
namespace cuda {

/// One thread: folds units tid, tid + threads, ... of slice s.
template <typename A>
RANDQUANT_INLINE MinMax<A> fold_units(int tid, int threads, int64_t s,
                                      const A* unit_lo, const A* unit_hi,
                                      const core::UnitGrid& grid) {
  MinMax<A> folded;
  for (int64_t j = tid; j < grid.chunks; j += threads) {
    folded.add(unit_lo[s * grid.chunks + j], unit_hi[s * grid.chunks + j]);
  }
  return folded;
}

/// Phase "draw": thread tid draws cut points tid, tid + threads, ... of
/// slice s, unsorted.
template <typename A>
RANDQUANT_INLINE void draw_cuts_phase(int tid, int threads, uint64_t key,
                                      int64_t s,
                                      const core::SliceHeader<A>& header,
                                      const core::SliceConfig& cfg, A* draws) {
  core::PhiloxStream rng(key, static_cast<uint64_t>(s), core::Stream::kSlice);
  for (int k = tid; k < header.regions - 1; k += threads) {
    draws[k] =
        core::cut_point(rng, k, header.regions, header.lo, header.hi, cfg);
  }
}

/// Phase "sort", a rank sort: thread tid places draws tid, tid + threads,
/// ... at their rank (smaller values, then equal ones drawn earlier), so
/// `cuts` holds the same sorted array as any other sort. O(R) per cut
/// point: at R = 1024 each of 256 threads does 4 x 1023 compares.
template <typename A>
RANDQUANT_INLINE void sort_cuts_phase(int tid, int threads, int n_cuts,
                                      const A* draws, A* cuts) {
  for (int k = tid; k < n_cuts; k += threads) {
    const A v = draws[k];
    int rank = 0;
    for (int i = 0; i < n_cuts; ++i) {
      rank += (draws[i] < v) | ((draws[i] == v) & (i < k));
    }
    cuts[rank] = v;
  }
}

/// Phase "store": thread tid writes proxies tid, tid + threads, ... (from
/// the sorted cut points, as core::fill_slice_params does) and the same cut
/// points to the slice's rows in global memory.
template <typename T, typename A>
RANDQUANT_INLINE void store_params_phase(int tid, int threads, uint64_t key,
                                         int64_t s,
                                         const core::SliceHeader<A>& header,
                                         const core::SliceConfig& cfg,
                                         const A* cuts, A* row_cuts,
                                         T* row_proxies) {
  core::PhiloxStream rng(key, static_cast<uint64_t>(s), core::Stream::kSlice);
  const int regions = header.regions;
  for (int j = tid; j < regions; j += threads) {
    const A left = j == 0 ? header.lo : cuts[j - 1];
    const A right = j == regions - 1 ? header.hi : cuts[j];
    row_proxies[j] =
        core::to_element<T>(core::proxy_value(rng, j, left, right, cfg));
    if (j < regions - 1) row_cuts[j] = cuts[j];
  }
}

/// Pass 2: block `s` makes slice s's parameters. A slice with finite values
/// gets its cut points and proxies whether or not its sample's coin came
/// up, as on the CPU (core::SliceHeader).
struct ParamsPass {
  /// Dynamic shared memory of a block.
  template <typename T, typename A>
  static size_t shared_bytes(int64_t rmax) {
    return ParamsShared<A>::bytes(rmax);
  }

  /// What block `s` does (Block: see passes.h).
  template <typename T, typename A, typename Block>
  RANDQUANT_INLINE static void run(Block& block, int64_t s,
                                   const LaunchArgs<T, A>& args,
                                   unsigned char* shared) {
    const ParamsShared<A> sh = ParamsShared<A>::carve(shared, args.rmax);
    const uint64_t key = args.call_key();
    const MinMax<A> slice = block.template min_max<A>([&](int tid) {
      return fold_units<A>(tid, Block::kThreads, s, args.unit_lo, args.unit_hi,
                           args.grid);
    });
    const bool applied = core::sample_applied(
        key, static_cast<uint64_t>(s / args.grid.channels), args.p);
    const core::SliceHeader<A> header = core::slice_header(
        key, static_cast<uint64_t>(s), slice.lo, slice.hi, args.cfg, applied);
    if (header.regions > 0) {  // the same for the whole block: so are barriers
      block.each_thread([&](int tid) {
        draw_cuts_phase<A>(tid, Block::kThreads, key, s, header, args.cfg,
                           sh.draws);
      });
      block.each_thread([&](int tid) {
        sort_cuts_phase<A>(tid, Block::kThreads, header.regions - 1, sh.draws,
                           sh.cuts);
      });
      block.each_thread([&](int tid) {
        store_params_phase<T, A>(tid, Block::kThreads, key, s, header, args.cfg,
                                 sh.cuts, args.table.cut_row(s),
                                 args.table.proxy_row(s));
      });
    }
    block.first_thread([&] { args.table.set_header(s, header); });
  }
};

}  // namespace cuda
}  // namespace randquant
