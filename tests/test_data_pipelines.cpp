// Pipelines a training program builds from torch::data: K views of an
// example (transform and keyed adaptor), and the keyed adaptor over a
// mapped dataset.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "randquant/randquant.h"
#include "test_util.h"

namespace rq = randquant;
using rq::SampleKeys;
using rq_test::gen;
using rq_test::random_input;
using rq_test::same_bits;
using Opt = rq::RandomizedQuantizationOptions;

namespace {

constexpr int64_t kExamples = 24;

/// Images whose get(i) is a view into one tensor (as torch's MNIST).
struct Images : torch::data::datasets::Dataset<Images> {
  at::Tensor images = random_input({kExamples, 3, 6, 7}, at::kFloat, 8);
  torch::data::Example<> get(size_t i) override {
    return {images[static_cast<int64_t>(i)],
            at::tensor(static_cast<int64_t>(i), at::kLong)};
  }
  c10::optional<size_t> size() const override { return kExamples; }
};

/// Images normalised in get() itself: what Images.map(Normalize) returns.
struct NormalizedImages : torch::data::datasets::Dataset<NormalizedImages> {
  Images source;
  torch::data::Example<> get(size_t i) override {
    torch::data::Example<> e = source.get(i);
    return {(e.data - 0.5) / 0.25, e.target};
  }
  c10::optional<size_t> size() const override { return kExamples; }
};

/// The sample keys (seed, epoch, indices).
SampleKeys keys(uint64_t seed, uint64_t epoch, std::vector<int64_t> indices) {
  return SampleKeys{seed, epoch, at::tensor(indices, at::kLong)};
}

/// Whether every pair of the K views (dim 0) differs.
bool views_differ(const at::Tensor& views) {
  for (int64_t a = 0; a < views.size(0); ++a) {
    for (int64_t b = a + 1; b < views.size(0); ++b) {
      if (same_bits(views[a], views[b])) return false;
    }
  }
  return true;
}

}  // namespace

TEST(Views, TheTransformMakesKIndependentViewsInOneBatchedCall) {
  Images images;
  const at::Tensor before = images.images.clone();
  const Opt options = Opt(5).max_regions(9);
  rq::transforms::RandomizedQuantizeViews<> views(3, options, gen(4));
  const at::Tensor data = images.get(2).data;
  const at::Tensor out = views(data);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{3, 3, 6, 7}));
  EXPECT_TRUE(views_differ(out)) << "each view has its own draws";
  // The same bits as one batched call on K copies with the same generator
  // state: view k is sample k.
  const at::Tensor copies = data.unsqueeze(0).expand({3, 3, 6, 7}).clone();
  EXPECT_TRUE(same_bits(out, rq::randomized_quantize(copies, options, gen(4))));
  EXPECT_TRUE(same_bits(images.images, before)) << "the dataset is only read";
  // Its own coin per view: with p = 0.5 some examples get views of both
  // kinds (one left as it was, one quantized).
  rq::transforms::RandomizedQuantizeViews<> coin(2, Opt(4).p(0.5), gen(5));
  int mixed = 0;
  for (int64_t i = 0; i < kExamples; ++i) {
    const at::Tensor pair = coin(images.get(static_cast<size_t>(i)).data);
    const bool first = same_bits(pair[0], images.images[i]);
    const bool second = same_bits(pair[1], images.images[i]);
    mixed += first != second;
  }
  EXPECT_GT(mixed, 0);
  EXPECT_LT(mixed, kExamples);
  EXPECT_THROW(rq::transforms::RandomizedQuantizeViews<>(0), c10::Error);
}

TEST(Views, TheTransformGivesBatchesOfKViewsThroughStack) {
  auto loader = torch::data::make_data_loader(
      Images()
          .map(rq::transforms::RandomizedQuantizeViews<>(2, Opt(6), gen(7)))
          .map(torch::data::transforms::Stack<>()),
      torch::data::DataLoaderOptions().batch_size(8));
  int batches = 0;
  for (auto& batch : *loader) {
    ASSERT_EQ(batch.data.sizes(), (std::vector<int64_t>{8, 2, 3, 6, 7}));
    EXPECT_FALSE(same_bits(batch.data.select(1, 0), batch.data.select(1, 1)));
    ++batches;
  }
  EXPECT_EQ(batches, kExamples / 8);
}

