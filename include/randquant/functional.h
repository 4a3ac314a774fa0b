#pragma once
/// \file
/// The functional API: randomized_quantize() and friends. Each entry hands
/// its arguments to the call pipeline (detail/pipeline.h).

#include <ATen/ATen.h>
#include <c10/util/Optional.h>

#include <utility>

#include "randquant/detail/pipeline.h"
#include "randquant/options.h"
#include "randquant/params.h"
#include "randquant/sample_keys.h"

namespace randquant {

/// Randomized Quantization (Wu et al., ICCV 2023) of x: every slice (sample
/// x channel) goes through its own random quantizer. Returns a new tensor of
/// x's shape, dtype and device; x is not modified (unless
/// options.inplace(): then as randomized_quantize_()). The output carries
/// no gradient, unless options.straight_through(): then backward passes the
/// incoming gradient to x unchanged. Draws one key from `generator`
/// (default: the default generator of x's device), so the same generator
/// state gives the same output; a CPU generator gives a CUDA tensor bitwise
/// the CPU output, and a CUDA generator keeps the call free of host
/// synchronisation (CUDA-graph capturable). Throws c10::Error on invalid
/// options or input (see README).
inline at::Tensor randomized_quantize(
    const at::Tensor& x, const RandomizedQuantizationOptions& options = {},
    // NOLINTNEXTLINE(performance-unnecessary-value-param): ATen-style API
    c10::optional<at::Generator> generator = c10::nullopt) {
  return detail::quantize(x, options, std::move(generator),
                          "randomized_quantize");
}

/// randomized_quantize() in place: quantizes x and returns it, bitwise the
/// out-of-place result for the same generator state. Extra memory is the
/// call's parameters, O(slices * R). Throws c10::Error, leaving x as it
/// was, when x requires grad or is expanded (one element stored for several
/// indices). options.inplace() is not needed.
inline at::Tensor& randomized_quantize_(
    at::Tensor& x, const RandomizedQuantizationOptions& options = {},
    // NOLINTNEXTLINE(performance-unnecessary-value-param): ATen-style API
    c10::optional<at::Generator> generator = c10::nullopt) {
  return detail::quantize_inplace(x, options, std::move(generator),
                                  "randomized_quantize_");
}

/// randomized_quantize() into `out` and returns it, bitwise the
/// out-of-place result for the same generator state. An empty `out` is
/// resized to x's shape (as ATen's out= ops); `out` may be x itself (in
/// place). Throws c10::Error, leaving both tensors as they were, when out
/// has another dtype or device, another shape (non-empty), requires grad,
/// is expanded, or partially overlaps x. options.inplace() is ignored.
inline at::Tensor& randomized_quantize_out(
    at::Tensor& out, const at::Tensor& x,
    const RandomizedQuantizationOptions& options = {},
    // NOLINTNEXTLINE(performance-unnecessary-value-param): ATen-style API
    c10::optional<at::Generator> generator = c10::nullopt) {
  return detail::quantize_out(out, x, options, std::move(generator),
                              "randomized_quantize_out");
}

/// randomized_quantize() with sample-keyed draws: sample n's region count,
/// cut points, proxies and coin depend only on (keys.seed, keys.epoch,
/// keys.index[n], channel) and the options, not on N, its position, the
/// thread count, the device or any generator (nothing is drawn). So a batch
/// equals its samples quantized one by one (unbatched, with their index),
/// and a permuted batch gives the permuted output. CUDA tensors take the
/// composite path. Throws c10::Error on bad keys (length other than N, a
/// non-integer dtype, a negative index, another device).
inline at::Tensor randomized_quantize(
    const at::Tensor& x, const RandomizedQuantizationOptions& options,
    const SampleKeys& keys) {
  return detail::quantize(x, options, keys, "randomized_quantize");
}

/// randomized_quantize_() with sample-keyed draws.
inline at::Tensor& randomized_quantize_(
    at::Tensor& x, const RandomizedQuantizationOptions& options,
    const SampleKeys& keys) {
  return detail::quantize_inplace(x, options, keys, "randomized_quantize_");
}

/// randomized_quantize_out() with sample-keyed draws.
inline at::Tensor& randomized_quantize_out(
    at::Tensor& out, const at::Tensor& x,
    const RandomizedQuantizationOptions& options, const SampleKeys& keys) {
  return detail::quantize_out(out, x, options, keys, "randomized_quantize_out");
}

/// The parameters randomized_quantize() would use for x with the generator
/// in its current state (min, max, regions, cut points, proxies, coins).
/// Advances the generator exactly as randomized_quantize() does, so
/// cloning the generator's state first lets a caller inspect a call.
inline QuantizationParams quantization_params(
    const at::Tensor& x, const RandomizedQuantizationOptions& options = {},
    // NOLINTNEXTLINE(performance-unnecessary-value-param): ATen-style API
    c10::optional<at::Generator> generator = c10::nullopt) {
  return detail::Pipeline<>::params(x, options, std::move(generator));
}

/// Replays a call: quantizes x with `params` (from quantization_params() on
/// a tensor of the same shape, with the same options) through plain ATen
/// ops. Draws nothing. Values of x outside a slice's recorded [lo, hi] fall
/// in the first or last region.
inline at::Tensor apply_quantization_params(
    const at::Tensor& x, const QuantizationParams& params,
    const RandomizedQuantizationOptions& options = {}) {
  return detail::Pipeline<>::apply_params(x, params, options);
}

/// randomized_quantize() through the composite path (plain ATen ops, any
/// device): the same result bit for bit, several times slower. The test
/// oracle, and a fallback for devices without a fused kernel.
inline at::Tensor randomized_quantize_composite(
    const at::Tensor& x, const RandomizedQuantizationOptions& options = {},
    // NOLINTNEXTLINE(performance-unnecessary-value-param): ATen-style API
    c10::optional<at::Generator> generator = c10::nullopt) {
  return detail::quantize(x, options, std::move(generator),
                          "randomized_quantize_composite",
                          &detail::composite_backend());
}

}  // namespace randquant
