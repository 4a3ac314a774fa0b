#pragma once
/// \file
/// The output of a call and the (N, C, rest...) views of input and output
/// that every backend works on, with their dimensions folded into the
/// two-level core::RunLayout (core/work_units.h). Host only (ATen).

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "randquant/core/work_units.h"
#include "randquant/detail/geometry.h"

namespace randquant {
namespace detail {

/// Folds the trailing dimensions of two (N, C, rest...) views of equal
/// shape into at most two levels. Returns false when three or more are
/// needed (the caller then makes both contiguous).
inline bool fold_layout(const at::Tensor& in_v, const at::Tensor& out_v,
                        core::RunLayout* layout) {
  struct Level {
    int64_t size, in, out;
  };
  std::vector<Level> levels;  // innermost first
  for (int64_t d = in_v.dim() - 1; d >= 2; --d) {
    const int64_t size = in_v.size(d);
    if (size == 1) continue;
    const Level next{size, in_v.stride(d), out_v.stride(d)};
    if (!levels.empty()) {
      Level& last = levels.back();
      if (next.in == last.in * last.size && next.out == last.out * last.size) {
        last.size *= size;
        continue;
      }
    }
    levels.push_back(next);
  }
  if (levels.size() > 2) return false;
  layout->in.sample = in_v.stride(0);
  layout->in.channel = in_v.stride(1);
  layout->out.sample = out_v.stride(0);
  layout->out.channel = out_v.stride(1);
  const Level inner = levels.empty() ? Level{1, 1, 1} : levels[0];
  const Level outer = levels.size() < 2 ? Level{1, 0, 0} : levels[1];
  layout->inner = inner.size;
  layout->in.inner = inner.in;
  layout->out.inner = inner.out;
  layout->outer = outer.size;
  layout->in.outer = outer.in;
  layout->out.outer = outer.out;
  return true;
}

/// The output of a call and the (N, C, rest...) views every backend writes
/// through.
struct SliceViews {
  at::Tensor out;          ///< the result, x's shape (x's strides when dense)
  at::Tensor in_v;         ///< input as (N, C, rest...)
  at::Tensor out_v;        ///< output as (N, C, rest...)
  core::RunLayout layout;  ///< both folded to two strided levels
};

/// Allocates the output (empty_like keeps dense layouts such as
/// channels-last) and folds input and output; a layout that needs three or
/// more levels is worked on through contiguous copies instead.
inline SliceViews make_slice_views(const at::Tensor& x,
                                   const Geometry& geometry) {
  SliceViews views;
  views.out = at::empty_like(x);
  views.in_v = geometry.slice_view(x);
  views.out_v = geometry.slice_view(views.out);
  if (!fold_layout(views.in_v, views.out_v, &views.layout)) {
    views.in_v = views.in_v.contiguous();
    views.out_v = at::empty_like(views.in_v);
    views.out = geometry.from_slice_view(views.out_v);
    const bool folded = fold_layout(views.in_v, views.out_v, &views.layout);
    TORCH_INTERNAL_ASSERT(folded);
  }
  return views;
}

}  // namespace detail
}  // namespace randquant
