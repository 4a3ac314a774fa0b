#pragma once
/// \file
/// Enumerations and limits shared by the host API and device code (no torch
/// headers, so nvcc can read it). They are declared in namespace randquant
/// itself, as part of the public API; options.h includes this header.

#include <cstdint>

namespace randquant {

/// Largest number of regions per slice randquant supports: `regions` and
/// `max_regions` above it are refused with a c10::Error. It bounds the
/// per-slice parameters and keeps the draw ranges of a slice apart
/// (\ref md_docs_SPEC "SPEC.md", Draws).
constexpr int64_t kMaxRegions = 1024;

/// How each region's proxy value is chosen (the reference's
/// `collapse_to_val`); left and right are the region's ends. Set with
/// RandomizedQuantizationOptions::collapse:
/// \code
/// auto options = randquant::RandomizedQuantizationOptions(8).collapse(
///     randquant::Collapse::Middle);
/// \endcode
enum class Collapse {
  InsideRandom,  ///< left + w * (right - left), w ~ U[0, 1), one w per region
  Middle,        ///< (left + right) / 2: no draw
  Zeros,         ///< 0 for every region: no draw
};

/// How the R - 1 cut points are placed between a slice's min and max (the
/// reference's `spacing`). Set with RandomizedQuantizationOptions::spacing:
/// \code
/// auto options = randquant::RandomizedQuantizationOptions(8).spacing(
///     randquant::Spacing::Uniform);
/// \endcode
enum class Spacing {
  Random,   ///< lo + u * (hi - lo), u ~ U[0, 1) independent, then sorted
  Uniform,  ///< lo + (k / R) * (hi - lo), k = 1 .. R - 1: no draw
};

}  // namespace randquant
