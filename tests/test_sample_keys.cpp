// Sample-keyed draws: a sample's augmentation is a pure function of (seed,
// epoch, index, channel) and the options.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sstream>
#include <string>
#include <vector>

#include "randquant/randquant.h"
#include "test_util.h"

namespace rq = randquant;
using rq::SampleKeys;
using rq_test::random_input;
using rq_test::same_bits;
using Opt = rq::RandomizedQuantizationOptions;

namespace {

SampleKeys keys(std::vector<int64_t> index, uint64_t seed = 11,
                uint64_t epoch = 3) {
  return SampleKeys{seed, epoch, at::tensor(index, at::kLong)};
}

/// Option sets with every kind of draw: cut points, proxies, random R, the
/// coin; and a trailing channel dimension.
std::vector<Opt> option_sets() {
  return {Opt(8), Opt(3).max_regions(40).p(0.5), Opt(256),
          Opt(6).channel_dim(-1)};
}

}  // namespace

TEST(SampleKeys, ABatchEqualsItsSamplesOneByOneInAnyOrder) {
  for (at::ScalarType dtype : {at::kFloat, at::kByte, at::kHalf}) {
    for (const Opt& o : option_sets()) {
      SCOPED_TRACE(::testing::Message() << dtype << " " << o);
      const at::Tensor x = random_input({5, 3, 9, 7}, dtype, 2);
      const std::vector<int64_t> index = {40, 7, 123456789012, 0, 9};
      const at::Tensor batch = rq::randomized_quantize(x, o, keys(index));
      for (int64_t n = 0; n < 5; ++n) {
        const at::Tensor one = rq::randomized_quantize(
            x[n], Opt(o).batched(false), keys({index[n]}));
        EXPECT_TRUE(same_bits(one, batch[n])) << "sample " << n;
      }
      // Permuted batch, permuted output; a sub-batch, its rows.
      const std::vector<int64_t> order = {3, 0, 4, 1, 2};
      std::vector<int64_t> permuted_index;
      for (int64_t i : order) permuted_index.push_back(index[i]);
      const at::Tensor perm = at::tensor(order, at::kLong);
      EXPECT_TRUE(same_bits(rq::randomized_quantize(x.index_select(0, perm), o,
                                                    keys(permuted_index)),
                            batch.index_select(0, perm)));
      EXPECT_TRUE(same_bits(rq::randomized_quantize(x.narrow(0, 1, 2), o,
                                                    keys({7, 123456789012})),
                            batch.narrow(0, 1, 2)));
    }
  }
}

TEST(SampleKeys, CompositeInPlaceOutAndThreadsGiveTheSameBits) {
  const at::Tensor x = random_input({4, 3, 130, 140}, at::kFloat, 5);
  const SampleKeys k = keys({1, 2, 3, 4});
  for (const Opt& o : option_sets()) {
    SCOPED_TRACE(::testing::Message() << o);
    const at::Tensor fused = rq::randomized_quantize(x, o, k);
    // The composite path: the same params, applied with ATen ops.
    const rq::detail::Geometry geometry = rq::detail::check_inputs(x, o, "t");
    const at::Tensor composite = rq::detail::composite_backend().quantize_new(
        x, geometry, o, rq::detail::sample_call_key(k, x, geometry, "t"));
    EXPECT_TRUE(same_bits(fused, composite));
    at::Tensor self = x.clone();
    rq::randomized_quantize_(self, o, k);
    EXPECT_TRUE(same_bits(self, fused));
    at::Tensor out = at::empty({0});
    rq::randomized_quantize_out(out, x, o, k);
    EXPECT_TRUE(same_bits(out, fused));
    const int threads = at::get_num_threads();
    at::set_num_threads(1);
    EXPECT_TRUE(same_bits(rq::randomized_quantize(x, o, k), fused));
    at::set_num_threads(threads);
  }
}

