#pragma once
/// \file
/// What both benchmark programs time, and how they print it: the op
/// signature, the fused / composite / clone ops, a time formatter.

#include <ATen/ATen.h>
#include <randquant/randquant.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace randquant_bench {

/// A tensor shape.
using Shape = std::vector<int64_t>;
/// A timed operation: output of x, drawing from g where it draws.
using Op = std::function<at::Tensor(const at::Tensor&, at::Generator&)>;
/// Seed of the inputs and generators.
constexpr uint64_t kSeed = 20230101;

/// randomized_quantize with R = regions (fused kernel of x's device).
inline Op fused(int64_t regions, bool batched = true) {
  const auto opts =
      randquant::RandomizedQuantizationOptions(regions).batched(batched);
  return [opts](const at::Tensor& x, at::Generator& g) {
    return randquant::randomized_quantize(x, opts, g);
  };
}

/// randomized_quantize_composite with R = regions (plain ATen ops).
inline Op composite(int64_t regions) {
  const auto opts = randquant::RandomizedQuantizationOptions(regions);
  return [opts](const at::Tensor& x, at::Generator& g) {
    return randquant::randomized_quantize_composite(x, opts, g);
  };
}

/// x.clone(): one read and one write, the floor.
inline at::Tensor clone(const at::Tensor& x, at::Generator& /*g*/) {
  return x.clone();
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
