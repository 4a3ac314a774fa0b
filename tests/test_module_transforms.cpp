// The module, the straight-through gradient and the dataset transforms.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace rq = randquant;
using rq::RandomizedQuantizationOptions;
using rq_test::gen;
using rq_test::same_bits;
using Opt = RandomizedQuantizationOptions;

TEST(Module, QuantizesInTrainingAndIsIdentityInEval) {
  rq::RandomizedQuantization module(RandomizedQuantizationOptions(4));
  const at::Tensor x = at::rand({2, 3, 8, 8});
  EXPECT_TRUE(module->is_training());
  const at::Tensor y = module(x);
  EXPECT_FALSE(y.equal(x));
  EXPECT_LE(std::get<0>(at::_unique(y[0][0])).numel(), 4);
  module->eval();
  const at::Tensor z = module(x);
  EXPECT_TRUE(z.is_same(x)) << "eval mode returns the input itself";
  module->train();
  EXPECT_FALSE(module(x).equal(x));
}

TEST(Module, GeneratorMakesItReproducibleAndMatchesTheFunction) {
  const at::Tensor x = at::rand({2, 3, 8, 8});
  const auto options = RandomizedQuantizationOptions(6).max_regions(9);
  rq::RandomizedQuantization module(options);
  module->set_generator(gen(5));
  const at::Tensor a = module(x);
  EXPECT_TRUE(a.equal(rq::randomized_quantize(x, options, gen(5))));
  module->set_generator(gen(5));
  EXPECT_TRUE(module(x).equal(a));
  EXPECT_TRUE(module->generator().has_value());
}

TEST(Module, ConstructionChecksOptionsAndPrettyPrints) {
  EXPECT_THROW(rq::RandomizedQuantization(RandomizedQuantizationOptions(0)),
               c10::Error);
  EXPECT_THROW(rq::RandomizedQuantization(RandomizedQuantizationOptions().p(3)),
               c10::Error);
  rq::RandomizedQuantization module(
      RandomizedQuantizationOptions(16).p(0.5).channel_dim(-1));
  std::ostringstream os;
  os << *module;
  EXPECT_EQ(os.str(),
            "randquant::RandomizedQuantization(regions=16, max_regions=0, "
            "collapse=InsideRandom, spacing=Random, p=0.5, batched=true, "
            "channel_dim=-1, straight_through=false, inplace=false)");
  rq::RandomizedQuantization from_regions(3);
  EXPECT_EQ(from_regions->options.regions(), 3);
  EXPECT_TRUE(module->parameters().empty());
}

TEST(Module, CloneIsIndependent) {
  rq::RandomizedQuantization module(RandomizedQuantizationOptions(4));
  module->set_generator(gen(1));
  auto copy = std::dynamic_pointer_cast<rq::RandomizedQuantizationImpl>(
      module->clone());
  ASSERT_NE(copy, nullptr);
  ASSERT_NE(copy.get(), module.get());
  copy->options.regions(2);
  copy->eval();
  EXPECT_EQ(module->options.regions(), 4);
  EXPECT_TRUE(module->is_training());
  const at::Tensor x = at::rand({2, 2, 16});
  EXPECT_TRUE(copy->forward(x).is_same(x));
  EXPECT_LE(std::get<0>(at::_unique(module(x)[0][0])).numel(), 4);
  // The clone shares the generator handle: draws continue one stream.
  copy->train();
  const at::Tensor a = copy->forward(x), b = module(x);
  EXPECT_FALSE(a.equal(b));
}

TEST(Module, WorksInSequentialAndInAUserForward) {
  torch::nn::Sequential net(
      torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3)),
      rq::RandomizedQuantization(RandomizedQuantizationOptions(8)),
      torch::nn::Flatten());
  const at::Tensor out = net->forward(at::rand({2, 3, 6, 6}));
  EXPECT_EQ(out.sizes(), (at::IntArrayRef{2, 4 * 4 * 4}));
  struct Net : torch::nn::Module {
    Net() : rq_(register_module("rq", rq::RandomizedQuantization(4))) {}
    at::Tensor forward(const at::Tensor& x) { return rq_(x) * 2; }
    rq::RandomizedQuantization rq_;
  };
  auto user = std::make_shared<Net>();
  EXPECT_EQ(user->forward(at::rand({1, 2, 5})).sizes(),
            (at::IntArrayRef{1, 2, 5}));
  EXPECT_EQ(user->named_modules().size(), 2u);
}

