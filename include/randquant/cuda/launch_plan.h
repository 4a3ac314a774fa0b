#pragma once
/// \file
/// The plan of one CUDA launch and the memory its passes share, as plain
/// host+device C++ used both by quantize_cuda.cuh and by the CPU emulation
/// test: threads per block, the lookup choice, the units (core::UnitGrid),
/// the carving of each block's shared memory and of the launch's scratch.

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "randquant/core/macros.h"
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
constexpr int kRegisterCuts = 15;

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
  plan.register_lookup = rmax - 1 <= kRegisterCuts;
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
  A* slice_lo = nullptr;                ///< per slice: the header's lo
  A* slice_hi = nullptr;                ///< per slice: the header's hi
  A* cuts = nullptr;                    ///< per slice: R - 1 sorted cut points
  T* proxies = nullptr;                 ///< per slice: R proxies
  int32_t* regions = nullptr;           ///< per slice: R (0: no finite value)
  uint8_t* quantized = nullptr;         ///< per slice: quantized or copied

  /// The call's key (read on the device when it was drawn there).
  RANDQUANT_INLINE uint64_t call_key() const {
    return device_key != nullptr ? static_cast<uint64_t>(*device_key) : key;
  }
};

/// Bytes of one scratch array of `count` elements of E, padded to 16.
template <typename E>
inline size_t scratch_array_bytes(int64_t count) {
  return (static_cast<size_t>(count) * sizeof(E) + 15u) & ~size_t{15};
}

/// Bytes of a launch's scratch: O(units + slices * rmax).
template <typename T, typename A>
inline size_t scratch_bytes(const LaunchPlan& plan) {
  const int64_t units = plan.grid.units(), slices = plan.grid.slices;
  return 2 * scratch_array_bytes<A>(units) +
         2 * scratch_array_bytes<A>(slices) +
         scratch_array_bytes<A>(slices * plan.rmax) +
         scratch_array_bytes<T>(slices * plan.rmax) +
         scratch_array_bytes<int32_t>(slices) +
         scratch_array_bytes<uint8_t>(slices);
}

/// Points args' scratch arrays into `base` (scratch_bytes() bytes, 16-byte
/// aligned).
template <typename T, typename A>
inline void carve_scratch(unsigned char* base, const LaunchPlan& plan,
                          LaunchArgs<T, A>* args) {
  const int64_t units = plan.grid.units(), slices = plan.grid.slices;
  auto take = [&base](auto* typed, int64_t count) {
    using E = std::remove_pointer_t<decltype(typed)>;
    E* p = reinterpret_cast<E*>(base);
    base += scratch_array_bytes<E>(count);
    return p;
  };
  args->unit_lo = take(static_cast<A*>(nullptr), units);
  args->unit_hi = take(static_cast<A*>(nullptr), units);
  args->slice_lo = take(static_cast<A*>(nullptr), slices);
  args->slice_hi = take(static_cast<A*>(nullptr), slices);
  args->cuts = take(static_cast<A*>(nullptr), slices * plan.rmax);
  args->proxies = take(static_cast<T*>(nullptr), slices * plan.rmax);
  args->regions = take(static_cast<int32_t*>(nullptr), slices);
  args->quantized = take(static_cast<uint8_t*>(nullptr), slices);
}

/// The write pass visits units last to first: the units the min/max pass
/// read last are the likeliest to be still in L2.
RANDQUANT_INLINE int64_t write_unit_of_block(int64_t block, int64_t units) {
  return units - 1 - block;
}

}  // namespace cuda
}  // namespace randquant
