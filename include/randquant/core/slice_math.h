#pragma once
/// \file
/// Per-slice math of Randomized Quantization, written once for the host and
/// the device: number of regions, cut points, proxies, conversion to the
/// output dtype, and the per-sample coin. Products that are added use an
/// explicit fused multiply-add so that every compiler rounds them the same.

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "randquant/core/enums.h"
#include "randquant/core/macros.h"
#include "randquant/core/philox.h"

namespace randquant {
namespace core {

/// Arithmetic type of the per-slice math for element type T: float, or
/// double where float cannot hold T's values exactly.
template <typename T>
struct AccumulateType {
  using type = float;  ///< float for float, half, bfloat16 and small ints
};
/// double input: double arithmetic.
template <>
struct AccumulateType<double> {
  using type = double;  ///< double
};
/// int32 input: double (float is exact only to 2^24).
template <>
struct AccumulateType<int32_t> {
  using type = double;  ///< double
};
/// int64 input: double (exact to 2^53; documented).
template <>
struct AccumulateType<int64_t> {
  using type = double;  ///< double
};
/// Shorthand for AccumulateType<T>::type.
template <typename T>
using acc_type = typename AccumulateType<T>::type;

/// Draw index of region j's proxy weight; cut point k uses draw 1 + k and
/// the number of regions draw 0, so the three never overlap.
constexpr uint32_t kProxyDrawBase = static_cast<uint32_t>(kMaxRegions);

/// Correctly rounded a * b + c (float).
RANDQUANT_INLINE float fused_multiply_add(float a, float b, float c) {
  return ::fmaf(a, b, c);
}
/// Correctly rounded a * b + c (double).
RANDQUANT_INLINE double fused_multiply_add(double a, double b, double c) {
  return ::fma(a, b, c);
}
/// Round to the nearest integer, ties to even (float).
RANDQUANT_INLINE float round_half_even(float v) { return ::rintf(v); }
/// Round to the nearest integer, ties to even (double).
RANDQUANT_INLINE double round_half_even(double v) { return ::rint(v); }

/// True for finite v; false for NaN and +-Inf. (v - v is NaN exactly for
/// those, and needs no libm call on either device.)
template <typename A>
RANDQUANT_INLINE bool is_finite(A v) {
  return (v - v) == A(0);  // NOLINT(misc-redundant-expression): intended
}

/// left + t * (right - left) for t in [0, 1), clamped into [left, right].
/// Falls back to left * (1 - t) + t * right when the width overflows.
template <typename A>
RANDQUANT_INLINE A lerp_inside(A left, A right, A t) {
  const A width = right - left;
  const A r =
      is_finite(width)
          ? fused_multiply_add(t, width, left)
          : fused_multiply_add(t, right, fused_multiply_add(-t, left, left));
  return r < left ? left : (r > right ? right : r);
}

/// What the per-slice math needs from the options.
struct SliceConfig {
  int regions;        ///< R, or the low end of R's range
  int max_regions;    ///< high end of R's range; <= regions means fixed R
  Spacing spacing;    ///< cut point placement
  Collapse collapse;  ///< proxy choice
};

/// Number of regions of `slice`: `regions`, or uniform in
/// [regions, max_regions] from draw 0.
RANDQUANT_INLINE int slice_regions(PhiloxStream& rng, const SliceConfig& cfg) {
  if (cfg.max_regions <= cfg.regions) return cfg.regions;
  const uint64_t span = static_cast<uint64_t>(cfg.max_regions) -
                        static_cast<uint64_t>(cfg.regions) + 1u;
  return cfg.regions + static_cast<int>((rng.bits(0) * span) >> 32);
}

/// The range of integer type T as compile-time constants, which device code
/// may read without calling std::numeric_limits' host functions.
template <typename T>
struct IntegerRange {
  static constexpr T lowest = std::numeric_limits<T>::lowest();  ///< min
  static constexpr T highest = std::numeric_limits<T>::max();    ///< max
};

/// Element of type T that stands for the value v (inside T's range):
/// floating types round to nearest, integers round half to even and clamp.
template <typename T, typename A>
RANDQUANT_INLINE T to_element(A v) {
  if constexpr (std::is_integral<T>::value) {
    const A r = round_half_even(v);
    if (r <= static_cast<A>(IntegerRange<T>::lowest)) {
      return IntegerRange<T>::lowest;
    }
    if (r >= static_cast<A>(IntegerRange<T>::highest)) {
      return IntegerRange<T>::highest;
    }
    return static_cast<T>(r);
  } else {
    return static_cast<T>(v);
  }
}

/// Cut point k (unsorted) of a slice with `regions` regions over [lo, hi]:
/// at a uniform draw 1 + k (Random spacing) or at (k + 1) / regions
/// (Uniform). Depends on k alone, so the cut points may be drawn in any
/// order, or in parallel.
template <typename A>
RANDQUANT_INLINE A cut_point(PhiloxStream& rng, int k, int regions, A lo, A hi,
                             const SliceConfig& cfg) {
  const A t = cfg.spacing == Spacing::Random
                  ? static_cast<A>(rng.uniform(1u + static_cast<uint32_t>(k)))
                  : static_cast<A>(k + 1) / static_cast<A>(regions);
  return lerp_inside(lo, hi, t);
}

/// The proxy of region j = [left, right] (bounds from the sorted cut
/// points): a uniform draw 1024 + j inside it (InsideRandom), its middle
/// (Middle), or 0 (Zeros).
template <typename A>
RANDQUANT_INLINE A proxy_value(PhiloxStream& rng, int j, A left, A right,
                               const SliceConfig& cfg) {
  if (cfg.collapse == Collapse::InsideRandom) {
    return lerp_inside(
        left, right,
        static_cast<A>(rng.uniform(kProxyDrawBase + static_cast<uint32_t>(j))));
  }
  if (cfg.collapse == Collapse::Middle) return lerp_inside(left, right, A(0.5));
  return A(0);
}

/// Whether sample `sample` is quantized: its coin u ~ U[0, 1) is below p.
RANDQUANT_INLINE bool sample_applied(uint64_t key, uint64_t sample, double p) {
  PhiloxStream rng(key, sample, Stream::kSample);
  return static_cast<double>(rng.uniform(0)) < p;
}

/// What a slice's finite min/max and its sample's coin decide, derived the
/// same way by every backend before any cut point is drawn.
template <typename A>
struct SliceHeader {
  A lo;           ///< finite min (-0 made +0); +inf when there is none
  A hi;           ///< finite max (-0 made +0); -inf when there is none
  int regions;    ///< R; 0 for a slice without finite values
  bool quantize;  ///< the slice has finite values and its sample's coin says so
};

/// The header of slice `slice` with finite min/max [lo, hi] (lo > hi: no
/// finite value) whose sample's coin came up `applied`. -0 becomes +0, so
/// ties never depend on which zero the min/max pass met first.
template <typename A>
RANDQUANT_INLINE SliceHeader<A> slice_header(uint64_t key, uint64_t slice, A lo,
                                             A hi, const SliceConfig& cfg,
                                             bool applied) {
  lo = lo + A(0);
  hi = hi + A(0);
  const bool has_finite = lo <= hi;
  PhiloxStream rng(key, slice, Stream::kSlice);
  const int regions = has_finite ? slice_regions(rng, cfg) : 0;
  return SliceHeader<A>{lo, hi, regions, has_finite && applied};
}

/// Sorts the n cut points of a slice (finite, in [lo, hi], never -0)
/// ascending. Gives the array std::sort gives: sorting only permutes values,
/// and no two equal cut points differ in bits. Host only. Cut points are
/// uniform over [lo, hi], so placing them in n buckets by value (a monotone
/// map) leaves only in-bucket disorder for the final insertion sort:
/// expected O(n), without the mispredicted branches of a comparison sort
/// on random keys (4x faster at R = 256 here). The insertion sort makes the
/// result exact whatever the bucket map does.
template <typename A>
inline void sort_cut_points(A* cuts, int n, A lo, A hi) {
  if (n >= 32) {
    A placed[kMaxRegions];
    int start[kMaxRegions + 1] = {};
    const A width = hi - lo;
    const A scale =
        width > A(0) && is_finite(width) ? static_cast<A>(n) / width : A(0);
    auto bucket = [&](A v) {  // compared before the cast: f may be huge
      const A f = (v - lo) * scale;
      if (f >= static_cast<A>(n)) return n - 1;
      return f > A(0) ? static_cast<int>(f) : 0;
    };
    for (int i = 0; i < n; ++i) ++start[bucket(cuts[i]) + 1];
    for (int b = 0; b < n; ++b) start[b + 1] += start[b];
    for (int i = 0; i < n; ++i) placed[start[bucket(cuts[i])]++] = cuts[i];
    for (int i = 0; i < n; ++i) cuts[i] = placed[i];
  }
  for (int i = 1; i < n; ++i) {
    const A v = cuts[i];
    int j = i;
    for (; j > 0 && v < cuts[j - 1]; --j) cuts[j] = cuts[j - 1];
    cuts[j] = v;
  }
}

/// The per-slice parameters of slice `slice` with header `header` (regions
/// >= 1): writes R - 1 sorted cut points to `cuts` and R proxies (as
/// elements of T) to `proxies`. Host only: a CUDA block derives the same
/// values in parallel from the same pieces (cuda/params_pass.h; its rank
/// sort gives the array sort_cut_points gives, as sorting only permutes
/// values).
template <typename T, typename A>
inline void fill_slice_params(uint64_t key, uint64_t slice,
                              const SliceHeader<A>& header,
                              const SliceConfig& cfg, A* cuts, T* proxies) {
  PhiloxStream rng(key, slice, Stream::kSlice);
  const int regions = header.regions;
  for (int k = 0; k < regions - 1; ++k) {
    cuts[k] = cut_point(rng, k, regions, header.lo, header.hi, cfg);
  }
  sort_cut_points(cuts, regions - 1, header.lo, header.hi);
  for (int j = 0; j < regions; ++j) {
    const A left = j == 0 ? header.lo : cuts[j - 1];
    const A right = j == regions - 1 ? header.hi : cuts[j];
    proxies[j] = to_element<T>(proxy_value(rng, j, left, right, cfg));
  }
}

/// Cut point i of a plain sorted array.
template <typename A>
struct PlainCuts {
  const A* cuts;  ///< the sorted cut points