TEST(StraightThrough, OffGivesNoGradientOnGivesIdentityGradient) {
  const at::Tensor x = at::randn({3, 4, 5}).requires_grad_(true);
  const at::Tensor plain =
      rq::randomized_quantize(x, RandomizedQuantizationOptions(4));
  EXPECT_FALSE(plain.requires_grad());
  const auto st = RandomizedQuantizationOptions(4).straight_through(true);
  const at::Tensor y = rq::randomized_quantize(x, st, gen(3));
  ASSERT_TRUE(y.requires_grad());
  EXPECT_TRUE(
      y.detach().equal(rq::randomized_quantize(x.detach(), st, gen(3))));
  const at::Tensor weight = at::randn({3, 4, 5});
  const auto grads = torch::autograd::grad({(y * weight).sum()}, {x});
  EXPECT_TRUE(grads[0].equal(weight))
      << "backward hands the gradient on unchanged";
  // Through the module and a downstream op, composite path too.
  rq::RandomizedQuantization module(st);
  const at::Tensor z = module(x);
  const auto g2 = torch::autograd::grad({(z * z.detach()).sum()}, {x});
  EXPECT_TRUE(g2[0].equal(z.detach()));
  const at::Tensor c = rq::randomized_quantize_composite(x, st);
  EXPECT_TRUE(c.requires_grad());
  // No graph when grad mode is off or x needs no gradient.
  {
    torch::NoGradGuard no_grad;
    EXPECT_FALSE(rq::randomized_quantize(x, st).requires_grad());
  }
  EXPECT_FALSE(rq::randomized_quantize(x.detach(), st).requires_grad());
}

namespace {
/// N copies of one fixed image: any difference between outputs comes from
/// the augmentation.
class ConstantDataset : public torch::data::datasets::Dataset<ConstantDataset> {
 public:
  explicit ConstantDataset(size_t n)
      : n_(n), image_(at::rand({3, 8, 8}, gen(99))) {}
  torch::data::Example<> get(size_t index) override {
    return {image_.clone(), at::tensor(static_cast<int64_t>(index))};
  }
  torch::optional<size_t> size() const override { return n_; }

 private:
  size_t n_;
  at::Tensor image_;
};
}  // namespace

TEST(Transforms, PerExampleEqualsUnbatchedOp) {
  const at::Tensor sample = at::rand({3, 8, 8});
  const auto o = RandomizedQuantizationOptions(5).channel_dim(0);
  rq::transforms::RandomizedQuantize<> t(o, gen(4));
  EXPECT_FALSE(t.options().batched());
  const at::Tensor a = t(sample);
  EXPECT_TRUE(a.equal(rq::randomized_quantize(
      sample, RandomizedQuantizationOptions(o).batched(false), gen(4))));
  // Via the Example interface used by datasets.
  rq::transforms::RandomizedQuantize<> t2(o, gen(4));
  const auto example = t2.apply(torch::data::Example<>(sample, at::tensor(1)));
  EXPECT_TRUE(example.data.equal(a));
  EXPECT_EQ(example.target.item<int64_t>(), 1);
}

TEST(Transforms, BatchTransformEqualsStackThenOp) {
  std::vector<torch::data::Example<>> examples;
  for (int i = 0; i < 4; ++i)
    examples.push_back({at::rand({3, 6, 6}), at::tensor(i)});
  const auto o = RandomizedQuantizationOptions(7);
  rq::transforms::BatchRandomizedQuantize<> t(o, gen(6));
  const auto batch = t.apply_batch(examples);
  const auto stacked = torch::data::transforms::Stack<>().apply_batch(examples);
  EXPECT_TRUE(
      batch.data.equal(rq::randomized_quantize(stacked.data, o, gen(6))));
  EXPECT_TRUE(batch.target.equal(stacked.target));
}

namespace {
/// Quantized batches of a loader over ConstantDataset, as flat tensors.
template <typename Dataset>
std::vector<at::Tensor> drain(Dataset dataset, size_t workers) {
  auto loader = torch::data::make_data_loader(std::move(dataset),
                                              torch::data::DataLoaderOptions()
                                                  .batch_size(4)
                                                  .workers(workers)
                                                  .enforce_ordering(true));
  std::vector<at::Tensor> batches;
  for (auto& batch : *loader) batches.push_back(batch.data.clone());
  return batches;
}

/// True when no two batches are equal.
bool all_distinct(const std::vector<at::Tensor>& batches) {
  for (size_t i = 0; i < batches.size(); ++i)
    for (size_t j = i + 1; j < batches.size(); ++j)
      if (batches[i].equal(batches[j])) return false;
  return true;
}
}  // namespace

