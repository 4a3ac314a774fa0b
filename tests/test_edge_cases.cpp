// SPEC.md's edge cases (each defined, none an error) and its errors (each a
// c10::Error naming the argument and the value, the input unchanged).
#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "test_util.h"

namespace rq = randquant;
using rq::Collapse;
using rq::RandomizedQuantizationOptions;
using rq_test::gen;

int quantize_in_second_tu();  // odr_second_tu.cpp

namespace {
const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

/// A generator that claims to live on another device (none exists here).
struct FakeGenerator : c10::GeneratorImpl {
  explicit FakeGenerator(c10::Device device)
      : c10::GeneratorImpl(device, c10::DispatchKeySet(c10::computeDispatchKey(
                                       c10::nullopt, c10::nullopt, device))) {}
  void set_current_seed(uint64_t) override {}
  uint64_t current_seed() const override { return 0; }
  uint64_t seed() override { return 0; }
  void set_offset(uint64_t) {}  // pure virtual in LibTorch 2.x only
  uint64_t get_offset() const { return 0; }
  void set_state(const c10::TensorImpl&) override {}
  c10::intrusive_ptr<c10::TensorImpl> get_state() const override { return {}; }
  FakeGenerator* clone_impl() const override {
    return new FakeGenerator(device());
  }
};

/// Runs f, expecting a c10::Error whose message contains every fragment.
template <typename F>
void expect_error(F&& f, std::initializer_list<const char*> fragments) {
  try {
    f();
    ADD_FAILURE() << "expected a c10::Error";
  } catch (const c10::Error& e) {
    const std::string msg = e.what_without_backtrace();
    for (const char* fragment : fragments) {
      EXPECT_NE(msg.find(fragment), std::string::npos)
          << "message \"" << msg << "\" lacks \"" << fragment << "\"";
    }
  }
}
}  // namespace

TEST(EdgeCases, NonFiniteValuesPassThroughAndAreIgnoredByMinMax) {
  at::Tensor x = at::rand({2, 2, 6, 6}, gen(1)) + 1.0;  // values in [1, 2)
  x[0][0][0][0] = kNaN;
  x[0][0][1][1] = kInf;
  x[1][1][2][2] = -kInf;
  x[1][0].fill_(kNaN);  // a slice with no finite value is copied
  x[1][0][3][3] = kInf;
  const at::Tensor before = x.clone();
  for (Collapse c :
       {Collapse::InsideRandom, Collapse::Middle, Collapse::Zeros}) {
    const auto o = RandomizedQuantizationOptions(4).collapse(c);
    const at::Tensor y = rq::randomized_quantize(x, o, gen(2));
    EXPECT_TRUE(std::isnan(y[0][0][0][0].item<float>()));
    EXPECT_EQ(y[0][0][1][1].item<float>(), kInf);
    EXPECT_EQ(y[1][1][2][2].item<float>(), -kInf);
    EXPECT_TRUE(rq_test::same_bits(y[1][0], x[1][0]));
    const at::Tensor finite = at::isfinite(x);
    if (c != Collapse::Zeros) {  // proxies stay inside the finite range
      EXPECT_GE(y.masked_select(finite).min().item<float>(), 1.0f);
      EXPECT_LT(y.masked_select(finite).max().item<float>(), 2.0f);
    }
    EXPECT_TRUE(
        rq_test::same_bits(y, rq::randomized_quantize_composite(x, o, gen(2))));
  }
  EXPECT_TRUE(rq_test::same_bits(x, before));
  const auto p = rq::quantization_params(x, {}, gen(2));
  EXPECT_FALSE(p.quantized[1][0].item<bool>());
  EXPECT_TRUE(p.quantized[0][0].item<bool>());
  EXPECT_GE(p.lo[0][0].item<float>(), 1.0f);
}

