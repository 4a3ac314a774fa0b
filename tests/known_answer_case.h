#pragma once
// One known-answer case of randquant's random streams (tests/known_answers.h,
// generated from the specification's transcription).
#include <ATen/ATen.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "randquant/options.h"

namespace rq_test {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

/// An input, its options and key, and what docs/SPEC.md says comes out.
struct KnownAnswer {
  const char* name;                    ///< for traces
  at::ScalarType dtype;                ///< the input's dtype
  std::vector<int64_t> shape;          ///< batched (N, C, ...)
  std::vector<double> x;               ///< the input, row-major
  int64_t regions;                     ///< options.regions()
  int64_t max_regions;                 ///< options.max_regions()
  randquant::Spacing spacing;          ///< options.spacing()
  randquant::Collapse collapse;        ///< options.collapse()
  double p;                            ///< options.p()
  uint64_t key;                        ///< the call's key (not keyed)
  bool keyed;                          ///< sample-keyed call
  uint64_t seed, epoch;                ///< SampleKeys (keyed)
  std::vector<int64_t> index;          ///< SampleKeys::index (keyed)
  std::vector<uint64_t> sample_keys;   ///< K_n of each sample (keyed)
  std::vector<int64_t> regions_drawn;  ///< R of each slice, (N, C)
  std::vector<double> cuts;            ///< (N, C, Rmax - 1), +inf padded
  std::vector<double> proxies;         ///< (N, C, Rmax) as x's dtype, 0 padded
  std::vector<bool> applied;           ///< (N) the coins
  std::vector<double> output;          ///< the call's output, row-major
};

}  // namespace rq_test
