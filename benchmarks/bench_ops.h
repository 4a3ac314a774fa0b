#pragma once
/// \file
/// What both benchmark programs time, and how they print it: the op
/// signature, the fused / composite / clone ops in their allocation
/// conditions, a time formatter.

#include <ATen/ATen.h>
#include <randquant/randquant.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace randquant_bench {

/// A tensor shape.
using Shape = std::vector<int64_t>;
/// A timed operation: output of x, drawing from g where it draws.
using Op = std::function<at::Tensor(const at::Tensor&, at::Generator&)>;
/// Seed of the inputs and generators.
constexpr uint64_t kSeed = 20230101;

/// Options with R = regions, batched or one sample.
inline randquant::RandomizedQuantizationOptions options(int64_t regions,
                                                        bool batched = true) {
  return randquant::RandomizedQuantizationOptions(regions).batched(batched);
}

/// randomized_quantize with R = regions (fused kernel of x's device): a new
/// output each call (fresh pages for a large CPU output, with the library's
/// huge-page advice).
inline Op fused(int64_t regions, bool batched = true) {
  const auto opts = options(regions, batched);
  return [opts](const at::Tensor& x, at::Generator& g) {
    return randquant::randomized_quantize(x, opts, g);
  };
}

/// randomized_quantize_out into one output buffer kept across calls
/// (reused, already-mapped pages).
inline Op fused_out(int64_t regions, bool batched = true) {
  const auto opts = options(regions, batched);
  auto out = std::make_shared<at::Tensor>();
  return [opts, out](const at::Tensor& x, at::Generator& g) {
    if (!out->defined()) *out = at::empty_like(x);
    return randquant::randomized_quantize_out(*out, x, opts, g);
  };
}

/// randomized_quantize_composite with R = regions (plain ATen ops).
inline Op composite(int64_t regions) {
  const auto opts = randquant::RandomizedQuantizationOptions(regions);
  return [opts](const at::Tensor& x, at::Generator& g) {
    return randquant::randomized_quantize_composite(x, opts, g);
  };
}

/// x.clone(): one read and one write into a new output (fresh pages for a
/// large CPU tensor, without huge-page advice), the floor users compare to.
inline at::Tensor clone(const at::Tensor& x, at::Generator& /*g*/) {
  return x.clone();
}

/// A copy into a new output that gets the same huge-page advice as the
/// op's output: clone() with the op's allocation.
inline at::Tensor clone_advised(const at::Tensor& x, at::Generator& /*g*/) {
  return randquant::detail::empty_output(x).copy_(x);
}

/// out.copy_(x) into one buffer kept across calls: the floor for out=.
inline Op copy_into() {
  auto out = std::make_shared<at::Tensor>();
  return [out](const at::Tensor& x, at::Generator& /*g*/) {
    if (!out->defined()) *out = at::empty_like(x);
    return out->copy_(x);
  };
}

/// Seconds as "12.3 us" or "4.56 ms".
inline std::string fmt_time(double s) {
  char buf[32];
  if (s < 1e-3)
    std::snprintf(buf, sizeof buf, "%.1f us", s * 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.2f ms", s * 1e3);
  return buf;
}

}  // namespace randquant_bench
