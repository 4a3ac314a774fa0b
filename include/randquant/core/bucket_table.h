#pragma once
/// \file
/// Exact region lookup for many regions: a table of equal-width buckets over
/// [lo, hi] gives the region outright for buckets that hold no cut point
/// (most of them, with several buckets per region) and a lower bound otherwise,
/// which a short forward scan of exact comparisons finishes. The answer is
/// always the number of cut points <= v; the table only saves comparisons.

#include <cstdint>

#include "randquant/core/macros.h"
#include "randquant/core/slice_math.h"

namespace randquant {
namespace core {

/// Fewest buckets per region of a bucket table.
constexpr int kBucketsPerRegion = 4;

/// Affine map from a value to its bucket, shared by table build and lookup
/// so both round identically.
template <typename A>
struct BucketMap {
  A lo;         ///< slice minimum
  A scale;      ///< buckets / (hi - lo), or 0 when that is not finite
  int buckets;  ///< number of buckets

  /// Map for `buckets` buckets over [lo, hi].
  RANDQUANT_INLINE static BucketMap make(A lo, A hi, int buckets) {
    const A width = hi - lo;
    const A scale = static_cast<A>(buckets) / width;
    const bool usable = width > A(0) && is_finite(scale);
    return BucketMap{lo, usable ? scale : A(0), buckets};
  }

  /// Bucket of v in [0, buckets); monotone non-decreasing in v.
  RANDQUANT_INLINE int operator()(A v) const {
    const A f = (v - lo) * scale;
    if (f >= static_cast<A>(buckets)) return buckets - 1;
    return f > A(0) ? static_cast<int>(f) : 0;
  }
};

/// Fills the bucket table: entry[b] = k, the number of cut points whose
/// bucket is < b (every one of them is < any v in bucket b). When no cut
/// point falls in bucket b, k is the exact region of every v in it and the
/// entry is k; otherwise it is ~k (negative), and lookups finish with exact
/// comparisons from k.
template <typename A>
RANDQUANT_INLINE void build_bucket_table(const BucketMap<A>& map, const A* cuts,
                                         int n_cuts, int32_t* entry) {
  // Cut points are sorted, so their buckets never decrease: one sweep.
  int b = 0;
  for (int k = 0; k < n_cuts; ++k) {
    const int cut_bucket = map(cuts[k]);
    while (b < cut_bucket) entry[b++] = static_cast<int32_t>(k);
    if (b == cut_bucket) entry[b++] = ~static_cast<int32_t>(k);
  }
  while (b < map.buckets) entry[b++] = static_cast<int32_t>(n_cuts);
}

/// Number of cut points <= v for finite v, from the bucket table.
/// `cuts_with_sentinel` ends with +inf after its last cut point.
template <typename A>
RANDQUANT_INLINE int region_from_buckets(const BucketMap<A>& map,
                                         const int32_t* entry,
                                         const A* cuts_with_sentinel, A v) {
  const int32_t e = entry[map(v)];
  if (e >= 0) return e;
  int k = ~e;
  while (!(v < cuts_with_sentinel[k])) ++k;
  return k;
}

}  // namespace core
}  // namespace randquant
