#pragma once
/// \file
/// The per-slice parameters of a call: what was drawn and what each slice
/// was quantized with. Built on the host from per-slice min/max by the
/// shared per-slice math (core/slice_math.h).

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <limits>

#include "randquant/core/slice_math.h"
#include "randquant/detail/threading.h"
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
  /// (N) int64, sample-keyed calls only: the key of each sample, under
  /// which its slices draw with index = channel (undefined otherwise).
  at::Tensor sample_keys;
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

/// Writes the parameters of one call slice by slice: the sample coins
/// first, then any slice whose lo/hi are known, in any order and from any
/// thread (each slice touches only its own rows).
template <typename T>
class ParamsWriter {
 public:
  using A = core::acc_type<T>;

  /// A writer into `params` (allocated by allocate_params()).
  ParamsWriter(const QuantizationParams& params,
               const RandomizedQuantizationOptions& options)
      : key_(params.key),
        p_(options.p()),
        cfg_(slice_config(options)),
        channels_(params.lo.size(1)),
        rmax_(max_slice_regions(options)),
        samples_(params.lo.size(0)),
        lo_(params.lo.data_ptr<A>()),
        hi_(params.hi.data_ptr<A>()),
        regions_(params.regions.data_ptr<int64_t>()),
        cuts_(params.cuts.data_ptr<A>()),
        proxies_(params.proxies.data_ptr<T>()),
        applied_(params.applied.data_ptr<bool>()),
        quantized_(params.quantized.data_ptr<bool>()),
        sample_keys_(params.sample_keys.defined()
                         ? params.sample_keys.data_ptr<int64_t>()
                         : nullptr) {}

  /// Draws every sample's coin (before any fill()): under the call's key
  /// with index n, or under sample n's own key with index 0.
  void draw_coins() const {
    for (int64_t n = 0; n < samples_; ++n) {
      applied_[n] =
          sample_keys_ != nullptr
              ? core::sample_applied(static_cast<uint64_t>(sample_keys_[n]), 0,
                                     p_)
              : core::sample_applied(key_, static_cast<uint64_t>(n), p_);
    }
  }

  /// Key of the Philox streams of slice s.
  uint64_t slice_key(int64_t s) const {
    return sample_keys_ != nullptr
               ? static_cast<uint64_t>(sample_keys_[s / channels_])
               : key_;
  }

  /// Index of the Philox streams of slice s: s, or its channel when keyed
  /// per sample.
  uint64_t slice_index(int64_t s) const {
    return static_cast<uint64_t>(sample_keys_ != nullptr ? s % channels_ : s);
  }

  /// Slice s from its min/max over finite values (lo > hi: none).
  void fill(int64_t s, A lo, A hi) const {
    const uint64_t key = slice_key(s), index = slice_index(s);
    const core::SliceHeader<A> header =
        core::slice_header(key, index, lo, hi, cfg_, applied_[s / channels_]);
    lo_[s] = header.lo;
    hi_[s] = header.hi;
    regions_[s] = header.regions;
    quantized_[s] = header.quantize;
    A* row_cuts = cuts_ + s * (rmax_ - 1);
    T* row_proxies = proxies_ + s * rmax_;
    if (header.regions > 0) {
      core::fill_slice_params<T>(key, index, header, cfg_, row_cuts,
                                 row_proxies);
    }
    const int64_t filled = header.regions;
    for (int64_t k = filled > 0 ? filled - 1 : 0; k < rmax_ - 1; ++k) {
      row_cuts[k] = std::numeric_limits<A>::infinity();
    }
    for (int64_t j = filled; j < rmax_; ++j) row_proxies[j] = T(0);
  }

  /// Slice s from the lo/hi already stored in its row.
  void fill(int64_t s) const { fill(s, lo_[s], hi_[s]); }

  /// Every slice from the lo/hi in its row, in parallel (after
  /// draw_coins()).
  void fill_all() const {
    kernel_parallel_for(0, slices(), grain(), [&](int64_t begin, int64_t end) {
      for (int64_t s = begin; s < end; ++s) fill(s);
    });
  }

  /// Slices of the call.
  int64_t slices() const { return samples_ * channels_; }

  /// Slices per parallel task that keep the O(R log R) per-slice cost
  /// worth a task (~1024 slices at small R).
  int64_t grain() const { return std::max<int64_t>(1, 4096 / (rmax_ + 1)); }

 private:
  uint64_t key_;
  double p_;
  core::SliceConfig cfg_;
  int64_t channels_, rmax_, samples_;
  A* lo_;
  A* hi_;
  int64_t* regions_;
  A* cuts_;
  T* proxies_;
  bool* applied_;
  bool* quantized_;
  const int64_t* sample_keys_;
};

/// Per-slice math for every slice of (lo, hi) on the CPU, in parallel.
template <typename T>
void fill_params_cpu(QuantizationParams& params,
                     const RandomizedQuantizationOptions& options) {
  const ParamsWriter<T> writer(params, options);
  writer.draw_coins();
  writer.fill_all();
}

/// The tensors of a call's parameters for `samples` x `channels` slices of
/// dtype `dtype`, uninitialised; lo and hi are allocated unless given.
inline QuantizationParams allocate_params(
    int64_t samples, int64_t channels, uint64_t key,
    const RandomizedQuantizationOptions& options, at::ScalarType dtype,
    at::Tensor lo = {}, at::Tensor hi = {}, at::Tensor sample_keys = {}) {
  const int64_t rmax = max_slice_regions(options);
  const auto cpu = at::TensorOptions().device(at::kCPU);
  const auto acc = cpu.dtype(accumulate_dtype(dtype));
  QuantizationParams params;
  params.key = key;
  params.lo =
      lo.defined() ? std::move(lo) : at::empty({samples, channels}, acc);
  params.hi =
      hi.defined() ? std::move(hi) : at::empty({samples, channels}, acc);
  params.regions = at::empty({samples, channels}, cpu.dtype(at::kLong));
  params.cuts = at::empty({samples, channels, rmax - 1}, acc);
  params.proxies = at::empty({samples, channels, rmax}, cpu.dtype(dtype));
  params.applied = at::empty({samples}, cpu.dtype(at::kBool));
  params.quantized = at::empty({samples, channels}, cpu.dtype(at::kBool));
  params.sample_keys = std::move(sample_keys);
  return params;
}

/// Parameters of a call from its per-slice min/max (`lo`, `hi`: (N, C) CPU
/// tensors of the accumulate dtype; lo > hi marks a slice without finite
/// values) and its key (or, `sample_keys` defined, its per-sample keys).
/// Takes ownership of lo and hi.
inline QuantizationParams make_params(
    at::Tensor lo, at::Tensor hi, uint64_t key,
    const RandomizedQuantizationOptions& options, at::ScalarType dtype,
    at::Tensor sample_keys = {}) {
  const int64_t samples = lo.size(0);
  const int64_t channels = lo.size(1);
  QuantizationParams params =
      allocate_params(samples, channels, key, options, dtype, std::move(lo),
                      std::move(hi), std::move(sample_keys));
  AT_DISPATCH_ALL_TYPES_AND2(
      at::kHalf, at::kBFloat16, dtype, "randquant_params",
      [&] { fill_params_cpu<scalar_t>(params, options); });
  return params;
}

}  // namespace detail
}  // namespace randquant
