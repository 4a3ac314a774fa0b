#pragma once
/// \file
/// The seam between the public entry and the backends: one functor template,
/// specialized per device type (cpu/quantize_cpu.h; cuda/quantize_cuda.h,
/// defined by the CUDA component).

#include <ATen/ATen.h>
#include <c10/core/DeviceType.h>

#include <cstdint>

#include "randquant/detail/generator.h"
#include "randquant/detail/geometry.h"
#include "randquant/options.h"

namespace randquant {

/// Fused Randomized Quantization on one device type. A specialization
/// provides `at::Tensor operator()(const at::Tensor& x, const
/// detail::Geometry&, const RandomizedQuantizationOptions&, const
/// detail::CallKey& key) const`, which returns a new tensor and leaves x
/// unchanged, and `void operator()(const at::Tensor& x, const at::Tensor&
/// out, ...same...) const`, which writes into `out` (x's shape, dtype and
/// device, no internal overlap; x itself for in place). Arguments are
/// already checked.
template <c10::DeviceType kDevice>
struct RandomizedQuantizeFunctor;

}  // namespace randquant
