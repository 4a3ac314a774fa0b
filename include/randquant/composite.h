#pragma once
/// \file
/// The composite path: Randomized Quantization with plain ATen ops, from the
/// same per-slice parameters as the fused kernels. Slow (several passes and
/// an (N, C, M) index tensor) but device-agnostic: it is the test oracle and
/// the fallback for devices without a fused kernel.

#include <ATen/ATen.h>

#include <limits>

#include "randquant/detail/geometry.h"
#include "randquant/params.h"

namespace randquant {
namespace detail {

/// Per-slice min and max over finite values with ATen ops, as (N, C) CPU
/// tensors of the accumulate dtype; lo = +inf, hi = -inf for a slice
/// without finite values.
inline std::pair<at::Tensor, at::Tensor> composite_min_max(
    const at::Tensor& x, const Geometry& geometry) {
  const at::Tensor v = geometry.slice_view(x)
                           .reshape({geometry.samples, geometry.channels, -1})
                           .to(accumulate_dtype(x.scalar_type()));
  const at::Tensor finite = at::isfinite(v);
  const double inf = std::numeric_limits<double>::infinity();
  at::Tensor lo = at::where(finite, v, at::full({}, inf, v.options())).amin(-1);
  at::Tensor hi =
      at::where(finite, v, at::full({}, -inf, v.options())).amax(-1);
  return {lo.cpu().contiguous(), hi.cpu().contiguous()};
}

/// Writes every slice's proxies with ATen ops: region = searchsorted(cuts,
/// v, right), then a gather; non-finite values and slices not quantized
/// keep their input.
inline at::Tensor composite_apply(const at::Tensor& x, const Geometry& geometry,
                                  const QuantizationParams& params) {
  const at::Tensor v =
      geometry.slice_view(x).reshape({geometry.samples, geometry.channels, -1});
  const at::Tensor acc = v.to(accumulate_dtype(x.scalar_type()));
  const at::Tensor cuts = params.cuts.to(x.device());
  const at::Tensor region =
      cuts.size(2) == 0
          ? at::zeros(acc.sizes(), acc.options().dtype(at::kLong))
          : at::searchsorted(cuts, acc, /*out_int32=*/false, /*right=*/true);
  const at::Tensor proxy = params.proxies.to(x.device()).gather(2, region);
  const at::Tensor keep_input =
      at::logical_not(at::isfinite(acc))
          .logical_or(
              at::logical_not(params.quantized.to(x.device())).unsqueeze(2));
  const at::Tensor out = at::where(keep_input, v, proxy);
  return geometry.from_slice_view(out.reshape(geometry.slice_view(x).sizes()))
      .contiguous(x.suggest_memory_format());
}

}  // namespace detail
}  // namespace randquant
