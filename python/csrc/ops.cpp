/// \file
/// torch.ops.randquant: the one registration of randquant's operators for
/// Python (and TorchScript). Loaded with torch.ops.load_library(); the
/// `randquant` Python package wraps it.
///
/// One translation unit holds the single TORCH_LIBRARY(randquant, m): a second
/// definition of the namespace in another library would fail at load time.

#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/library.h>

#include <randquant/randquant.h>

#include <string>

namespace randquant {
namespace python {

/// The entry that Python called, named in error messages.
constexpr const char* kEntry = "randomized_quantize";

/// Maps the reference's `collapse_to_val` strings ('inside_random', 'middle',
/// 'all_zeros'; also 'zeros') to Collapse; any other string is a c10::Error
/// naming the entry `fn`, the argument and its value.
inline Collapse parse_collapse(c10::string_view s, const char* fn) {
  if (s == "inside_random") return Collapse::InsideRandom;
  if (s == "middle") return Collapse::Middle;
  if (s == "all_zeros" || s == "zeros") return Collapse::Zeros;
  TORCH_CHECK(false, fn,
              ": collapse must be 'inside_random', "
              "'middle' or 'all_zeros' (or 'zeros'), got collapse = '",
              std::string(s), "'");
}

/// Maps 'random' and 'uniform' to Spacing; any other string is a c10::Error
/// naming the entry `fn`, the argument and its value.
inline Spacing parse_spacing(c10::string_view s, const char* fn) {
  if (s == "random") return Spacing::Random;
  if (s == "uniform") return Spacing::Uniform;
  TORCH_CHECK(false, fn,
              ": spacing must be 'random' or 'uniform', "
              "got spacing = '",
              std::string(s), "'");
}

/// The options of one call of the operator (errors name `fn`).
inline RandomizedQuantizationOptions op_options(
    int64_t regions, int64_t max_regions, c10::string_view collapse,
    c10::string_view spacing, double p, bool batched, int64_t channel_dim,
    const char* fn = kEntry) {
  return RandomizedQuantizationOptions(regions)
      .max_regions(max_regions)
      .collapse(parse_collapse(collapse, fn))
      .spacing(parse_spacing(spacing, fn))
      .p(p)
      .batched(batched)
      .channel_dim(channel_dim);
}

/// Both operators' CPU and CUDA kernels: the call pipeline's steps
/// (prepare, then the backend it picked) into empty_like(x), so the
/// output's strides are exactly what the Meta kernel says, with errors
/// naming randomized_quantize (the entry Python called). No gradient step:
/// the Python wrapper adds straight-through with an autograd.Function.
inline at::Tensor run_op(const at::Tensor& x,
                         const RandomizedQuantizationOptions& options,
                         const detail::KeySource& keys) {
  const detail::Call call = detail::prepare(x, options, keys, kEntry);
  at::Tensor out = at::empty_like(x);
  detail::run_into(call, x, out, options);
  return out;
}

/// The CPU and CUDA kernel behind torch.ops.randquant.randomized_quantize
/// (run_op() under the generator's key).
inline at::Tensor randomized_quantize_op(
    const at::Tensor& x, int64_t regions, int64_t max_regions,
    c10::string_view collapse, c10::string_view spacing, double p, bool batched,
    int64_t channel_dim, c10::optional<at::Generator> generator) {
  return run_op(x,
                op_options(regions, max_regions, collapse, spacing, p, batched,
                           channel_dim),
                std::move(generator));
}

/// torch.ops.randquant.check_options: the checks randquant's C++ options
/// get at construction (RandomizedQuantizationOptions through
/// detail::check_options), for the Python module's constructor; errors name
/// `entry`.
inline void check_options_op(int64_t regions, int64_t max_regions,
                             c10::string_view collapse,
                             c10::string_view spacing, double p,
                             int64_t channel_dim, c10::string_view entry) {
  const std::string fn(entry);
  detail::check_options(op_options(regions, max_regions, collapse, spacing, p,
                                   /*batched=*/true, channel_dim, fn.c_str()),
                        fn.c_str());
}

/// What both operators' Meta kernels return: the checks of x and the
/// options, then an output of x's shape, dtype and strides, without data
/// (fake tensors, torch.compile's tracing).
inline at::Tensor checked_meta_output(const at::Tensor& x,
                                      const RandomizedQuantizationOptions& o) {
  detail::check_inputs(x, o, kEntry);
  return at::empty_like(x);
}

/// Meta kernel of randomized_quantize.
inline at::Tensor randomized_quantize_meta(
    const at::Tensor& x, int64_t regions, int64_t max_regions,
    c10::string_view collapse, c10::string_view spacing, double p, bool batched,
    int64_t channel_dim, c10::optional<at::Generator> /*generator*/) {
  return checked_meta_output(x, op_options(regions, max_regions, collapse,
                                           spacing, p, batched, channel_dim));
}

/// Autograd kernel: the output carries no gradient (an augmentation; the
/// Python wrapper's straight_through adds one). Without it, LibTorch 2.x's
/// autograd fallback would mark the output as requiring grad.
inline at::Tensor randomized_quantize_autograd(
    const at::Tensor& x, int64_t regions, int64_t max_regions,
    c10::string_view collapse, c10::string_view spacing, double p, bool batched,
    int64_t channel_dim, c10::optional<at::Generator> generator) {
  static const auto op =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow("randquant::randomized_quantize", "")
          .typed<decltype(randomized_quantize_autograd)>();
  const at::AutoDispatchBelowADInplaceOrView below_autograd;
  return op.call(x, regions, max_regions, collapse, spacing, p, batched,
                 channel_dim, std::move(generator));
}

/// The sample keys of a keyed call from the operator's arguments.
inline SampleKeys op_keys(const at::Tensor& index, int64_t seed,
                          int64_t epoch) {
  TORCH_CHECK(seed >= 0,
              "randomized_quantize: seed must be >= 0, got seed = ", seed);
  TORCH_CHECK(epoch >= 0,
              "randomized_quantize: epoch must be >= 0, got epoch = ", epoch);
  return SampleKeys{static_cast<uint64_t>(seed), static_cast<uint64_t>(epoch),
                    index};
}

/// The CPU and CUDA kernel of torch.ops.randquant.randomized_quantize_keyed
/// (run_op() under SampleKeys{seed, epoch, index}).
inline at::Tensor randomized_quantize_keyed_op(
    const at::Tensor& x, const at::Tensor& index, int64_t seed, int64_t epoch,
    int64_t regions, int64_t max_regions, c10::string_view collapse,
    c10::string_view spacing, double p, bool batched, int64_t channel_dim) {
  const SampleKeys keys = op_keys(index, seed, epoch);
  return run_op(x,
                op_options(regions, max_regions, collapse, spacing, p, batched,
                           channel_dim),
                keys);
}

/// Meta kernel of the keyed operator.
inline at::Tensor randomized_quantize_keyed_meta(
    const at::Tensor& x, const at::Tensor& /*index*/, int64_t /*seed*/,
    int64_t /*epoch*/, int64_t regions, int64_t max_regions,
    c10::string_view collapse, c10::string_view spacing, double p, bool batched,
    int64_t channel_dim) {
  return checked_meta_output(x, op_options(regions, max_regions, collapse,
                                           spacing, p, batched, channel_dim));
}

/// Autograd kernel of the keyed operator: no gradient.
inline at::Tensor randomized_quantize_keyed_autograd(
    const at::Tensor& x, const at::Tensor& index, int64_t seed, int64_t epoch,
    int64_t regions, int64_t max_regions, c10::string_view collapse,
    c10::string_view spacing, double p, bool batched, int64_t channel_dim) {
  static const auto op =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow("randquant::randomized_quantize_keyed", "")
          .typed<decltype(randomized_quantize_keyed_autograd)>();
  const at::AutoDispatchBelowADInplaceOrView below_autograd;
  return op.call(x, index, seed, epoch, regions, max_regions, collapse, spacing,
                 p, batched, channel_dim);
}

}  // namespace python
}  // namespace randquant

