#pragma once
/// \file
/// Exact region lookup for many regions: a bucket table over [lo, hi] gives
/// a lower bound of the region index, and a short forward scan of exact
/// comparisons finishes it. The answer is always the number of cut points
/// <= v; the table only saves comparisons (about two instead of log2 R).

#include <cstdint>

#include "randquant/core/macros.h"

namespace randquant {
namespace core {

/// Buckets per region of the hint table.
constexpr int kHintBucketsPerRegion = 4;

/// Affine map from a value to its bucket, shared by table build and lookup
/// so both round identically.
template <typename A>
struct BucketMap {
  A lo;         ///< slice minimum
  A scale;      ///< buckets / (hi - lo), or 0 when that is not finite
  int buckets;  ///< number of buckets

  /// Map for `buckets` buckets over [lo, hi].
  RQ_INLINE static BucketMap make(A lo, A hi, int buckets) {
    const A width = hi - lo;
    const A scale = static_cast<A>(buckets) / width;
    const bool usable = width > A(0) && (scale - scale) == A(0);
    return BucketMap{lo, usable ? scale : A(0), buckets};
  }

  /// Bucket of v in [0, buckets); monotone non-decreasing in v.
  RQ_INLINE int operator()(A v) const {
    const A f = (v - lo) * scale;
    if (f >= static_cast<A>(buckets)) return buckets - 1;
    return f > A(0) ? static_cast<int>(f) : 0;
  }
};

/// Fills first[b] = number of cut points whose bucket is < b, for
/// b = 0 .. buckets - 1. Every such cut point is < any v in bucket b.
template <typename A>
RQ_INLINE void build_region_hints(const BucketMap<A>& map, const A* cuts,
                                  int n_cuts, int32_t* first) {
  int k = 0;
  for (int b = 0; b < map.buckets; ++b) {
    while (k < n_cuts && map(cuts[k]) < b) ++k;
    first[b] = static_cast<int32_t>(k);
  }
}

/// Number of cut points <= v for finite v, starting from the table's lower
/// bound. `cuts` must end with a +inf sentinel after its last cut point.
template <typename A>
RQ_INLINE int region_with_hints(const BucketMap<A>& map, const int32_t* first,
                                const A* cuts_with_sentinel, A v) {
  int k = first[map(v)];
  while (!(v < cuts_with_sentinel[k])) ++k;
  return k;
}

}  // namespace core
}  // namespace randquant
