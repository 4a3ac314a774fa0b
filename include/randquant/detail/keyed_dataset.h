#pragma once
/// \file
/// What the keyed dataset adaptors of data.h share: the base that holds the
/// source, options, seed and epoch, how the source's examples are read, the
/// keys of a batch, and the check that only a per-example transform follows
/// an adaptor.

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

#include "randquant/detail/checks.h"
#include "randquant/detail/example_calls.h"
#include "randquant/options.h"
#include "randquant/sample_keys.h"

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
}  // namespace data
}  // namespace randquant
