// Never write memory a call does not own: the transforms, the keyed dataset
// adaptor and the module leave every byte of a dataset's tensors, a cache's
// tensors and a user's from_blob buffers as they were, on every dtype, with
// default options and with inplace(true), and still return quantized data.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "randquant/randquant.h"
#include "test_util.h"

namespace {

namespace rq = randquant;
using Opt = rq::RandomizedQuantizationOptions;
using rq_test::gen;
using rq_test::same_bits;

constexpr int64_t kRegions = 3;
constexpr size_t kStoredExamples = 4;

/// How a dataset hands out its examples' data.
enum class Kind {
  kView,             ///< images[i]: a view of the dataset's tensor (MNIST)
  kCache,            ///< cache[i]: a tensor the dataset keeps a handle to
  kBlob,             ///< from_blob over a buffer the dataset owns, no deleter
  kBlobWithDeleter,  ///< the same with a (no-op) deleter
  kExpanded,         ///< small[i].expand(): one stored element, many indices
  kStrided,          ///< every other column of the dataset's wider tensor
};

const char* name_of(Kind kind) {
  switch (kind) {
    case Kind::kView:
      return "view";
    case Kind::kCache:
      return "cache";
    case Kind::kBlob:
      return "from_blob";
    case Kind::kBlobWithDeleter:
      return "from_blob+deleter";
    case Kind::kExpanded:
      return "expanded";
    case Kind::kStrided:
      return "strided";
  }
  return "?";
}

const std::vector<Kind>& all_kinds() {
  static const std::vector<Kind> kinds = {
      Kind::kView,     Kind::kCache,  Kind::kBlob, Kind::kBlobWithDeleter,
      Kind::kExpanded, Kind::kStrided};
  return kinds;
}

/// What a dataset owns; shared by its copies (map() and the adaptor copy
/// the dataset).
struct Store {
  at::Tensor images;                       ///< (4, 3, 8, 8)
  std::vector<at::Tensor> cache;           ///< kCache: the images, held
  std::vector<std::vector<char>> buffers;  ///< kBlob*: the images' bytes
  at::Tensor small;                        ///< kExpanded: (4, 3, 1, 8)
  at::Tensor wide;                         ///< kStrided: (4, 3, 8, 16)
};

/// A torch::data dataset of 4 examples of one dtype, handing out its data
/// as `kind` says.
class Source : public torch::data::datasets::Dataset<Source> {
 public:
  Source(Kind kind, at::ScalarType dtype)
      : kind_(kind), store_(std::make_shared<Store>()) {
    store_->images = rq_test::random_input({4, 3, 8, 8}, dtype, 3);
    for (size_t i = 0; i < kStoredExamples; ++i) {
      const at::Tensor image = store_->images[i].clone();
      store_->cache.push_back(image);
      const char* bytes = static_cast<const char*>(image.data_ptr());
      store_->buffers.emplace_back(bytes, bytes + image.nbytes());
    }
    store_->small = rq_test::random_input({4, 3, 1, 8}, dtype, 4);
    store_->wide = rq_test::random_input({4, 3, 8, 16}, dtype, 5);
  }

  torch::data::Example<> get(size_t i) override {
    const at::Tensor target = at::tensor(static_cast<int64_t>(i));
    const auto dtype = store_->images.options();
    switch (kind_) {
      case Kind::kView:
        return {store_->images[i], target};
      case Kind::kCache:
        return {store_->cache[i], target};
      case Kind::kBlob:
        return {at::from_blob(store_->buffers[i].data(), {3, 8, 8}, dtype),
                target};
      case Kind::kBlobWithDeleter:
        return {at::from_blob(
                    store_->buffers[i].data(), {3, 8, 8}, [](void*) {}, dtype),
                target};
      case Kind::kExpanded:
        return {store_->small[i].expand({3, 8, 8}), target};
      case Kind::kStrided:
        return {store_->wide[i].slice(-1, 0, 16, 2), target};
    }
    return {};
  }

