#pragma once
/// \file
/// Pass 1 of the CUDA launch, per thread: the finite min/max of a unit; and
/// the fold of a slice's unit results that opens pass 2.

#include <cstdint>
#include <limits>

#include "randquant/core/macros.h"
#include "randquant/core/slice_math.h"
#include "randquant/cuda/launch_plan.h"
#include "randquant/cuda/unit_walk.h"
#include "randquant/detail/run_layout.h"

namespace randquant {
namespace cuda {

/// A running min/max (+inf / -inf while empty).
template <typename A>
struct MinMax {
  A lo = std::numeric_limits<A>::infinity();   ///< smallest value seen
  A hi = -std::numeric_limits<A>::infinity();  ///< largest value seen

  /// Adds [l, h] (exact in any order).
  RQ_INLINE void add(A l, A h) {
    lo = l < lo ? l : lo;
    hi = h > hi ? h : hi;
  }
};

/// Running min/max of the finite values an op sees; passes values through.
template <typename T, typename A>
struct MinMaxOp {
  MinMax<A> seen;  ///< min/max of the finite values so far

  /// Records x; returns it.
  RQ_INLINE T operator()(T x) {
    const A v = static_cast<A>(x);
    if (core::is_finite(v)) seen.add(v, v);
    return x;
  }
};

/// Pass 1, one thread: min/max of the finite values among its share of the
/// unit's elements. The block then reduces the threads' results (exact in
/// any order).
template <typename T, typename A>
RQ_INLINE MinMax<A> min_max_unit(int tid, int threads, const T* in,
                                 const detail::RunLayout& layout,
                                 const UnitGrid& grid, int64_t unit) {
  const int64_t s = unit / grid.chunks, j = unit % grid.chunks;
  const T* base = in + (s / grid.channels) * layout.in.sample +
                  (s % grid.channels) * layout.in.channel;
  MinMaxOp<T, A> op;
  map_unit<T>(tid, threads, layout, grid.chunk_begin(j),
              grid.chunk_begin(j + 1), base, static_cast<T*>(nullptr), op);
  return op.seen;
}

/// Pass 2 (one block per slice), first phase: thread tid folds units
/// tid, tid + threads, ... of slice s; the block then reduces the threads'
/// results into the slice's finite min/max.
template <typename A>
RQ_INLINE MinMax<A> fold_units(int tid, int threads, int64_t s,
                               const A* unit_lo, const A* unit_hi,
                               const UnitGrid& grid) {
  MinMax<A> m;
  for (int64_t j = tid; j < grid.chunks; j += threads) {
    m.add(unit_lo[s * grid.chunks + j], unit_hi[s * grid.chunks + j]);
  }
  return m;
}

}  // namespace cuda
}  // namespace randquant
