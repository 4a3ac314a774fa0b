#pragma once
/// \file
/// The functional API: randomized_quantize() and friends. Checks live here;
/// the work goes to the device's fused functor or to the composite path.

#include <ATen/ATen.h>
#include <c10/util/Optional.h>

#include <utility>

#include "randquant/autograd.h"
#include "randquant/composite.h"
#include "randquant/cpu/quantize_cpu.h"
#include "randquant/detail/backends.h"
#include "randquant/detail/checks.h"
#include "randquant/detail/compiled_instantiations.h"
#include "randquant/detail/generator.h"
#include "randquant/detail/geometry.h"
#include "randquant/detail/output_memory.h"
#include "randquant/functor.h"
#include "randquant/options.h"
#include "randquant/params.h"
#include "randquant/sample_keys.h"

namespace randquant {

namespace detail {

/// Parameters of a call with per-slice min/max found by ATen ops (any
/// device), for the call's key.
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

/// Where a call's key comes from: a generator (one draw), or the keys of
/// its samples.
struct KeySource {
  /// One key drawn from `generator` (nullopt: the default of x's device).
  /* implicit */ KeySource(c10::optional<at::Generator> generator)
      : generator(std::move(generator)) {}
  /// Per-sample keys from `keys` (not copied: must outlive the call).
  /* implicit */ KeySource(const SampleKeys& keys) : samples(&keys) {}

  /// Checks the source against x and makes the call's key.
  CallKey key(const at::Tensor& x, const Geometry& geometry,
              const char* fn) const {
    return samples != nullptr ? sample_call_key(*samples, x, geometry, fn)
                              : draw_call_key(x, generator, fn);
  }

  c10::optional<at::Generator> generator;  ///< used when samples is null
  const SampleKeys* samples = nullptr;     ///< the call's sample keys
};

/// What every entry point does first: check the arguments, then draw the
/// call's key (one per call, also for empty inputs).
struct CallSetup {
  Geometry geometry;  ///< where the slices are
  CallKey key;        ///< the call's Philox key (host value or device tensor)
};

/// Checks x, the options and the generator; draws the key.
inline CallSetup setup_call(const at::Tensor& x,
                            const RandomizedQuantizationOptions& options,
                            const KeySource& keys, const char* fn) {
  const Geometry geometry = check_inputs(x, options, fn);
  return CallSetup{geometry, keys.key(x, geometry, fn)};
}

/// A CUDA tensor without the CUDA component takes the composite path,
/// which works but is slow and waits for the device once per call: say so
/// once per process, with the fix.
inline void warn_cuda_without_component() {
  TORCH_WARN_ONCE(
      "randquant: a CUDA tensor is quantized by the composite ATen path "
      "(slower, and it synchronises with the host every call) because the "
      "CUDA component is not linked; link randquant::cuda "
      "(find_package(randquant COMPONENTS cuda)) for the fused CUDA kernel");
}

/// Which implementation a call runs.
enum class Path {
  kFused,     ///< the device's fused kernel (composite where there is none)
  kComposite  ///< plain ATen ops
};

/// The kernel a call runs on.
enum class Kernel {
  kCpu,       ///< the fused CPU kernel
  kCuda,      ///< the CUDA component's fused kernel
  kComposite  ///< plain ATen ops
};

/// Picks the kernel for x on `path` (warns once when a CUDA tensor lacks
/// the CUDA component). The CUDA kernel derives its keys per call, so
/// sample-keyed calls on CUDA tensors take the composite path.
inline Kernel pick_kernel(const at::Tensor& x, const CallKey& key, Path path) {
  if (path != Path::kFused) return Kernel::kComposite;
  if (x.device().is_cpu()) return Kernel::kCpu;
  if (x.is_cuda() && !key.per_sample()) {
    if (cuda_backend() != nullptr) return Kernel::kCuda;
    warn_cuda_without_component();
  }
  return Kernel::kComposite;
}

/// Quantizes x into `out` (checked: x's shape, dtype and device; x itself
/// for in place) with the call's key.
inline void quantize_into(const at::Tensor& x, const at::Tensor& out,
                          const Geometry& geometry,
                          const RandomizedQuantizationOptions& options,
                          const CallKey& key, Path path) {
  if (x.numel() == 0) return;
  at::NoGradGuard no_grad;
  switch (pick_kernel(x, key, path)) {
    case Kernel::kCpu:
      RandomizedQuantizeFunctor<c10::DeviceType::CPU>()(x, out, geometry,
                                                        options, key);
      return;
    case Kernel::kCuda:
      cuda_backend()(x, out, geometry, options, key);  // randquant::cuda
      return;
    case Kernel::kComposite:
      out.copy_(composite_quantize(x, geometry, options, key));
      return;
  }
}

/// Quantizes x into a new tensor with the call's key.
inline at::Tensor quantize_new(const at::Tensor& x, const Geometry& geometry,
                               const RandomizedQuantizationOptions& options,
                               const CallKey& key, Path path) {
  at::NoGradGuard no_grad;
  if (x.numel() == 0) return at::empty_like(x);
  switch (pick_kernel(x, key, path)) {
    case Kernel::kCpu:  // its own output layout: no copy for odd layouts
      return RandomizedQuantizeFunctor<c10::DeviceType::CPU>()(x, geometry,
                                                               options, key);
    case Kernel::kCuda:
      break;
    case Kernel::kComposite:
      return composite_quantize(x, geometry, options, key);
  }
  at::Tensor out = at::empty_like(x);
  cuda_backend()(x, out, geometry, options, key);  // randquant::cuda
  return out;
}

/// The call pipeline's entries: static members of one class template, so
/// that one translation unit instantiates them all (Pipeline<void>, in
/// src/randquant.cpp) and every other one, with RANDQUANT_COMPILED defined,
/// declares them extern. A translation unit that calls randquant then
/// compiles a call, not the pipeline and its kernels. The members are
/// defined outside the class (not inline), so extern really skips them.
template <typename Unused = void>
struct Pipeline {
  /// randomized_quantize_() on behalf of the public entry `fn`.
  static at::Tensor& quantize_inplace(
      at::Tensor& x, const RandomizedQuantizationOptions& options,
      const KeySource& keys, const char* fn, Path path);

