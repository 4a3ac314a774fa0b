#pragma once
/// \file
/// randquant::data::KeyedRandomizedQuantization: a torch::data dataset
/// adaptor that quantizes example i with the sample keys (seed, epoch, i).
/// torch::data's transforms never see an example's index; the adaptor
/// does, so every example's augmentation is the same for any worker count,
/// batch size and sampler order.

#include <torch/data/datasets/base.h>
#include <torch/data/example.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "randquant/detail/threading.h"
#include "randquant/functional.h"
#include "randquant/options.h"
#include "randquant/sample_keys.h"
#include "randquant/transforms.h"

namespace randquant {
namespace data {

/// Wraps a torch::data dataset of Example<at::Tensor, at::Tensor>. get(i)
/// returns example i with its data quantized as one sample under
/// SampleKeys{seed, epoch, {i}}; get_batch(indices) stacks the examples
/// and quantizes the stacked batch in one call under SampleKeys{seed,
/// epoch, indices} (the same bits as get() of each index, stacked), so no
/// Stack<>() is needed after it. Copies (the DataLoader's workers hold
/// copies) share the epoch: set_epoch() on any of them sets it for all.
template <typename Source>
class KeyedRandomizedQuantization
    : public torch::data::datasets::BatchDataset<
          KeyedRandomizedQuantization<Source>, torch::data::Example<>> {
 public:
  /// One example, and a batch of them (stacked).
  using ExampleType = torch::data::Example<>;

  /// Wraps `source`, quantizing with `options` (the data of one example is
  /// one sample) under the run's `seed`, from epoch 0.
  KeyedRandomizedQuantization(Source source,
                              RandomizedQuantizationOptions options,
                              uint64_t seed)
      : source_(std::move(source)),
        options_(options),
        seed_(seed),
        epoch_(std::make_shared<std::atomic<uint64_t>>(0)) {
    detail::check_options(options_, kName);
  }

  /// Example `index` of the source, its data quantized with keys (seed,
  /// epoch, index): in place only when the source handed over a tensor
  /// nothing else can see (detail::exclusively_owned()), so the source's
  /// own tensors are never written, whatever options.inplace() says.
  ExampleType get(size_t index) {
    ExampleType example = source_.get(index);
    example.data = detail::quantize_example(
        std::move(example.data),
        RandomizedQuantizationOptions(options_).batched(false), keys({index}),
        kName);
    return example;
  }

  /// The examples at `indices`, data and targets stacked, the data
  /// quantized in one batched call with keys (seed, epoch, indices).
  ExampleType get_batch(c10::ArrayRef<size_t> indices) override {
    std::vector<ExampleType> examples;
    examples.reserve(indices.size());
    for (size_t index : indices) examples.push_back(source_.get(index));
    return detail::stack_and_quantize(
        std::move(examples),
        RandomizedQuantizationOptions(options_).batched(true), keys(indices),
        kName);
  }

  /// The source's size.
  c10::optional<size_t> size() const override { return source_.size(); }

  /// Sets the epoch of this dataset and of all its copies.
  void set_epoch(uint64_t epoch) { epoch_->store(epoch); }

  /// The current epoch.
  uint64_t epoch() const { return epoch_->load(); }

  /// The run's seed.
  uint64_t seed() const { return seed_; }

 private:
  /// The entry named in error messages.
  static constexpr const char* kName = "data::KeyedRandomizedQuantization";

  /// Keys of the examples at `indices` for the current epoch.
  SampleKeys keys(c10::ArrayRef<size_t> indices) const {
    std::vector<int64_t> values(indices.begin(), indices.end());
    return SampleKeys{seed_, epoch(), at::tensor(values, at::kLong)};
  }

  Source source_;
  RandomizedQuantizationOptions options_;
  uint64_t seed_;
  std::shared_ptr<std::atomic<uint64_t>> epoch_;
};

}  // namespace data
}  // namespace randquant
