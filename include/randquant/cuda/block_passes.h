#pragma once
/// \file
/// What one thread of a CUDA block does in each pass, as plain host+device
/// C++ (no intrinsics, no shared memory, no synchronisation). kernel.cuh's
/// kernels call these with threadIdx.x; tests/test_cuda_emulation.cpp runs
/// every thread of every block in turn on the CPU, so the code the GPU runs
/// is also checked on machines without one.
///
/// A launch works on units: unit = (slice, chunk of the slice), one block
/// each. Pass 1 finds each unit's finite min/max. Pass 2 derives the unit's
/// slice's parameters in shared memory, the block's threads drawing cut
/// points, sorting them and computing proxies in parallel with the shared
/// per-slice math (core/slice_math.h), then writes the unit.

#include <c10/util/BFloat16.h>
#include <c10/util/Exception.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include "randquant/core/macros.h"
#include "randquant/core/slice_math.h"
#include "randquant/detail/run_layout.h"

namespace randquant {
namespace cuda {

/// Threads per block of the unit kernels.
constexpr int kThreads = 256;
/// Elements of one unit at most: a slice splits into chunks only when it
/// is large, so small slices keep one block each.
constexpr int64_t kChunk = int64_t{1} << 18;
/// Slices with at most this many cut points (R <= 16) find regions by
/// counting compares against cut points held in registers, without
/// branches; larger R binary-searches the cut points in shared memory.
constexpr int kRegisterCuts = 15;

/// Where a unit's elements are.
struct UnitGrid {
  int64_t channels = 1;    ///< C
  int64_t slice_size = 0;  ///< elements per slice
  int64_t chunks = 1;      ///< chunks per slice

  /// First element of chunk j of a slice.
  RQ_INLINE int64_t chunk_begin(int64_t j) const {
    return slice_size * j / chunks;
  }
};

/// The host's plan of one launch, shared by kernel.cuh and the CPU test.
struct LaunchPlan {
  UnitGrid grid;                 ///< unit geometry
  int64_t slices = 0;            ///< N * C
  int64_t units = 0;             ///< slices * chunks: blocks of each pass
  int64_t rmax = 1;              ///< most regions of a slice
  bool register_lookup = false;  ///< pass 2 counts compares (R <= 16)

