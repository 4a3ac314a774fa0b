#pragma once
/// \file
/// Options of Randomized Quantization, in the builder style of torch::nn.

#include <torch/arg.h>

#include "randquant/core/enums.h"

#include <cstdint>
#include <ostream>

namespace randquant {

/// Options of randomized_quantize(), RandomizedQuantization and the
/// transforms. Builder style: `RandomizedQuantizationOptions(8).p(0.5)`.
struct RandomizedQuantizationOptions {
  /// Options with `regions` quantization regions per slice (default 8).
  /* implicit */ RandomizedQuantizationOptions(int64_t regions = 8)
      : regions_(regions) {}

  /// R, the number of regions per slice; 1 .. kMaxRegions.
  TORCH_ARG(int64_t, regions);
  /// 0 (default): R is fixed. Otherwise each slice draws its own R uniformly
  /// from [regions, max_regions]; max_regions >= regions, <= kMaxRegions.
  TORCH_ARG(int64_t, max_regions) = 0;
  /// Proxy value of each region (default InsideRandom).
  TORCH_ARG(Collapse, collapse) = Collapse::InsideRandom;
  /// Placement of the cut points (default Random).
  TORCH_ARG(Spacing, spacing) = Spacing::Random;
  /// Probability that a sample (batched) or the whole input (unbatched) is
  /// quantized; otherwise it is returned unchanged. In [0, 1], default 1.
  TORCH_ARG(double, p) = 1.0;
  /// true (default): dim 0 is the batch. false: the tensor is one sample.
  TORCH_ARG(bool, batched) = true;
  /// Channel dimension counted within one sample (default 0; negative counts
  /// from the end): 0 for (N,C,H,W), -1 for (N,P,3) point clouds.
  TORCH_ARG(int64_t, channel_dim) = 0;
  /// false (default): the output carries no gradient to x (an augmentation).
  /// true: backward hands the incoming gradient to x unchanged, so the op
  /// can augment intermediate activations of a network being trained.
  TORCH_ARG(bool, straight_through) = false;
  /// false (default): the result is a new tensor. true: x itself is
  /// quantized and returned (as torch::nn::DropoutOptions::inplace), with
  /// the checks of randomized_quantize_(), by randomized_quantize() and
  /// randomized_quantize_composite(); the module does so only when nothing
  /// but the caller's one handle can see x (never a view, a tensor held
  /// elsewhere too, an expanded tensor or a from_blob buffer: a new output
  /// then). Transforms and
  /// dataset adaptors ignore it: they reuse an example's memory whenever
  /// nothing else can see it, and never otherwise.
  TORCH_ARG(bool, inplace) = false;
};

/// Prints `InsideRandom`, `Middle` or `Zeros`.
inline std::ostream& operator<<(std::ostream& os, Collapse collapse) {
  switch (collapse) {
    case Collapse::InsideRandom:
      return os << "InsideRandom";
    case Collapse::Middle:
      return os << "Middle";
    case Collapse::Zeros:
      return os << "Zeros";
  }
  return os << "Collapse(" << static_cast<int>(collapse) << ")";
}

/// Prints `Random` or `Uniform`.
inline std::ostream& operator<<(std::ostream& os, Spacing spacing) {
  switch (spacing) {
    case Spacing::Random:
      return os << "Random";
    case Spacing::Uniform:
      return os << "Uniform";
  }
  return os << "Spacing(" << static_cast<int>(spacing) << ")";
}

/// Prints the options as `regions=8, max_regions=0, ...` (module
/// pretty_print, error messages).
inline std::ostream& operator<<(std::ostream& os,
                                const RandomizedQuantizationOptions& o) {
  return os << "regions=" << o.regions() << ", max_regions=" << o.max_regions()
            << ", collapse=" << o.collapse() << ", spacing=" << o.spacing()
            << ", p=" << o.p()
            << ", batched=" << (o.batched() ? "true" : "false")
            << ", channel_dim=" << o.channel_dim() << ", straight_through="
            << (o.straight_through() ? "true" : "false")
            << ", inplace=" << (o.inplace() ? "true" : "false");
}

}  // namespace randquant
