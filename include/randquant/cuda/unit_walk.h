#pragma once
/// \file
/// How one thread of a CUDA block walks its share of a unit, as plain
/// host+device C++: 16-byte packs where the unit is one dense run, element
/// by element otherwise.

#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "randquant/core/macros.h"
#include "randquant/core/work_units.h"

namespace randquant {
namespace cuda {

/// 16 bytes of T: one vector load or store.
template <typename T>
struct alignas(16) Pack {
  static constexpr int kSize = 16 / static_cast<int>(sizeof(T));  ///< lanes
  T v[kSize];                                                     ///< lanes
};

/// Byte offset of p within its 16-byte line.
template <typename T>
RANDQUANT_INLINE unsigned misalignment(const T* p) {
  return static_cast<unsigned>(reinterpret_cast<uintptr_t>(p) % 16u);
}

/// Loads 16 bytes from a 16-byte-aligned address. On the host (the CPU
/// emulation test) it checks the alignment the GPU needs and copies with
/// memcpy, as no Pack object lives at that address.
template <typename T>
RANDQUANT_INLINE Pack<T> load_pack(const T* p) {
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
RANDQUANT_INLINE void store_pack(T* p, const Pack<T>& pack) {
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
/// Writing walks the packs last to first: the min/max pass read the unit
/// first to last, so its end is the likeliest part to be still in L2.
template <typename T, typename Op>
RANDQUANT_INLINE void map_unit(int tid, int threads,
                               const core::RunLayout& layout, int64_t begin,
                               int64_t end, const T* in, T* out, Op& op) {
  const bool write = out != nullptr;
  if (layout.one_run(write)) {
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
        const int64_t at = head + (write ? packs - 1 - i : i) * kLanes;
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

}  // namespace cuda
}  // namespace randquant
