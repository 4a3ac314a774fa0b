#pragma once
/// \file
/// How the elements of every slice lie in memory: the non-(N, C) dimensions
/// of input and output folded jointly into at most two strided levels
/// ("rows" of "runs"), so the kernels of every backend walk any layout with
/// two loops. Computed on the host; the structs are plain data.

#include <ATen/ATen.h>

#include <algorithm>

#include <cstdint>
#include <vector>

#include "randquant/core/macros.h"
#include "randquant/detail/geometry.h"

namespace randquant {
namespace detail {

/// Strides of one tensor in the folded (N, C, outer, inner) form.
struct FoldedStrides {
  int64_t sample = 0;   ///< stride of N
  int64_t channel = 0;  ///< stride of C
  int64_t outer = 0;    ///< stride of the outer level
  int64_t inner = 0;    ///< stride of the inner level (1: contiguous runs)
};

/// Folded geometry shared by input and output.
struct RunLayout {
  int64_t outer = 1;  ///< rows per slice
  int64_t inner = 1;  ///< elements per row
  FoldedStrides in;   ///< input strides
  FoldedStrides out;  ///< output strides

  /// Elements per slice.
  RQ_INLINE int64_t slice_size() const { return outer * inner; }

  /// Offsets (input, output) of element m of a slice, relative to the
  /// slice's first element.
  RQ_INLINE void offsets(int64_t m, int64_t* in_offset,
                         int64_t* out_offset) const {
    const int64_t row = m / inner, col = m - row * inner;
    *in_offset = row * in.outer + col * in.inner;
    *out_offset = row * out.outer + col * out.inner;
  }

  /// Calls f(in_offset, out_offset, count) for the runs covering elements
  /// [begin, end) of a slice, in order (offsets relative to the slice).
  template <typename F>
  void for_each_run(int64_t begin, int64_t end, F&& f) const {
    int64_t row = begin / inner;
    int64_t col = begin % inner;
    while (begin < end) {
      const int64_t count = std::min(inner - col, end - begin);
      f(row * in.outer + col * in.inner, row * out.outer + col * out.inner,
        count);
      begin += count;
      ++row;
      col = 0;
    }
  }
};

/// Folds the trailing dimensions of two (N, C, rest...) views of equal
/// shape into at most two levels. Returns false when three or more are
/// needed (the caller then makes both contiguous).
inline bool fold_layout(const at::Tensor& in_v, const at::Tensor& out_v,
                        RunLayout* layout) {
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
  at::Tensor out;    ///< the result, x's shape (x's strides when dense)
  at::Tensor in_v;   ///< input as (N, C, rest...)
  at::Tensor out_v;  ///< output as (N, C, rest...)
  RunLayout layout;  ///< both folded to two strided levels
};

/// Allocates the output (empty_like keeps dense layouts such as
/// channels-last) and folds input and output; a layout that needs three or
/// more levels is worked on through contiguous copies instead.
inline SliceViews make_slice_views(const at::Tensor& x, const Geometry& g) {
  SliceViews v;
  v.out = at::empty_like(x);
  v.in_v = g.slice_view(x);
  v.out_v = g.slice_view(v.out);
  if (!fold_layout(v.in_v, v.out_v, &v.layout)) {
    v.in_v = v.in_v.contiguous();
    v.out_v = at::empty_like(v.in_v);
    v.out = g.from_slice_view(v.out_v);
    const bool folded = fold_layout(v.in_v, v.out_v, &v.layout);
    TORCH_INTERNAL_ASSERT(folded);
  }
  return v;
}

}  // namespace detail
}  // namespace randquant
