#pragma once
/// \file
/// AVX2 loops for contiguous float32 and uint8 runs (cpu_features.h:
/// compiled with target attributes, callers check avx2::available() at run
/// time). Every loop gives bit for bit what the portable loop gives (same
/// comparisons, same lookup).

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "randquant/cpu/cpu_features.h"
#include "randquant/cpu/scalar_runs.h"
#include "randquant/cpu/slice_lookup.h"

namespace randquant {
namespace cpu {
namespace avx2 {

/// Up to this many cut points the uint8 loop counts byte compares and looks
/// proxies up with one in-register 16-byte shuffle (_mm256_shuffle_epi8: 16
/// proxies, so 15 cut points); above it, the slice's 256-entry byte table.
constexpr int kShuffleMaxCuts = 15;

#if RANDQUANT_HAS_X86_SIMD

#define RANDQUANT_AVX2 __attribute__((target("avx2,fma")))

/// All-ones lanes where v is finite (v - v == 0 fails for NaN and +-Inf).
RANDQUANT_AVX2 inline __m256 finite_mask(__m256 v) {
  return _mm256_cmp_ps(_mm256_sub_ps(v, v), _mm256_setzero_ps(), _CMP_EQ_OQ);
}

/// Horizontal min and max of 8 lanes.
RANDQUANT_AVX2 inline void reduce_min_max(__m256 lo8, __m256 hi8, float* lo,
                                          float* hi) {
  alignas(32) float l[8], h[8];
  _mm256_store_ps(l, lo8);
  _mm256_store_ps(h, hi8);
  for (int i = 0; i < 8; ++i) {
    *lo = l[i] < *lo ? l[i] : *lo;
    *hi = h[i] > *hi ? h[i] : *hi;
  }
}

/// Running min/max of the finite values of a contiguous float run, with
/// explicit finiteness masks.
RANDQUANT_AVX2 inline void min_max_f32_masked(const float* in, int64_t count,
                                              float* lo, float* hi) {
  const __m256 inf = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  const __m256 neg_inf =
      _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 lo_a = inf, lo_b = inf, hi_a = neg_inf, hi_b = neg_inf;
  int64_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m256 a = _mm256_loadu_ps(in + i);
    const __m256 b = _mm256_loadu_ps(in + i + 8);
    const __m256 fa = finite_mask(a), fb = finite_mask(b);
    lo_a = _mm256_min_ps(lo_a, _mm256_blendv_ps(inf, a, fa));
    hi_a = _mm256_max_ps(hi_a, _mm256_blendv_ps(neg_inf, a, fa));
    lo_b = _mm256_min_ps(lo_b, _mm256_blendv_ps(inf, b, fb));
    hi_b = _mm256_max_ps(hi_b, _mm256_blendv_ps(neg_inf, b, fb));
  }
  reduce_min_max(_mm256_min_ps(lo_a, lo_b), _mm256_max_ps(hi_a, hi_b), lo, hi);
  min_max_run_scalar(in + i, 1, count - i, lo, hi);
}

/// Running min/max of the finite values of a contiguous float run.
/// _mm256_min_ps / _mm256_max_ps return their second operand when either is
/// NaN, so with the running value second NaNs are skipped for free; +-inf
/// are not, so a run whose result shows one is redone with masks (rare in
/// data, and exact either way).
RANDQUANT_AVX2 inline void min_max_f32(const float* in, int64_t count,
                                       float* lo, float* hi) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  __m256 lo_a = _mm256_set1_ps(kInf), lo_b = lo_a, lo_c = lo_a, lo_d = lo_a;
  __m256 hi_a = _mm256_set1_ps(-kInf), hi_b = hi_a, hi_c = hi_a, hi_d = hi_a;
  int64_t i = 0;
  for (; i + 32 <= count; i += 32) {
    const __m256 a = _mm256_loadu_ps(in + i);
    const __m256 b = _mm256_loadu_ps(in + i + 8);
    const __m256 c = _mm256_loadu_ps(in + i + 16);
    const __m256 d = _mm256_loadu_ps(in + i + 24);
    lo_a = _mm256_min_ps(a, lo_a);
    hi_a = _mm256_max_ps(a, hi_a);
    lo_b = _mm256_min_ps(b, lo_b);
    hi_b = _mm256_max_ps(b, hi_b);
    lo_c = _mm256_min_ps(c, lo_c);
    hi_c = _mm256_max_ps(c, hi_c);
    lo_d = _mm256_min_ps(d, lo_d);
    hi_d = _mm256_max_ps(d, hi_d);
  }
  float l = kInf, h = -kInf;
  reduce_min_max(
      _mm256_min_ps(_mm256_min_ps(lo_a, lo_b), _mm256_min_ps(lo_c, lo_d)),
      _mm256_max_ps(_mm256_max_ps(hi_a, hi_b), _mm256_max_ps(hi_c, hi_d)), &l,
      &h);
  if (l == -kInf || h == kInf) return min_max_f32_masked(in, count, lo, hi);
  *lo = l < *lo ? l : *lo;
  *hi = h > *hi ? h : *hi;
  min_max_run_scalar(in + i, 1, count - i, lo, hi);
}

/// Running min/max of a contiguous uint8 run.
RANDQUANT_AVX2 inline void min_max_u8(const uint8_t* in, int64_t count,
                                      float* lo, float* hi) {
  __m256i lo32 = _mm256_set1_epi8(static_cast<char>(0xFF));
  __m256i hi32 = _mm256_setzero_si256();
  int64_t i = 0;
  for (; i + 32 <= count; i += 32) {
    const __m256i v =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i));
    lo32 = _mm256_min_epu8(lo32, v);
    hi32 = _mm256_max_epu8(hi32, v);
  }
  alignas(32) uint8_t l[32], h[32];
  _mm256_store_si256(reinterpret_cast<__m256i*>(l), lo32);
  _mm256_store_si256(reinterpret_cast<__m256i*>(h), hi32);
  uint8_t mn = 255, mx = 0;
  for (int k = 0; k < 32; ++k) {
    mn = l[k] < mn ? l[k] : mn;
    mx = h[k] > mx ? h[k] : mx;
  }
  if (i > 0) {
    *lo = mn < *lo ? mn : *lo;
    *hi = mx > *hi ? mx : *hi;
  }
  min_max_run_scalar(in + i, 1, count - i, lo, hi);
}