TEST(SampleKeys,
     SeedEpochAndIndexChangeTheDrawsAndNothingIsDrawnFromGenerators) {
  const at::Tensor x = random_input({2, 3, 16, 16}, at::kFloat, 8);
  const Opt o(8);
  const at::Tensor base = rq::randomized_quantize(x, o, keys({5, 6}, 1, 1));
  EXPECT_FALSE(
      same_bits(base, rq::randomized_quantize(x, o, keys({5, 6}, 2, 1))));
  EXPECT_FALSE(
      same_bits(base, rq::randomized_quantize(x, o, keys({5, 6}, 1, 2))));
  EXPECT_FALSE(
      same_bits(base, rq::randomized_quantize(x, o, keys({6, 5}, 1, 1))));
  // The default generator is neither used nor advanced.
  torch::manual_seed(0);
  const at::Tensor next_before = at::randint(1 << 30, {4});
  torch::manual_seed(0);
  EXPECT_TRUE(
      same_bits(rq::randomized_quantize(x, o, keys({5, 6}, 1, 1)), base));
  EXPECT_TRUE(same_bits(at::randint(1 << 30, {4}), next_before));
}

TEST(SampleKeys, BadKeysThrowNamingThem) {
  const at::Tensor x = at::rand({3, 2, 4, 4});
  const at::Tensor x_before = x.clone();
  struct Case {
    SampleKeys k;
    const char* message;
  };
  const std::vector<Case> cases = {
      {SampleKeys{1, 0, at::Tensor()}, "keys.index is an undefined tensor"},
      {SampleKeys{1, 0, at::tensor({1.0, 2.0, 3.0})},
       "keys.index must have an integer dtype, got Double"},
      {SampleKeys{1, 0, at::tensor({1, 2}, at::kLong)},
       "keys.index must hold one index per sample (3"},
      {SampleKeys{1, 0, at::tensor({1, -2, 3}, at::kLong)},
       "keys.index must be >= 0, got -2 at position 1"},
      {SampleKeys{1, 0, at::tensor({1, 2, 3}, at::kLong).to(at::kMeta)},
       "keys.index must be on the CPU or on x's device"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    try {
      rq::randomized_quantize(x, Opt(), c.k);
      ADD_FAILURE() << "no error";
    } catch (const c10::Error& e) {
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos)
          << e.what();
    }
    at::Tensor y = x.clone();
    EXPECT_THROW(rq::randomized_quantize_(y, Opt(), c.k), c10::Error);
    EXPECT_TRUE(same_bits(y, x_before));
  }
  // Unbatched x takes one index; other integer dtypes are accepted.
  EXPECT_NO_THROW(rq::randomized_quantize(
      x[0], Opt().batched(false), SampleKeys{1, 0, at::tensor({4}, at::kInt)}));
  EXPECT_THROW(
      rq::randomized_quantize(x[0], Opt().batched(false), keys({4, 5})),
      c10::Error);
}

TEST(SampleKeys, TheModuleTakesKeysAndStillWorksInSequential) {
  const at::Tensor x = random_input({2, 3, 8, 8}, at::kFloat, 1);
  rq::RandomizedQuantization module(Opt(5));
  EXPECT_TRUE(same_bits(module(x, keys({8, 9})),
                        rq::randomized_quantize(x, Opt(5), keys({8, 9}))));
  torch::nn::Sequential seq(module);
  EXPECT_EQ(seq->forward(x).sizes(), x.sizes());  // generator-keyed
  module->eval();
  EXPECT_TRUE(module(x, keys({8, 9})).is_same(x));
}

namespace {

/// 96 random images, target = the example's index.
struct IndexedImages : torch::data::datasets::Dataset<IndexedImages> {
  at::Tensor images = random_input({96, 3, 10, 12}, at::kFloat, 4);
  torch::data::Example<> get(size_t i) override {
    return {images[static_cast<int64_t>(i)],
            at::tensor(static_cast<int64_t>(i), at::kLong)};
  }
  c10::optional<size_t> size() const override { return 96; }
};

using Keyed = rq::data::KeyedRandomizedQuantization<IndexedImages>;

/// Every quantized example of one epoch, by index, through a DataLoader.
template <typename Sampler>
std::vector<at::Tensor> epoch_by_index(Keyed dataset, size_t workers,
                                       size_t batch) {
  auto loader = torch::data::make_data_loader<Sampler>(
      std::move(dataset),
      torch::data::DataLoaderOptions().batch_size(batch).workers(workers));
  std::vector<at::Tensor> by_index(96);
  for (auto& b : *loader) {
    for (int64_t j = 0; j < b.target.size(0); ++j) {
      const at::Tensor target = b.target[j];
      by_index[target.item<int64_t>()] = b.data[j].clone();
    }
  }
  return by_index;
}

}  // namespace

