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
/// x channel) goes through its own random quantizer, as \ref md_docs_SPEC
/// "SPEC.md" specifies.
/// \param x float, double, half, bfloat16, uint8, int8, int16, int32 or
///   int64; dense (strided), any strides.
/// \param options R, spacing, proxies, p and the layout of x.
/// \param generator the source of the call's key; default: the default
///   CUDA generator of x's device for a CUDA tensor, else the default CPU
///   generator.
/// \return A new tensor of x's shape, dtype and device; x is not modified
///   (with options.inplace(): x itself, quantized as by
///   randomized_quantize_()). No gradient flows to x unless
///   options.straight_through(); then backward passes it on unchanged.
/// \throws c10::Error naming the argument and its value, on invalid options
///   (see RandomizedQuantizationOptions), an undefined x, a layout other
///   than strided, an unsupported dtype, fewer than 2 dimensions when
///   batched (1 when not), channel_dim out of range for the sample, a
///   generator that is neither CPU nor CUDA, or a CUDA generator for an x
///   not on its device; with options.inplace(), also the errors of
///   randomized_quantize_().
///
/// Randomness: one 64-bit key is drawn from the generator (under its mutex)
/// after every check, so a refused call leaves the generator as it was (the
/// one exception, a CPU generator while a CUDA graph is captured, is in
/// SPEC.md, Errors). The output is a function of the key, x and the options
/// alone: the same generator state gives the same output bit for bit on
/// every backend (fused CPU, fused CUDA, composite), and a CPU generator
/// gives a CUDA tensor exactly the CPU result. A CUDA generator draws on
/// the device, so the fused CUDA path never waits for the host and can be
/// captured in a CUDA graph.
/// \code
/// at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(/*seed=*/42);
/// at::Tensor q = randquant::randomized_quantize(
///     at::rand({8, 3, 32, 32}), randquant::RandomizedQuantizationOptions(16),
///     gen);
/// \endcode
inline at::Tensor randomized_quantize(
    const at::Tensor& x, const RandomizedQuantizationOptions& options = {},
    // NOLINTNEXTLINE(performance-unnecessary-value-param): ATen-style API
    c10::optional<at::Generator> generator = c10::nullopt) {
  return detail::quantize(x, options, std::move(generator),
                          "randomized_quantize");
}

/// randomized_quantize() in place: quantizes x itself and returns it, bit
/// for bit the out-of-place result for the same generator state.
/// options.inplace() is not needed. Extra memory is the call's parameters,
/// O(slices * R).
/// \param x the tensor to quantize (as randomized_quantize()'s x).
/// \param options as for randomized_quantize().
/// \param generator as for randomized_quantize().
/// \return x.
/// \throws c10::Error on the errors of randomized_quantize(), and when x
///   requires grad or stores one element for several indices (expanded,
///   stride 0), leaving x and the generator as they were. ATen itself
///   refuses an inference tensor outside InferenceMode, after the draw.
///
/// Randomness: as randomized_quantize(), one key per call.
/// \code
/// at::Tensor x = at::rand({8, 3, 32, 32});
/// randquant::randomized_quantize_(x, 8);  // R = 8, x itself
/// \endcode
inline at::Tensor& randomized_quantize_(
    at::Tensor& x, const RandomizedQuantizationOptions& options = {},
    // NOLINTNEXTLINE(performance-unnecessary-value-param): ATen-style API
    c10::optional<at::Generator> generator = c10::nullopt) {
  return detail::quantize_inplace(x, options, std::move(generator),
                                  "randomized_quantize_");
}