/// One binary-search step over the 8-lane register of sorted cut points:
/// region + add where cuts[region + offset] <= v.
RANDQUANT_AVX2 inline __m256i search_step(__m256 v, __m256 cuts, __m256i region,
                                          __m256i offset, __m256i add) {
  const __m256 cut =
      _mm256_permutevar8x32_ps(cuts, _mm256_add_epi32(region, offset));
  const __m256i ge = _mm256_castps_si256(_mm256_cmp_ps(v, cut, _CMP_GE_OQ));
  return _mm256_add_epi32(region, _mm256_and_si256(ge, add));
}

/// proxy[region(v)] for 8 finite lanes, v for the others: region = the
/// number of cut points <= v (+inf padded, sorted, so the count is exact)
/// in three search steps, then an 8-entry in-register table lookup.
RANDQUANT_AVX2 inline __m256 lookup8(__m256 v, __m256 cuts, __m256 middle,
                                     __m256 table) {
  const __m256i one = _mm256_set1_epi32(1), two = _mm256_set1_epi32(2);
  __m256i region = _mm256_and_si256(
      _mm256_castps_si256(_mm256_cmp_ps(v, middle, _CMP_GE_OQ)),
      _mm256_set1_epi32(4));
  region = search_step(v, cuts, region, one, two);
  region = search_step(v, cuts, region, _mm256_setzero_si256(), one);
  const __m256 q = _mm256_permutevar8x32_ps(table, region);
  return _mm256_blendv_ps(v, q, finite_mask(v));
}