  /// Shared memory of a pass-2 block: unsorted and sorted cut points (A)
  /// and proxies (T), rmax of each (sizeof(A) >= alignof(T) for every
  /// dtype, so the proxies stay aligned).
  template <typename T, typename A>
  size_t pass2_shared_bytes() const {
    return static_cast<size_t>(rmax) * (2 * sizeof(A) + sizeof(T));
  }
};

/// Plans the launch for `slices` slices of `slice_size` elements and at
/// most `rmax` regions per slice.
inline LaunchPlan plan_launch(int64_t slices, int64_t channels,
                              int64_t slice_size, int64_t rmax) {
  LaunchPlan plan;
  plan.grid.channels = channels;
  plan.grid.slice_size = slice_size;
  plan.grid.chunks = std::max<int64_t>(1, (slice_size + kChunk - 1) / kChunk);
  plan.slices = slices;
  plan.units = slices * plan.grid.chunks;
  plan.rmax = rmax;
  plan.register_lookup = rmax - 1 <= kRegisterCuts;
  return plan;
}

/// 16 bytes of T: one vector load or store.
template <typename T>
struct alignas(16) Pack {
  static constexpr int kSize = 16 / static_cast<int>(sizeof(T));  ///< lanes
  T v[kSize];                                                     ///< lanes
};

/// Byte offset of p within its 16-byte line.
template <typename T>
RQ_INLINE unsigned misalignment(const T* p) {
  return static_cast<unsigned>(reinterpret_cast<uintptr_t>(p) % 16u);
}

/// Loads 16 bytes from a 16-byte-aligned address. On the host (the CPU
/// emulation test) it checks the alignment the GPU needs and copies with
/// memcpy, as no Pack object lives at that address.
template <typename T>
RQ_INLINE Pack<T> load_pack(const T* p) {
#ifdef __CUDA_ARCH__
  return *reinterpret_cast<const Pack<T>*>(p);
#else
  TORCH_INTERNAL_ASSERT(misalignment(p) == 0, "misaligned 16-byte load");
  Pack<T> pack;
  std::memcpy(&pack, p, sizeof(pack));
  return pack;
#endif
}

/// Stores 16 bytes to a 16-byte-aligned address.
template <typename T>
RQ_INLINE void store_pack(T* p, const Pack<T>& pack) {
#ifdef __CUDA_ARCH__
  *reinterpret_cast<Pack<T>*>(p) = pack;
#else
  TORCH_INTERNAL_ASSERT(misalignment(p) == 0, "misaligned 16-byte store");
  std::memcpy(p, &pack, sizeof(pack));
#endif
}

/// Thread `tid` of `threads` applies `op` to its share of elements
/// [begin, end) of one slice (in: the slice's first input element; out:
/// its first output element, or nullptr to only read). A unit that is one
/// contiguous run, with input and output equally aligned, goes in 16-byte
/// packs between a scalar head and tail; any other layout element by
/// element. Either way each element is visited by exactly one thread.
template <typename T, typename Op>
RQ_INLINE void map_unit(int tid, int threads, const detail::RunLayout& layout,
                        int64_t begin, int64_t end, const T* in, T* out,
                        Op& op) {
  const bool write = out != nullptr;
  const bool one_run = layout.outer == 1 && layout.in.inner == 1 &&
                       (!write || layout.out.inner == 1);
  if (one_run) {
    const T* in_run = in + begin;
    T* out_run = write ? out + begin : nullptr;
    const unsigned skew = misalignment(in_run);
    if (skew % sizeof(T) == 0 && (!write || misalignment(out_run) == skew)) {
      constexpr int kLanes = Pack<T>::kSize;
      const int64_t count = end - begin;
      const int64_t head =
          std::min<int64_t>(count, ((16u - skew) % 16u) / sizeof(T));
      const int64_t packs = (count - head) / kLanes;
      const int64_t tail = head + packs * kLanes;
      for (int64_t i = tid; i < head; i += threads) {
        const T y = op(in_run[i]);
        if (write) out_run[i] = y;
      }
      for (int64_t i = tid; i < packs; i += threads) {
        const int64_t at = head + i * kLanes;
        Pack<T> pack = load_pack(in_run + at);
        for (int l = 0; l < kLanes; ++l) pack.v[l] = op(pack.v[l]);
        if (write) store_pack(out_run + at, pack);
      }
      for (int64_t i = tail + tid; i < count; i += threads) {
        const T y = op(in_run[i]);
        if (write) out_run[i] = y;
      }
      return;
    }
  }
  for (int64_t m = begin + tid; m < end; m += threads) {
    int64_t in_off, out_off;
    layout.offsets(m, &in_off, &out_off);
    const T y = op(in[in_off]);
    if (write) out[out_off] = y;
  }
}

/// Running min/max of the finite values an op sees; passes values through.
template <typename T, typename A>
struct MinMaxOp {
  A lo = std::numeric_limits<A>::infinity();   ///< smallest finite value
  A hi = -std::numeric_limits<A>::infinity();  ///< largest finite value

