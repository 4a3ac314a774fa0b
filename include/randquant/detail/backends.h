#pragma once
/// \file
/// Run-time registry of optional fused backends. The CUDA component
/// (randquant::cuda, src/cuda/randquant.cu) fills its slot when it is linked
/// in, so headers compiled by g++ never need a WITH_CUDA macro (a macro that
/// differed between translation units would give one inline function two
/// bodies).

#include <ATen/ATen.h>

#include <cstdint>

#include "randquant/detail/generator.h"
#include "randquant/detail/geometry.h"
#include "randquant/options.h"

namespace randquant {
namespace detail {

/// Signature of a fused backend: quantize x (checked) into `out` (x's
/// shape, dtype and device, no internal overlap; x itself for in place)
/// with the call's key.
using FusedBackend = void (*)(const at::Tensor& x, const at::Tensor& out,
                              const Geometry& geometry,
                              const RandomizedQuantizationOptions& options,
                              const CallKey& key);

/// The CUDA backend, or nullptr when the CUDA component is not linked.
inline FusedBackend& cuda_backend() {
  static FusedBackend backend = nullptr;
  return backend;
}

}  // namespace detail
}  // namespace randquant
