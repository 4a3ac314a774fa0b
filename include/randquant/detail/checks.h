#pragma once
/// \file
/// Argument checks of the public entries: every TORCH_CHECK on user input
/// lives here, none in the kernels. Each message starts with the name of
/// the entry the user called and names the argument and its value.

#include <ATen/ATen.h>
#include <ATen/MemoryOverlap.h>

#include <cstdint>

#include "randquant/detail/geometry.h"
#include "randquant/options.h"

namespace randquant {
namespace detail {

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
  TORCH_CHECK(x.layout() == at::kStrided, fn, ": x has layout ", x.layout(),
              ", but only strided (dense) tensors are supported");
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
  Geometry geometry;
  geometry.batched = options.batched();
  geometry.channel_dim = batch_dims + (cd < 0 ? cd + sample_dims : cd);
  geometry.samples = options.batched() ? x.size(0) : 1;
  geometry.channels = x.size(geometry.channel_dim);
  return geometry;
}

/// Checks that x may be quantized in place (after check_inputs()): it
/// does not require grad (the result carries no gradient, and autograd
/// cannot see a write through its data) and no element is stored twice (an
/// expanded tensor).
inline void check_inplace(const at::Tensor& x, const char* fn) {
  TORCH_CHECK(!x.requires_grad(), fn,
              ": x requires grad, so it cannot be quantized in place; use the "
              "out-of-place call (randomized_quantize)");
  TORCH_CHECK(at::has_internal_overlap(x) != at::MemOverlap::Yes, fn,
              ": x (shape ", x.sizes(), ", strides ", x.strides(),
              ") stores one element for several indices (expanded or "
              "stride 0), so it cannot be quantized in place; pass "
              "x.contiguous() or use the out-of-place call");
}

/// Checks `out` of an out= call against x (after check_inputs()): same
/// dtype and device, x's shape unless empty (then it is resized), no
/// gradient, no internal overlap, and not partially overlapping x (out may
/// be x itself: the in-place case).
inline void check_out(const at::Tensor& out, const at::Tensor& x,
                      const RandomizedQuantizationOptions& options,
                      const char* fn) {
  TORCH_CHECK(out.defined(), fn, ": out is an undefined tensor");
  TORCH_CHECK(out.scalar_type() == x.scalar_type(), fn, ": out has dtype ",
              out.scalar_type(), ", but x has dtype ", x.scalar_type());
  TORCH_CHECK(out.device() == x.device(), fn, ": out is on device ",
              out.device(), ", but x is on device ", x.device());
  TORCH_CHECK(out.numel() == 0 || out.sizes() == x.sizes(), fn,
              ": out has shape ", out.sizes(), ", but x has shape ", x.sizes(),
              " (an empty out is resized)");
  TORCH_CHECK(!out.requires_grad(), fn,
              ": out requires grad; out= calls do not support automatic "
              "differentiation");
  TORCH_CHECK(!(options.straight_through() && x.requires_grad()), fn,
              ": straight_through = true with x requiring grad needs the "
              "out-of-place call (an out= result carries no gradient)");
  TORCH_CHECK(at::has_internal_overlap(out) != at::MemOverlap::Yes, fn,
              ": out (shape ", out.sizes(), ", strides ", out.strides(),
              ") stores one element for several indices (expanded or "
              "stride 0)");
  TORCH_CHECK(at::get_overlap_status(out, x) != at::MemOverlapStatus::Partial,
              fn, ": out partially overlaps x (out strides ", out.strides(),
              ", x strides ", x.strides(),
              "); pass x itself for in place, or a separate tensor");
}

}  // namespace detail
}  // namespace randquant
