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
#include "randquant/detail/output_memory.h"

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

/// The destination of a call and the (N, C, rest...) views every backend
/// works on.
struct SliceViews {
  at::Tensor out;          ///< the destination, x's shape (may be x itself)
  at::Tensor in_v;         ///< input as (N, C, rest...)
  at::Tensor out_v;        ///< what the kernel writes, as (N, C, rest...)
  core::RunLayout layout;  ///< both folded to two strided levels
  /// out_v is a contiguous stand-in: finish() copies it into out.
  bool copy_back = false;
  /// How to map out_v back to out's dimension order.
  Geometry geometry;

  /// After the kernel: moves the result into `out` when the kernel wrote a
  /// stand-in. Returns out.
  const at::Tensor& finish() const {
    if (copy_back) out.copy_(geometry.from_slice_view(out_v));
    return out;
  }
};

/// Views of x and of the destination `out` (x's shape, dtype and device; x
/// itself for an in-place call; no internal overlap). A pair of layouts
/// that needs three or more levels is worked on through a contiguous copy
/// of x and a contiguous stand-in for out, which finish() copies back.
inline SliceViews make_slice_views(const at::Tensor& x, const at::Tensor& out,
                                   const Geometry& geometry) {
  SliceViews views;
  views.out = out;
  views.geometry = geometry;
  views.in_v = geometry.slice_view(x);
  views.out_v = geometry.slice_view(out);
  if (!fold_layout(views.in_v, views.out_v, &views.layout)) {
    views.in_v = views.in_v.contiguous();
    views.out_v = at::empty_like(views.in_v, at::MemoryFormat::Contiguous);
    views.copy_back = true;
    const bool folded = fold_layout(views.in_v, views.out_v, &views.layout);
    TORCH_INTERNAL_ASSERT(folded);
  }
  return views;
}

/// Views for an out-of-place call: a new output like x (empty_output());
/// when that pair does not fold, the output is made contiguous in the
/// (N, C, rest...) order instead, so nothing needs copying back.
inline SliceViews make_output_views(const at::Tensor& x,
                                    const Geometry& geometry) {
  SliceViews views = make_slice_views(x, empty_output(x), geometry);
  if (views.copy_back) {
    views.out = geometry.from_slice_view(views.out_v);
    views.copy_back = false;
  }
  return views;
}

}  // namespace detail
}  // namespace randquant
