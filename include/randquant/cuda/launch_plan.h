#pragma once
/// \file
/// The plan of one CUDA launch and the memory its passes share, as plain
/// host+device C++ used both by quantize_cuda.cuh and by the CPU emulation
/// test: threads per block, the lookup choice, the units (core::UnitGrid),
/// the carving of each block's shared memory and of the launch's scratch.

#include <cstddef>
#include <cstdint>

#include "randquant/core/macros.h"
#include "randquant/core/param_table.h"
#include "randquant/core/slice_math.h"
#include "randquant/core/work_units.h"

namespace randquant {
namespace cuda {

/// Threads per block of every kernel.
constexpr int kThreads = 256;

/// Slices with at most this many cut points (R <= 16) find regions by
/// counting compares against cut points held in registers, without
/// branches; 15 floats (or doubles) stay in registers next to the element
/// loop without spilling (ptxas, sm_90). Larger R binary-searches the cut
/// points in shared memory.
constexpr int kRegisterMaxCuts = 15;

/// The register lookup's first compares, made for every slice; the other
/// kRegisterMaxCuts - kRegisterFewCuts only for slices of more than
/// kRegisterFewCuts cut points (R > 8, the paper's common setting being
/// R <= 8).
constexpr int kRegisterFewCuts = 7;

/// Index of a cut point in shared memory: one pad word per 32, so the
/// probes of a warp's binary searches fall in different banks.
RANDQUANT_INLINE int padded(int k) { return k + (k >> 5); }

/// The host's plan of one launch.
struct LaunchPlan {
  core::UnitGrid grid;           ///< the units, one block each
  int64_t rmax = 1;              ///< most regions of a slice
  bool register_lookup = false;  ///< the write pass counts compares
};

/// Plans the launch for `slices` slices (C per sample) of `slice_size`
/// elements and at most `rmax` regions per slice.
inline LaunchPlan plan_launch(int64_t slices, int64_t channels,
                              int64_t slice_size, int64_t rmax) {
  LaunchPlan plan;
  plan.grid = core::UnitGrid::for_blocks(slices, channels, slice_size);
  plan.rmax = rmax;
  plan.register_lookup = rmax - 1 <= kRegisterMaxCuts;
  return plan;
}

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
  RANDQUANT_INLINE static ParamsShared carve(unsigned char* base,
                                             int64_t rmax) {
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
  RANDQUANT_INLINE static WriteShared carve(unsigned char* base, int64_t rmax) {
    A* cuts = reinterpret_cast<A*>(base);
    return WriteShared{
        cuts, reinterpret_cast<T*>(cuts + padded(static_cast<int>(rmax)))};
  }
};

/// Everything the passes of one launch read and write: the tensors, the
/// call's settings, and the scratch arrays in device memory (carved by
/// carve_scratch()).
template <typename T, typename A>
struct LaunchArgs {
  const T* in = nullptr;                ///< input elements
  T* out = nullptr;                     ///< output elements
  core::RunLayout layout;               ///< input and output strides
  core::UnitGrid grid;                  ///< the units
  int64_t rmax = 1;                     ///< row length of cuts and proxies
  uint64_t key = 0;                     ///< the key drawn on the host, or
  const int64_t* device_key = nullptr;  ///< the key drawn on the device
  core::SliceConfig cfg{};              ///< the per-slice settings
  double p = 1.0;                       ///< probability a sample is quantized
  A* unit_lo = nullptr;                 ///< per unit: finite min
  A* unit_hi = nullptr;                 ///< per unit: finite max
  core::ParamTable<T, A> table;         ///< per slice: the parameters

  /// The call's key (read on the device when it was drawn there).
  RANDQUANT_INLINE uint64_t call_key() const {
    return device_key != nullptr ? static_cast<uint64_t>(*device_key) : key;
  }
};

/// Bytes of a launch's scratch: O(units + slices * rmax).
template <typename T, typename A>
inline size_t scratch_bytes(const LaunchPlan& plan) {
  const int64_t units = plan.grid.units(), slices = plan.grid.slices;
  return 2 * core::padded_array_bytes<A>(units) +
         core::ParamTable<T, A>::bytes(slices, plan.rmax);
}

/// Points args' scratch arrays into `base` (scratch_bytes() bytes, 16-byte
/// aligned).
template <typename T, typename A>
inline void carve_scratch(unsigned char* base, const LaunchPlan& plan,
                          LaunchArgs<T, A>* args) {
  const int64_t units = plan.grid.units();
  args->unit_lo = core::take_array<A>(&base, units);
  args->unit_hi = core::take_array<A>(&base, units);
  args->table =
      core::ParamTable<T, A>::carve(&base, plan.grid.slices, plan.rmax);
}

/// The write pass visits units last to first: the units the min/max pass
/// read last are the likeliest to be still in L2.
RANDQUANT_INLINE int64_t write_unit_of_block(int64_t block, int64_t units) {
  return units - 1 - block;
}

}  // namespace cuda
}  // namespace randquant