  c10::optional<size_t> size() const override { return kStoredExamples; }

  /// A copy of every byte the dataset owns.
  std::vector<char> snapshot() const {
    std::vector<char> bytes;
    const auto append = [&bytes](const at::Tensor& t) {
      const at::Tensor c = t.contiguous();
      const char* p = static_cast<const char*>(c.data_ptr());
      bytes.insert(bytes.end(), p, p + c.nbytes());
    };
    append(store_->images);
    for (const at::Tensor& t : store_->cache) append(t);
    for (const auto& buffer : store_->buffers) {
      bytes.insert(bytes.end(), buffer.begin(), buffer.end());
    }
    append(store_->small);
    append(store_->wide);
    return bytes;
  }

  /// Example i's data as handed out, copied (what quantization starts from).
  at::Tensor original(size_t i) { return get(i).data.clone(); }

 private:
  Kind kind_;
  std::shared_ptr<Store> store_;
};

/// Whether `q` is `x` quantized: at most kRegions values per slice of one
/// sample (unbatched) and not x itself.
::testing::AssertionResult quantized_one(const at::Tensor& q,
                                         const at::Tensor& x) {
  if (q.sizes() != x.sizes() || q.scalar_type() != x.scalar_type()) {
    return ::testing::AssertionFailure() << "shape or dtype changed";
  }
  const at::Tensor slices = q.reshape({q.size(0), -1}).to(at::kDouble);
  for (int64_t c = 0; c < slices.size(0); ++c) {
    const auto distinct = std::get<0>(at::_unique(slices[c])).numel();
    if (distinct > kRegions) {
      return ::testing::AssertionFailure()
             << "channel " << c << " has " << distinct << " values (R "
             << kRegions << ")";
    }
  }
  if (same_bits(q, x)) {
    return ::testing::AssertionFailure() << "output equals the input";
  }
  return ::testing::AssertionSuccess();
}

/// quantized_one() of every example of a stacked batch.
::testing::AssertionResult quantized_batch(const at::Tensor& batch,
                                           Source& source) {
  if (batch.size(0) != static_cast<int64_t>(kStoredExamples)) {
    return ::testing::AssertionFailure() << "batch of " << batch.size(0);
  }
  for (size_t i = 0; i < kStoredExamples; ++i) {
    auto result = quantized_one(batch[i], source.original(i));
    if (!result) return result << " (example " << i << ")";
  }
  return ::testing::AssertionSuccess();
}

/// Every dtype x every kind of source x {default options, inplace(true)}.
template <typename Check>
void for_every_source(Check check) {
  for (at::ScalarType dtype : rq_test::all_dtypes()) {
    for (Kind kind : all_kinds()) {
      for (bool inplace : {false, true}) {
        SCOPED_TRACE(::testing::Message()
                     << dtype << " " << name_of(kind)
                     << (inplace ? " inplace(true)" : " default options"));
        Source source(kind, dtype);
        const std::vector<char> before = source.snapshot();
        check(source, Opt(kRegions).inplace(inplace));
        EXPECT_TRUE(source.snapshot() == before)
            << "the dataset's memory was written";
      }
    }
  }
}

const std::vector<size_t>& all_indices() {
  static const std::vector<size_t> indices = {0, 1, 2, 3};
  return indices;
}

}  // namespace

TEST(Ownership, PerExampleTransformNeverWritesTheSourcesMemory) {
  for_every_source([](Source& source, const Opt& o) {
    rq::transforms::RandomizedQuantize<> t(o, gen(1));
    for (size_t i = 0; i < kStoredExamples; ++i) {
      EXPECT_TRUE(quantized_one(t(source.get(i).data), source.original(i)));
    }
  });
}

TEST(Ownership, MapThenStackNeverWritesTheSourcesMemory) {
  for_every_source([](Source& source, const Opt& o) {
    auto mapped = source.map(rq::transforms::RandomizedQuantize<>(o, gen(2)))
                      .map(torch::data::transforms::Stack<>());
    EXPECT_TRUE(quantized_batch(mapped.get_batch(all_indices()).data, source));
  });
}

