#pragma once
/// \file
/// The per-slice parameters of a call, as quantization_params() returns
/// them: what was drawn and what each slice was quantized with.

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>

#include <cstdint>

#include "randquant/core/slice_math.h"

namespace randquant {

/// Everything one call drew and computed, per slice (sample n, channel c):
/// what quantization_params() returns and apply_quantization_params()
/// replays. All tensors are on the CPU; N is 1 for unbatched input and
/// Rmax = max(regions, max_regions). `acc` below is accumulate_dtype() of
/// x's dtype: float64 for float64, int32 and int64 inputs, float32
/// otherwise. A slice without finite values has regions = 0, no cut points
/// (+inf) and no proxies (0), and is not quantized; a slice whose sample's
/// coin said no keeps its drawn R, cut points and proxies but is not
/// quantized either. The table is in \ref md_docs_SPEC "SPEC.md",
/// Parameters of a call.
/// \code
/// randquant::QuantizationParams p =
///     randquant::quantization_params(at::rand({8, 3, 32, 32}));
/// at::Tensor r = p.regions;  // (8, 3) int64: R of each slice
/// \endcode
struct QuantizationParams {
  uint64_t key = 0;    ///< the call's Philox key, drawn from the generator
  at::Tensor lo;       ///< (N, C) acc: min over the slice's finite values
  at::Tensor hi;       ///< (N, C) acc: max over the slice's finite values
  at::Tensor regions;  ///< (N, C) int64: R of each slice (0: no finite value)
  at::Tensor cuts;     ///< (N, C, Rmax - 1) acc: sorted cut points, +inf padded
  at::Tensor proxies;  ///< (N, C, Rmax) x's dtype: region proxies, 0 padded
  at::Tensor applied;  ///< (N) bool: the sample's coin came up (prob. p)
  /// (N, C) bool: applied and the slice has a finite value.
  at::Tensor quantized;
  /// (N) int64, sample-keyed calls only: the key of each sample, under
  /// which its slices draw with index = channel (undefined otherwise).
  at::Tensor sample_keys;
};

/// Dtype of the per-slice arithmetic (min, max, cut points) for inputs of
/// dtype `dtype`: float64 for float64, int32 and int64, float32 for the
/// other supported dtypes; the dtype of QuantizationParams::lo, hi and cuts.
/// Derived from the type the kernels compute in, so the two cannot differ.
/// \param dtype one of the dtypes randomized_quantize() supports.
/// \return at::kDouble or at::kFloat.
/// \throws c10::Error (from ATen's dispatch) for any other dtype: bool,
///   complex, quantized and the like.
///
/// \code
/// at::ScalarType acc = randquant::accumulate_dtype(at::kHalf);  // kFloat
/// \endcode
inline at::ScalarType accumulate_dtype(at::ScalarType dtype) {
  at::ScalarType acc = at::kFloat;
  AT_DISPATCH_ALL_TYPES_AND2(
      at::kHalf, at::kBFloat16, dtype, "accumulate_dtype",
      [&] { acc = c10::CppTypeToScalarType<core::acc_type<scalar_t>>::value; });
  return acc;
}

}  // namespace randquant
