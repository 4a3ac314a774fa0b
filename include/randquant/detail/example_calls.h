#pragma once
/// \file
/// The calls of the dataset transforms and the keyed adaptors
/// (transforms.h, data.h): one example quantized in place when it is
/// provably owned, a batch stacked into one new buffer and quantized there,
/// and the buffers of multi-view calls. Each goes through the call pipeline
/// (detail/pipeline.h) once.

#include <torch/data/example.h>

#include <utility>
#include <vector>

#include "randquant/detail/checks.h"
#include "randquant/detail/output_memory.h"
#include "randquant/detail/pipeline.h"
#include "randquant/detail/threading.h"
#include "randquant/options.h"

namespace randquant {
namespace detail {

/// The examples' data and targets, moved out into two lists.
template <typename Target>
std::pair<std::vector<at::Tensor>, std::vector<Target>> split_examples(
    std::vector<torch::data::Example<at::Tensor, Target>> examples) {
  std::pair<std::vector<at::Tensor>, std::vector<Target>> split;
  split.first.reserve(examples.size());
  split.second.reserve(examples.size());
  for (auto& example : examples) {
    split.first.push_back(std::move(example.data));
    split.second.push_back(std::move(example.target));
  }
  return split;
}

/// The examples' data stacked into one new buffer and quantized there in
/// place in one batched call (on the calling thread), and their targets
/// stacked: a batch for one allocation, as Stack<>().
template <typename Target>
torch::data::Example<at::Tensor, Target> stack_and_quantize(
    std::vector<torch::data::Example<at::Tensor, Target>> examples,
    const RandomizedQuantizationOptions& options, const KeySource& keys,
    const char* fn) {
  const auto [data, targets] = split_examples(std::move(examples));
  const CallingThreadOnly calling_thread_only;
  at::Tensor batch = stack_into_new_buffer(data);
  quantize_inplace(batch, options, keys, fn);
  return {std::move(batch), at::stack(targets)};
}

/// One example's data quantized (unbatched or batched as `options` say) on
/// the calling thread: in place when the call holds the only handle to it
/// and nothing else can see its memory (exclusively_owned(): e.g. a freshly
/// decoded or normalised image), into a new tensor otherwise (a view of a
/// dataset's tensor, a cached tensor, a from_blob buffer: all left
/// unchanged). options.inplace() is not consulted: for transforms and
/// dataset adaptors it means "may reuse the input's memory when owned",
/// which is what this always does.
inline at::Tensor quantize_example(at::Tensor data,
                                   RandomizedQuantizationOptions options,
                                   const KeySource& keys, const char* fn) {
  const CallingThreadOnly calling_thread_only;
  options.inplace(false);
  if (exclusively_owned(data)) {
    return quantize_inplace(data, options, keys, fn);
  }
  return quantize(data, options, keys, fn);
}

/// Checks the number of views of a multi-view transform or adaptor.
inline void check_views(int64_t views, const char* fn) {
  TORCH_CHECK(views >= 1, fn, ": views must be >= 1, got views = ", views);
}

/// A new buffer of shape (K, S...) holding `views` copies of `data` (shape
/// S), each to be quantized as one view.
inline at::Tensor repeat_into_views(const at::Tensor& data, int64_t views) {
  std::vector<int64_t> sizes{views};
  sizes.insert(sizes.end(), data.sizes().begin(), data.sizes().end());
  at::Tensor buffer = at::empty(sizes, data.options());
  buffer.copy_(data.unsqueeze(0).expand(sizes));
  return buffer;
}

}  // namespace detail
}  // namespace randquant