TEST(Ownership, BatchTransformNeverWritesTheSourcesMemory) {
  for_every_source([](Source& source, const Opt& o) {
    auto mapped =
        source.map(rq::transforms::BatchRandomizedQuantize<>(o, gen(3)));
    EXPECT_TRUE(quantized_batch(mapped.get_batch(all_indices()).data, source));
  });
}

TEST(Ownership, KeyedAdaptorGetAndGetBatchNeverWriteTheSourcesMemory) {
  for_every_source([](Source& source, const Opt& o) {
    rq::data::KeyedRandomizedQuantization<Source> keyed(source, o, 7);
    for (size_t i = 0; i < kStoredExamples; ++i) {
      EXPECT_TRUE(quantized_one(keyed.get(i).data, source.original(i)));
    }
    EXPECT_TRUE(quantized_batch(keyed.get_batch(all_indices()).data, source));
  });
}

TEST(Ownership, ModuleInPlaceOnlyOnATensorNothingElseSees) {
  for_every_source([](Source& source, const Opt& o) {
    rq::RandomizedQuantization module(Opt(o).batched(false));
    for (size_t i = 0; i < kStoredExamples; ++i) {
      const at::Tensor x = source.get(i).data;
      const at::Tensor y = module(x);
      EXPECT_TRUE(quantized_one(y, source.original(i)));
      EXPECT_FALSE(y.is_same(x));
    }
  });
  // A tensor of its own (an activation): quantized where it lies.
  rq::RandomizedQuantization module(Opt(kRegions).batched(false).inplace(true));
  const at::Tensor x = rq_test::random_input({3, 8, 8}, at::kFloat, 9);
  const at::Tensor before = x.clone();
  const at::Tensor y = module(x);
  EXPECT_TRUE(y.is_same(x));
  EXPECT_TRUE(quantized_one(y, before));
}

TEST(Ownership, WhatCountsAsOwned) {
  using rq::detail::exclusively_owned;
  std::vector<float> buffer(12, 1.0f);
  EXPECT_FALSE(exclusively_owned(at::from_blob(buffer.data(), {12})));
  EXPECT_FALSE(
      exclusively_owned(at::from_blob(buffer.data(), {12}, [](void*) {})));
  EXPECT_TRUE(exclusively_owned(at::rand({12})));
  // A strided view whose base's handle is gone still shares the storage
  // with that base (autograd's view record keeps it): shared, the
  // conservative answer.
  const at::Tensor strided = at::rand({4, 6}).slice(1, 0, 6, 2);
  EXPECT_FALSE(exclusively_owned(strided));
  // Its contiguous copy is owned.
  EXPECT_TRUE(exclusively_owned(strided.contiguous()));
  // Expanded, even alone: one element stored for several indices.
  const at::Tensor expanded = at::rand({3, 1}).expand({3, 4});
  EXPECT_FALSE(exclusively_owned(expanded));
  // Strides that may make two indices share an element, on a storage it
  // alone holds: ATen cannot prove it free of overlap, so not owned.
  at::Tensor overlapping = at::empty({0});
  overlapping.set_(at::rand({4}).storage(), 0, {3, 3}, {1, 1});
  EXPECT_FALSE(exclusively_owned(overlapping));
  const at::Tensor base = at::rand({4, 6});
  EXPECT_FALSE(exclusively_owned(base[0]));
  const at::Tensor held = at::rand({6});
  EXPECT_TRUE(exclusively_owned(held));
  const at::Tensor second_handle = held;
  EXPECT_FALSE(exclusively_owned(held));
  EXPECT_FALSE(exclusively_owned(at::rand({6}).requires_grad_()));
  at::Tensor inference;
  {
    c10::InferenceMode guard;
    inference = at::rand({6});
  }
  EXPECT_FALSE(exclusively_owned(inference));
}