/// Contiguous float run, at most 7 cut points (lookup8), 16 values a step.
RANDQUANT_AVX2 inline void quantize_f32_small(const float* in, float* out,
                                              int64_t count,
                                              const SliceLookup<float>& lk) {
  static_assert(kCountMaxCuts == 7, "three steps of binary search");
  const __m256 cuts = _mm256_loadu_ps(lk.cuts);
  const __m256 middle = _mm256_set1_ps(lk.cuts[3]);
  const __m256 table = _mm256_loadu_ps(lk.proxies);
  int64_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m256 a = _mm256_loadu_ps(in + i);
    const __m256 b = _mm256_loadu_ps(in + i + 8);
    _mm256_storeu_ps(out + i, lookup8(a, cuts, middle, table));
    _mm256_storeu_ps(out + i + 8, lookup8(b, cuts, middle, table));
  }
  quantize_run_scalar(in + i, 1, out + i, 1, count - i, lk);
}

/// Bucket of 8 values, as BucketMap::operator(): NaN and f <= 0 give 0
/// (max returns its second operand for NaN), f >= buckets gives buckets - 1.
RANDQUANT_AVX2 inline __m256i bucket_of(__m256 v, __m256 lo, __m256 scale,
                                        __m256 last) {
  return _mm256_cvttps_epi32(
      _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_sub_ps(v, lo), scale),
                                  _mm256_setzero_ps()),
                    last));
}

/// Lanes in `unsure` hold a NaN-boxed start region (their bucket holds a cut
/// point): finish them with exact scalar comparisons, which is cheaper than
/// more gathers for the few lanes concerned.
RANDQUANT_AVX2 inline __m256 finish_unsure_lanes(__m256 v, __m256 q, int unsure,
                                                 const SliceLookup<float>& lk) {
  alignas(32) float lane_v[8], lane_q[8];
  _mm256_store_ps(lane_v, v);
  _mm256_store_ps(lane_q, q);
  for (int m = unsure; m != 0; m &= m - 1) {
    const int lane = __builtin_ctz(static_cast<unsigned>(m));
    uint32_t bits;
    std::memcpy(&bits, &lane_q[lane], sizeof(bits));
    int k = static_cast<int>(bits & 0x003FFFFFu);
    while (!(lane_v[lane] < lk.cuts[k])) ++k;
    lane_q[lane] = lk.proxies[k];
  }
  return _mm256_load_ps(lane_q);
}

/// Lanes of q that are NaN (unsure) where v is finite, as a bit mask.
RANDQUANT_AVX2 inline int unsure_lanes(__m256 q, __m256 finite) {
  return _mm256_movemask_ps(
      _mm256_and_ps(_mm256_cmp_ps(q, q, _CMP_UNORD_Q), finite));
}

/// Contiguous float run, many cut points: one gather from the bucket table
/// gives the proxy for lanes whose bucket holds no cut point. Two vectors
/// per step keep two gathers in flight.
RANDQUANT_AVX2 inline void quantize_f32_buckets(const float* in, float* out,
                                                int64_t count,
                                                const SliceLookup<float>& lk) {
  const __m256 lo = _mm256_set1_ps(lk.map.lo);
  const __m256 scale = _mm256_set1_ps(lk.map.scale);
  const __m256 last = _mm256_set1_ps(static_cast<float>(lk.map.buckets - 1));
  int64_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m256 va = _mm256_loadu_ps(in + i);
    const __m256 vb = _mm256_loadu_ps(in + i + 8);
    const __m256 fa = finite_mask(va), fb = finite_mask(vb);
    __m256 qa = _mm256_i32gather_ps(lk.bucket_values,
                                    bucket_of(va, lo, scale, last), 4);
    __m256 qb = _mm256_i32gather_ps(lk.bucket_values,
                                    bucket_of(vb, lo, scale, last), 4);
    const int ua = unsure_lanes(qa, fa), ub = unsure_lanes(qb, fb);
    if ((ua | ub) != 0) {
      if (ua != 0) qa = finish_unsure_lanes(va, qa, ua, lk);
      if (ub != 0) qb = finish_unsure_lanes(vb, qb, ub, lk);
    }
    _mm256_storeu_ps(out + i, _mm256_blendv_ps(va, qa, fa));
    _mm256_storeu_ps(out + i + 8, _mm256_blendv_ps(vb, qb, fb));
  }
  quantize_run_scalar(in + i, 1, out + i, 1, count - i, lk);
}

