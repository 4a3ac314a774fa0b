#pragma once
/// \file
/// The composite backend: Randomized Quantization with plain ATen ops, from
/// the same per-slice parameters as the fused kernels (detail/param_table.h).
/// Slow (several passes and an (N, C, M) index tensor) but device-agnostic:
/// it is the test oracle, the engine of quantization_params() and
/// apply_quantization_params(), and the fallback of devices without a fused
/// kernel (or without a sample-keyed one).

#include <ATen/ATen.h>

#include <limits>
#include <utility>

#include "randquant/detail/backend.h"
#include "randquant/detail/generator.h"
#include "randquant/detail/geometry.h"
#include "randquant/detail/param_table.h"
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

/// Parameters of a call with per-slice min/max found by ATen ops (any
/// device), for the call's key (or, `sample_keys` defined, its samples'
/// keys).
inline QuantizationParams composite_params(
    const at::Tensor& x, const Geometry& geometry,
    const RandomizedQuantizationOptions& options, uint64_t key,
    const at::Tensor& sample_keys = {}) {
  if (x.numel() == 0) {
    const auto acc =
        at::TensorOptions().dtype(accumulate_dtype(x.scalar_type()));
    at::Tensor lo = at::full({geometry.samples, geometry.channels},
                             std::numeric_limits<double>::infinity(), acc);
    at::Tensor hi = at::full({geometry.samples, geometry.channels},
                             -std::numeric_limits<double>::infinity(), acc);
    return make_params(std::move(lo), std::move(hi), key, options,
                       x.scalar_type(), sample_keys);
  }
  auto min_max = composite_min_max(x, geometry);
  return make_params(std::move(min_max.first), std::move(min_max.second), key,
                     options, x.scalar_type(), sample_keys);
}

/// The composite path end to end: ATen min/max, shared per-slice math,
/// ATen searchsorted + gather.
inline at::Tensor composite_quantize(
    const at::Tensor& x, const Geometry& geometry,
    const RandomizedQuantizationOptions& options, const CallKey& key) {
  return composite_apply(
      x, geometry,
      composite_params(x, geometry, options, key.per_sample() ? 0 : key.value(),
                       key.samples));
}

/// The composite path as a backend: any device, sample-keyed calls too.
inline const Backend& composite_backend() {
  static const Backend backend{
      "composite",
      [](const at::Tensor& x, const at::Tensor& out, const Geometry& geometry,
         const RandomizedQuantizationOptions& options, const CallKey& key) {
        out.copy_(composite_quantize(x, geometry, options, key));
      },
      &composite_quantize, /*sample_keyed=*/true};
  return backend;
}

}  // namespace detail
}  // namespace randquant
