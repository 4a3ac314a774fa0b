#pragma once
/// \file
/// Per-run dispatch of the CPU kernel: for contiguous runs the AVX-512 loops
/// (float32 up to 15 cut points, one-byte dtypes with VBMI) or the AVX2
/// loops (float32, uint8) where the CPU has them, the portable loops
/// otherwise.

#include <cstdint>
#include <type_traits>

#include "randquant/cpu/avx2_runs.h"
#include "randquant/cpu/avx512_runs.h"
#include "randquant/cpu/scalar_runs.h"

namespace randquant {
namespace cpu {

/// Running min/max of finite values over one run.
template <typename T, typename A = core::acc_type<T>>
inline void min_max_run(const T* in, int64_t stride, int64_t count, A* lo,
                        A* hi) {
#if RANDQUANT_HAS_X86_SIMD
  if (stride == 1 && avx2::available()) {
    if constexpr (std::is_same<T, float>::value) {
      if (avx512::float_available()) {
        return avx512::min_max_f32(in, count, lo, hi);
      }
      return avx2::min_max_f32(in, count, lo, hi);
    } else if constexpr (std::is_same<T, uint8_t>::value) {
      return avx2::min_max_u8(in, count, lo, hi);
    }
  }
#endif
  min_max_run_scalar(in, stride, count, lo, hi);
}

/// proxy[region(x)] (finite x) or x over one run of a quantized slice: the
/// loop for lk.kind that this run's strides and this CPU allow.
template <typename T>
inline void quantize_run(const T* in, int64_t in_stride, T* out,
                         int64_t out_stride, int64_t count,
                         const SliceLookup<T>& lk) {
#if RANDQUANT_HAS_X86_SIMD
  if constexpr (std::is_same<T, float>::value) {
    if (in_stride == 1 && out_stride == 1 && avx2::available()) {
      // lk.kind is kCount, kRegister16 (AVX-512 only) or kBuckets.
      const bool buckets = lk.kind == Lookup::kBuckets;
      if (avx512::float_available()) {
        return buckets ? avx512::quantize_f32_buckets(in, out, count, lk)
                       : avx512::quantize_f32_register(in, out, count, lk);
      }
      return buckets ? avx2::quantize_f32_buckets(in, out, count, lk)
                     : avx2::quantize_f32_small(in, out, count, lk);
    }
  } else if constexpr (kByteTable<T>) {
    if (in_stride == 1 && out_stride == 1) {
      if (avx512::vbmi_available()) {
        return avx512::quantize_bytes_vbmi(in, out, count, lk);
      }
      if constexpr (std::is_same<T, uint8_t>::value) {
        if (avx2::available()) {
          return lk.n_cuts <= avx2::kShuffleMaxCuts
                     ? avx2::quantize_u8_small(in, out, count, lk)
                     : avx2::quantize_u8_table(in, out, count, lk);
        }
      }
    }
  }
#endif
  quantize_run_scalar(in, in_stride, out, out_stride, count, lk);
}

}  // namespace cpu
}  // namespace randquant
