// Known answers: randquant's draws pinned to the exact values docs/SPEC.md
// defines (tests/known_answers.h, computed by an independent transcription
// of the specification, tests/python/spec_oracle.py). The fused CPU kernel,
// the composite path and the emulated CUDA launch share the per-slice math,
// so they agree with each other even when a stream, a counter word or a
// draw index changes; these cases do not.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "cuda_emulation.h"
#include "known_answers.h"
#include "randquant/randquant.h"
#include "test_util.h"

namespace {

namespace rq = randquant;
using rq_test::KnownAnswer;
using rq_test::same_values;

at::Tensor doubles(const std::vector<double>& values, at::IntArrayRef shape) {
  return at::tensor(values, at::kDouble).reshape(shape);
}

rq::RandomizedQuantizationOptions options_of(const KnownAnswer& c) {
  return rq::RandomizedQuantizationOptions(c.regions)
      .max_regions(c.max_regions)
      .spacing(c.spacing)
      .collapse(c.collapse)
      .p(c.p);
}

at::Tensor input_of(const KnownAnswer& c) {
  return doubles(c.x, c.shape).to(c.dtype);
}

/// The call's parameters as the library derives them for the case's key.
rq::QuantizationParams params_of(const KnownAnswer& c) {
  const at::Tensor x = input_of(c);
  const auto o = options_of(c);
  const rq::detail::Geometry geometry = rq::detail::check_inputs(x, o, "kat");
  if (!c.keyed) return rq::detail::composite_params(x, geometry, o, c.key);
  const rq::detail::CallKey key = rq::detail::sample_call_key(
      rq::SampleKeys{c.seed, c.epoch, at::tensor(c.index, at::kLong)}, x,
      geometry, "kat");
  return rq::detail::composite_params(x, geometry, o, 0, key.samples);
}

/// Equal values (NaN where NaN), with the first difference on failure.
::testing::AssertionResult same_as_spec(const at::Tensor& actual,
                                        const at::Tensor& expected) {
  const at::Tensor a = actual.to(at::kDouble).reshape(-1);
  const at::Tensor e = expected.to(at::kDouble).reshape(-1);
  if (a.numel() != e.numel()) {
    return ::testing::AssertionFailure()
           << a.numel() << " values, expected " << e.numel();
  }
  if (same_values(a, e)) return ::testing::AssertionSuccess();
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double u = a[i].item<double>(), v = e[i].item<double>();
    if (!(u == v || (std::isnan(u) && std::isnan(v)))) {
      return ::testing::AssertionFailure()
             << "element " << i << ": " << u << ", expected " << v;
    }
  }
  return ::testing::AssertionFailure() << "differs";
}

}  // namespace

TEST(KnownAnswers, ParametersAreTheSpecificationsDraws) {
  for (const KnownAnswer& c : rq_test::known_answers()) {
    SCOPED_TRACE(c.name);
    const rq::QuantizationParams params = params_of(c);
    const int64_t n = c.shape[0], channels = c.shape[1];
    EXPECT_TRUE(same_as_spec(
        params.regions,
        at::tensor(c.regions_drawn, at::kLong).view({n, channels})))
        << "regions";
    EXPECT_TRUE(same_as_spec(params.cuts, doubles(c.cuts, {n, channels, -1})))
        << "cut points";
    EXPECT_TRUE(
        same_as_spec(params.proxies, doubles(c.proxies, {n, channels, -1})))
        << "proxies";
    std::vector<double> applied(c.applied.begin(), c.applied.end());
    EXPECT_TRUE(same_as_spec(params.applied, doubles(applied, {n}))) << "coins";
    if (c.keyed) {
      for (size_t i = 0; i < c.index.size(); ++i) {
        EXPECT_EQ(rq::core::sample_key(c.seed, c.epoch,
                                       static_cast<uint64_t>(c.index[i])),
                  c.sample_keys[i])
            << "sample key of index " << c.index[i];
      }
    }
  }
}

TEST(KnownAnswers, EveryImplementationGivesTheSpecificationsOutput) {
  for (const KnownAnswer& c : rq_test::known_answers()) {
    SCOPED_TRACE(c.name);
    const at::Tensor x = input_of(c);
    const auto o = options_of(c);
    const at::Tensor expected = doubles(c.output, c.shape);
    if (c.keyed) {
      const rq::SampleKeys keys{c.seed, c.epoch,
                                at::tensor(c.index, at::kLong)};
      EXPECT_TRUE(same_as_spec(rq::randomized_quantize(x, o, keys), expected))
          << "fused CPU, sample keys";
      EXPECT_TRUE(
          same_as_spec(rq::detail::quantize(x, o, keys, "kat",
                                            &rq::detail::composite_backend()),
                       expected))
          << "composite, sample keys";
      continue;
    }
    const rq::detail::Geometry geometry = rq::detail::check_inputs(x, o, "kat");
    const rq::detail::CallKey key = rq::detail::CallKey::from_host(c.key);
    EXPECT_TRUE(
        same_as_spec(rq::RandomizedQuantizeFunctor<c10::DeviceType::CPU>()(
                         x, geometry, o, key),
                     expected))
        << "fused CPU";
    EXPECT_TRUE(same_as_spec(
        rq::detail::composite_quantize(x, geometry, o, key), expected))
        << "composite";
    EXPECT_TRUE(same_as_spec(rq_test::emulate_cuda(x, o, c.key).out, expected))
        << "emulated CUDA";
  }
}
