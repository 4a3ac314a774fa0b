#pragma once
/// \file
/// Pass 3 of the CUDA launch: one block per unit stages its slice's cut
/// points and proxies in shared memory, then maps each element of the unit
/// to its region's proxy.

#include <cstdint>
#include <limits>

#include "randquant/core/macros.h"
#include "randquant/core/slice_math.h"
#include "randquant/core/work_units.h"
#include "randquant/cuda/launch_plan.h"
#include "randquant/cuda/unit_walk.h"

namespace randquant {
namespace cuda {

/// Phase "stage" (ends at a barrier): thread tid copies cut points (to
/// their padded() places) and proxies tid, tid + threads, ... of the slice's
/// rows into shared memory.
template <typename T, typename A>
RANDQUANT_INLINE void stage_params_phase(int tid, int threads, int n_cuts,
                                         const A* row_cuts,
                                         const T* row_proxies, A* cuts,
                                         T* proxies) {
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
  RANDQUANT_INLINE A operator()(int i) const { return cuts[padded(i)]; }
};

/// Region lookup for R <= kRegisterMaxCuts + 1: the cut points in registers
/// (+inf past the last), the region the count of cut points <= v.
template <typename A>
struct RegisterLookup {
  A cuts[kRegisterMaxCuts];  ///< cut points, +inf padded
  bool more;                 ///< more than kRegisterFewCuts cut points

  /// Copies the n_cuts staged cut points.
  RANDQUANT_INLINE RegisterLookup(const A* staged, int n_cuts)
      : more(n_cuts > kRegisterFewCuts) {
    for (int k = 0; k < kRegisterMaxCuts; ++k) {
      cuts[k] =
          k < n_cuts ? staged[padded(k)] : std::numeric_limits<A>::infinity();
    }
  }

  /// Region of a finite v (ties go right, as core::region_of). The compares
  /// past kRegisterFewCuts are made only for a slice that has cut points
  /// there (a +inf pad adds nothing to the count); the branch is the same
  /// for the whole block, so it never diverges.
  RANDQUANT_INLINE int operator()(A v) const {
    int region = core::region_by_count<kRegisterFewCuts>(cuts, v);
    if (more) {
      region += core::region_by_count<kRegisterMaxCuts - kRegisterFewCuts>(
          cuts + kRegisterFewCuts, v);
    }
    return region;
  }
};

/// Region lookup for any R: binary search of the staged cut points.
template <typename A>
struct SearchLookup {
  PaddedCuts<A> at;  ///< the staged cut points
  int n_cuts;        ///< how many

  /// Searches the n staged cut points.
  RANDQUANT_INLINE SearchLookup(const A* staged, int n)
      : at{staged}, n_cuts(n) {}

  /// Region of a finite v.
  RANDQUANT_INLINE int operator()(A v) const {
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
  RANDQUANT_INLINE T operator()(T x) const {
    const A v = static_cast<A>(x);
    return quantize && core::is_finite(v) ? proxies[lookup(v)] : x;
  }
};

/// Phase "write": thread tid writes its share of `unit`. `cuts` (padded)
/// and `proxies` are the staged ones; n_cuts is 0 for a slice that is
/// copied (nothing was staged, so nothing is read).
template <typename T, typename A, typename Lookup>
RANDQUANT_INLINE void write_unit(int tid, int threads,
                                 const LaunchArgs<T, A>& args,
                                 const core::Unit& unit, const A* cuts,
                                 const T* proxies, int n_cuts, bool quantize) {
  WriteOp<T, A, Lookup> op{Lookup(cuts, n_cuts), proxies, quantize};
  map_unit<T>(tid, threads, args.layout, unit.begin, unit.end,
              args.in + unit.in_offset, args.out + unit.out_offset, op);
}

/// Pass 3: block b writes unit write_unit_of_block(b), finding regions with
/// Lookup (RegisterLookup or SearchLookup, as the plan says).
template <template <typename> class Lookup>
struct WritePass {
  /// Dynamic shared memory of a block.
  template <typename T, typename A>
  static size_t shared_bytes(int64_t rmax) {
    return WriteShared<T, A>::bytes(rmax);
  }

  /// What block `b` does (Block: see passes.h).
  template <typename T, typename A, typename Block>
  RANDQUANT_INLINE static void run(Block& block, int64_t b,
                                   const LaunchArgs<T, A>& args,
                                   unsigned char* shared) {
    const WriteShared<T, A> sh = WriteShared<T, A>::carve(shared, args.rmax);
    const core::Unit unit =
        args.grid.unit(write_unit_of_block(b, args.grid.units()), args.layout);
    const int64_t s = unit.slice;
    const bool quantize = args.table.quantized[s];
    const int n_cuts =
        quantize ? static_cast<int>(args.table.regions[s]) - 1 : 0;
    if (quantize) {  // the same for the whole block: so is the barrier
      block.each_thread([&](int tid) {
        stage_params_phase<T, A>(tid, Block::kThreads, n_cuts,
                                 args.table.cut_row(s), args.table.proxy_row(s),
                                 sh.cuts, sh.proxies);
      });
    }
    block.each_thread([&](int tid) {
      write_unit<T, A, Lookup<A>>(tid, Block::kThreads, args, unit, sh.cuts,
                                  sh.proxies, n_cuts, quantize);
    });
  }
};

}  // namespace cuda
}  // namespace randquant
