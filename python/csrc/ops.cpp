/// \file
/// torch.ops.randquant: the one registration of randquant's operators for
/// Python (and TorchScript). Loaded with torch.ops.load_library(); the
/// `randquant` Python package wraps it.
///
/// One translation unit holds the single TORCH_LIBRARY(randquant, m): a second
/// definition of the namespace in another library would fail at load time.

#include <torch/library.h>

#include <randquant/randquant.h>

#include <string>

namespace randquant {
namespace python {

/// Maps the reference's `collapse_to_val` strings ('inside_random', 'middle',
/// 'all_zeros'; also 'zeros') to Collapse; any other string is a c10::Error
/// naming the argument and its value.
inline Collapse parse_collapse(c10::string_view s) {
  if (s == "inside_random") return Collapse::InsideRandom;
  if (s == "middle") return Collapse::Middle;
  if (s == "all_zeros" || s == "zeros") return Collapse::Zeros;
  TORCH_CHECK(false,
              "randomized_quantize: collapse must be 'inside_random', "
              "'middle' or 'all_zeros' (or 'zeros'), got collapse = '",
              std::string(s), "'");
}

/// Maps 'random' and 'uniform' to Spacing; any other string is a c10::Error
/// naming the argument and its value.
inline Spacing parse_spacing(c10::string_view s) {
  if (s == "random") return Spacing::Random;
  if (s == "uniform") return Spacing::Uniform;
  TORCH_CHECK(false,
              "randomized_quantize: spacing must be 'random' or 'uniform', "
              "got spacing = '",
              std::string(s), "'");
}

/// The kernel behind torch.ops.randquant.randomized_quantize: builds the
/// options and calls randquant::randomized_quantize(). No straight-through
/// here: the Python wrapper adds that gradient with an autograd.Function, so
/// the op itself never carries one.
inline at::Tensor randomized_quantize_op(
    const at::Tensor& x, int64_t regions, int64_t max_regions,
    c10::string_view collapse, c10::string_view spacing, double p, bool batched,
    int64_t channel_dim, c10::optional<at::Generator> generator) {
  const auto options = RandomizedQuantizationOptions(regions)
                           .max_regions(max_regions)
                           .collapse(parse_collapse(collapse))
                           .spacing(parse_spacing(spacing))
                           .p(p)
                           .batched(batched)
                           .channel_dim(channel_dim);
  return randomized_quantize(x, options, std::move(generator));
}

}  // namespace python
}  // namespace randquant

TORCH_LIBRARY(randquant, m) {
  m.def(
      "randomized_quantize(Tensor x, int regions=8, int max_regions=0, "
      "str collapse='inside_random', str spacing='random', float p=1.0, "
      "bool batched=True, int channel_dim=0, Generator? generator=None) "
      "-> Tensor");
}

TORCH_LIBRARY_IMPL(randquant, CPU, m) {
  m.impl("randomized_quantize", &randquant::python::randomized_quantize_op);
}

// CUDA tensors: only in builds with randquant's CUDA component (python/
// CMakeLists.txt links it and defines RANDQUANT_WITH_CUDA); the call goes to
// randomized_quantize(), which picks the device's backend.
#ifdef RANDQUANT_WITH_CUDA
TORCH_LIBRARY_IMPL(randquant, CUDA, m) {
  m.impl("randomized_quantize", &randquant::python::randomized_quantize_op);
}
#endif
