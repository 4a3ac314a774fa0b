#pragma once
/// \file
/// CPU specialization of the fused functor: pass 1 finds each slice's
/// min/max over finite values, the shared per-slice math makes the
/// parameters, pass 2 writes proxy[region(x)]. Work is split into units of
/// (slice, chunk), so a few large slices still use every thread; results do
/// not depend on the split.

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "randquant/cpu/runs.h"
#include "randquant/cpu/slice_lookup.h"
#include "randquant/detail/geometry.h"
#include "randquant/detail/run_layout.h"
#include "randquant/functor.h"
#include "randquant/params.h"

namespace randquant {
namespace cpu {

using detail::RunLayout;

/// Smallest chunk of a slice worth a task of its own.
constexpr int64_t kMinChunk = 16384;

/// How a call's slices are cut into units of work.
struct WorkSplit {
  int64_t slices;      ///< N * C
  int64_t chunks;      ///< chunks per slice
  int64_t slice_size;  ///< elements per slice

  /// Units of work.
  int64_t units() const { return slices * chunks; }
  /// First element of chunk j.
  int64_t chunk_begin(int64_t j) const { return slice_size * j / chunks; }

  /// Enough units for every thread when slices are few and large.
  static WorkSplit make(int64_t slices, int64_t slice_size) {
    const int64_t threads = at::get_num_threads();
    const int64_t wanted = (4 * threads + slices - 1) / slices;
    const int64_t possible = std::max<int64_t>(1, slice_size / kMinChunk);
    return WorkSplit{slices, std::max<int64_t>(1, std::min(wanted, possible)),
                     slice_size};
  }
};

/// Runs f(begin, end) over ranges of units, in parallel when the tensor is
/// large.
template <typename F>
void parallel_units(const WorkSplit& split, F&& f) {
  const int64_t total = split.slices * split.slice_size;
  const int64_t grain =
      total < at::internal::GRAIN_SIZE ? split.units() : int64_t{1};
  at::parallel_for(0, split.units(), grain, f);
}

/// Pass 1: per-slice min/max over finite values as (N, C) tensors of the
/// accumulate dtype (lo > hi when a slice has no finite value).
template <typename T>
std::pair<at::Tensor, at::Tensor> slice_min_max(const T* in,
                                                const RunLayout& layout,
                                                const WorkSplit& split,
                                                int64_t channels,
                                                at::ScalarType acc_dtype) {
  using A = core::acc_type<T>;
  const A inf = std::numeric_limits<A>::infinity();
  std::vector<A> unit_lo(split.units(), inf), unit_hi(split.units(), -inf);
  parallel_units(split, [&](int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; ++u) {
      const int64_t s = u / split.chunks, j = u % split.chunks;
      const T* base = in + (s / channels) * layout.in.sample +
                      (s % channels) * layout.in.channel;
      layout.for_each_run(split.chunk_begin(j), split.chunk_begin(j + 1),
                          [&](int64_t in_off, int64_t, int64_t count) {
                            min_max_run(base + in_off, layout.in.inner, count,
                                        &unit_lo[u], &unit_hi[u]);
                          });
    }
  });
  at::Tensor lo = at::empty({split.slices / channels, channels},
                            at::TensorOptions().dtype(acc_dtype));
  at::Tensor hi = at::empty_like(lo);
  A* lo_ptr = lo.data_ptr<A>();
  A* hi_ptr = hi.data_ptr<A>();
  for (int64_t s = 0; s < split.slices; ++s) {
    A l = inf, h = -inf;
    for (int64_t j = 0; j < split.chunks; ++j) {
      l = std::min(l, unit_lo[s * split.chunks + j]);
      h = std::max(h, unit_hi[s * split.chunks + j]);
    }
    lo_ptr[s] = l;
    hi_ptr[s] = h;
  }
  return {lo, hi};
}

/// Pass 2: writes every unit of the output; each thread builds the lookup
/// of the slice it is about to write.
template <typename T>
void write_slices(const T* in, T* out, const RunLayout& layout,
                  const WorkSplit& split, int64_t channels,
                  const QuantizationParams& params) {
  parallel_units(split, [&](int64_t begin, int64_t end) {
    SliceLookupBuilder<T> builder(params);
    for (int64_t u = begin; u < end; ++u) {
      const int64_t s = u / split.chunks, j = u % split.chunks;
      const int64_t n = s / channels, c = s % channels;
      const T* in_base = in + n * layout.in.sample + c * layout.in.channel;
      T* out_base = out + n * layout.out.sample + c * layout.out.channel;
      const int64_t first = split.chunk_begin(j),
                    last = split.chunk_begin(j + 1);
      const SliceLookup<T>& lk = builder.build(s, split.slice_size);
      layout.for_each_run(
          first, last, [&](int64_t in_off, int64_t out_off, int64_t count) {
            if (lk.quantized) {
              quantize_run(in_base + in_off, layout.in.inner,
                           out_base + out_off, layout.out.inner, count, lk);
            } else {
              copy_run(in_base + in_off, layout.in.inner, out_base + out_off,
                       layout.out.inner, count);
            }
          });
    }
  });
}

/// The whole CPU computation on (N, C, rest...) views.
template <typename T>
void quantize_views(const at::Tensor& in_v, const at::Tensor& out_v,
                    const RunLayout& layout, uint64_t key,
                    const RandomizedQuantizationOptions& options) {
  const int64_t samples = in_v.size(0), channels = in_v.size(1);
  const WorkSplit split =
      WorkSplit::make(samples * channels, layout.slice_size());
  const T* in = in_v.data_ptr<T>();
  T* out = out_v.data_ptr<T>();
  auto min_max = slice_min_max(in, layout, split, channels,
                               accumulate_dtype(in_v.scalar_type()));
  QuantizationParams params =
      detail::make_params(std::move(min_max.first), std::move(min_max.second),
                          key, options, in_v.scalar_type());
  write_slices(in, out, layout, split, channels, params);
}

}  // namespace cpu

/// CPU specialization of the fused functor.
template <>
struct RandomizedQuantizeFunctor<c10::DeviceType::CPU> {
  /// Quantizes x (CPU) into a new tensor with x's shape, dtype and, for
  /// dense layouts, strides.
  at::Tensor operator()(const at::Tensor& x, const detail::Geometry& g,
                        const RandomizedQuantizationOptions& options,
                        const detail::CallKey& key) const {
    const detail::SliceViews views = detail::make_slice_views(x, g);
    AT_DISPATCH_ALL_TYPES_AND2(
        at::kHalf, at::kBFloat16, x.scalar_type(), "randquant_cpu", [&] {
          cpu::quantize_views<scalar_t>(views.in_v, views.out_v, views.layout,
                                        key.value(), options);
        });
    return views.out;
  }
};

}  // namespace randquant
