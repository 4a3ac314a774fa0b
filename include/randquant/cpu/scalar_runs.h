#pragma once
/// \file
/// Portable per-run loops of the CPU kernel: min/max over finite values and
/// the write of proxy[region(x)]. Any dtype, any stride.

#include <cstdint>
#include <type_traits>

#include "randquant/core/slice_math.h"
#include "randquant/cpu/slice_lookup.h"

namespace randquant {
namespace cpu {

/// Folds count elements (stride `stride`) into the running min/max of finite
/// values, in the accumulate type.
template <typename T, typename A = core::acc_type<T>>
inline void min_max_run_scalar(const T* in, int64_t stride, int64_t count,
                               A* lo, A* hi) {
  if constexpr (std::is_integral<T>::value) {
    if (count == 0) return;
    T l = in[0], h = in[0];
    for (int64_t i = 1; i < count; ++i) {
      const T v = in[i * stride];
      l = v < l ? v : l;
      h = v > h ? v : h;
    }
    *lo = static_cast<A>(l) < *lo ? static_cast<A>(l) : *lo;
    *hi = static_cast<A>(h) > *hi ? static_cast<A>(h) : *hi;
  } else {
    A l = *lo, h = *hi;
    for (int64_t i = 0; i < count; ++i) {
      const A v = static_cast<A>(in[i * stride]);
      if (core::is_finite(v)) {
        l = v < l ? v : l;
        h = v > h ? v : h;
      }
    }
    *lo = l;
    *hi = h;
  }
}

/// Writes count outputs: proxy[region(x)] for finite x, x otherwise.
template <typename T>
inline void quantize_run_scalar(const T* in, int64_t in_stride, T* out,
                                int64_t out_stride, int64_t count,
                                const SliceLookup<T>& lk) {
  using A = core::acc_type<T>;
  if constexpr (kByteTable<T>) {
    for (int64_t i = 0; i < count; ++i) {
      out[i * out_stride] =
          lk.byte_table[static_cast<uint8_t>(in[i * in_stride])];
    }
  } else {
    for (int64_t i = 0; i < count; ++i) {
      const T x = in[i * in_stride];
      const A v = static_cast<A>(x);
      out[i * out_stride] = core::is_finite(v) ? lk.proxies[lk.region(v)] : x;
    }
  }
}

/// Copies count elements unchanged, bit for bit.
template <typename T>
inline void copy_run(const T* in, int64_t in_stride, T* out, int64_t out_stride,
                     int64_t count) {
  if (in_stride == 1 && out_stride == 1) {
    std::memcpy(static_cast<void*>(out), static_cast<const void*>(in),
                static_cast<size_t>(count) * sizeof(T));
    return;
  }
  for (int64_t i = 0; i < count; ++i) out[i * out_stride] = in[i * in_stride];
}

}  // namespace cpu
}  // namespace randquant
