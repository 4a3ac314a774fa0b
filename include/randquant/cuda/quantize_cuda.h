#pragma once
/// \file
/// CUDA specialization of the fused functor: the g++-safe declaration. Its
/// definition (quantize_cuda.cuh) is compiled by nvcc in the randquant::cuda
/// component, which also registers it (detail/backend.h).

#include <ATen/ATen.h>

#include <cstdint>

#include "randquant/detail/backend.h"
#include "randquant/detail/generator.h"
#include "randquant/detail/geometry.h"
#include "randquant/detail/slice_views.h"
#include "randquant/options.h"

namespace randquant {

/// CUDA specialization of the fused functor.
template <>
struct RandomizedQuantizeFunctor<c10::DeviceType::CUDA> {
  /// Quantizes x (a CUDA tensor) on x's device and current stream, without
  /// host synchronisation (a key on the device is read there); bitwise
  /// equal to the CPU result for the same key.
  at::Tensor operator()(const at::Tensor& x, const detail::Geometry& geometry,
                        const RandomizedQuantizationOptions& options,
                        const detail::CallKey& key) const;

  /// The same into `out` (x's shape, dtype and device, no internal overlap;
  /// x itself for in place).
  void operator()(const at::Tensor& x, const at::Tensor& out,
                  const detail::Geometry& geometry,
                  const RandomizedQuantizationOptions& options,
                  const detail::CallKey& key) const;

 private:
  /// Launches the passes on views of one call; returns views.finish().
  static at::Tensor run(const detail::SliceViews& views,
                        const RandomizedQuantizationOptions& options,
                        const detail::CallKey& key);
};

}  // namespace randquant
