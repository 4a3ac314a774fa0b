#pragma once
/// \file
/// The per-slice parameters of a call: what was drawn and what each slice
/// was quantized with. Built on the host from per-slice min/max by the
/// shared per-slice math (core/slice_math.h).

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <cstdint>
#include <limits>

#include "randquant/core/slice_math.h"
#include "randquant/options.h"

namespace randquant {

/// Everything one call drew and computed, per slice (sample n, channel c).
/// All tensors are on the CPU. `acc` below is float64 for float64, int32 and
/// int64 inputs, float32 otherwise (core::acc_type). A slice without finite
/// values has regions = 0, no cut points (+inf) and no proxies (0), and is
/// not quantized; a slice whose sample's coin said no keeps its drawn R,
/// cut points and proxies but is not quantized either.
struct QuantizationParams {
  uint64_t key = 0;    ///< the call's Philox key
  at::Tensor lo;       ///< (N, C) acc: min over the slice's finite values
  at::Tensor hi;       ///< (N, C) acc: max over the slice's finite values
  at::Tensor regions;  ///< (N, C) int64: R of each slice (0: no finite value)
  at::Tensor cuts;     ///< (N, C, Rmax - 1) acc: sorted cut points, +inf padded
  at::Tensor proxies;  ///< (N, C, Rmax) x's dtype: region proxies, 0 padded
  at::Tensor applied;  ///< (N) bool: the sample's coin came up (prob. p)
  /// (N, C) bool: applied and the slice has a finite value.
  at::Tensor quantized;
};

/// Dtype of the per-slice arithmetic for inputs of dtype `dtype`: the
/// ScalarType of core::acc_type, the one definition.
inline at::ScalarType accumulate_dtype(at::ScalarType dtype) {
  at::ScalarType acc = at::kFloat;
  AT_DISPATCH_ALL_TYPES_AND2(
      at::kHalf, at::kBFloat16, dtype, "accumulate_dtype",
      [&] { acc = c10::CppTypeToScalarType<core::acc_type<scalar_t>>::value; });
  return acc;
}

/// Largest R any slice of a call can have.
inline int64_t max_slice_regions(const RandomizedQuantizationOptions& options) {
  return options.max_regions() > options.regions() ? options.max_regions()
                                                   : options.regions();
}

/// The per-slice settings of `options` for the shared math.
inline core::SliceConfig slice_config(
    const RandomizedQuantizationOptions& options) {
  return core::SliceConfig{static_cast<int>(options.regions()),
                           static_cast<int>(options.max_regions()),
                           options.spacing(), options.collapse()};
}

namespace detail {

/// Per-slice math for every slice of (lo, hi) on the CPU, in parallel.
template <typename T>
void fill_params_cpu(QuantizationParams& params,
                     const RandomizedQuantizationOptions& options) {
  using A = core::acc_type<T>;
  const int64_t samples = params.lo.size(0);
  const int64_t channels = params.lo.size(1);
  const int64_t rmax = max_slice_regions(options);
  const core::SliceConfig cfg = slice_config(options);
  const uint64_t key = params.key;
  const double p = options.p();

  bool* applied = params.applied.data_ptr<bool>();
  for (int64_t n = 0; n < samples; ++n) {
    applied[n] = core::sample_applied(key, static_cast<uint64_t>(n), p);
  }
  A* lo = params.lo.data_ptr<A>();
  A* hi = params.hi.data_ptr<A>();
  int64_t* regions = params.regions.data_ptr<int64_t>();
  A* cuts = params.cuts.data_ptr<A>();
  T* proxies = params.proxies.data_ptr<T>();
  bool* quantized = params.quantized.data_ptr<bool>();
  // A slice costs O(R log R); keep ~1024 slices per task for small R.
  const int64_t grain = std::max<int64_t>(1, 4096 / (rmax + 1));
  at::parallel_for(0, samples * channels, grain, [&](int64_t b, int64_t e) {
    for (int64_t s = b; s < e; ++s) {
      const core::SliceHeader<A> header =
          core::slice_header(key, static_cast<uint64_t>(s), lo[s], hi[s], cfg,
                             applied[s / channels]);
      lo[s] = header.lo;
      hi[s] = header.hi;
      regions[s] = header.regions;
      quantized[s] = header.quantize;
      A* row_cuts = cuts + s * (rmax - 1);
      T* row_proxies = proxies + s * rmax;
      if (header.regions > 0) {
        core::fill_slice_params<T>(key, static_cast<uint64_t>(s), header, cfg,
                                   row_cuts, row_proxies);
      }
      const int64_t filled = header.regions;
      for (int64_t k = filled > 0 ? filled - 1 : 0; k < rmax - 1; ++k) {
        row_cuts[k] = std::numeric_limits<A>::infinity();
      }
      for (int64_t j = filled; j < rmax; ++j) row_proxies[j] = T(0);
    }
  });
}

/// Parameters of a call from its per-slice min/max (`lo`, `hi`: (N, C) CPU
/// tensors of the accumulate dtype; lo > hi marks a slice without finite
/// values) and its key. Takes ownership of lo and hi.
inline QuantizationParams make_params(
    at::Tensor lo, at::Tensor hi, uint64_t key,
    const RandomizedQuantizationOptions& options, at::ScalarType dtype) {
  const int64_t samples = lo.size(0);
  const int64_t channels = lo.size(1);
  const int64_t rmax = max_slice_regions(options);
  const auto cpu = at::TensorOptions().device(at::kCPU);
  QuantizationParams params;
  params.key = key;
  params.lo = std::move(lo);
  params.hi = std::move(hi);
  params.regions = at::empty({samples, channels}, cpu.dtype(at::kLong));
  params.cuts = at::empty({samples, channels, rmax - 1},
                          cpu.dtype(accumulate_dtype(dtype)));
  params.proxies = at::empty({samples, channels, rmax}, cpu.dtype(dtype));
  params.applied = at::empty({samples}, cpu.dtype(at::kBool));
  params.quantized = at::empty({samples, channels}, cpu.dtype(at::kBool));
  AT_DISPATCH_ALL_TYPES_AND2(
      at::kHalf, at::kBFloat16, dtype, "randquant_params",
      [&] { fill_params_cpu<scalar_t>(params, options); });
  return params;
}

}  // namespace detail
}  // namespace randquant