TEST(Transforms, DataLoaderWorkersDrawIndependentlyAndSeedsReproduce) {
  const auto o = RandomizedQuantizationOptions(4);
  for (size_t workers : {0, 2, 4}) {
    SCOPED_TRACE(::testing::Message() << "workers = " << workers);
    // Per-example transform + Stack, one shared explicit generator.
    const auto per_example =
        drain(ConstantDataset(32)
                  .map(rq::transforms::RandomizedQuantize<>(o, gen(1)))
                  .map(torch::data::transforms::Stack<>()),
              workers);
    ASSERT_EQ(per_example.size(), 8u);
    EXPECT_TRUE(all_distinct(per_example));
    // Every example inside a batch differs too.
    for (const at::Tensor& b : per_example) EXPECT_FALSE(b[0].equal(b[1]));
    // Batch transform with the default generator.
    const auto batched = drain(
        ConstantDataset(32).map(rq::transforms::BatchRandomizedQuantize<>(o)),
        workers);
    ASSERT_EQ(batched.size(), 8u);
    EXPECT_TRUE(all_distinct(batched));
  }
  // Fixed seed, no worker threads: the same batches twice.
  auto run = [&] {
    return drain(ConstantDataset(16).map(
                     rq::transforms::BatchRandomizedQuantize<>(o, gen(7))),
                 0);
  };
  const auto first = run(), second = run();
  ASSERT_EQ(first.size(), second.size());
  for (size_t i = 0; i < first.size(); ++i)
    EXPECT_TRUE(first[i].equal(second[i]));
}

// Errors name the entry the user called, at construction and when it runs.
TEST(Transforms, PerExampleQuantizesOwnedExamplesInPlaceAndNeverADatasetsData) {
  const Opt o(6);
  const at::Tensor images = at::rand({4, 3, 8, 8});
  const at::Tensor images_before = images.clone();
  rq::transforms::RandomizedQuantize<> t(o, gen(4));
  rq::transforms::RandomizedQuantize<> same(o, gen(4));
  // A view of the dataset's tensor (what torch's MNIST returns): a new
  // tensor, the dataset unchanged.
  const at::Tensor a = t(images[1]);
  EXPECT_FALSE(a.is_alias_of(images));
  EXPECT_TRUE(same_bits(images, images_before));
  EXPECT_TRUE(same_bits(
      a, rq::randomized_quantize(images[1], Opt(o).batched(false), gen(4))));
  // A tensor nobody else holds (a freshly decoded image): quantized where
  // it lies, same values as out of place.
  at::Tensor fresh = images_before[2].clone();
  const void* where = fresh.data_ptr();
  const at::Tensor b = t(std::move(fresh));
  EXPECT_EQ(b.data_ptr(), where);
  same(images[1]);  // keep the two generators in step
  EXPECT_TRUE(same_bits(b, same(images_before[2].clone())));
  // Another handle to the same tensor: not owned, left alone.
  const at::Tensor shared = images_before[3].clone();
  const at::Tensor shared_before = shared.clone();
  const at::Tensor c = t(shared);
  EXPECT_FALSE(c.is_alias_of(shared));
  EXPECT_TRUE(same_bits(shared, shared_before));
}

TEST(Module, ErrorsNameTheEntryThatWasCalled) {
  auto message_of = [](const std::function<void()>& f) -> std::string {
    try {
      f();
    } catch (const c10::Error& e) {
      return e.what();
    }
    return "no error";
  };
  const at::Tensor flags = at::ones({2, 3, 4}, at::kBool);
  const at::Tensor before = flags.clone();
  rq::RandomizedQuantization rq_module(RandomizedQuantizationOptions(4));
  EXPECT_NE(message_of([&] {
              rq_module(flags);
            }).find("RandomizedQuantization: x has dtype Bool"),
            std::string::npos);
  rq_module->options.regions(0);  // changed after construction: caught at run
  EXPECT_NE(message_of([&] {
              rq_module(at::rand({2, 3, 4}));
            }).find("RandomizedQuantization: regions must be"),
            std::string::npos);
  EXPECT_NE(message_of([] {
              rq::RandomizedQuantization(int64_t{0});
            }).find("RandomizedQuantization: regions must be"),
            std::string::npos);
  rq::transforms::RandomizedQuantize<> per_example(4);
  EXPECT_NE(message_of([&] {
              per_example(flags[0]);
            }).find("transforms::RandomizedQuantize: x has dtype Bool"),
            std::string::npos);
  rq::transforms::BatchRandomizedQuantize<> collate(4);
  std::vector<torch::data::Example<>> batch = {{flags[0], at::zeros({})},
                                               {flags[1], at::zeros({})}};
  EXPECT_NE(message_of([&] {
              collate.apply_batch(batch);
            }).find("transforms::BatchRandomizedQuantize: x has dtype Bool"),
            std::string::npos);
  EXPECT_NE(message_of([] {
              rq::randomized_quantize(at::ones({2, 2}, at::kBool));
            }).find("randomized_quantize: x has dtype Bool"),
            std::string::npos);
  EXPECT_TRUE(rq_test::same_bits(flags, before));
}

