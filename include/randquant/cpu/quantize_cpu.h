#pragma once
/// \file
/// CPU specialization of the fused functor: pass 1 finds each slice's
/// min/max over finite values, the shared per-slice math makes the
/// parameters, pass 2 writes proxy[region(x)]. Work is split into units
/// (core/work_units.h), so a few large slices still use every thread;
/// results do not depend on the split.

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "randquant/core/work_units.h"
#include "randquant/cpu/runs.h"
#include "randquant/cpu/slice_lookup.h"
#include "randquant/detail/generator.h"
#include "randquant/detail/geometry.h"
#include "randquant/detail/slice_views.h"
#include "randquant/functor.h"
#include "randquant/params.h"

namespace randquant {
namespace cpu {

/// Runs f(begin, end) over ranges of units, in parallel when the tensor is
/// large.
template <typename F>
void parallel_units(const core::UnitGrid& grid, F&& f) {
  const int64_t total = grid.slices * grid.slice_size;
  const int64_t grain =
      total < at::internal::GRAIN_SIZE ? grid.units() : int64_t{1};
  at::parallel_for(0, grid.units(), grain, f);
}

/// Pass 1: per-slice min/max over finite values as (N, C) tensors of the
/// accumulate dtype (lo > hi when a slice has no finite value).
template <typename T>
std::pair<at::Tensor, at::Tensor> slice_min_max(const T* in,
                                                const core::RunLayout& layout,
                                                const core::UnitGrid& grid) {
  using A = core::acc_type<T>;
  const A inf = std::numeric_limits<A>::infinity();
  std::vector<A> unit_lo(grid.units(), inf), unit_hi(grid.units(), -inf);
  parallel_units(grid, [&](int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; ++u) {
      const core::Unit unit = grid.unit(u, layout);
      const T* base = in + unit.in_offset;
      layout.for_each_run(unit.begin, unit.end,
                          [&](int64_t in_off, int64_t, int64_t count) {
                            min_max_run(base + in_off, layout.in.inner, count,
                                        &unit_lo[u], &unit_hi[u]);
                          });
    }
  });
  at::Tensor lo =
      at::empty({grid.slices / grid.channels, grid.channels},
                at::TensorOptions().dtype(c10::CppTypeToScalarType<A>::value));
  at::Tensor hi = at::empty_like(lo);
  A* lo_ptr = lo.data_ptr<A>();
  A* hi_ptr = hi.data_ptr<A>();
  for (int64_t s = 0; s < grid.slices; ++s) {
    A l = inf, h = -inf;
    for (int64_t j = 0; j < grid.chunks; ++j) {
      l = std::min(l, unit_lo[s * grid.chunks + j]);
      h = std::max(h, unit_hi[s * grid.chunks + j]);
    }
    lo_ptr[s] = l;
    hi_ptr[s] = h;
  }
  return {lo, hi};
}

/// Pass 2: writes every unit of the output; each thread builds the lookup
/// of the slice it is about to write.
template <typename T>
void write_slices(const T* in, T* out, const core::RunLayout& layout,
                  const core::UnitGrid& grid,
                  const QuantizationParams& params) {
  parallel_units(grid, [&](int64_t begin, int64_t end) {
    SliceLookupBuilder<T> builder(params);
    for (int64_t u = begin; u < end; ++u) {
      const core::Unit unit = grid.unit(u, layout);
      const T* in_base = in + unit.in_offset;
      T* out_base = out + unit.out_offset;
      const SliceLookup<T>& lookup = builder.build(unit.slice, grid.slice_size);
      layout.for_each_run(
          unit.begin, unit.end,
          [&](int64_t in_off, int64_t out_off, int64_t count) {
            if (lookup.quantized) {
              quantize_run(in_base + in_off, layout.in.inner,
                           out_base + out_off, layout.out.inner, count, lookup);
            } else {
              copy_run(in_base + in_off, layout.in.inner, out_base + out_off,
                       layout.out.inner, count);
            }
          });
    }
  });
}

/// The whole CPU computation on (N, C, rest...) views. Not declared
/// inline: with randquant::compiled linked, its instantiations live in that
/// library (detail/compiled_instantiations.h) and callers' translation
/// units skip them.
template <typename T>
void quantize_views(const detail::SliceViews& views, uint64_t key,
                    const RandomizedQuantizationOptions& options) {
  const core::UnitGrid grid = core::UnitGrid::for_threads(
      views.in_v.size(0) * views.in_v.size(1), views.in_v.size(1),
      views.layout.slice_size(), at::get_num_threads());
  const T* in = views.in_v.data_ptr<T>();
  T* out = views.out_v.data_ptr<T>();
  auto min_max = slice_min_max(in, views.layout, grid);
  const QuantizationParams params =
      detail::make_params(std::move(min_max.first), std::move(min_max.second),
                          key, options, views.in_v.scalar_type());
  write_slices(in, out, views.layout, grid, params);
}

}  // namespace cpu

/// CPU specialization of the fused functor.
template <>
struct RandomizedQuantizeFunctor<c10::DeviceType::CPU> {
  /// Quantizes x (CPU) into a new tensor with x's shape, dtype and, for
  /// dense layouts, strides.
  at::Tensor operator()(const at::Tensor& x, const detail::Geometry& geometry,
                        const RandomizedQuantizationOptions& options,
                        const detail::CallKey& key) const {
    const detail::SliceViews views = detail::make_slice_views(x, geometry);
    AT_DISPATCH_ALL_TYPES_AND2(
        at::kHalf, at::kBFloat16, x.scalar_type(), "randquant_cpu",
        [&] { cpu::quantize_views<scalar_t>(views, key.value(), options); });
    return views.out;
  }
};

}  // namespace randquant