  /// Records x; returns it.
  RQ_INLINE T operator()(T x) {
    const A v = static_cast<A>(x);
    if (core::is_finite(v)) {
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
    return x;
  }
};

/// Pass 1, one thread: min/max of the finite values among its share of the
/// unit's elements. The block then reduces the threads' results (exact in
/// any order).
template <typename T, typename A>
RQ_INLINE MinMaxOp<T, A> min_max_unit(int tid, int threads, const T* in,
                                      const detail::RunLayout& layout,
                                      const UnitGrid& grid, int64_t unit) {
  const int64_t s = unit / grid.chunks, j = unit % grid.chunks;
  const T* base = in + (s / grid.channels) * layout.in.sample +
                  (s % grid.channels) * layout.in.channel;
  MinMaxOp<T, A> op;
  map_unit<T>(tid, threads, layout, grid.chunk_begin(j),
              grid.chunk_begin(j + 1), base, static_cast<T*>(nullptr), op);
  return op;
}

/// What every thread of a pass-2 block derives alike, without shared
/// memory: the slice's finite min/max (folded over its units), its number
/// of regions and whether it is quantized.
template <typename A>
struct SliceHeader {
  A lo;           ///< finite min (+0 for -0), +inf when there is none
  A hi;           ///< finite max (+0 for -0), -inf when there is none
  int regions;    ///< R (1 for a slice without finite values)
  bool quantize;  ///< finite values and the sample's coin says so
};

/// The header of slice s (see SliceHeader).
template <typename A>
RQ_INLINE SliceHeader<A> slice_header(int64_t s, const A* unit_lo,
                                      const A* unit_hi, const UnitGrid& grid,
                                      uint64_t key,
                                      const core::SliceConfig& cfg, double p) {
  A lo = std::numeric_limits<A>::infinity(), hi = -lo;
  for (int64_t j = 0; j < grid.chunks; ++j) {
    const A l = unit_lo[s * grid.chunks + j], h = unit_hi[s * grid.chunks + j];
    lo = l < lo ? l : lo;
    hi = h > hi ? h : hi;
  }
  lo = lo + A(0);  // -0 becomes +0, as on the CPU
  hi = hi + A(0);
  const bool has_finite = lo <= hi;
  core::PhiloxStream rng(key, static_cast<uint64_t>(s), core::Stream::kSlice);
  const int regions = has_finite ? core::slice_regions(rng, cfg) : 1;
  const bool applied =
      core::sample_applied(key, static_cast<uint64_t>(s / grid.channels), p);
  return SliceHeader<A>{lo, hi, regions, has_finite && applied};
}

/// Pass 2, phase 1 (one block per unit; phases end at a block barrier):
/// thread tid draws cut points tid, tid + threads, ... of slice s, unsorted.
template <typename A>
RQ_INLINE void draw_cuts_phase(int tid, int threads, uint64_t key, int64_t s,
                               const SliceHeader<A>& h,
                               const core::SliceConfig& cfg, A* draws) {
  core::PhiloxStream rng(key, static_cast<uint64_t>(s), core::Stream::kSlice);
  for (int k = tid; k < h.regions - 1; k += threads) {
    draws[k] = core::cut_point(rng, k, h.regions, h.lo, h.hi, cfg);
  }
}

/// Phase 2: a rank sort. Thread tid places draws tid, tid + threads, ... at
/// their rank (smaller values, then equal ones drawn earlier), so `cuts`
/// holds the same sorted array as any other sort.
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

/// Phase 3: thread tid computes proxies tid, tid + threads, ... from the
/// sorted cut points, as core::fill_slice_params does.
template <typename T, typename A>
RQ_INLINE void proxies_phase(int tid, int threads, uint64_t key, int64_t s,
                             const SliceHeader<A>& h,
                             const core::SliceConfig& cfg, const A* cuts,
                             T* proxies) {
  core::PhiloxStream rng(key, static_cast<uint64_t>(s), core::Stream::kSlice);
  for (int j = tid; j < h.regions; j += threads) {
    const A left = j == 0 ? h.lo : cuts[j - 1];
    const A right = j == h.regions - 1 ? h.hi : cuts[j];
    proxies[j] =
        core::to_element<T>(core::proxy_value(rng, j, left, right, cfg));
  }
}

/// Pass 2 visits units last to first: the units pass 1 read last are the
/// likeliest to be still in L2.
RQ_INLINE int64_t pass2_unit(int64_t block, int64_t units) {
  return units - 1 - block;
}

/// Region lookup for R <= kRegisterCuts + 1: the cut points in registers
/// (+inf past the last), the region the count of cut points <= v.
template <typename A>
struct RegisterLookup {
  A cuts[kRegisterCuts];  ///< cut points, +inf padded

  /// Copies the n_cuts sorted cut points at `row`.
  RQ_INLINE RegisterLookup(const A* row, int n_cuts) {
    for (int k = 0; k < kRegisterCuts; ++k) {
      cuts[k] = k < n_cuts ? row[k] : std::numeric_limits<A>::infinity();
    }
  }

  /// Region of a finite v (ties go right, as core::region_of).
  RQ_INLINE int operator()(A v) const {
    int region = 0;
    for (int k = 0; k < kRegisterCuts; ++k) region += !(v < cuts[k]);
    return region;
  }
};

/// Region lookup for any R: binary search of the cut points.
template <typename A>
struct SearchLookup {
  const A* cuts;  ///< the slice's sorted cut points
  int n_cuts;     ///< how many

  /// Searches the n sorted cut points at `row`.
  RQ_INLINE SearchLookup(const A* row, int n) : cuts(row), n_cuts(n) {}

  /// Region of a finite v.
  RQ_INLINE int operator()(A v) const {
    return core::region_of(cuts, n_cuts, v);
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

/// Pass 2, last phase, one thread: writes its share of the unit's elements.
/// `cuts` and `proxies` are its slice's (shared memory on the GPU).
template <typename T, typename A, typename Lookup>
RQ_INLINE void write_unit(int tid, int threads, const T* in, T* out,
                          const detail::RunLayout& layout, const UnitGrid& grid,
                          int64_t unit, const A* cuts, const T* proxies,
                          int n_cuts, bool quantize) {
  const int64_t s = unit / grid.chunks, j = unit % grid.chunks;
  const int64_t n = s / grid.channels, c = s % grid.channels;
  const T* in_base = in + n * layout.in.sample + c * layout.in.channel;
  T* out_base = out + n * layout.out.sample + c * layout.out.channel;
  // An unquantized slice copies: its rows were not staged, so not read.
  WriteOp<T, A, Lookup> op{Lookup(cuts, quantize ? n_cuts : 0), proxies,
                           quantize};
  map_unit<T>(tid, threads, layout, grid.chunk_begin(j),
              grid.chunk_begin(j + 1), in_base, out_base, op);
}

}  // namespace cuda
}  // namespace randquant