TORCH_LIBRARY(randquant, m) {
  // nondeterministic_seeded: the output depends on the generator's state,
  // so tracing must not treat two calls as one.
  m.def(
      "randomized_quantize(Tensor x, int regions=8, int max_regions=0, "
      "str collapse='inside_random', str spacing='random', float p=1.0, "
      "bool batched=True, int channel_dim=0, Generator? generator=None) "
      "-> Tensor",
      {at::Tag::nondeterministic_seeded});
  // Sample-keyed: a pure function of its arguments (no generator).
  m.def(
      "randomized_quantize_keyed(Tensor x, Tensor index, int seed, int epoch, "
      "int regions=8, int max_regions=0, str collapse='inside_random', "
      "str spacing='random', float p=1.0, bool batched=True, "
      "int channel_dim=0) -> Tensor");
  // The options' checks alone, for constructors (no tensor: one kernel for
  // every dispatch key).
  m.def(
      "check_options(int regions, int max_regions, str collapse, str spacing, "
      "float p, int channel_dim, str entry) -> ()",
      &randquant::python::check_options_op);
}

TORCH_LIBRARY_IMPL(randquant, CPU, m) {
  m.impl("randomized_quantize", &randquant::python::randomized_quantize_op);
  m.impl("randomized_quantize_keyed",
         &randquant::python::randomized_quantize_keyed_op);
}

TORCH_LIBRARY_IMPL(randquant, Meta, m) {
  m.impl("randomized_quantize", &randquant::python::randomized_quantize_meta);
  m.impl("randomized_quantize_keyed",
         &randquant::python::randomized_quantize_keyed_meta);
}

TORCH_LIBRARY_IMPL(randquant, Autograd, m) {
  m.impl("randomized_quantize",
         &randquant::python::randomized_quantize_autograd);
  m.impl("randomized_quantize_keyed",
         &randquant::python::randomized_quantize_keyed_autograd);
}

// CUDA tensors: only in builds with randquant's CUDA component (python/
// CMakeLists.txt links it and defines RANDQUANT_WITH_CUDA); run_op() picks
// the device's backend as every C++ entry does.
#ifdef RANDQUANT_WITH_CUDA
TORCH_LIBRARY_IMPL(randquant, CUDA, m) {
  m.impl("randomized_quantize", &randquant::python::randomized_quantize_op);
  m.impl("randomized_quantize_keyed",
         &randquant::python::randomized_quantize_keyed_op);
}
#endif