  /// Cut point i.
  RANDQUANT_INLINE A operator()(int i) const { return cuts[i]; }
};

/// Region index of v: the number of sorted cut points <= v (ties go right),
/// by binary search. Cut point i is at(i), so callers may lay the cut
/// points out as they like (the CUDA kernel pads them against shared-memory
/// bank conflicts).
template <typename A, typename At>
RANDQUANT_INLINE int region_of_at(int n_cuts, A v, const At& at) {
  int first = 0;
  int count = n_cuts;
  while (count > 0) {
    const int half = count / 2;
    if (!(v < at(first + half))) {
      first += half + 1;
      count -= half + 1;
    } else {
      count = half;
    }
  }
  return first;
}

/// Region index of a finite v among K sorted cut points padded with +inf:
/// the count of cut points <= v (ties go right, as region_of_at), without
/// branches. For small R, where K compares beat a search.
template <int K, typename A>
RANDQUANT_INLINE int region_by_count(const A* cuts, A v) {
  int region = 0;
  for (int k = 0; k < K; ++k) region += !(v < cuts[k]);
  return region;
}

/// Region index of v among the n_cuts sorted `cuts` (see region_of_at).
template <typename A>
RANDQUANT_INLINE int region_of(const A* cuts, int n_cuts, A v) {
  return region_of_at(n_cuts, v, PlainCuts<A>{cuts});
}

}  // namespace core
}  // namespace randquant
