#pragma once
/// \file
/// The per-slice parameters of one call in the one layout every backend
/// uses: the CPU kernel (one allocation per call), the CUDA passes (in the
/// launch's scratch), the composite path and quantization_params() (over
/// the QuantizationParams tensors, which have the same fields and widths),
/// and the CPU emulation of the CUDA passes. Host+device C++.

#include <cstddef>
#include <cstdint>

#include "randquant/core/macros.h"
#include "randquant/core/slice_math.h"

namespace randquant {
namespace core {

/// Bytes of an array of `count` elements of E, padded to 16 so that the
/// next array of a carved block stays 16-byte aligned.
template <typename E>
RANDQUANT_INLINE size_t padded_array_bytes(int64_t count) {
  return (static_cast<size_t>(count) * sizeof(E) + 15u) & ~size_t{15};
}

/// Takes an array of `count` elements of E from the front of `*base` (16-byte
/// aligned) and advances it by padded_array_bytes<E>(count).
template <typename E>
RANDQUANT_INLINE E* take_array(unsigned char** base, int64_t count) {
  E* array = reinterpret_cast<E*>(*base);
  *base += padded_array_bytes<E>(count);
  return array;
}

/// Slice s's parameters at index s of each array; rows of `rmax - 1` cut
/// points and `rmax` proxies. T: element type; A: its acc_type.
template <typename T, typename A = acc_type<T>>
struct ParamTable {
  A* lo = nullptr;             ///< finite min (+inf: none), as in SliceHeader
  A* hi = nullptr;             ///< finite max (-inf: none)
  int64_t* regions = nullptr;  ///< R (0: no finite value)
  bool* quantized = nullptr;   ///< quantized, or copied unchanged
  A* cuts = nullptr;           ///< sorted cut points, rows of rmax - 1
  T* proxies = nullptr;        ///< proxies, rows of rmax
  int64_t rmax = 1;            ///< most regions of a slice of the call

  /// Slice s's cut points (its first R - 1 are set).
  RANDQUANT_INLINE A* cut_row(int64_t s) const { return cuts + s * (rmax - 1); }
  /// Slice s's proxies (its first R are set).
  RANDQUANT_INLINE T* proxy_row(int64_t s) const { return proxies + s * rmax; }

  /// Records slice s's header (its rows are written separately).
  RANDQUANT_INLINE void set_header(int64_t s,
                                   const SliceHeader<A>& header) const {
    lo[s] = header.lo;
    hi[s] = header.hi;
    regions[s] = header.regions;
    quantized[s] = header.quantize;
  }

  /// Bytes of a carved table of `slices` slices.
  RANDQUANT_INLINE static size_t bytes(int64_t slices, int64_t rmax) {
    return 2 * padded_array_bytes<A>(slices) +
           padded_array_bytes<int64_t>(slices) +
           padded_array_bytes<bool>(slices) +
           padded_array_bytes<A>(slices * (rmax - 1)) +
           padded_array_bytes<T>(slices * rmax);
  }

  /// A table of `slices` slices carved from `*base` (bytes() bytes, 16-byte
  /// aligned), which is advanced past it.
  RANDQUANT_INLINE static ParamTable carve(unsigned char** base, int64_t slices,
                                           int64_t rmax) {
    ParamTable table;
    table.lo = take_array<A>(base, slices);
    table.hi = take_array<A>(base, slices);
    table.regions = take_array<int64_t>(base, slices);
    table.quantized = take_array<bool>(base, slices);
    table.cuts = take_array<A>(base, slices * (rmax - 1));
    table.proxies = take_array<T>(base, slices * rmax);
    table.rmax = rmax;
    return table;
  }
};

}  // namespace core
}  // namespace randquant
