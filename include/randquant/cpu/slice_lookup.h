#pragma once
/// \file
/// Per-slice lookup structures of the CPU write pass, built into scratch
/// memory owned by one thread just before the slice is written (so they are
/// hot in cache and memory stays O(threads * R)): cut points with a +inf
/// sentinel, the bucket table for many regions, and for one-byte dtypes a
/// 256-entry table of the output of every possible byte.

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "randquant/core/bucket_table.h"
#include "randquant/core/param_table.h"
#include "randquant/core/slice_math.h"
#include "randquant/cpu/cpu_features.h"

namespace randquant {
namespace cpu {

/// Up to this many cut points a region is a branch-free count of compares
/// (core::region_by_count) and the AVX2 float32 loop looks proxies up in
/// one 8-lane register (_mm256_permutevar8x32_ps: 8 proxies, so 7 cut
/// points); above it the kernels use the bucket table.
constexpr int kCountMaxCuts = 7;

/// Up to this many cut points the AVX-512 float32 loop keeps cut points and
/// proxies in one 16-lane register each (16 proxies, so 15 cut points).
constexpr int kRegister16MaxCuts = 15;

/// Most cut points a slice of T can have without the bucket table: the
/// float32 register loop's reach on this CPU, kCountMaxCuts otherwise.
template <typename T>
inline int cuts_without_buckets() {
  if (std::is_same<T, float>::value && avx512::float_available()) {
    return kRegister16MaxCuts;
  }
  return kCountMaxCuts;
}

/// Whether T is looked up through a 256-entry byte table.
template <typename T>
constexpr bool kByteTable = sizeof(T) == 1 && std::is_integral<T>::value;

/// NaN with payload k: marks a float bucket that holds a cut point and
/// carries its first candidate region (k < 2^22).
inline float nan_boxed_region(int32_t k) {
  const uint32_t bits = 0x7FC00000u | static_cast<uint32_t>(k);
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

/// How the write pass finds a value's output in one slice: chosen once per
/// slice, from its R, its dtype and this CPU, by SliceLookupBuilder; every
/// run loop (scalar, AVX2, AVX-512) reads it and builds nothing itself.
enum class Lookup {
  kCopy,        ///< the slice is not quantized: its input, unchanged
  kByteTable,   ///< one-byte dtypes: the output of each of the 256 bytes
  kCount,       ///< <= kCountMaxCuts cut points: a count of compares
  kRegister16,  ///< float32 on AVX-512, <= kRegister16MaxCuts: 16 lanes
  kBuckets      ///< more cut points: the bucket table
};

/// The lookup of a quantized slice of T with n_cuts cut points.
template <typename T>
Lookup choose_lookup(int n_cuts) {
  if (kByteTable<T>) return Lookup::kByteTable;
  if (n_cuts <= kCountMaxCuts) return Lookup::kCount;
  if (n_cuts <= cuts_without_buckets<T>()) return Lookup::kRegister16;
  return Lookup::kBuckets;
}

/// Everything the write pass needs for one slice.
template <typename T>
struct SliceLookup {
  using A = core::acc_type<T>;
  Lookup kind = Lookup::kCopy;  ///< how values find their output
  int n_cuts = 0;               ///< R - 1
  const A* cuts = nullptr;      ///< n_cuts sorted cut points, then +inf
  const T* proxies = nullptr;   ///< R proxies (0 padded to >= 16)
  core::BucketMap<A> map{};     ///< value -> bucket (n_cuts > kCountMaxCuts)
  const int32_t* buckets = nullptr;  ///< bucket -> region or ~first candidate
  /// float32 only: bucket -> proxy, or NaN-boxed first candidate region.
  const float* bucket_values = nullptr;
  const T* byte_table = nullptr;  ///< one-byte dtypes: output of each byte

  /// Region of a finite value, without vector registers (strided runs and
  /// the portable loop): kRegister16 slices binary-search.
  int region(A v) const {
    switch (kind) {
      case Lookup::kCount:
        return core::region_by_count<kCountMaxCuts>(cuts, v);
      case Lookup::kBuckets:
        return core::region_from_buckets(map, buckets, cuts, v);
      default:
        return core::region_of(cuts, n_cuts, v);
    }
  }
};

/// Scratch memory of one thread, reused from slice to slice.
template <typename T>
class SliceLookupBuilder {
 public:
  using A = core::acc_type<T>;

  /// A builder for the slices of `table` (one call's parameters).
  explicit SliceLookupBuilder(const core::ParamTable<T>& table)
      : table_(table), rmax_(table.rmax) {
    // Padded to a whole 16-lane register.
    cuts_.resize(std::max<int64_t>(rmax_, kRegister16MaxCuts + 1));
    proxies_.resize(std::max<int64_t>(rmax_, kRegister16MaxCuts + 1));
    if (kByteTable<T>) bytes_.resize(256);
  }

  /// The lookup of slice s of `elements` elements (more elements pay for a
  /// finer bucket table). Valid until the next build() of another slice;
  /// building the same slice again (its next chunk) reuses it.
  const SliceLookup<T>& build(int64_t s, int64_t elements) {
    if (s == built_slice_) return lookup_;
    built_slice_ = s;
    lookup_ = make(s, elements);
    return lookup_;
  }

 private:
  SliceLookup<T> make(int64_t s, int64_t elements) {
    SliceLookup<T> lk;
    if (!table_.quantized[s]) return lk;  // kCopy
    const int regions = static_cast<int>(table_.regions[s]);
    const A* src_cuts = table_.cut_row(s);
    const T* src_proxies = table_.proxy_row(s);
    std::fill(cuts_.begin(), cuts_.end(), std::numeric_limits<A>::infinity());
    std::copy(src_cuts, src_cuts + (regions - 1), cuts_.begin());
    std::fill(proxies_.begin(), proxies_.end(), T(0));
    std::copy(src_proxies, src_proxies + regions, proxies_.begin());
    lk.n_cuts = regions - 1;
    lk.kind = choose_lookup<T>(lk.n_cuts);
    lk.cuts = cuts_.data();
    lk.proxies = proxies_.data();
    if (lk.kind == Lookup::kBuckets) build_buckets(s, elements, &lk);
    if constexpr (kByteTable<T>) {
      // Every value of T in increasing order against the sorted cut points:
      // one sweep, region = the number of cut points <= value, as region().
      constexpr int kFirst = std::is_signed<T>::value ? -128 : 0;
      int k = 0;
      for (int v = kFirst; v <= kFirst + 255; ++v) {
        while (k < lk.n_cuts && !(static_cast<A>(v) < cuts_[k])) ++k;
        bytes_[static_cast<uint8_t>(v)] = proxies_[k];
      }
      lk.byte_table = bytes_.data();
    }
    return lk;
  }

  /// Bucket table: 4 to 64 buckets per region, at most one per four
  /// elements written, so building it never dominates.
  void build_buckets(int64_t s, int64_t elements, SliceLookup<T>* lk) {
    const int64_t regions = lk->n_cuts + 1;
    const int64_t buckets =
        std::max<int64_t>(core::kBucketsPerRegion * regions,
                          std::min<int64_t>(64 * regions, elements / 4));
    buckets_.resize(buckets);
    const A lo = table_.lo[s];
    const A hi = table_.hi[s];
    lk->map = core::BucketMap<A>::make(lo, hi, static_cast<int>(buckets));
    core::build_bucket_table(lk->map, cuts_.data(), lk->n_cuts,
                             buckets_.data());
    lk->buckets = buckets_.data();
    if constexpr (std::is_same<T, float>::value) {
      values_.resize(buckets);
      for (int64_t b = 0; b < buckets; ++b) {
        const int32_t e = buckets_[b];
        values_[b] = e >= 0 ? proxies_[e] : nan_boxed_region(~e);
      }
      lk->bucket_values = values_.data();
    }
  }

  core::ParamTable<T> table_;
  int64_t rmax_;
  int64_t built_slice_ = -1;
  SliceLookup<T> lookup_;
  std::vector<A> cuts_;
  std::vector<T> proxies_;
  std::vector<int32_t> buckets_;
  std::vector<float> values_;
  std::vector<T> bytes_;
};

}  // namespace cpu
}  // namespace randquant
