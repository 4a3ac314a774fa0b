#pragma once
/// \file
/// The host side of the parameter table (core/param_table.h): the writer
/// that runs the shared per-slice math for every slice from its min/max,
/// over the QuantizationParams tensors or over one byte buffer.

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

#include "randquant/core/param_table.h"
#include "randquant/core/slice_math.h"
#include "randquant/detail/threading.h"
#include "randquant/options.h"
#include "randquant/params.h"

namespace randquant {
namespace detail {

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

/// The table over the tensors of `params` (allocated by allocate_params()
/// for element type T): the same fields, widths and rows.
template <typename T>
core::ParamTable<T> table_of(const QuantizationParams& params) {
  using A = core::acc_type<T>;
  core::ParamTable<T> table;
  table.lo = params.lo.data_ptr<A>();
  table.hi = params.hi.data_ptr<A>();
  table.regions = params.regions.data_ptr<int64_t>();
  table.quantized = params.quantized.data_ptr<bool>();
  table.cuts = params.cuts.data_ptr<A>();
  table.proxies = params.proxies.data_ptr<T>();
  table.rmax = params.proxies.size(2);
  return table;
}

/// One call's parameters in one allocation, for a kernel that needs no
/// tensors of them: the table and the samples' coins, carved from one byte
/// buffer (CPU).
template <typename T>
struct ParamBuffer {
  at::Tensor bytes;           ///< owns the memory
  core::ParamTable<T> table;  ///< the slices' parameters
  bool* applied = nullptr;    ///< per sample: its coin came up

  /// Uninitialised parameters of `samples` x `channels` slices.
  static ParamBuffer allocate(int64_t samples, int64_t channels, int64_t rmax) {
    const int64_t slices = samples * channels;
    at::Tensor bytes = at::empty(
        {static_cast<int64_t>(core::ParamTable<T>::bytes(slices, rmax) +
                              core::padded_array_bytes<bool>(samples) + 16)},
        at::TensorOptions().dtype(at::kByte));
    unsigned char* base = bytes.data_ptr<uint8_t>();
    ParamBuffer buffer;
    buffer.bytes = std::move(bytes);
    base += (16 - reinterpret_cast<uintptr_t>(base) % 16) % 16;
    buffer.table = core::ParamTable<T>::carve(&base, slices, rmax);
    buffer.applied = core::take_array<bool>(&base, samples);
    return buffer;
  }
};

/// Writes the parameters of one call slice by slice into a table: the
/// sample coins first, then any slice whose lo/hi are known, in any order
/// and from any thread (each slice touches only its own rows).
template <typename T>
class ParamsWriter {
 public:
  using A = core::acc_type<T>;

  /// A writer into `table` and `applied` (one flag per sample) for
  /// `samples` x `channels` slices under `key`, or, when `sample_keys` is
  /// not null, under each sample's own key.
  ParamsWriter(const core::ParamTable<T>& table, bool* applied, int64_t samples,
               int64_t channels, uint64_t key, const int64_t* sample_keys,
               const RandomizedQuantizationOptions& options)
      : table_(table),
        applied_(applied),
        sample_keys_(sample_keys),
        key_(key),
        p_(options.p()),
        cfg_(slice_config(options)),
        channels_(channels),
        samples_(samples) {}

  /// A writer into the tensors of `params` (allocated by allocate_params()).
  ParamsWriter(const QuantizationParams& params,
               const RandomizedQuantizationOptions& options)
      : ParamsWriter(table_of<T>(params), params.applied.data_ptr<bool>(),
                     params.lo.size(0), params.lo.size(1), params.key,
                     params.sample_keys.defined()
                         ? params.sample_keys.data_ptr<int64_t>()
                         : nullptr,
                     options) {}

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

  /// Slice s from its min/max over finite values (lo > hi: none). Rows past
  /// R are padded (cut points +inf, proxies 0), as QuantizationParams says.
  void fill(int64_t s, A lo, A hi) const {
    const uint64_t key = slice_key(s), index = slice_index(s);
    const core::SliceHeader<A> header =
        core::slice_header(key, index, lo, hi, cfg_, applied_[s / channels_]);
    table_.set_header(s, header);
    A* row_cuts = table_.cut_row(s);
    T* row_proxies = table_.proxy_row(s);
    if (header.regions > 0) {
      core::fill_slice_params<T>(key, index, header, cfg_, row_cuts,
                                 row_proxies);
    }
    const int64_t filled = header.regions;
    const int64_t rmax = table_.rmax;
    for (int64_t k = filled > 0 ? filled - 1 : 0; k < rmax - 1; ++k) {
      row_cuts[k] = std::numeric_limits<A>::infinity();
    }
    for (int64_t j = filled; j < rmax; ++j) row_proxies[j] = T(0);
  }

  /// Slice s from the lo/hi already stored in its row.
  void fill(int64_t s) const { fill(s, table_.lo[s], table_.hi[s]); }

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
  int64_t grain() const {
    return std::max<int64_t>(1, 4096 / (table_.rmax + 1));
  }

 private:
  core::ParamTable<T> table_;
  bool* applied_;
  const int64_t* sample_keys_;
  uint64_t key_;
  double p_;
  core::SliceConfig cfg_;
  int64_t channels_, samples_;
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