TEST(EdgeCases, ConstantSlicesKeepTheirValue) {
  at::Tensor x = at::full({2, 3, 5}, 2.5f);
  x[1][2].fill_(-7.0f);
  const at::Tensor y =
      rq::randomized_quantize(x, RandomizedQuantizationOptions(8));
  EXPECT_TRUE(y.equal(x));
  const at::Tensor z = rq::randomized_quantize(
      x, RandomizedQuantizationOptions(8).collapse(Collapse::Zeros));
  EXPECT_TRUE(z.eq(0).all().item<bool>());
  const at::Tensor b = at::full({1, 1, 9}, 200, at::kByte);
  EXPECT_TRUE(rq::randomized_quantize(b).equal(b));
}

TEST(EdgeCases, SignedZerosDoNotDependOnOrder) {
  const at::Tensor a = at::tensor({-0.0f, 0.0f, 1.0f, 0.5f}).view({1, 1, 4});
  const at::Tensor b = at::tensor({0.0f, -0.0f, 1.0f, 0.5f}).view({1, 1, 4});
  const auto pa = rq::quantization_params(a, {}, gen(1));
  const auto pb = rq::quantization_params(b, {}, gen(1));
  EXPECT_TRUE(rq_test::same_bits(pa.lo, pb.lo));
  EXPECT_TRUE(rq_test::same_bits(pa.proxies, pb.proxies));
}

TEST(EdgeCases, EmptyTensorsGiveEmptyOutputs) {
  for (auto shape :
       {std::vector<int64_t>{0, 3, 4, 4}, std::vector<int64_t>{2, 0, 4},
        std::vector<int64_t>{2, 3, 0}}) {
    const at::Tensor x = at::empty(shape);
    const at::Tensor y = rq::randomized_quantize(x);
    EXPECT_EQ(y.sizes(), x.sizes());
    EXPECT_EQ(rq::randomized_quantize_composite(x).sizes(), x.sizes());
    EXPECT_EQ(rq::quantization_params(x).lo.numel(), x.size(0) * x.size(1));
  }
  const at::Tensor u = at::empty({3, 0});
  EXPECT_EQ(
      rq::randomized_quantize(u, RandomizedQuantizationOptions().batched(false))
          .sizes(),
      u.sizes());
}

TEST(EdgeCases, OneRegionGivesOneProxyPerSlice) {
  const at::Tensor x = rq_test::random_input({3, 4, 7, 7}, at::kFloat, 1);
  const at::Tensor y =
      rq::randomized_quantize(x, RandomizedQuantizationOptions(1), gen(4));
  const at::Tensor flat = y.flatten(2);
  EXPECT_TRUE(flat.eq(flat.select(2, 0).unsqueeze(2)).all().item<bool>());
  EXPECT_TRUE(flat.amin(-1).ge(x.flatten(2).amin(-1)).all().item<bool>());
  EXPECT_TRUE(flat.amax(-1).le(x.flatten(2).amax(-1)).all().item<bool>());
  EXPECT_FALSE(y.equal(x));
}

TEST(EdgeCases, OneDimensionalUnbatchedInputIsChannelsOfOneElement) {
  // A (C) sample has C channels of one element: every slice is constant.
  const at::Tensor x = at::arange(10, at::kFloat);
  const auto o = RandomizedQuantizationOptions(3).batched(false);
  const at::Tensor y = rq::randomized_quantize(x, o, gen(5));
  EXPECT_TRUE(rq_test::same_bits(y, x));
  // A (1, L) sample is one slice of L elements.
  const at::Tensor row = x.unsqueeze(0);
  const at::Tensor yr = rq::randomized_quantize(row, o, gen(5));
  EXPECT_LE(std::get<0>(at::_unique(yr)).numel(), 3);
  EXPECT_TRUE(rq_test::same_bits(
      yr, rq::randomized_quantize_composite(row, o, gen(5))));
}

