#pragma once
/// \file
/// CPU specialization of the fused functor. Per slice: min/max over finite
/// values, the shared per-slice math makes the parameters, then every
/// element becomes proxy[region(x)]. Slices that fit in L2 are done
/// slice-locally (input read from memory once); larger ones in two passes
/// over units (core/work_units.h), so a few large slices still use every
/// thread. Results do not depend on the path or the split.

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "randquant/core/work_units.h"
#include "randquant/cpu/runs.h"
#include "randquant/cpu/slice_lookup.h"
#include "randquant/detail/backend.h"
#include "randquant/detail/generator.h"
#include "randquant/detail/geometry.h"
#include "randquant/detail/param_table.h"
#include "randquant/detail/slice_views.h"
#include "randquant/detail/threading.h"

namespace randquant {
namespace cpu {

/// A slice of at most this many bytes is quantized slice-locally: one
/// thread finds its min/max, makes its parameters and writes it while it is
/// still in that core's L2 (with room for the output's lines), so the input
/// is read from memory once. A 224 x 224 float32 slice is 196 KB.
constexpr int64_t kSliceLocalBytes = int64_t{512} << 10;

/// Runs f(begin, end) over ranges of [0, items), in parallel when the
/// tensor (`elements` in all) is large enough to pay for threads.
template <typename F>
void parallel_items(int64_t items, int64_t elements, F&& f) {
  const int64_t grain = elements < at::internal::GRAIN_SIZE ? items : 1;
  detail::kernel_parallel_for(0, items, grain, std::forward<F>(f));
}

/// Running min/max of the finite values among elements [begin, end) of the
/// slice starting at `base`.
template <typename T, typename A = core::acc_type<T>>
void min_max_elements(const T* base, const core::RunLayout& layout,
                      int64_t begin, int64_t end, A* lo, A* hi) {
  layout.for_each_run(begin, end, [&](int64_t in_off, int64_t, int64_t count) {
    min_max_run(base + in_off, layout.in.inner, count, lo, hi);
  });
}

/// Writes elements [begin, end) of one slice: proxy[region(x)], or x when
/// the slice is not quantized.
template <typename T>
void write_elements(const T* in_base, T* out_base,
                    const core::RunLayout& layout, int64_t begin, int64_t end,
                    const SliceLookup<T>& lookup) {
  layout.for_each_run(
      begin, end, [&](int64_t in_off, int64_t out_off, int64_t count) {
        if (lookup.kind == Lookup::kCopy) {
          if (in_base + in_off != out_base + out_off ||
              layout.in.inner != layout.out.inner) {
            copy_run(in_base + in_off, layout.in.inner, out_base + out_off,
                     layout.out.inner, count);
          }
          return;
        }
        quantize_run(in_base + in_off, layout.in.inner, out_base + out_off,
                     layout.out.inner, count, lookup);
      });
}

/// Slices that fit in L2, each whole slice one unit: every thread takes
/// whole slices and does min/max, parameters and write back to back.
template <typename T>
void quantize_slice_local(const T* in, T* out, const core::RunLayout& layout,
                          const core::UnitGrid& grid,
                          const core::ParamTable<T>& table,
                          const detail::ParamsWriter<T>& writer) {
  using A = core::acc_type<T>;
  parallel_items(grid.slices, grid.slices * grid.slice_size,
                 [&](int64_t begin, int64_t end) {
                   SliceLookupBuilder<T> builder(table);
                   for (int64_t s = begin; s < end; ++s) {
                     const core::Unit unit = grid.unit(s, layout);
                     A lo = std::numeric_limits<A>::infinity();
                     A hi = -lo;
                     min_max_elements(in + unit.in_offset, layout, 0,
                                      grid.slice_size, &lo, &hi);
                     writer.fill(s, lo, hi);
                     write_elements(in + unit.in_offset, out + unit.out_offset,
                                    layout, 0, grid.slice_size,
                                    builder.build(s, grid.slice_size));
                   }
                 });
}

/// Large slices (or few slices split across threads): pass 1 finds every
/// unit's min/max, the parameters are made for all slices, pass 2 writes.
/// Reads the input twice.
template <typename T>
void quantize_two_pass(const T* in, T* out, const core::RunLayout& layout,
                       const core::UnitGrid& grid,
                       const core::ParamTable<T>& table,
                       const detail::ParamsWriter<T>& writer) {
  using A = core::acc_type<T>;
  const int64_t elements = grid.slices * grid.slice_size;
  const A inf = std::numeric_limits<A>::infinity();
  std::vector<A> unit_lo(grid.units(), inf), unit_hi(grid.units(), -inf);
  parallel_items(grid.units(), elements, [&](int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; ++u) {
      const core::Unit unit = grid.unit(u, layout);
      min_max_elements(in + unit.in_offset, layout, unit.begin, unit.end,
                       &unit_lo[u], &unit_hi[u]);
    }
  });
  A* lo = table.lo;
  A* hi = table.hi;
  for (int64_t s = 0; s < grid.slices; ++s) {
    lo[s] = inf;
    hi[s] = -inf;
    for (int64_t j = 0; j < grid.chunks; ++j) {
      lo[s] = std::min(lo[s], unit_lo[s * grid.chunks + j]);
      hi[s] = std::max(hi[s], unit_hi[s * grid.chunks + j]);
    }
  }
  writer.fill_all();
  parallel_items(grid.units(), elements, [&](int64_t begin, int64_t end) {
    SliceLookupBuilder<T> builder(table);
    for (int64_t u = begin; u < end; ++u) {
      const core::Unit unit = grid.unit(u, layout);
      write_elements(in + unit.in_offset, out + unit.out_offset, layout,
                     unit.begin, unit.end,
                     builder.build(unit.slice, grid.slice_size));
    }
  });
}

/// The whole CPU computation on (N, C, rest...) views; views.out_v may be
/// views.in_v itself (in place). Output and parameters do not depend on
/// the path or the thread count. Not declared inline: with
/// randquant::compiled linked, its instantiations live in that library
/// (detail/compiled_instantiations.h) and callers' translation units skip
/// them.
template <typename T>
void quantize_views(const detail::SliceViews& views, const detail::CallKey& key,
                    const RandomizedQuantizationOptions& options) {
  const int64_t samples = views.in_v.size(0);
  const int64_t channels = views.in_v.size(1);
  const core::UnitGrid grid = core::UnitGrid::for_threads(
      samples * channels, channels, views.layout.slice_size(),
      detail::kernel_threads());
  const T* in = views.in_v.data_ptr<T>();
  T* out = views.out_v.data_ptr<T>();
  // The call's parameters: one allocation, O(slices * R).
  const auto params = detail::ParamBuffer<T>::allocate(
      samples, channels, detail::max_slice_regions(options));
  const detail::ParamsWriter<T> writer(
      params.table, params.applied, samples, channels,
      key.per_sample() ? 0 : key.value(),
      key.per_sample() ? key.samples.data_ptr<int64_t>() : nullptr, options);
  writer.draw_coins();
  const bool slice_fits =
      grid.slice_size * static_cast<int64_t>(sizeof(T)) <= kSliceLocalBytes;
  if (grid.chunks == 1 && slice_fits) {
    quantize_slice_local(in, out, views.layout, grid, params.table, writer);
  } else {
    quantize_two_pass(in, out, views.layout, grid, params.table, writer);
  }
}

}  // namespace cpu

