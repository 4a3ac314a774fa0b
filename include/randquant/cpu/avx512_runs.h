#pragma once
/// \file
/// AVX-512 loops for contiguous float32 runs with up to 15 cut points and
/// for one-byte runs (VBMI) (cpu_features.h: target attributes, chosen at
/// run time), bit for bit what the portable loop gives.

#include <cstdint>
#include <limits>

#include "randquant/cpu/avx2_runs.h"
#include "randquant/cpu/cpu_features.h"
#include "randquant/cpu/scalar_runs.h"
#include "randquant/cpu/slice_lookup.h"

namespace randquant {
namespace cpu {
namespace avx512 {

#if RANDQUANT_HAS_X86_SIMD

#define RANDQUANT_AVX512F __attribute__((target("avx512f")))
#define RANDQUANT_AVX512_VBMI \
  __attribute__((target("avx512f,avx512bw,avx512vbmi")))

/// _mm512_min_ps(a, b) (NaN in either gives b), through its masked form:
/// GCC 12's unmasked one reads an uninitialised register (a
/// -Wmaybe-uninitialized warning in every including translation unit).
RANDQUANT_AVX512F inline __m512 all_lanes_min(__m512 a, __m512 b) {
  return _mm512_mask_min_ps(b, 0xFFFF, a, b);
}

/// _mm512_max_ps(a, b) (NaN in either gives b), as all_lanes_min().
RANDQUANT_AVX512F inline __m512 all_lanes_max(__m512 a, __m512 b) {
  return _mm512_mask_max_ps(b, 0xFFFF, a, b);
}

/// proxy[region(v)] for 16 finite lanes, v for the others: region = the
/// number of cut points <= v by a binary search of `Steps` steps over the
/// 16-lane register of sorted cut points (+inf padded), then a 16-entry
/// in-register table lookup that keeps v where v is not finite.
template <int Steps>
RANDQUANT_AVX512F inline __m512 lookup16(__m512 v, __m512 cuts, __m512 table) {
  __m512i region = _mm512_setzero_si512();
  for (int step = Steps - 1; step >= 0; --step) {
    const int half = 1 << step;  // 8, 4, 2, 1 (or 4, 2, 1)
    const __m512i probe = _mm512_add_epi32(region, _mm512_set1_epi32(half - 1));
    // Masked form with every lane set: the unmasked one trips GCC 12's
    // -Wmaybe-uninitialized (see all_lanes_min).
    const __m512 cut = _mm512_mask_permutexvar_ps(cuts, 0xFFFF, probe, cuts);
    const __mmask16 ge = _mm512_cmp_ps_mask(v, cut, _CMP_GE_OQ);
    region = _mm512_mask_add_epi32(region, ge, region, _mm512_set1_epi32(half));
  }
  const __mmask16 finite =
      _mm512_cmp_ps_mask(_mm512_sub_ps(v, v), _mm512_setzero_ps(), _CMP_EQ_OQ);
  return _mm512_mask_permutexvar_ps(v, finite, region, table);
}

/// Contiguous float run with at most kRegister16MaxCuts cut points (lk.cuts
/// and lk.proxies hold 16 entries each).
template <int Steps>
RANDQUANT_AVX512F inline void quantize_f32_register_steps(
    const float* in, float* out, int64_t count, const SliceLookup<float>& lk) {
  const __m512 cuts = _mm512_loadu_ps(lk.cuts);
  const __m512 table = _mm512_loadu_ps(lk.proxies);
  int64_t i = 0;
  for (; i + 32 <= count; i += 32) {
    const __m512 a = _mm512_loadu_ps(in + i);
    const __m512 b = _mm512_loadu_ps(in + i + 16);
    _mm512_storeu_ps(out + i, lookup16<Steps>(a, cuts, table));
    _mm512_storeu_ps(out + i + 16, lookup16<Steps>(b, cuts, table));
  }
  quantize_run_scalar(in + i, 1, out + i, 1, count - i, lk);
}

/// Contiguous float run with at most kRegister16MaxCuts cut points: three
/// search steps for up to 7 cut points, four above.
inline void quantize_f32_register(const float* in, float* out, int64_t count,
                                  const SliceLookup<float>& lk) {
  if (lk.n_cuts <= 7) return quantize_f32_register_steps<3>(in, out, count, lk);
  quantize_f32_register_steps<4>(in, out, count, lk);
}

/// Running min/max of the finite values of a contiguous float run (NaN
/// skipped by operand order as in avx2::min_max_f32; a result of +-inf is
/// redone with masks).
RANDQUANT_AVX512F inline void min_max_f32(const float* in, int64_t count,
                                          float* lo, float* hi) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  __m512 lo_a = _mm512_set1_ps(kInf), lo_b = lo_a;
  __m512 hi_a = _mm512_set1_ps(-kInf), hi_b = hi_a;
  int64_t i = 0;
  for (; i + 32 <= count; i += 32) {
    const __m512 a = _mm512_loadu_ps(in + i);
    const __m512 b = _mm512_loadu_ps(in + i + 16);
    lo_a = all_lanes_min(a, lo_a);
    hi_a = all_lanes_max(a, hi_a);
    lo_b = all_lanes_min(b, lo_b);
    hi_b = all_lanes_max(b, hi_b);
  }
  alignas(64) float lanes_lo[16], lanes_hi[16];
  _mm512_store_ps(lanes_lo, all_lanes_min(lo_a, lo_b));
  _mm512_store_ps(lanes_hi, all_lanes_max(hi_a, hi_b));
  float l = kInf, h = -kInf;
  for (int k = 0; k < 16; ++k) {
    l = lanes_lo[k] < l ? lanes_lo[k] : l;
    h = lanes_hi[k] > h ? lanes_hi[k] : h;
  }
  if (l == -kInf || h == kInf) {
    return avx2::min_max_f32_masked(in, count, lo, hi);
  }
  *lo = l < *lo ? l : *lo;
  *hi = h > *hi ? h : *hi;
  min_max_run_scalar(in + i, 1, count - i, lo, hi);
}

/// proxy[region(v)] for 16 finite lanes from the bucket table, v for the
/// others: one gather gives the proxy where the lane's bucket holds no cut
/// point; the other lanes (NaN-boxed first candidate region) step through
/// the cut points with gathers until v < cut (the +inf sentinel stops them).
RANDQUANT_AVX512F inline __m512 lookup_buckets16(__m512 v, __m512 lo,
                                                 __m512 scale, __m512 last,
                                                 const SliceLookup<float>& lk) {
  const __m512 zero = _mm512_setzero_ps();
  const __m512 f = _mm512_mul_ps(_mm512_sub_ps(v, lo), scale);
  // As BucketMap: f <= 0 or NaN gives 0, f >= buckets gives buckets - 1.
  const __m512i bucket =
      _mm512_mask_cvttps_epi32(_mm512_setzero_si512(), 0xFFFF,
                               all_lanes_min(all_lanes_max(f, zero), last));
  __m512 q =
      _mm512_mask_i32gather_ps(zero, 0xFFFF, bucket, lk.bucket_values, 4);
  const __mmask16 finite =
      _mm512_cmp_ps_mask(_mm512_sub_ps(v, v), zero, _CMP_EQ_OQ);
  const __mmask16 unsure = finite & _mm512_cmp_ps_mask(q, q, _CMP_UNORD_Q);
  if (unsure != 0) {
    __m512i region =
        _mm512_and_si512(_mm512_castps_si512(q), _mm512_set1_epi32(0x003FFFFF));
    const __m512i one = _mm512_set1_epi32(1);
    for (__mmask16 active = unsure; active != 0;) {
      const __m512 cut =
          _mm512_mask_i32gather_ps(zero, active, region, lk.cuts, 4);
      active = _mm512_mask_cmp_ps_mask(active, v, cut, _CMP_GE_OQ);
      region = _mm512_mask_add_epi32(region, active, region, one);
    }
    q = _mm512_mask_i32gather_ps(q, unsure, region, lk.proxies, 4);
  }
  return _mm512_mask_mov_ps(v, finite, q);
}

/// Contiguous float run with more than kRegister16MaxCuts cut points, through
/// the bucket table (lookup_buckets16), 32 values a step.
RANDQUANT_AVX512F inline void quantize_f32_buckets(
    const float* in, float* out, int64_t count, const SliceLookup<float>& lk) {
  const __m512 lo = _mm512_set1_ps(lk.map.lo);
  const __m512 scale = _mm512_set1_ps(lk.map.scale);
  const __m512 last = _mm512_set1_ps(static_cast<float>(lk.map.buckets - 1));
  int64_t i = 0;
  for (; i + 32 <= count; i += 32) {
    const __m512 a = _mm512_loadu_ps(in + i);
    const __m512 b = _mm512_loadu_ps(in + i + 16);
    _mm512_storeu_ps(out + i, lookup_buckets16(a, lo, scale, last, lk));
    _mm512_storeu_ps(out + i + 16, lookup_buckets16(b, lo, scale, last, lk));
  }
  quantize_run_scalar(in + i, 1, out + i, 1, count - i, lk);
}

/// Contiguous one-byte run, any number of cut points: the slice's 256-entry
/// byte table in four registers, looked up 64 bytes at a time with two
/// 128-entry byte permutes (vpermt2b) and a blend on the top bit.
template <typename T>
RANDQUANT_AVX512_VBMI inline void quantize_bytes_vbmi(
    const T* in, T* out, int64_t count, const SliceLookup<T>& lk) {
  static_assert(sizeof(T) == 1, "one-byte dtypes");
  const auto* table = reinterpret_cast<const uint8_t*>(lk.byte_table);
  const __m512i t0 = _mm512_loadu_si512(table);
  const __m512i t1 = _mm512_loadu_si512(table + 64);
  const __m512i t2 = _mm512_loadu_si512(table + 128);
  const __m512i t3 = _mm512_loadu_si512(table + 192);
  int64_t i = 0;
  for (; i + 64 <= count; i += 64) {
    const __m512i v = _mm512_loadu_si512(in + i);
    const __m512i low = _mm512_permutex2var_epi8(t0, v, t1);
    const __m512i high = _mm512_permutex2var_epi8(t2, v, t3);
    _mm512_storeu_si512(
        out + i, _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), low, high));
  }
  quantize_run_scalar(in + i, 1, out + i, 1, count - i, lk);
}

#undef RANDQUANT_AVX512F
#undef RANDQUANT_AVX512_VBMI

#endif  // RANDQUANT_HAS_X86_SIMD

}  // namespace avx512
}  // namespace cpu
}  // namespace randquant
