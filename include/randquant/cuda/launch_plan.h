#pragma once
/// \file
/// How a CUDA launch divides the work, shared by kernel.cuh and the CPU
/// emulation test: units of (slice, chunk), one block each.

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "randquant/core/macros.h"

namespace randquant {
namespace cuda {

/// Threads per block of every kernel.
constexpr int kThreads = 256;
/// Elements of one unit at most. Small enough that a batch of 224 x 224
/// images gives several blocks per slice (the grid fills the GPU in more,
/// shorter waves), large enough that staging a slice's parameters per
/// block stays cheap.
constexpr int64_t kChunk = int64_t{1} << 14;
/// Units of one slice at most (a huge slice gets longer units instead), so
/// the launch's scratch stays O(slices), with a constant that still fills
/// any GPU with blocks.
constexpr int64_t kMaxChunks = 1024;
/// Slices with at most this many cut points (R <= 16) find regions by
/// counting compares against cut points held in registers, without
/// branches; larger R binary-searches the cut points in shared memory.
constexpr int kRegisterCuts = 15;

/// Where a unit's elements are.
struct UnitGrid {
  int64_t channels = 1;    ///< C
  int64_t slice_size = 0;  ///< elements per slice
  int64_t chunks = 1;      ///< chunks (units) per slice

  /// First element of chunk j of a slice.
  RQ_INLINE int64_t chunk_begin(int64_t j) const {
    return slice_size * j / chunks;
  }
};

/// Index of a cut point in shared memory: one pad word per 32, so the
/// probes of a warp's binary searches fall in different banks.
RQ_INLINE int padded(int k) { return k + (k >> 5); }

/// The host's plan of one launch.
struct LaunchPlan {
  UnitGrid grid;                 ///< unit geometry
  int64_t slices = 0;            ///< N * C: blocks of the parameter pass
  int64_t units = 0;             ///< slices * chunks: blocks of the others
  int64_t rmax = 1;              ///< most regions of a slice
  bool register_lookup = false;  ///< the write pass counts compares
};

/// The dynamic shared memory of a parameter block: unsorted and sorted cut
/// points, rmax of each.
template <typename A>
struct ParamsShared {
  A* draws;  ///< unsorted cut points
  A* cuts;   ///< sorted cut points

  /// Bytes for rows of rmax.
  static size_t bytes(int64_t rmax) {
    return static_cast<size_t>(rmax) * 2 * sizeof(A);
  }

  /// The arrays in `base` (bytes(rmax) bytes, 16-byte aligned).
  RQ_INLINE static ParamsShared carve(unsigned char* base, int64_t rmax) {
    A* draws = reinterpret_cast<A*>(base);
    return ParamsShared{draws, draws + rmax};
  }
};

/// The dynamic shared memory of a write block: padded() cut points, then
/// rmax proxies (sizeof(A) >= alignof(T) for every dtype, so they stay
/// aligned).
template <typename T, typename A>
struct WriteShared {
  A* cuts;     ///< cut point k at cuts[padded(k)]
  T* proxies;  ///< proxies

  /// Bytes for rows of rmax.
  static size_t bytes(int64_t rmax) {
    return static_cast<size_t>(padded(static_cast<int>(rmax))) * sizeof(A) +
           static_cast<size_t>(rmax) * sizeof(T);
  }

  /// The arrays in `base` (bytes(rmax) bytes, 16-byte aligned).
  RQ_INLINE static WriteShared carve(unsigned char* base, int64_t rmax) {
    A* cuts = reinterpret_cast<A*>(base);
    return WriteShared{
        cuts, reinterpret_cast<T*>(cuts + padded(static_cast<int>(rmax)))};
  }
};

/// Plans the launch for `slices` slices (C per sample) of `slice_size`
/// elements and at most `rmax` regions per slice.
inline LaunchPlan plan_launch(int64_t slices, int64_t channels,
                              int64_t slice_size, int64_t rmax) {
  LaunchPlan plan;
  plan.grid.channels = channels;
  plan.grid.slice_size = slice_size;
  plan.grid.chunks = std::min(
      kMaxChunks, std::max<int64_t>(1, (slice_size + kChunk - 1) / kChunk));
  plan.slices = slices;
  plan.units = slices * plan.grid.chunks;
  plan.rmax = rmax;
  plan.register_lookup = rmax - 1 <= kRegisterCuts;
  return plan;
}

/// The write pass visits units last to first: the units the min/max pass
/// read last are the likeliest to be still in L2.
RQ_INLINE int64_t write_unit_of_block(int64_t block, int64_t units) {
  return units - 1 - block;
}

}  // namespace cuda
}  // namespace randquant
