#pragma once
/// \file
/// Per-slice lookup structures of the CPU kernel, prepared once per slice
/// from the call's parameters: cut points with a +inf sentinel, the bucket
/// hints for many regions, and for one-byte dtypes a 256-entry table of the
/// output of every possible byte.

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "randquant/core/region_hints.h"
#include "randquant/core/slice_math.h"
#include "randquant/params.h"

namespace randquant {
namespace cpu {

/// Up to this many cut points the kernels count comparisons branch-free;
/// above it they use the bucket hints.
constexpr int kSmallCuts = 7;

/// Whether T is looked up through a 256-entry byte table.
template <typename T>
constexpr bool kByteTable = sizeof(T) == 1 && std::is_integral<T>::value;

/// Everything the write pass needs for one slice.
template <typename T>
struct SliceLookup {
  using A = core::acc_type<T>;
  bool quantized = false;      ///< false: copy the slice unchanged
  int n_cuts = 0;              ///< R - 1
  const A* cuts = nullptr;     ///< n_cuts sorted cut points, then +inf
  const T* proxies = nullptr;  ///< R proxies (padded to >= 8)
  core::BucketMap<A> map{};    ///< value -> bucket (when n_cuts > kSmallCuts)
  const int32_t* hints = nullptr;  ///< bucket -> first candidate region
  const T* byte_table = nullptr;   ///< one-byte dtypes: output of each byte

  /// Region of a finite value.
  int region(A v) const {
    if (n_cuts <= kSmallCuts) {
      int r = 0;
      for (int k = 0; k < kSmallCuts; ++k) r += !(v < cuts[k]);
      return r;
    }
    return core::region_with_hints(map, hints, cuts, v);
  }
};

/// Storage and construction of the SliceLookup of every slice.
template <typename T>
class SliceLookupTable {
 public:
  using A = core::acc_type<T>;

  /// Lookups for every slice of `params` (CPU tensors of one call).
  explicit SliceLookupTable(const QuantizationParams& params)
      : slices_(params.regions.numel()),
        rmax_(params.proxies.size(2)),
        cut_stride_(std::max<int64_t>(rmax_, kSmallCuts + 1)),
        proxy_stride_(std::max<int64_t>(rmax_, 8)),
        buckets_(rmax_ - 1 > kSmallCuts ? core::kHintBucketsPerRegion * rmax_
                                        : 0),
        cuts_(slices_ * cut_stride_),
        proxies_(slices_ * proxy_stride_),
        hints_(slices_ * buckets_),
        bytes_(kByteTable<T> ? slices_ * 256 : 0),
        lookups_(slices_),
        params_(params) {}

  /// Builds the lookup of slice s (thread-safe across distinct s).
  void build(int64_t s) {
    SliceLookup<T>& lk = lookups_[s];
    lk.quantized = params_.quantized.data_ptr<bool>()[s];
    if (!lk.quantized) return;
    const int regions =
        static_cast<int>(params_.regions.data_ptr<int64_t>()[s]);
    const A* src_cuts = params_.cuts.data_ptr<A>() + s * (rmax_ - 1);
    const T* src_proxies = params_.proxies.data_ptr<T>() + s * rmax_;
    A* cuts = cuts_.data() + s * cut_stride_;
    T* proxies = proxies_.data() + s * proxy_stride_;
    const A inf = std::numeric_limits<A>::infinity();
    std::fill(cuts, cuts + cut_stride_, inf);
    std::copy(src_cuts, src_cuts + (regions - 1), cuts);
    std::fill(proxies, proxies + proxy_stride_, T(0));
    std::copy(src_proxies, src_proxies + regions, proxies);
    lk.n_cuts = regions - 1;
    lk.cuts = cuts;
    lk.proxies = proxies;
    if (lk.n_cuts > kSmallCuts) {
      const A lo = params_.lo.data_ptr<A>()[s];
      const A hi = params_.hi.data_ptr<A>()[s];
      lk.map = core::BucketMap<A>::make(lo, hi, static_cast<int>(buckets_));
      int32_t* hints = hints_.data() + s * buckets_;
      core::build_region_hints(lk.map, cuts, lk.n_cuts, hints);
      lk.hints = hints;
    }
    if constexpr (kByteTable<T>) {
      T* table = bytes_.data() + s * 256;
      for (int b = 0; b < 256; ++b) {
        const T value = static_cast<T>(static_cast<uint8_t>(b));
        table[static_cast<uint8_t>(value)] =
            proxies[lk.region(static_cast<A>(value))];
      }
      lk.byte_table = table;
    }
  }

  /// The lookup of slice s (after build(s)).
  const SliceLookup<T>& operator[](int64_t s) const { return lookups_[s]; }

 private:
  int64_t slices_, rmax_, cut_stride_, proxy_stride_, buckets_;
  std::vector<A> cuts_;
  std::vector<T> proxies_;
  std::vector<int32_t> hints_;
  std::vector<T> bytes_;
  std::vector<SliceLookup<T>> lookups_;
  const QuantizationParams& params_;
};

}  // namespace cpu
}  // namespace randquant