/// randomized_quantize() into `out`, which it returns: bit for bit the
/// out-of-place result for the same generator state. An empty `out` is
/// resized to x's shape (as ATen's out= ops); `out` may be x itself (in
/// place). options.inplace() is ignored.
/// \param out the destination: x's dtype and device, x's shape or empty.
/// \param x the input (as randomized_quantize()'s x); read only, unless it
///   is `out`.
/// \param options as for randomized_quantize().
/// \param generator as for randomized_quantize().
/// \return out.
/// \throws c10::Error on the errors of randomized_quantize(), an undefined
///   `out`, an `out` of another dtype or device, of another shape while not
///   empty, requiring grad, storing one element for several indices, or
///   partially overlapping x, and on options.straight_through() with an x
///   that requires grad (an out= result carries no gradient); both tensors
///   and the generator are then left as they were.
///
/// Randomness: as randomized_quantize(), one key per call.
/// \code
/// at::Tensor out = at::empty({0});
/// randquant::randomized_quantize_out(out, at::rand({8, 3, 32, 32}));
/// \endcode
inline at::Tensor& randomized_quantize_out(
    at::Tensor& out, const at::Tensor& x,
    const RandomizedQuantizationOptions& options = {},
    // NOLINTNEXTLINE(performance-unnecessary-value-param): ATen-style API
    c10::optional<at::Generator> generator = c10::nullopt) {
  return detail::quantize_out(out, x, options, std::move(generator),
                              "randomized_quantize_out");
}

/// randomized_quantize() with sample-keyed draws, from no generator: sample
/// n's region count, cut points, proxies and coin depend only on
/// (keys.seed, keys.epoch, keys.index[n], channel) and the options.
/// Not on N, the sample's position, the thread count or the device: a batch
/// equals its samples quantized one by one (unbatched, with their index),
/// and a permuted batch gives the permuted output, bit for bit. CUDA
/// tensors take the composite path.
/// \param x as for randomized_quantize().
/// \param options as for randomized_quantize().
/// \param keys the run's seed, the epoch and one index per sample (see
///   SampleKeys).
/// \return as randomized_quantize().
/// \throws c10::Error on the errors of randomized_quantize() (the generator
///   ones aside), and on a keys.index that is undefined, of a non-integer
///   dtype, not one element per sample, on a device other than the CPU and
///   x's, or holding a negative value; all checked before anything is
///   written.
///
/// \code
/// randquant::SampleKeys keys{/*seed=*/42, /*epoch=*/0, at::tensor({17, 3})};
/// at::Tensor q = randquant::randomized_quantize(
///     at::rand({2, 3, 32, 32}), randquant::RandomizedQuantizationOptions(8),
///     keys);
/// \endcode
inline at::Tensor randomized_quantize(
    const at::Tensor& x, const RandomizedQuantizationOptions& options,
    const SampleKeys& keys) {
  return detail::quantize(x, options, keys, "randomized_quantize");
}

/// randomized_quantize_() with sample-keyed draws: x quantized in place,
/// bit for bit the out-of-place keyed result.
/// \param x the tensor to quantize.
/// \param options as for randomized_quantize().
/// \param keys as for the keyed randomized_quantize().
/// \return x.
/// \throws c10::Error on the errors of the keyed randomized_quantize() and
///   those of randomized_quantize_() (x requires grad, or is expanded),
///   leaving x as it was.
///
/// \code
/// at::Tensor x = at::rand({2, 3, 32, 32});
/// randquant::SampleKeys keys{/*seed=*/42, /*epoch=*/0, at::tensor({17, 3})};
/// randquant::randomized_quantize_(x, 8, keys);
/// \endcode
inline at::Tensor& randomized_quantize_(
    at::Tensor& x, const RandomizedQuantizationOptions& options,
    const SampleKeys& keys) {
  return detail::quantize_inplace(x, options, keys, "randomized_quantize_");
}

/// randomized_quantize_out() with sample-keyed draws: the keyed result
/// written into `out`, which it returns.
/// \param out as for randomized_quantize_out().
/// \param x as for randomized_quantize().
/// \param options as for randomized_quantize().
/// \param keys as for the keyed randomized_quantize().
/// \return out.
/// \throws c10::Error on the errors of the keyed randomized_quantize() and
///   those of `out` listed at randomized_quantize_out(), leaving both
///   tensors as they were.
///
/// \code
/// randquant::SampleKeys keys{/*seed=*/42, /*epoch=*/0, at::tensor({17, 3})};
/// at::Tensor out = at::empty({0});
/// randquant::randomized_quantize_out(out, at::rand({2, 3, 32, 32}), 8, keys);
/// \endcode
inline at::Tensor& randomized_quantize_out(
    at::Tensor& out, const at::Tensor& x,
    const RandomizedQuantizationOptions& options, const SampleKeys& keys) {
  return detail::quantize_out(out, x, options, keys, "randomized_quantize_out");
}

