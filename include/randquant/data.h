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
#include <torch/data/datasets/base.h>
#include <torch/data/datasets/map.h>
#include <torch/data/example.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "randquant/detail/threading.h"
#include "randquant/functional.h"
#include "randquant/options.h"
#include "randquant/sample_keys.h"
#include "randquant/transforms.h"

namespace randquant {
namespace data {
namespace detail {

/// Whether Source has `get(size_t)` (a Dataset; a MapDataset has not).
template <typename Source, typename = void>
struct HasGet : std::false_type {};
template <typename Source>
struct HasGet<Source,
              std::void_t<decltype(std::declval<Source&>().get(size_t{}))>>
    : std::true_type {};

/// The examples of `source` at `indices`: its get() of each index, or, for
/// a source without get() (a MapDataset), one get_batch(indices), which
/// must return the examples unstacked.
template <typename Source>
std::vector<torch::data::Example<>> source_examples(
    Source& source, c10::ArrayRef<size_t> indices) {
  if constexpr (HasGet<Source>::value) {
    std::vector<torch::data::Example<>> examples;
    examples.reserve(indices.size());
    for (size_t index : indices) examples.push_back(source.get(index));
    return examples;
  } else {
    using Batch = decltype(source.get_batch(indices));
    static_assert(
        std::is_same<Batch, std::vector<torch::data::Example<>>>::value,
        "randquant: the keyed adaptor's source must return "
        "torch::data::Example<> from get(index), or std::vector<Example<>> "
        "from get_batch(indices); wrap the dataset before Stack<>(), not "
        "after it");
    return source.get_batch(indices);
  }
}

/// Whether `Transform` may follow an adaptor whose batch is `Batch`.
template <typename Batch, typename Transform>
constexpr bool takes_batch() {
  return std::is_same<typename Transform::InputBatchType, Batch>::value;
}

/// The message of a transform that cannot follow a keyed adaptor.
#define RANDQUANT_STACKED_BATCH_MESSAGE                                      \
  "randquant: the keyed adaptor's batches are already stacked (an "          \
  "Example<> whose data is (N, ...)): drop Stack<>() after it; a transform " \
  "mapped onto it must take torch::data::Example<>"

/// A MapDataset of `dataset` (a keyed adaptor) and `transform`, built
/// directly: torch::data::datasets::map() requires a batch with a
/// value_type (a std::vector of examples) even of a stateless dataset, and
/// the adaptors' batch is one stacked Example<>.
template <typename Dataset, typename Transform>
torch::data::datasets::MapDataset<Dataset, Transform> map_onto(
    Dataset dataset, Transform transform) {
  return torch::data::datasets::MapDataset<Dataset, Transform>(
      std::move(dataset), std::move(transform));
}

/// The keys (seed, epoch, indices).
inline SampleKeys keys_of(uint64_t seed, uint64_t epoch,
                          c10::ArrayRef<size_t> indices) {
  std::vector<int64_t> values(indices.begin(), indices.end());
  return SampleKeys{seed, epoch, at::tensor(values, at::kLong)};
}

/// What both keyed adaptors share (Self: the adaptor): the source, the
/// options, the seed, the epoch (shared by copies, as the DataLoader's
/// workers hold copies), size(), and map() with its check.
template <typename Self, typename Source>
class KeyedDataset
    : public torch::data::datasets::BatchDataset<Self, torch::data::Example<>> {
 public:
  /// One example, and a batch of them (stacked).
  using ExampleType = torch::data::Example<>;

  /// The source's size.
  c10::optional<size_t> size() const override { return source_.size(); }

  /// Maps `transform` onto the adaptor's stacked batches (as
  /// BatchDataset::map): a batch transform taking and returning
  /// torch::data::Example<> (a BatchLambda, say). A transform that does not
  /// take a stacked Example<> (Stack<>(), a per-example transform) fails to
  /// compile with a message of randquant's.
  template <typename Transform>
  auto map(Transform transform) && {
    static_assert(takes_batch<ExampleType, Transform>(),
                  RANDQUANT_STACKED_BATCH_MESSAGE);
    if constexpr (takes_batch<ExampleType, Transform>()) {
      return map_onto(std::move(static_cast<Self&>(*this)),
                      std::move(transform));
    }
  }

  /// map() of a copy of the adaptor.
  template <typename Transform>
  auto map(Transform transform) & {
    return Self(static_cast<Self&>(*this)).map(std::move(transform));
  }

  /// Sets the epoch of this dataset and of all its copies.
  void set_epoch(uint64_t epoch) { epoch_->store(epoch); }

  /// The current epoch.
  uint64_t epoch() const { return epoch_->load(); }

  /// The run's seed.
  uint64_t seed() const { return seed_; }

 protected:
  KeyedDataset(Source source, RandomizedQuantizationOptions options,
               uint64_t seed, const char* fn)
      : source_(std::move(source)),
        options_(options),
        seed_(seed),
        epoch_(std::make_shared<std::atomic<uint64_t>>(0)) {
    randquant::detail::check_options(options_, fn);
  }

  /// The source's examples at `indices` (see source_examples()).
  std::vector<ExampleType> examples(c10::ArrayRef<size_t> indices) {
    return source_examples(source_, indices);
  }

  /// The options, with batched() as given.
  RandomizedQuantizationOptions options(bool batched) const {
    return RandomizedQuantizationOptions(options_).batched(batched);
  }

  /// Keys (seed, current epoch, indices).
  SampleKeys keys(uint64_t seed, c10::ArrayRef<size_t> indices) const {
    return keys_of(seed, epoch(), indices);
  }

 private:
  Source source_;
  RandomizedQuantizationOptions options_;
  uint64_t seed_;
  std::shared_ptr<std::atomic<uint64_t>> epoch_;
};

}  // namespace detail

/// Wraps a torch::data dataset of Example<at::Tensor, at::Tensor>, mapped
/// or not (its get(i), or get_batch({i}) when it has no get(), as a
/// MapDataset). get(i) returns example i with its data quantized as one
/// sample under SampleKeys{seed, epoch, {i}}; get_batch(indices) stacks the
/// examples and quantizes the stacked batch in one call under
/// SampleKeys{seed, epoch, indices} (the same bits as get() of each index,
/// stacked), so no Stack<>() is needed after it, and map(Stack<>()) is
/// refused by a static_assert that says so. Copies (the DataLoader's
/// workers hold copies) share the epoch: set_epoch() on any of them sets it
/// for all.
template <typename Source>
class KeyedRandomizedQuantization
    : public detail::KeyedDataset<KeyedRandomizedQuantization<Source>, Source> {
  using Base = detail::KeyedDataset<KeyedRandomizedQuantization, Source>;

 public:
  /// One example, and a batch of them (stacked).
  using ExampleType = torch::data::Example<>;

  /// Wraps `source`, quantizing with `options` (the data of one example is
  /// one sample) under the run's `seed`, from epoch 0.
  KeyedRandomizedQuantization(Source source,
                              RandomizedQuantizationOptions options,
                              uint64_t seed)
      : Base(std::move(source), options, seed, kName) {}

  /// Example `index` of the source, its data quantized with keys (seed,
  /// epoch, index): in place only when the source handed over a tensor
  /// nothing else can see (detail::exclusively_owned()), so the source's
  /// own tensors are never written, whatever options.inplace() says.
  ExampleType get(size_t index) {
    ExampleType example = std::move(this->examples({index}).front());
    example.data = randquant::detail::quantize_example(
        std::move(example.data), this->options(false),
        this->keys(this->seed(), {index}), kName);
    return example;
  }

  /// The examples at `indices`, data and targets stacked, the data
  /// quantized in one batched call with keys (seed, epoch, indices).
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
/// Stack<>() after it the same way; copies share the epoch. The source's
/// tensors are only read.
template <typename Source>
class KeyedRandomizedViews
    : public detail::KeyedDataset<KeyedRandomizedViews<Source>, Source> {
  using Base = detail::KeyedDataset<KeyedRandomizedViews, Source>;

 public:
  /// One example (data (K, S)), and a batch of them (data (N, K, S)).
  using ExampleType = torch::data::Example<>;

  /// Wraps `source`, making `views` (K >= 1) views of each example,
  /// quantized with `options` under the run's `seed`, from epoch 0.
  /// Throws c10::Error on K < 1 or invalid options.
  KeyedRandomizedViews(Source source, int64_t views,
                       RandomizedQuantizationOptions options, uint64_t seed)
      : Base(std::move(source), options.inplace(false), seed, kName),
        views_(views) {
    randquant::detail::check_views(views_, kName);
  }

  /// Example `index` of the source with its K views as data (K, S).
  ExampleType get(size_t index) {
    ExampleType example = std::move(this->examples({index}).front());
    example.data = quantized_views(example.data, {index}, false);
    return example;
  }

  /// The examples at `indices`: data (N, K, S), targets stacked.
  ExampleType get_batch(c10::ArrayRef<size_t> indices) override {
    const auto [data, targets] =
        randquant::detail::split_examples(this->examples(indices));
    // Quantized as (K, N, S), each view's batch one dense block.
    const at::Tensor views = quantized_views(at::stack(data), indices, true);
    return {views.transpose(0, 1).contiguous(), at::stack(targets)};
  }

  /// The number of views per example.
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