  /// randomized_quantize_out() on behalf of the public entry `fn`.
  static at::Tensor& quantize_out(at::Tensor& out, const at::Tensor& x,
                                  const RandomizedQuantizationOptions& options,
                                  const KeySource& keys, const char* fn);

  /// randomized_quantize() on behalf of the public entry `fn`.
  static at::Tensor quantize(const at::Tensor& x,
                             const RandomizedQuantizationOptions& options,
                             const KeySource& keys, const char* fn, Path path);

  /// quantization_params().
  static QuantizationParams params(const at::Tensor& x,
                                   const RandomizedQuantizationOptions& options,
                                   c10::optional<at::Generator> generator);

  /// apply_quantization_params().
  static at::Tensor apply_params(const at::Tensor& x,
                                 const QuantizationParams& params,
                                 const RandomizedQuantizationOptions& options);
};

template <typename Unused>
at::Tensor& Pipeline<Unused>::quantize_inplace(
    at::Tensor& x, const RandomizedQuantizationOptions& options,
    const KeySource& keys, const char* fn, Path path) {
  const Geometry geometry = check_inputs(x, options, fn);
  check_inplace(x, fn);
  const CallKey key = keys.key(x, geometry, fn);
  // Autograd's record of x's writes; also refuses an inference tensor
  // outside inference mode, before anything is written.
  x.unsafeGetTensorImpl()->bump_version();
  quantize_into(x, x, geometry, options, key, path);
  return x;
}

template <typename Unused>
at::Tensor& Pipeline<Unused>::quantize_out(
    at::Tensor& out, const at::Tensor& x,
    const RandomizedQuantizationOptions& options, const KeySource& keys,
    const char* fn) {
  const Geometry geometry = check_inputs(x, options, fn);
  check_out(out, x, options, fn);
  const CallKey key = keys.key(x, geometry, fn);
  if (out.sizes() != x.sizes()) {
    out.resize_(x.sizes(), x.suggest_memory_format());
  }
  // Layouts too irregular to prove disjoint but sharing memory: read from a
  // copy, so no element is read after it was written.
  const bool maybe_overlapping =
      at::get_overlap_status(out, x) == at::MemOverlapStatus::TooHard &&
      out.storage().is_alias_of(x.storage());
  out.unsafeGetTensorImpl()->bump_version();
  quantize_into(maybe_overlapping ? x.clone() : x, out, geometry, options, key,
                Path::kFused);
  return out;
}

template <typename Unused>
at::Tensor Pipeline<Unused>::quantize(
    const at::Tensor& x, const RandomizedQuantizationOptions& options,
    const KeySource& keys, const char* fn, Path path) {
  if (options.inplace()) {
    at::Tensor self = x;  // a handle: in-place ops take const Tensor& too
    return quantize_inplace(self, options, keys, fn, path);
  }
  const auto [geometry, key] = setup_call(x, options, keys, fn);
  at::Tensor q = quantize_new(x, geometry, options, key, path);
  if (options.straight_through()) return attach_straight_through(x, q);
  warn_gradient_cut(x, fn);
  return q;
}

template <typename Unused>
QuantizationParams Pipeline<Unused>::params(
    const at::Tensor& x, const RandomizedQuantizationOptions& options,
    // NOLINTNEXTLINE(performance-unnecessary-value-param): ATen-style API
    c10::optional<at::Generator> generator) {
  const char* fn = "quantization_params";
  const auto [geometry, key] = setup_call(x, options, std::move(generator), fn);
  at::NoGradGuard no_grad;
  return composite_params(x, geometry, options, key.value());
}

template <typename Unused>
at::Tensor Pipeline<Unused>::apply_params(
    const at::Tensor& x, const QuantizationParams& params,
    const RandomizedQuantizationOptions& options) {
  const char* fn = "apply_quantization_params";
  const Geometry geometry = check_inputs(x, options, fn);
  TORCH_CHECK(
      params.proxies.defined() && params.proxies.size(0) == geometry.samples &&
          params.proxies.size(1) == geometry.channels,
      fn, ": params are for ",
      params.proxies.defined() ? params.proxies.size(0) : 0, " samples x ",
      params.proxies.defined() ? params.proxies.size(1) : 0,
      " channels, but x (shape ", x.sizes(), ") has ", geometry.samples, " x ",
      geometry.channels);
  TORCH_CHECK(params.proxies.scalar_type() == x.scalar_type(), fn,
              ": params are for dtype ", params.proxies.scalar_type(),
              ", but x has dtype ", x.scalar_type());
  at::NoGradGuard no_grad;
  if (x.numel() == 0) return at::empty_like(x);
  return composite_apply(x, geometry, params);
}

#ifdef RANDQUANT_COMPILED
// Instantiated once, in src/randquant.cpp (see Pipeline).
extern template struct Pipeline<void>;
#endif

/// randomized_quantize_() on behalf of the public entry `fn`.
inline at::Tensor& quantize_inplace(
    at::Tensor& x, const RandomizedQuantizationOptions& options,
    const KeySource& keys, const char* fn, Path path = Path::kFused) {
  return Pipeline<>::quantize_inplace(x, options, keys, fn, path);
}

/// randomized_quantize_out() on behalf of the public entry `fn`.
inline at::Tensor& quantize_out(at::Tensor& out, const at::Tensor& x,
                                const RandomizedQuantizationOptions& options,
                                const KeySource& keys, const char* fn) {
  return Pipeline<>::quantize_out(out, x, options, keys, fn);
}

/// randomized_quantize() on behalf of the public entry `fn` (named in
/// error messages: "randomized_quantize", the module, a transform).
inline at::Tensor quantize(const at::Tensor& x,
                           const RandomizedQuantizationOptions& options,
                           const KeySource& keys, const char* fn,
                           Path path = Path::kFused) {
  return Pipeline<>::quantize(x, options, keys, fn, path);
}

}  // namespace detail

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
                          detail::Path::kComposite);
}

}  // namespace randquant
