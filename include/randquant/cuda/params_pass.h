#pragma once
/// \file
/// Pass 2 of the CUDA launch, per thread: one block per slice derives the
/// slice's cut points and proxies in parallel from the shared per-slice
/// math (core/slice_math.h), in phases that end at block barriers.

#include <cstdint>

#include "randquant/core/macros.h"
#include "randquant/core/philox.h"
#include "randquant/core/slice_math.h"
#include "randquant/cuda/launch_plan.h"

namespace randquant {
namespace cuda {

/// What every thread of a parameter block derives alike from the slice's
/// finite min/max: its number of regions and whether it is quantized.
template <typename A>
struct SliceHeader {
  A lo;           ///< finite min (+0 for -0), +inf when there is none
  A hi;           ///< finite max (+0 for -0), -inf when there is none
  int regions;    ///< R (1 for a slice without finite values)
  bool quantize;  ///< finite values and the sample's coin says so
};

/// The header of slice s with finite min/max [lo, hi].
template <typename A>
RQ_INLINE SliceHeader<A> slice_header(int64_t s, A lo, A hi,
                                      const UnitGrid& grid, uint64_t key,
                                      const core::SliceConfig& cfg, double p) {
  lo = lo + A(0);  // -0 becomes +0, as on the CPU
  hi = hi + A(0);
  const bool has_finite = lo <= hi;
  core::PhiloxStream rng(key, static_cast<uint64_t>(s), core::Stream::kSlice);
  const int regions = has_finite ? core::slice_regions(rng, cfg) : 1;
  const bool applied =
      core::sample_applied(key, static_cast<uint64_t>(s / grid.channels), p);
  return SliceHeader<A>{lo, hi, regions, has_finite && applied};
}

/// Phase "draw": thread tid draws cut points tid, tid + threads, ... of
/// slice s, unsorted.
template <typename A>
RQ_INLINE void draw_cuts_phase(int tid, int threads, uint64_t key, int64_t s,
                               const SliceHeader<A>& h,
                               const core::SliceConfig& cfg, A* draws) {
  core::PhiloxStream rng(key, static_cast<uint64_t>(s), core::Stream::kSlice);
  for (int k = tid; k < h.regions - 1; k += threads) {
    draws[k] = core::cut_point(rng, k, h.regions, h.lo, h.hi, cfg);
  }
}

/// Phase "sort", a rank sort: thread tid places draws tid, tid + threads,
/// ... at their rank (smaller values, then equal ones drawn earlier), so
/// `cuts` holds the same sorted array as any other sort. O(R) per cut
/// point: at R = 1024 each of 256 threads does 4 x 1023 compares.
template <typename A>
RQ_INLINE void sort_cuts_phase(int tid, int threads, int n_cuts, const A* draws,
                               A* cuts) {
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
RQ_INLINE void store_params_phase(int tid, int threads, uint64_t key, int64_t s,
                                  const SliceHeader<A>& h,
                                  const core::SliceConfig& cfg, const A* cuts,
                                  A* row_cuts, T* row_proxies) {
  core::PhiloxStream rng(key, static_cast<uint64_t>(s), core::Stream::kSlice);
  for (int j = tid; j < h.regions; j += threads) {
    const A left = j == 0 ? h.lo : cuts[j - 1];
    const A right = j == h.regions - 1 ? h.hi : cuts[j];
    row_proxies[j] =
        core::to_element<T>(core::proxy_value(rng, j, left, right, cfg));
    if (j < h.regions - 1) row_cuts[j] = cuts[j];
  }
}

}  // namespace cuda
}  // namespace randquant
