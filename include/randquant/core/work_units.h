#pragma once
/// \file
/// Where a call's elements lie and how the work on them is cut, shared by
/// every backend as plain host+device code (no ATen): the run layout (the
/// non-(N, C) dimensions of input and output folded into at most two
/// strided levels), the units of work (a chunk of one slice) and the
/// decode of a unit into its slice, sample, channel and elements.

#include <cstdint>

#include "randquant/core/macros.h"

namespace randquant {
namespace core {

/// Elements of one unit of work: a CPU task never splits a slice finer
/// than this, and a CUDA block handles about this many. Small enough that
/// a 224 x 224 slice gives several units (threads or blocks stay busy on
/// small batches), large enough that per-unit costs (a task, staging a
/// slice's parameters) stay small against the unit's work.
constexpr int64_t kUnitElements = int64_t{1} << 14;

/// Units of one slice at most on the CUDA backend (a huge slice gets longer
/// units instead), so the launch's scratch stays O(slices) while still
/// giving any GPU enough blocks.
constexpr int64_t kMaxUnitsPerSlice = 1024;

/// Strides of one tensor in the folded (N, C, outer, inner) form.
struct FoldedStrides {
  int64_t sample = 0;   ///< stride of N
  int64_t channel = 0;  ///< stride of C
  int64_t outer = 0;    ///< stride of the outer level
  int64_t inner = 0;    ///< stride of the inner level (1: contiguous runs)

  /// Offset of the first element of slice (sample, channel).
  RANDQUANT_INLINE int64_t slice_offset(int64_t n, int64_t c) const {
    return n * sample + c * channel;
  }
};

/// Folded geometry shared by input and output: every slice is `outer`
/// rows of `inner` elements in both.
struct RunLayout {
  int64_t outer = 1;  ///< rows per slice
  int64_t inner = 1;  ///< elements per row
  FoldedStrides in;   ///< input strides
  FoldedStrides out;  ///< output strides

  /// Elements per slice.
  RANDQUANT_INLINE int64_t slice_size() const { return outer * inner; }

  /// Whether every slice is one contiguous run in the input and, when
  /// `with_output`, in the output too.
  RANDQUANT_INLINE bool one_run(bool with_output) const {
    return outer == 1 && in.inner == 1 && (!with_output || out.inner == 1);
  }

  /// Offsets (input, output) of element m of a slice, relative to the
  /// slice's first element.
  RANDQUANT_INLINE void offsets(int64_t m, int64_t* in_offset,
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
      const int64_t left_in_row = inner - col;
      const int64_t count =
          left_in_row < end - begin ? left_in_row : end - begin;
      f(row * in.outer + col * in.inner, row * out.outer + col * out.inner,
        count);
      begin += count;
      ++row;
      col = 0;
    }
  }
};

/// One unit decoded: its slice and elements, and where the slice starts.
struct Unit {
  int64_t slice;       ///< sample * C + channel
  int64_t chunk;       ///< index of the unit within its slice
  int64_t sample;      ///< n
  int64_t channel;     ///< c
  int64_t begin;       ///< first element of the slice in the unit
  int64_t end;         ///< one past the last
  int64_t in_offset;   ///< offset of the slice's first input element
  int64_t out_offset;  ///< offset of the slice's first output element
};

/// How a call's slices are cut into units: `chunks` equal chunks per slice,
/// unit u = chunk u % chunks of slice u / chunks. Results never depend on
/// the cut: min/max is exact in any order and every element's output
/// depends only on its slice's parameters.
struct UnitGrid {
  int64_t channels = 1;    ///< C
  int64_t slices = 0;      ///< N * C
  int64_t slice_size = 0;  ///< elements per slice
  int64_t chunks = 1;      ///< units per slice

  /// Number of units.
  RANDQUANT_INLINE int64_t units() const { return slices * chunks; }

  /// First element of chunk j of a slice.
  RANDQUANT_INLINE int64_t chunk_begin(int64_t j) const {
    return slice_size * j / chunks;
  }

  /// Unit u: its slice, elements and slice offsets in `layout`.
  RANDQUANT_INLINE Unit unit(int64_t u, const RunLayout& layout) const {
    Unit w;
    w.slice = u / chunks;
    w.chunk = u - w.slice * chunks;
    w.sample = w.slice / channels;
    w.channel = w.slice - w.sample * channels;
    w.begin = chunk_begin(w.chunk);
    w.end = chunk_begin(w.chunk + 1);
    w.in_offset = layout.in.slice_offset(w.sample, w.channel);
    w.out_offset = layout.out.slice_offset(w.sample, w.channel);
    return w;
  }

  /// The CPU's cut: enough units for every one of `threads` threads when
  /// slices are few and large (about four per thread), never smaller than
  /// kUnitElements; whole slices for one thread.
  static UnitGrid for_threads(int64_t slices, int64_t channels,
                              int64_t slice_size, int64_t threads) {
    // One thread gains nothing from splitting slices.
    const int64_t wanted =
        slices > 0 && threads > 1 ? (4 * threads + slices - 1) / slices : 1;
    int64_t possible = slice_size / kUnitElements;
    possible = possible > 1 ? possible : 1;
    int64_t chunks = wanted < possible ? wanted : possible;
    chunks = chunks > 1 ? chunks : 1;
    return UnitGrid{channels, slices, slice_size, chunks};
  }

  /// The CUDA cut: units of at most kUnitElements elements (one block
  /// each), at most kMaxUnitsPerSlice per slice.
  static UnitGrid for_blocks(int64_t slices, int64_t channels,
                             int64_t slice_size) {
    int64_t chunks = (slice_size + kUnitElements - 1) / kUnitElements;
    chunks = chunks > 1 ? chunks : 1;
    chunks = chunks < kMaxUnitsPerSlice ? chunks : kMaxUnitsPerSlice;
    return UnitGrid{channels, slices, slice_size, chunks};
  }
};

}  // namespace core
}  // namespace randquant