TEST(EdgeCases, ErrorsNameTheArgumentAndValue) {
  const at::Tensor x = at::rand({2, 3, 4});
  const at::Tensor before = x.clone();
  expect_error(
      [&] { rq::randomized_quantize(x, RandomizedQuantizationOptions(0)); },
      {"regions", "regions = 0"});
  expect_error(
      [&] { rq::randomized_quantize(x, RandomizedQuantizationOptions(1025)); },
      {"regions", "1025"});
  expect_error(
      [&] { rq::randomized_quantize(x, RandomizedQuantizationOptions(-3)); },
      {"regions", "-3"});
  expect_error(
      [&] {
        rq::randomized_quantize(
            x, RandomizedQuantizationOptions(8).max_regions(4));
      },
      {"max_regions", "max_regions = 4"});
  expect_error(
      [&] {
        rq::randomized_quantize(
            x, RandomizedQuantizationOptions(8).max_regions(2000));
      },
      {"max_regions", "2000"});
  expect_error(
      [&] {
        rq::randomized_quantize(x, RandomizedQuantizationOptions().p(1.5));
      },
      {"p must be in [0, 1]", "p = 1.5"});
  expect_error(
      [&] {
        rq::randomized_quantize(x, RandomizedQuantizationOptions().p(-0.1));
      },
      {"p = -0.1"});
  expect_error(
      [&] {
        rq::randomized_quantize(x,
                                RandomizedQuantizationOptions().p(
                                    std::numeric_limits<double>::quiet_NaN()));
      },
      {"p = nan"});
  expect_error(
      [&] {
        rq::randomized_quantize(x,
                                RandomizedQuantizationOptions().channel_dim(2));
      },
      {"channel_dim", "channel_dim = 2"});
  expect_error(
      [&] {
        rq::randomized_quantize(
            x, RandomizedQuantizationOptions().channel_dim(-3));
      },
      {"channel_dim", "channel_dim = -3"});
  expect_error([&] { rq::randomized_quantize(at::rand({5})); },
               {"batched = true", "x.dim() = 1"});
  expect_error(
      [&] {
        rq::randomized_quantize(at::zeros({}),
                                RandomizedQuantizationOptions().batched(false));
      },
      {"batched = false", "x.dim() = 0"});
  expect_error(
      [&] {
        rq::randomized_quantize(at::zeros({2, 3}, at::kBool));
      },
      {"dtype", "Bool"});
  expect_error(
      [&] {
        rq::randomized_quantize(at::zeros({2, 3}, at::kComplexFloat));
      },
      {"dtype", "ComplexFloat"});
  expect_error(
      [&] {
        rq::randomized_quantize(
            at::quantize_per_tensor(at::rand({2, 3}), 0.1, 0, at::kQInt8));
      },
      {"dtype", "QInt8"});
  expect_error([&] { rq::randomized_quantize(at::Tensor()); },
               {"x is an undefined tensor"});
  // A CUDA generator serves only CUDA tensors on its device; a generator of
  // another device type serves nothing.
  expect_error(
      [&] {
        rq::randomized_quantize(
            x, {},
            at::Generator(c10::make_intrusive<FakeGenerator>(
                c10::Device(c10::kCUDA, 0))));
      },
      {"generator on device cuda:0", "x on device cpu"});
  expect_error(
      [&] {
        rq::randomized_quantize(
            x, {},
            at::Generator(
                c10::make_intrusive<FakeGenerator>(c10::Device(c10::kMeta))));
      },
      {"generator must be a CPU or CUDA generator", "meta"});
  expect_error(
      [&] {
        rq::randomized_quantize_composite(x, RandomizedQuantizationOptions(0));
      },
      {"randomized_quantize_composite", "regions = 0"});
  expect_error(
      [&] { rq::quantization_params(x, RandomizedQuantizationOptions().p(2)); },
      {"quantization_params", "p = 2"});
  const auto params = rq::quantization_params(x);
  expect_error(
      [&] {
        rq::apply_quantization_params(at::rand({3, 3, 4}), params);
      },
      {"apply_quantization_params", "2 samples x 3 channels"});
  expect_error(
      [&] { rq::apply_quantization_params(x.to(at::kDouble), params); },
      {"dtype Float", "dtype Double"});
  EXPECT_TRUE(rq_test::same_bits(x, before));
}

TEST(EdgeCases, SecondTranslationUnitLinksAndAgrees) {
  // odr_second_tu.cpp includes every header again; this links only if no
  // header defines a non-inline symbol, and it must compute the same thing.
  EXPECT_EQ(quantize_in_second_tu(), 4);
}