TEST(Views, TheKeyedAdaptorKeysEachViewByIndexAndView) {
  Images images;
  const at::Tensor before = images.images.clone();
  const uint64_t seed = 21;
  const Opt options = Opt(4).max_regions(12).p(0.75);
  rq::data::KeyedRandomizedViews<Images> views(images, 3, options, seed);
  views.set_epoch(2);
  rq::data::KeyedRandomizedQuantization<Images> single(images, options, seed);
  single.set_epoch(2);
  for (size_t i : {0, 5, 17}) {
    SCOPED_TRACE(i);
    const torch::data::Example<> e = views.get(i);
    ASSERT_EQ(e.data.sizes(), (std::vector<int64_t>{3, 3, 6, 7}));
    EXPECT_TRUE(e.target.equal(images.get(i).target));
    // View v: the example quantized as one sample with keys
    // (view_seed(seed, v), epoch, i); view 0 is the single-view example.
    for (int64_t v = 0; v < 3; ++v) {
      const at::Tensor expected = rq::randomized_quantize(
          images.get(i).data, Opt(options).batched(false),
          keys(rq::core::view_seed(seed, static_cast<uint64_t>(v)), 2,
               {static_cast<int64_t>(i)}));
      EXPECT_TRUE(same_bits(e.data[v], expected)) << "view " << v;
    }
    EXPECT_TRUE(same_bits(e.data[0], single.get(i).data));
  }
  // A batch: (N, K, S), the same bits as get() of each index.
  const std::vector<size_t> indices{9, 3, 14, 3};
  const torch::data::Example<> batch = views.get_batch(indices);
  ASSERT_EQ(batch.data.sizes(), (std::vector<int64_t>{4, 3, 3, 6, 7}));
  EXPECT_TRUE(batch.data.is_contiguous());
  for (size_t n = 0; n < indices.size(); ++n) {
    EXPECT_TRUE(same_bits(batch.data[static_cast<int64_t>(n)],
                          views.get(indices[n]).data))
        << n;
  }
  EXPECT_TRUE(
      batch.target.reshape(-1).equal(at::tensor({9, 3, 14, 3}, at::kLong)))
      << batch.target;
  // Views differ (p = 1), and another epoch draws anew.
  rq::data::KeyedRandomizedViews<Images> always(images, 4, Opt(6), seed);
  EXPECT_TRUE(views_differ(always.get(1).data));
  const at::Tensor epoch0 = always.get(1).data;
  always.set_epoch(1);
  EXPECT_FALSE(same_bits(always.get(1).data, epoch0));
  EXPECT_TRUE(same_bits(images.images, before)) << "the source is only read";
  EXPECT_THROW(rq::data::KeyedRandomizedViews<Images>(images, 0, Opt(4), 1),
               c10::Error);
}

TEST(Views, KeyedViewsAreTheSameForAnyWorkerCountAndBatchSize) {
  auto epoch = [](size_t workers, size_t batch_size) {
    auto loader =
        torch::data::make_data_loader<torch::data::samplers::RandomSampler>(
            rq::data::KeyedRandomizedViews<Images>(Images(), 2, Opt(7), 5),
            torch::data::DataLoaderOptions()
                .batch_size(batch_size)
                .workers(workers));
    std::vector<at::Tensor> by_index(kExamples);
    for (auto& b : *loader) {
      for (int64_t j = 0; j < b.target.size(0); ++j) {
        by_index[b.target[j].item<int64_t>()] = b.data[j].clone();
      }
    }
    return at::stack(by_index);
  };
  const at::Tensor one = epoch(0, 1);
  EXPECT_TRUE(same_bits(one, epoch(2, 5)));
  EXPECT_TRUE(same_bits(one, epoch(3, 8)));
}

TEST(KeyedAdaptor, WrapsAMappedDataset) {
  const uint64_t seed = 13;
  const Opt options = Opt(5).p(0.8);
  auto mapped = Images().map(torch::data::transforms::Normalize<>(0.5, 0.25));
  using Mapped = decltype(mapped);
  rq::data::KeyedRandomizedQuantization<Mapped> keyed(mapped, options, seed);
  rq::data::KeyedRandomizedQuantization<NormalizedImages> reference(
      NormalizedImages(), options, seed);
  EXPECT_EQ(keyed.size(), c10::optional<size_t>(kExamples));
  for (size_t i : {0, 7, 23}) {
    EXPECT_TRUE(same_bits(keyed.get(i).data, reference.get(i).data)) << i;
  }
  const std::vector<size_t> indices{4, 11, 2};
  EXPECT_TRUE(same_bits(keyed.get_batch(indices).data,
                        reference.get_batch(indices).data));
  // The views adaptor wraps it too.
  rq::data::KeyedRandomizedViews<Mapped> views(mapped, 2, options, seed);
  rq::data::KeyedRandomizedViews<NormalizedImages> reference_views(
      NormalizedImages(), 2, options, seed);
  EXPECT_TRUE(same_bits(views.get_batch(indices).data,
                        reference_views.get_batch(indices).data));
  // Through a DataLoader, and with a transform that takes the stacked
  // batch mapped after the adaptor.
  auto loader = torch::data::make_data_loader(
      rq::data::KeyedRandomizedQuantization<Mapped>(mapped, options, seed)
          .map(torch::data::transforms::BatchLambda<torch::data::Example<>,
                                                    torch::data::Example<>>(
              [](torch::data::Example<> b) {
                return torch::data::Example<>{b.data * 2, b.target};
              })),
      torch::data::DataLoaderOptions().batch_size(6));
  for (auto& b : *loader) {
    std::vector<size_t> order;
    for (int64_t j = 0; j < b.target.size(0); ++j) {
      order.push_back(static_cast<size_t>(b.target[j].item<int64_t>()));
    }
    EXPECT_TRUE(same_bits(b.data, reference.get_batch(order).data * 2));
  }
}
