#pragma once
/// \file
/// Per-run dispatch of the CPU kernel: the AVX2 loops where the CPU has them
/// and the run is contiguous float32 or uint8, the portable loops otherwise.

#include <cstdint>

#include "randquant/cpu/scalar_runs.h"

namespace randquant {
namespace cpu {

/// Running min/max of finite values over one run.
template <typename T, typename A = core::acc_type<T>>
inline void min_max_run(const T* in, int64_t stride, int64_t n, A* lo, A* hi) {
  min_max_run_scalar(in, stride, n, lo, hi);
}

/// proxy[region(x)] (finite x) or x over one run.
template <typename T>
inline void quantize_run(const T* in, int64_t in_stride, T* out,
                         int64_t out_stride, int64_t n,
                         const SliceLookup<T>& lk) {
  quantize_run_scalar(in, in_stride, out, out_stride, n, lk);
}

}  // namespace cpu
}  // namespace randquant
