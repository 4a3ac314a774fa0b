#pragma once
/// \file
/// Pass 1 of the CUDA launch: one block per unit finds the unit's finite
/// min/max. Also the running min/max and its fold, which pass 2 uses too.

#include <cstdint>
#include <limits>

#include "randquant/core/macros.h"
#include "randquant/core/slice_math.h"
#include "randquant/core/work_units.h"
#include "randquant/cuda/launch_plan.h"
#include "randquant/cuda/unit_walk.h"

namespace randquant {
namespace cuda {

/// A running min/max (+inf / -inf while empty).
template <typename A>
struct MinMax {
  A lo = std::numeric_limits<A>::infinity();   ///< smallest value seen
  A hi = -std::numeric_limits<A>::infinity();  ///< largest value seen

  /// Adds [l, h] (exact in any order).
  RANDQUANT_INLINE void add(A l, A h) {
    lo = l < lo ? l : lo;
    hi = h > hi ? h : hi;
  }
};

/// Folds two running min/max (the block reduction's operator).
struct MinMaxFold {
  /// a and b together.
  template <typename A>
  RANDQUANT_INLINE MinMax<A> operator()(const MinMax<A>& a,
                                        const MinMax<A>& b) const {
    MinMax<A> both = a;
    both.add(b.lo, b.hi);
    return both;
  }
};

/// Running min/max of the finite values an op sees; passes values through.
template <typename T, typename A>
struct MinMaxOp {
  MinMax<A> seen;  ///< min/max of the finite values so far

  /// Records x; returns it.
  RANDQUANT_INLINE T operator()(T x) {
    const A v = static_cast<A>(x);
    if (core::is_finite(v)) seen.add(v, v);
    return x;
  }
};

/// One thread: min/max of the finite values among its share of `unit`.
/// The block then reduces the threads' results (exact in any order).
template <typename T, typename A>
RANDQUANT_INLINE MinMax<A> min_max_unit(int tid, int threads,
                                        const LaunchArgs<T, A>& args,
                                        const core::Unit& unit) {
  MinMaxOp<T, A> op;
  map_unit<T>(tid, threads, args.layout, unit.begin, unit.end,
              args.in + unit.in_offset, static_cast<T*>(nullptr), op);
  return op.seen;
}

/// Pass 1: block `u` writes the finite min/max of unit u.
struct MinMaxPass {
  /// Dynamic shared memory of a block.
  template <typename T, typename A>
  static size_t shared_bytes(int64_t /*rmax*/) {
    return 0;
  }

  /// What block `u` does (Block: see passes.h).
  template <typename T, typename A, typename Block>
  RANDQUANT_INLINE static void run(Block& block, int64_t u,
                                   const LaunchArgs<T, A>& args,
                                   unsigned char* /*shared*/) {
    const core::Unit unit = args.grid.unit(u, args.layout);
    const MinMax<A> found = block.template min_max<A>([&](int tid) {
      return min_max_unit<T, A>(tid, Block::kThreads, args, unit);
    });
    block.first_thread([&] {
      args.unit_lo[u] = found.lo;
      args.unit_hi[u] = found.hi;
    });
  }
};

}  // namespace cuda
}  // namespace randquant