/// CPU specialization of the fused functor.
template <>
struct RandomizedQuantizeFunctor<c10::DeviceType::CPU> {
  /// Quantizes x (CPU) into `out` (x's shape and dtype, no internal
  /// overlap; x itself for in place).
  void operator()(const at::Tensor& x, const at::Tensor& out,
                  const detail::Geometry& geometry,
                  const RandomizedQuantizationOptions& options,
                  const detail::CallKey& key) const {
    run(detail::make_slice_views(x, out, geometry), options, key);
  }

  /// Quantizes x (CPU) into a new tensor with x's shape, dtype and, for
  /// dense layouts, strides.
  at::Tensor operator()(const at::Tensor& x, const detail::Geometry& geometry,
                        const RandomizedQuantizationOptions& options,
                        const detail::CallKey& key) const {
    return run(detail::make_output_views(x, geometry), options, key);
  }

 private:
  static at::Tensor run(const detail::SliceViews& views,
                        const RandomizedQuantizationOptions& options,
                        const detail::CallKey& key) {
    AT_DISPATCH_ALL_TYPES_AND2(
        at::kHalf, at::kBFloat16, views.in_v.scalar_type(), "randquant_cpu",
        [&] { cpu::quantize_views<scalar_t>(views, key, options); });
    return views.finish();
  }
};

}  // namespace randquant