/// The parameters randomized_quantize() would use for x with the generator
/// in its current state: key, min, max, regions, cut points, proxies and
/// coins of every slice. Computed by the composite path; x is not modified
/// and options.inplace() is ignored.
/// \param x as for randomized_quantize().
/// \param options as for randomized_quantize().
/// \param generator as for randomized_quantize().
/// \return The parameters, on the CPU (see QuantizationParams).
/// \throws c10::Error on the errors of randomized_quantize() (not its
///   in-place ones), leaving the generator as it was.
///
/// Randomness: draws the one key randomized_quantize() draws, so the
/// generator advances exactly as by that call; to inspect a call, pass a
/// clone of the generator (`gen.clone()`), then make the call with `gen`.
/// A key drawn on a CUDA device is copied to the host (a synchronisation).
/// \code
/// at::Tensor x = at::rand({8, 3, 32, 32});
/// at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(7);
/// randquant::QuantizationParams p = randquant::quantization_params(
///     x, {}, gen.clone());  // gen itself is not advanced
/// at::Tensor y = randquant::randomized_quantize(x, {}, gen);  // p's draws
/// \endcode
inline QuantizationParams quantization_params(
    const at::Tensor& x, const RandomizedQuantizationOptions& options = {},
    // NOLINTNEXTLINE(performance-unnecessary-value-param): ATen-style API
    c10::optional<at::Generator> generator = c10::nullopt) {
  return detail::Pipeline<>::params(x, options, std::move(generator));
}

/// Replays a call: quantizes x with `params` through plain ATen ops, drawing
/// nothing (no generator is touched). With the params quantization_params()
/// gave for this x and these options, the result is randomized_quantize()'s
/// bit for bit; values of another x outside a slice's recorded [lo, hi]
/// fall in the first or last region.
/// \param x a tensor of the shape and dtype the params were made for.
/// \param params from quantization_params().
/// \param options the options the params were made with.
/// \return A new tensor of x's shape, dtype and device, with no gradient.
/// \throws c10::Error on the errors of randomized_quantize() that concern x
///   and the options, and on params for another number of samples or
///   channels (default-constructed params too), or for another dtype.
///
/// \code
/// at::Tensor x = at::rand({8, 3, 32, 32});
/// randquant::QuantizationParams p = randquant::quantization_params(x);
/// at::Tensor replay = randquant::apply_quantization_params(x, p);
/// \endcode
inline at::Tensor apply_quantization_params(
    const at::Tensor& x, const QuantizationParams& params,
    const RandomizedQuantizationOptions& options = {}) {
  return detail::Pipeline<>::apply_params(x, params, options);
}

/// randomized_quantize() through the composite path: plain ATen ops, so any
/// device, the same result bit for bit for the same generator state, and
/// several times slower. The tests' oracle, and the fallback for devices
/// without a fused kernel.
/// \param x as for randomized_quantize().
/// \param options as for randomized_quantize(), options.inplace() included.
/// \param generator as for randomized_quantize().
/// \return as randomized_quantize().
/// \throws c10::Error on the errors of randomized_quantize(), leaving the
///   generator as it was.
///
/// Randomness: one key per call, drawn as by randomized_quantize().
/// \code
/// at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(7);
/// at::Tensor x = at::rand({8, 3, 32, 32});
/// at::Tensor slow = randquant::randomized_quantize_composite(x, {}, gen);
/// \endcode
inline at::Tensor randomized_quantize_composite(
    const at::Tensor& x, const RandomizedQuantizationOptions& options = {},
    // NOLINTNEXTLINE(performance-unnecessary-value-param): ATen-style API
    c10::optional<at::Generator> generator = c10::nullopt) {
  return detail::quantize(x, options, std::move(generator),
                          "randomized_quantize_composite",
                          &detail::composite_backend());
}

}  // namespace randquant
