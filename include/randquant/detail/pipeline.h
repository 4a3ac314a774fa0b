#pragma once
/// \file
/// The one call pipeline behind every entry (the functions, the module, the
/// transforms, the keyed adaptors, the Python operator):
///
///   prepare()  checks x, the options and the output, then the call's key
///              (drawn once, after every check) and its backend
///              (detail/dispatch.h);
///   run_*()    the backend's kernel, into a given or a new tensor;
///   finish()   the gradient: straight-through, or the warning that the
///              output carries none.
///
/// Pipeline<> strings them together for each kind of output.

#include <ATen/ATen.h>
#include <c10/util/Optional.h>

#include <utility>

#include "randquant/composite/composite.h"
#include "randquant/detail/autograd.h"
#include "randquant/detail/backend.h"
#include "randquant/detail/checks.h"
#include "randquant/detail/compiled_instantiations.h"
#include "randquant/detail/dispatch.h"
#include "randquant/detail/generator.h"
#include "randquant/detail/geometry.h"
#include "randquant/options.h"
#include "randquant/params.h"
#include "randquant/sample_keys.h"

namespace randquant {
namespace detail {

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

/// Where a call writes.
enum class Output {
  kNew,      ///< a new tensor
  kInPlace,  ///< x itself
  kOut       ///< a caller's `out`
};

/// A prepared call: checked, keyed, its kernel chosen.
struct Call {
  Geometry geometry;  ///< where the slices are
  CallKey key;        ///< the call's Philox key (host value or device tensor)
  /// The kernel; nullptr for an empty x (nothing to run).
  const Backend* backend = nullptr;
};

/// Step 1: checks x and the options (and x for in place, or `out`), then
/// draws the call's key, so a refused call leaves the generator as it was,
/// and picks the backend (`forced`: that one). Errors name `fn`.
inline Call prepare(const at::Tensor& x,
                    const RandomizedQuantizationOptions& options,
                    const KeySource& keys, const char* fn,
                    Output output = Output::kNew,
                    const at::Tensor* out = nullptr,
                    const Backend* forced = nullptr) {
  Call call;
  call.geometry = check_inputs(x, options, fn);
  if (output == Output::kInPlace) check_inplace(x, fn);
  if (output == Output::kOut) check_out(*out, x, options, fn);
  call.key = keys.key(x, call.geometry, fn);
  if (x.numel() > 0) call.backend = &select_backend(x, call.key, forced);
  return call;
}

/// Step 2, into `out` (x's shape, dtype and device; x itself for in place).
inline void run_into(const Call& call, const at::Tensor& x,
                     const at::Tensor& out,
                     const RandomizedQuantizationOptions& options) {
  if (call.backend == nullptr) return;
  at::NoGradGuard no_grad;
  call.backend->quantize_into(x, out, call.geometry, options, call.key);
}

/// Step 2, into a new tensor (the backend's layout).
inline at::Tensor run_new(const Call& call, const at::Tensor& x,
                          const RandomizedQuantizationOptions& options) {
  at::NoGradGuard no_grad;
  if (call.backend == nullptr) return at::empty_like(x);
  return call.backend->quantize_new(x, call.geometry, options, call.key);
}

/// Step 3 for a new output q of x: the straight-through gradient when the
/// options ask for it, else the once-per-process warning that a gradient
/// stops here (when x requires one).
inline at::Tensor finish(const at::Tensor& x, at::Tensor q,
                         const RandomizedQuantizationOptions& options,
                         const char* fn) {
  if (options.straight_through()) return attach_straight_through(x, q);
  warn_gradient_cut(x, fn);
  return q;
}

/// The pipeline for each kind of output: static members of one class
/// template, so that one translation unit instantiates them all
/// (Pipeline<void>, in src/randquant.cpp) and every other one, with
/// RANDQUANT_COMPILED defined, declares them extern. A translation unit
/// that calls randquant then compiles a call, not the pipeline and its
/// kernels. The members are defined outside the class (not inline), so
/// extern really skips them.
template <typename Unused = void>
struct Pipeline {
  /// randomized_quantize_() on behalf of the public entry `fn`.
  static at::Tensor& quantize_inplace(
      at::Tensor& x, const RandomizedQuantizationOptions& options,
      const KeySource& keys, const char* fn, const Backend* forced);

  /// randomized_quantize_out() on behalf of the public entry `fn`.
  static at::Tensor& quantize_out(at::Tensor& out, const at::Tensor& x,
                                  const RandomizedQuantizationOptions& options,
                                  const KeySource& keys, const char* fn);

  /// randomized_quantize() on behalf of the public entry `fn`.
  static at::Tensor quantize(const at::Tensor& x,
                             const RandomizedQuantizationOptions& options,
                             const KeySource& keys, const char* fn,
                             const Backend* forced);

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
    const KeySource& keys, const char* fn, const Backend* forced) {
  const Call call =
      prepare(x, options, keys, fn, Output::kInPlace, nullptr, forced);
  // Autograd's record of x's writes; also refuses an inference tensor
  // outside inference mode, before anything is written.
  x.unsafeGetTensorImpl()->bump_version();
  run_into(call, x, x, options);
  return x;
}

template <typename Unused>
at::Tensor& Pipeline<Unused>::quantize_out(
    at::Tensor& out, const at::Tensor& x,
    const RandomizedQuantizationOptions& options, const KeySource& keys,
    const char* fn) {
  const Call call = prepare(x, options, keys, fn, Output::kOut, &out);
  if (out.sizes() != x.sizes()) {
    out.resize_(x.sizes(), x.suggest_memory_format());
  }
  // Layouts too irregular to prove disjoint but sharing memory: read from a
  // copy, so no element is read after it was written.
  const bool maybe_overlapping =
      at::get_overlap_status(out, x) == at::MemOverlapStatus::TooHard &&
      out.storage().is_alias_of(x.storage());
  out.unsafeGetTensorImpl()->bump_version();
  run_into(call, maybe_overlapping ? x.clone() : x, out, options);
  return out;
}

template <typename Unused>
at::Tensor Pipeline<Unused>::quantize(
    const at::Tensor& x, const RandomizedQuantizationOptions& options,
    const KeySource& keys, const char* fn, const Backend* forced) {
  if (options.inplace()) {
    at::Tensor self = x;  // a handle: in-place ops take const Tensor& too
    return quantize_inplace(self, options, keys, fn, forced);
  }
  const Call call =
      prepare(x, options, keys, fn, Output::kNew, nullptr, forced);
  return finish(x, run_new(call, x, options), options, fn);
}

template <typename Unused>
QuantizationParams Pipeline<Unused>::params(
    const at::Tensor& x, const RandomizedQuantizationOptions& options,
    // NOLINTNEXTLINE(performance-unnecessary-value-param): ATen-style API
    c10::optional<at::Generator> generator) {
  const char* fn = "quantization_params";
  const Call call = prepare(x, options, std::move(generator), fn, Output::kNew,
                            nullptr, &composite_backend());
  at::NoGradGuard no_grad;
  return composite_params(x, call.geometry, options, call.key.value());
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
    const KeySource& keys, const char* fn, const Backend* forced = nullptr) {
  return Pipeline<>::quantize_inplace(x, options, keys, fn, forced);
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
                           const Backend* forced = nullptr) {
  return Pipeline<>::quantize(x, options, keys, fn, forced);
}

}  // namespace detail
}  // namespace randquant