TEST(GradientCutWarning, OnceWhenAnInputThatRequiresGradLosesItsGradient) {
  const std::string text = "straight_through";
  const at::Tensor x = at::randn({2, 3, 6}).requires_grad_(true);
  const auto cut = RandomizedQuantizationOptions(4);
  const auto through = RandomizedQuantizationOptions(4).straight_through(true);
  {
    rq::detail::gradient_cut_warned() = false;
    rq_test::WarningCollector warnings;
    // Silent: a detached input, grad mode off, straight_through on.
    rq::randomized_quantize(x.detach(), cut);
    {
      torch::NoGradGuard no_grad;
      rq::randomized_quantize(x, cut);
    }
    rq::randomized_quantize(x, through);
    rq::RandomizedQuantization passes_gradient(through);
    passes_gradient(x);
    EXPECT_EQ(warnings.count(text), 0);
    // The function that cuts the gradient: one warning naming it and the
    // option, however many calls follow.
    rq::randomized_quantize(x, cut);
    rq::randomized_quantize(x, cut);
    rq::randomized_quantize_composite(x, cut);
    ASSERT_EQ(warnings.count(text), 1);
    EXPECT_EQ(warnings.count("randomized_quantize: the input requires grad"),
              1);
  }
  {
    rq::detail::gradient_cut_warned() = false;
    rq_test::WarningCollector warnings;
    rq::RandomizedQuantization module(cut);
    torch::nn::Linear linear(6, 6);
    const at::Tensor y = module(linear(at::randn({2, 3, 6})));
    EXPECT_FALSE(y.requires_grad()) << "the documented default";
    EXPECT_EQ(warnings.count("RandomizedQuantization: the input requires grad"),
              1);
    module->eval();
    rq::detail::gradient_cut_warned() = false;
    module(x);  // the identity in eval mode cuts nothing
    EXPECT_EQ(warnings.count(text), 1);
  }
}

TEST(Checkpoint, TheModuleSavesAndRestoresItsOptions) {
  const auto saved_options = RandomizedQuantizationOptions(5)
                                 .max_regions(9)
                                 .collapse(rq::Collapse::Middle)
                                 .spacing(rq::Spacing::Uniform)
                                 .p(0.25)
                                 .batched(false)
                                 .channel_dim(-1)
                                 .straight_through(true)
                                 .inplace(true);
  rq::RandomizedQuantization saved(saved_options);
  std::stringstream checkpoint;
  torch::save(saved, checkpoint);
  rq::RandomizedQuantization loaded(3);
  torch::load(loaded, checkpoint);
  std::ostringstream a, b;
  a << loaded->options;
  b << saved_options;
  EXPECT_EQ(a.str(), b.str()) << "every option is restored";
  // Inside a Sequential, as a layer of a model.
  torch::nn::Sequential model(torch::nn::Linear(4, 4),
                              rq::RandomizedQuantization(saved_options));
  std::stringstream model_checkpoint;
  torch::save(model, model_checkpoint);
  torch::nn::Sequential other(torch::nn::Linear(4, 4),
                              rq::RandomizedQuantization(8));
  torch::load(other, model_checkpoint);
  std::ostringstream c;
  c << other->ptr<rq::RandomizedQuantizationImpl>(1)->options;
  EXPECT_EQ(c.str(), b.str());
}

TEST(Checkpoint, ACheckpointOfAnotherModuleTypeIsRefused) {
  torch::nn::Linear linear(3, 2);
  std::stringstream checkpoint;
  torch::save(linear, checkpoint);
  rq::RandomizedQuantization module(6);
  try {
    torch::load(module, checkpoint);
    FAIL() << "a Linear checkpoint loaded into RandomizedQuantization";
  } catch (const c10::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("RandomizedQuantization::load"), std::string::npos)
        << what;
    EXPECT_NE(what.find("not a checkpoint of "
                        "randquant::RandomizedQuantization"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("'weight'"), std::string::npos) << what;
  }
  EXPECT_EQ(module->options.regions(), 6) << "the module is left as it was";
  // A saved module whose options are out of range (a damaged file) is
  // refused with the construction's check.
  torch::serialize::OutputArchive archive;
  archive.write("randquant_options",
                at::tensor(std::vector<double>{1, 0, 0, 0, 0, 1, 1, 0, 0, 0},
                           at::kDouble));
  std::stringstream damaged;
  archive.save_to(damaged);
  torch::serialize::InputArchive input;
  input.load_from(damaged);
  EXPECT_THROW(
      {
        try {
          module->load(input);
        } catch (const c10::Error& e) {
          EXPECT_NE(std::string(e.what()).find("regions must be in [1"),
                    std::string::npos)
              << e.what();
          throw;
        }
      },
      c10::Error);
  EXPECT_EQ(module->options.regions(), 6);
}