/// Contiguous uint8 run: the slice's 256-entry byte table applied with 16
/// in-register shuffles (one per high nibble), 32 bytes at a time.
RANDQUANT_AVX2 inline void quantize_u8_table(const uint8_t* in, uint8_t* out,
                                             int64_t count,
                                             const SliceLookup<uint8_t>& lk) {
  __m256i table[16];
  for (int h = 0; h < 16; ++h) {
    table[h] = _mm256_broadcastsi128_si256(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(
            lk.byte_table + static_cast<ptrdiff_t>(16) * h)));
  }
  const __m256i low_nibble = _mm256_set1_epi8(0x0F);
  int64_t i = 0;
  for (; i + 32 <= count; i += 32) {
    const __m256i v =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i));
    const __m256i lo = _mm256_and_si256(v, low_nibble);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low_nibble);
    __m256i result = _mm256_shuffle_epi8(table[0], lo);
    for (int h = 1; h < 16; ++h) {
      const __m256i here =
          _mm256_cmpeq_epi8(hi, _mm256_set1_epi8(static_cast<char>(h)));
      result =
          _mm256_blendv_epi8(result, _mm256_shuffle_epi8(table[h], lo), here);
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), result);
  }
  quantize_run_scalar(in + i, 1, out + i, 1, count - i, lk);
}

/// Contiguous uint8 run with at most kShuffleMaxCuts cut points: v >= cut is v
/// >= ceil(cut) for integers, so count those with byte compares and look the
/// proxy up with one shuffle.
RANDQUANT_AVX2 inline void quantize_u8_small(const uint8_t* in, uint8_t* out,
                                             int64_t count,
                                             const SliceLookup<uint8_t>& lk) {
  __m256i threshold[kShuffleMaxCuts];
  alignas(16) uint8_t proxies[16] = {};
  const int n_cuts = lk.n_cuts;
  for (int k = 0; k < n_cuts; ++k) {
    // Cut points lie in [lo, hi] within [0, 255], so ceil() fits a byte.
    threshold[k] = _mm256_set1_epi8(
        static_cast<char>(static_cast<uint8_t>(std::ceil(lk.cuts[k]))));
  }
  for (int j = 0; j <= n_cuts; ++j) proxies[j] = lk.proxies[j];
  const __m256i table = _mm256_broadcastsi128_si256(
      _mm_load_si128(reinterpret_cast<const __m128i*>(proxies)));
  int64_t i = 0;
  for (; i + 32 <= count; i += 32) {
    const __m256i v =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i));
    __m256i region = _mm256_setzero_si256();
    for (int k = 0; k < n_cuts; ++k) {
      const __m256i at_or_above =
          _mm256_cmpeq_epi8(_mm256_max_epu8(v, threshold[k]), v);
      region = _mm256_sub_epi8(region, at_or_above);
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        _mm256_shuffle_epi8(table, region));
  }
  quantize_run_scalar(in + i, 1, out + i, 1, count - i, lk);
}

#undef RANDQUANT_AVX2

#endif  // RANDQUANT_HAS_X86_SIMD

}  // namespace avx2
}  // namespace cpu
}  // namespace randquant
