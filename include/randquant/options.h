#pragma once
/// \file
/// Options of Randomized Quantization, in the builder style of torch::nn.

#include <torch/arg.h>

#include "randquant/core/enums.h"

#include <cstdint>
#include <ostream>

namespace randquant {

/// Options of randomized_quantize() and its variants, RandomizedQuantization,
/// the transforms and the keyed dataset adaptors. Each option below is a
/// getter `name()` and a setter `name(value)` that returns `*this`, so
/// setters chain (torch::nn's TORCH_ARG builder style).
///
/// Setting an option checks nothing; every entry that takes the options
/// checks them first (the module, the transforms and the adaptors at
/// construction) and throws c10::Error naming the option and its value on:
/// regions outside [1, kMaxRegions]; max_regions neither 0 nor in
/// [regions, kMaxRegions]; p outside [0, 1] or NaN; a collapse or spacing
/// that is no enumerator. The full contract is \ref md_docs_SPEC "SPEC.md".
/// \code
/// auto options = randquant::RandomizedQuantizationOptions(16)
///                    .max_regions(32)  // R ~ U{16 .. 32} per slice
///                    .p(0.8)           // 80 % of the samples
///                    .channel_dim(-1); // (N, P, 3) point clouds
/// \endcode
struct RandomizedQuantizationOptions {
  /// Options with `regions` quantization regions per slice (default 8) and
  /// every other option at its default. Implicit, so an entry that takes
  /// options also takes R alone: `randomized_quantize(x, 16)`.
  /* implicit */ RandomizedQuantizationOptions(int64_t regions = 8)
      : regions_(regions) {}

  /// R, the number of regions per slice; 1 .. kMaxRegions.
  TORCH_ARG(int64_t, regions);
  /// 0 (default): R is fixed. Otherwise each slice draws its own R uniformly
  /// from [regions, max_regions]; max_regions >= regions, <= kMaxRegions.
  TORCH_ARG(int64_t, max_regions) = 0;
  /// Proxy value of each region (default Collapse::InsideRandom).
  TORCH_ARG(Collapse, collapse) = Collapse::InsideRandom;
  /// Placement of the cut points (default Spacing::Random).
  TORCH_ARG(Spacing, spacing) = Spacing::Random;
  /// Probability that a sample (batched) or the whole input (unbatched) is
  /// quantized; otherwise it is returned unchanged. In [0, 1], default 1.
  TORCH_ARG(double, p) = 1.0;
  /// true (default): dim 0 is the batch, and x needs at least 2 dimensions.
  /// false: the tensor is one sample (at least 1 dimension). The
  /// transforms and adaptors set it themselves.
  TORCH_ARG(bool, batched) = true;
  /// Channel dimension counted within one sample (default 0; negative counts
  /// from the end): 0 for (N,C,H,W), -1 for (N,P,3) point clouds. Checked
  /// against each input: in [-d, d - 1] for a sample of d dimensions.
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
  /// then). Transforms and dataset adaptors ignore it: they reuse an
  /// example's memory whenever nothing else can see it, and never otherwise.
  TORCH_ARG(bool, inplace) = false;
};

/// Prints `InsideRandom`, `Middle` or `Zeros` (a value that is no
/// enumerator as `Collapse(n)`), as error messages and pretty_print() show
/// it.
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

/// Prints `Random` or `Uniform` (a value that is no enumerator as
/// `Spacing(n)`).
inline std::ostream& operator<<(std::ostream& os, Spacing spacing) {
  switch (spacing) {
    case Spacing::Random:
      return os << "Random";
    case Spacing::Uniform:
      return os << "Uniform";
  }
  return os << "Spacing(" << static_cast<int>(spacing) << ")";
}

/// Prints every option as `regions=8, max_regions=0, collapse=InsideRandom,
/// ...`, in declaration order (the module's pretty_print()).
/// \code
/// std::cout << randquant::RandomizedQuantizationOptions(4) << '\n';
/// \endcode
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
