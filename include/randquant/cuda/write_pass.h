#pragma once
/// \file
/// Pass 3 of the CUDA launch, per thread: stage the slice's cut points and
/// proxies in shared memory, then map each element of the unit to its
/// region's proxy.

#include <cstdint>
#include <limits>

#include "randquant/core/macros.h"
#include "randquant/core/slice_math.h"
#include "randquant/cuda/launch_plan.h"
#include "randquant/cuda/unit_walk.h"
#include "randquant/detail/run_layout.h"

namespace randquant {
namespace cuda {

/// Phase "stage" (ends at a barrier): thread tid copies cut points (to
/// their padded() places) and proxies tid, tid + threads, ... of the slice's
/// rows into shared memory.
template <typename T, typename A>
RQ_INLINE void stage_params_phase(int tid, int threads, int n_cuts,
                                  const A* row_cuts, const T* row_proxies,
                                  A* cuts, T* proxies) {
  for (int k = tid; k <= n_cuts; k += threads) {
    if (k < n_cuts) cuts[padded(k)] = row_cuts[k];
    proxies[k] = row_proxies[k];
  }
}

/// Cut point i of the staged, padded() array.
template <typename A>
struct PaddedCuts {
  const A* cuts;  ///< staged cut points

  /// Cut point i.
  RQ_INLINE A operator()(int i) const { return cuts[padded(i)]; }
};

/// Region lookup for R <= kRegisterCuts + 1: the cut points in registers
/// (+inf past the last), the region the count of cut points <= v.
template <typename A>
struct RegisterLookup {
  A cuts[kRegisterCuts];  ///< cut points, +inf padded

  /// Copies the n_cuts staged cut points.
  RQ_INLINE RegisterLookup(const A* staged, int n_cuts) {
    for (int k = 0; k < kRegisterCuts; ++k) {
      cuts[k] =
          k < n_cuts ? staged[padded(k)] : std::numeric_limits<A>::infinity();
    }
  }

  /// Region of a finite v (ties go right, as core::region_of).
  RQ_INLINE int operator()(A v) const {
    return core::region_by_count<kRegisterCuts>(cuts, v);
  }
};

/// Region lookup for any R: binary search of the staged cut points.
template <typename A>
struct SearchLookup {
  PaddedCuts<A> at;  ///< the staged cut points
  int n_cuts;        ///< how many

  /// Searches the n staged cut points.
  RQ_INLINE SearchLookup(const A* staged, int n) : at{staged}, n_cuts(n) {}

  /// Region of a finite v.
  RQ_INLINE int operator()(A v) const {
    return core::region_of_at(n_cuts, v, at);
  }
};

/// The output of one element: its region's proxy for finite x of a
/// quantized slice, x itself otherwise.
template <typename T, typename A, typename Lookup>
struct WriteOp {
  Lookup lookup;     ///< region of a value
  const T* proxies;  ///< the slice's proxies
  bool quantize;     ///< whether the slice is quantized

  /// Output element for input x.
  RQ_INLINE T operator()(T x) const {
    const A v = static_cast<A>(x);
    return quantize && core::is_finite(v) ? proxies[lookup(v)] : x;
  }
};

/// Phase "write": thread tid writes its share of the unit's elements.
/// `cuts` (padded) and `proxies` are the staged ones.
template <typename T, typename A, typename Lookup>
RQ_INLINE void write_unit(int tid, int threads, const T* in, T* out,
                          const detail::RunLayout& layout, const UnitGrid& grid,
                          int64_t unit, const A* cuts, const T* proxies,
                          int n_cuts, bool quantize) {
  const int64_t s = unit / grid.chunks, j = unit % grid.chunks;
  const int64_t n = s / grid.channels, c = s % grid.channels;
  const T* in_base = in + n * layout.in.sample + c * layout.in.channel;
  T* out_base = out + n * layout.out.sample + c * layout.out.channel;
  // An unquantized slice copies: nothing was staged, so nothing is read.
  WriteOp<T, A, Lookup> op{Lookup(cuts, quantize ? n_cuts : 0), proxies,
                           quantize};
  map_unit<T>(tid, threads, layout, grid.chunk_begin(j),
              grid.chunk_begin(j + 1), in_base, out_base, op);
}

}  // namespace cuda
}  // namespace randquant