TEST(KeyedData, AnyWorkerCountBatchSizeAndOrderGiveTheSameExamples) {
  const Keyed dataset(IndexedImages(), Opt(6).p(0.8), /*seed=*/9);
  // get(i): the example alone, keyed by its index.
  Keyed single = dataset;
  const std::vector<at::Tensor> reference = [&] {
    std::vector<at::Tensor> r;
    for (size_t i = 0; i < 96; ++i) r.push_back(single.get(i).data);
    return r;
  }();
  torch::manual_seed(1);  // the random sampler's order
  for (size_t workers : {0, 2, 4}) {
    for (size_t batch : {1, 7, 64}) {
      SCOPED_TRACE(::testing::Message()
                   << "workers " << workers << ", batch " << batch);
      const auto sequential =
          epoch_by_index<torch::data::samplers::SequentialSampler>(
              dataset, workers, batch);
      const auto shuffled =
          epoch_by_index<torch::data::samplers::RandomSampler>(dataset, workers,
                                                               batch);
      for (size_t i = 0; i < 96; ++i) {
        ASSERT_TRUE(sequential[i].defined() && shuffled[i].defined());
        EXPECT_TRUE(same_bits(sequential[i], reference[i])) << "index " << i;
        EXPECT_TRUE(same_bits(shuffled[i], reference[i])) << "index " << i;
      }
    }
  }
}

TEST(KeyedData, SetEpochReachesEveryCopyAndChangesTheDraws) {
  Keyed dataset(IndexedImages(), Opt(6), /*seed=*/9);
  Keyed copy = dataset;  // as a DataLoader worker holds one
  const at::Tensor epoch0 = copy.get(5).data;
  dataset.set_epoch(1);
  EXPECT_EQ(copy.epoch(), 1u);
  const at::Tensor epoch1 = copy.get(5).data;
  EXPECT_FALSE(same_bits(epoch0, epoch1));
  dataset.set_epoch(0);
  EXPECT_TRUE(same_bits(copy.get(5).data, epoch0));
  // Distinct indices draw differently (same image content, other keys).
  IndexedImages same_image;
  same_image.images = same_image.images[0].expand({96, 3, 10, 12}).clone();
  Keyed flat(same_image, Opt(6), 9);
  EXPECT_FALSE(same_bits(flat.get(1).data, flat.get(2).data));
}

TEST(Resume, ACheckpointedModuleDrawsWhatTheUninterruptedRunDraws) {
  const at::Tensor x = random_input({2, 3, 8, 8}, at::kFloat, 3);
  rq::RandomizedQuantization run(Opt(6).max_regions(12));
  run->set_generator(at::make_generator<at::CPUGeneratorImpl>(17));
  for (int step = 0; step < 3; ++step) run(x);  // k steps
  std::stringstream checkpoint;
  torch::save(run, checkpoint);
  std::vector<at::Tensor> uninterrupted;
  for (int step = 0; step < 3; ++step) uninterrupted.push_back(run(x));
  // A new process: a fresh module (no generator set, or another one).
  for (bool with_generator : {false, true}) {
    SCOPED_TRACE(with_generator);
    rq::RandomizedQuantization resumed(Opt(6).max_regions(12));
    if (with_generator) {
      resumed->set_generator(at::make_generator<at::CPUGeneratorImpl>(99));
    }
    checkpoint.seekg(0);
    torch::load(resumed, checkpoint);
    for (int step = 0; step < 3; ++step) {
      EXPECT_TRUE(same_bits(resumed(x), uninterrupted[step])) << step;
    }
  }
}
