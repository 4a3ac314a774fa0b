#pragma once
/// \file
/// randquant::data::KeyedRandomizedQuantization: a torch::data dataset
/// adaptor that quantizes example i with the sample keys (seed, epoch, i).
/// torch::data's transforms never see an example's index; the adaptor
/// does, so every example's augmentation is the same for any worker count,
/// batch size and sampler order. data::KeyedRandomizedViews is its
/// multi-view form.

// map.h uses torch::enable_if_t without including its definition (1.13).
#include <torch/csrc/utils/variadic.h>
#include <torch/data/datasets/map.h>
#include <torch/data/example.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "randquant/detail/example_calls.h"
#include "randquant/detail/keyed_dataset.h"
#include "randquant/detail/threading.h"
#include "randquant/functional.h"
#include "randquant/options.h"
#include "randquant/sample_keys.h"
#include "randquant/transforms.h"

namespace randquant {
/// torch::data dataset adaptors with sample-keyed draws:
/// KeyedRandomizedQuantization and its multi-view form KeyedRandomizedViews.
/// Example i is quantized under the keys (seed, epoch, i), so its
/// augmentation is the same for any worker count, batch size, sampler
/// order or process; no generator is involved.
namespace data {

/// Wraps a torch::data dataset of Example<at::Tensor, at::Tensor>, mapped
/// or not (its get(i), or get_batch({i}) when it has no get(), as a
/// MapDataset). get(i) returns example i with its data quantized as one
/// sample under SampleKeys{seed, epoch, {i}}; get_batch(indices) stacks the
/// examples and quantizes the stacked batch in one call under
/// SampleKeys{seed, epoch, indices} (the same bits as get() of each index,
/// stacked), so no Stack<>() is needed after it, and map(Stack<>()) is
/// refused by a static_assert that says so. Copies (the DataLoader's
/// workers hold copies) share the epoch: set_epoch() on any of them sets it
/// for all. Also provides size() (the source's), epoch(), seed() and map()
/// for a batch transform taking and returning Example<>.
///
/// Randomness: no generator is read or advanced; each example's draws are
/// a pure function of (seed, epoch, index) and the options, bit for bit on
/// every backend. Call set_epoch() every epoch for new draws.
/// \code
/// randquant::data::KeyedRandomizedQuantization<Images> keyed(
///     Images(), randquant::RandomizedQuantizationOptions(8), /*seed=*/42);
/// keyed.set_epoch(1);  // Images: any dataset of torch::data::Example<>
/// \endcode
template <typename Source>
class KeyedRandomizedQuantization
    : public detail::KeyedDataset<KeyedRandomizedQuantization<Source>, Source> {
  using Base = detail::KeyedDataset<KeyedRandomizedQuantization, Source>;

 public:
  /// One example, and a batch of them (stacked).
  using ExampleType = torch::data::Example<>;

  /// Wraps `source`, quantizing with `options` (the data of one example is
  /// one sample) under the run's `seed`, from epoch 0.
  /// \param source the dataset, taken by value (copy or move it in).
  /// \param options the options; batched() is set per call.
  /// \param seed the run's seed, SampleKeys::seed of every example.
  /// \throws c10::Error on invalid options (see
  ///   RandomizedQuantizationOptions).
  KeyedRandomizedQuantization(Source source,
                              RandomizedQuantizationOptions options,
                              uint64_t seed)
      : Base(std::move(source), options, seed, kName) {}

  /// Example `index` of the source, its data quantized with keys (seed,
  /// epoch, index): in place only when the source handed over a tensor
  /// nothing else can see, so the source's own tensors are never written,
  /// whatever options.inplace() says.
  /// \param index the example's index in the source, its SampleKeys index.
  /// \return The example, data quantized as one sample, target as is.
  /// \throws c10::Error on the input errors of randomized_quantize() for
  ///   the example's data, the message starting with
  ///   "data::KeyedRandomizedQuantization". The source's own exceptions
  ///   pass through.
  ExampleType get(size_t index) {
    ExampleType example = std::move(this->examples({index}).front());
    example.data = randquant::detail::quantize_example(
        std::move(example.data), this->options(false),
        this->keys(this->seed(), {index}), kName);
    return example;
  }

  /// The examples at `indices`, data and targets stacked, the data
  /// quantized in one batched call with keys (seed, epoch, indices): the
  /// same bits as get() of each index, stacked.
  /// \param indices the examples' indices in the source.
  /// \return One Example<>: data (N, ...), targets stacked.
  /// \throws c10::Error as get(), or from stacking (no index, data of
  ///   different shapes).
  ExampleType get_batch(c10::ArrayRef<size_t> indices) override {
    return randquant::detail::stack_and_quantize(
        this->examples(indices), this->options(true),
        this->keys(this->seed(), indices), kName);
  }

 private:
  /// The entry named in error messages.
  static constexpr const char* kName = "data::KeyedRandomizedQuantization";
};

/// The multi-view form of KeyedRandomizedQuantization: example i's data
/// (shape S) becomes K views stacked as (K, S), view v quantized as one
/// sample under SampleKeys{core::view_seed(seed, v), epoch, {i}}: each view
/// has its own coin and draws, a pure function of (seed, epoch, i, v), and
/// view 0 equals KeyedRandomizedQuantization's example. get_batch(indices)
/// returns data (N, K, S) and the targets stacked, the same bits as get()
/// of each index. Wraps what KeyedRandomizedQuantization wraps, refuses
/// Stack<>() after it the same way; copies share the epoch, and it provides
/// size(), set_epoch(), epoch(), seed() and map() as that adaptor does. The
/// source's tensors are only read; options.inplace() is ignored.
///
/// Randomness: as KeyedRandomizedQuantization's, no generator involved.
/// \code
/// randquant::data::KeyedRandomizedViews<Images> views(
///     Images(), /*views=*/2, randquant::RandomizedQuantizationOptions(8), 42);
/// \endcode
template <typename Source>
class KeyedRandomizedViews
    : public detail::KeyedDataset<KeyedRandomizedViews<Source>, Source> {
  using Base = detail::KeyedDataset<KeyedRandomizedViews, Source>;

 public:
  /// One example (data (K, S)), and a batch of them (data (N, K, S)).
  using ExampleType = torch::data::Example<>;

  /// Wraps `source`, making `views` (K >= 1) views of each example,
  /// quantized with `options` under the run's `seed`, from epoch 0.
  /// \param source the dataset, taken by value.
  /// \param views K, the number of views per example.
  /// \param options the options of every view.
  /// \param seed the run's seed; view v uses a seed derived from it.
  /// \throws c10::Error on invalid options or K < 1.
  KeyedRandomizedViews(Source source, int64_t views,
                       RandomizedQuantizationOptions options, uint64_t seed)
      : Base(std::move(source), options.inplace(false), seed, kName),
        views_(views) {
    randquant::detail::check_views(views_, kName);
  }

  /// Example `index` of the source with its K views as data (K, S), a new
  /// tensor made and quantized on the calling thread.
  /// \param index the example's index in the source.
  /// \return The example: data (K, S), target as is.
  /// \throws c10::Error on the input errors of randomized_quantize() for a
  ///   view, the message starting with "data::KeyedRandomizedViews".
  ExampleType get(size_t index) {
    ExampleType example = std::move(this->examples({index}).front());
    example.data = quantized_views(example.data, {index}, false);
    return example;
  }

  /// The examples at `indices`: data (N, K, S), targets stacked; the same
  /// bits as get() of each index, stacked.
  /// \param indices the examples' indices in the source.
  /// \return One Example<>: data (N, K, S), targets (N, ...).
  /// \throws c10::Error as get(), or from stacking (data of different
  ///   shapes).
  ExampleType get_batch(c10::ArrayRef<size_t> indices) override {
    const auto [data, targets] =
        randquant::detail::split_examples(this->examples(indices));
    // Quantized as (K, N, S), each view's batch one dense block.
    const at::Tensor views = quantized_views(at::stack(data), indices, true);
    return {views.transpose(0, 1).contiguous(), at::stack(targets)};
  }

  /// K, the number of views per example.
  int64_t views() const { return views_; }

 private:
  /// The entry named in error messages.
  static constexpr const char* kName = "data::KeyedRandomizedViews";

  /// K copies of `data` (one example, or a batch of them: `batched`) in a
  /// new buffer (K, ...), copy v quantized in place with the keys of view v
  /// of the examples at `indices`, on the calling thread.
  at::Tensor quantized_views(const at::Tensor& data,
                             c10::ArrayRef<size_t> indices,
                             bool batched) const {
    const randquant::detail::CallingThreadOnly calling_thread_only;
    at::Tensor views = randquant::detail::repeat_into_views(data, views_);
    const RandomizedQuantizationOptions options = this->options(batched);
    for (int64_t v = 0; v < views_; ++v) {
      at::Tensor view = views.select(0, v);
      const uint64_t seed =
          core::view_seed(this->seed(), static_cast<uint64_t>(v));
      randquant::detail::quantize_inplace(view, options,
                                          this->keys(seed, indices), kName);
    }
    return views;
  }

  int64_t views_;
};

#undef RANDQUANT_STACKED_BATCH_MESSAGE

}  // namespace data
}  // namespace randquant
