#pragma once
/// \file
/// Argument checks at the public entry and the mapping from a tensor to its
/// (sample, channel, rest...) view. TORCH_CHECK lives here and nowhere in
/// the kernels.

#include <ATen/ATen.h>
#include <c10/util/Optional.h>

#include <cmath>
#include <cstdint>

#include "randquant/options.h"

namespace randquant {
namespace detail {

/// Where the slices of an input are: N samples of C channels each.
struct Geometry {
  bool batched = true;      ///< dim 0 is the batch
  int64_t channel_dim = 0;  ///< channel dimension of the tensor (wrapped)
  int64_t samples = 1;      ///< N (1 when unbatched)
  int64_t channels = 1;     ///< C

  /// Number of slices, N * C.
  int64_t slices() const { return samples * channels; }

  /// View of t as (N, C, rest...): no copy.
  at::Tensor slice_view(const at::Tensor& t) const {
    const at::Tensor with_batch = batched ? t : t.unsqueeze(0);
    const int64_t dim = batched ? channel_dim : channel_dim + 1;
    return with_batch.movedim(dim, 1);
  }

  /// Inverse of slice_view: a (N, C, rest...) tensor back to the input's
  /// dimension order.
  at::Tensor from_slice_view(const at::Tensor& v) const {
    const int64_t dim = batched ? channel_dim : channel_dim + 1;
    const at::Tensor moved = v.movedim(1, dim);
    return batched ? moved : moved.squeeze(0);
  }
};

/// Checks the options alone (the module checks them at construction).
inline void check_options(const RandomizedQuantizationOptions& options,
                          const char* fn) {
  TORCH_CHECK(options.regions() >= 1 && options.regions() <= kMaxRegions, fn,
              ": regions must be in [1, ", kMaxRegions,
              "], got regions = ", options.regions());
  TORCH_CHECK(
      options.max_regions() == 0 ||
          (options.max_regions() >= options.regions() &&
           options.max_regions() <= kMaxRegions),
      fn, ": max_regions must be 0 or in [regions = ", options.regions(), ", ",
      kMaxRegions, "], got max_regions = ", options.max_regions());
  TORCH_CHECK(options.p() >= 0.0 && options.p() <= 1.0, fn,
              ": p must be in [0, 1], got p = ", options.p());
  TORCH_CHECK(options.collapse() == Collapse::InsideRandom ||
                  options.collapse() == Collapse::Middle ||
                  options.collapse() == Collapse::Zeros,
              fn, ": collapse has an unknown value ", options.collapse());
  TORCH_CHECK(options.spacing() == Spacing::Random ||
                  options.spacing() == Spacing::Uniform,
              fn, ": spacing has an unknown value ", options.spacing());
}

/// The dtypes every backend's kernels are instantiated for (bool, complex,
/// quantized, and the unsigned and float8 types of LibTorch 2.x are not).
inline bool supported_dtype(at::ScalarType dtype) {
  switch (dtype) {
    case at::kFloat:
    case at::kDouble:
    case at::kHalf:
    case at::kBFloat16:
    case at::kByte:
    case at::kChar:
    case at::kShort:
    case at::kInt:
    case at::kLong:
      return true;
    default:
      return false;
  }
}

/// Checks x and the options, and finds the slices. Throws c10::Error naming
/// the argument and its value.
inline Geometry check_inputs(const at::Tensor& x,
                             const RandomizedQuantizationOptions& options,
                             const char* fn) {
  TORCH_CHECK(x.defined(), fn, ": x is an undefined tensor");
  check_options(options, fn);
  const at::ScalarType dtype = x.scalar_type();
  TORCH_CHECK(supported_dtype(dtype), fn, ": x has dtype ", dtype,
              ", which is not supported (float, double, half, bfloat16, "
              "uint8, int8, int16, int32 or int64)");
  const int64_t batch_dims = options.batched() ? 1 : 0;
  TORCH_CHECK(x.dim() >= batch_dims + 1, fn,
              ": batched = ", options.batched() ? "true" : "false",
              " needs x with at least ", batch_dims + 1,
              " dimension(s), got x.dim() = ", x.dim(), " (shape ", x.sizes(),
              ")");
  const int64_t sample_dims = x.dim() - batch_dims;
  const int64_t cd = options.channel_dim();
  TORCH_CHECK(cd >= -sample_dims && cd < sample_dims, fn,
              ": channel_dim must be in [", -sample_dims, ", ", sample_dims - 1,
              "] for a sample of ", sample_dims, " dimension(s) (x shape ",
              x.sizes(), "), got channel_dim = ", cd);
  Geometry g;
  g.batched = options.batched();
  g.channel_dim = batch_dims + (cd < 0 ? cd + sample_dims : cd);
  g.samples = options.batched() ? x.size(0) : 1;
  g.channels = x.size(g.channel_dim);
  return g;
}

}  // namespace detail
}  // namespace randquant
