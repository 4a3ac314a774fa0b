#pragma once
/// \file
/// Enumerations and limits shared by the host API and device code (no torch
/// headers, so nvcc can read it).

#include <cstdint>

namespace randquant {

/// Largest number of regions per slice randquant supports (`regions` and
/// `max_regions` above it are rejected).
constexpr int64_t kMaxRegions = 1024;

/// How each region's proxy value is chosen (the reference's
/// `collapse_to_val`).
enum class Collapse {
  InsideRandom,  ///< left + w * (right - left), w ~ U[0, 1), one w per region
  Middle,        ///< (left + right) / 2
  Zeros,         ///< 0
};

/// How the R - 1 cut points are placed between a slice's min and max (the
/// reference's `spacing`).
enum class Spacing {
  Random,   ///< lo + u * (hi - lo), u ~ U[0, 1) independent, then sorted
  Uniform,  ///< lo + (k / R) * (hi - lo), k = 1 .. R - 1
};

}  // namespace randquant
