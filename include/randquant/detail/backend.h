#pragma once
/// \file
/// The seam between the call pipeline and the kernels. A device's fused
/// kernel is a specialization of RandomizedQuantizeFunctor (cpu/, cuda/),
/// turned into a Backend by backend_of() and registered for its device type
/// with one line; detail/dispatch.h picks a call's backend from that table,
/// in one place. Plain host C++ without CUDA headers: the CUDA component's
/// nvcc-compiled translation unit registers through it too.

#include <ATen/ATen.h>
#include <c10/core/DeviceType.h>

#include <array>
#include <cstddef>

#include "randquant/detail/generator.h"
#include "randquant/detail/geometry.h"
#include "randquant/options.h"

namespace randquant {

/// Fused Randomized Quantization on one device type. A specialization
/// provides, for checked arguments (x on that device, a supported dtype):
/// `void operator()(const at::Tensor& x, const at::Tensor& out, const
/// detail::Geometry&, const RandomizedQuantizationOptions&, const
/// detail::CallKey&) const`, which writes into `out` (x's shape, dtype and
/// device, no internal overlap; x itself for in place), and `at::Tensor
/// operator()(const at::Tensor& x, ...same...) const`, which returns a new
/// tensor in the layout the kernel writes fastest (x's strides for dense x)
/// and leaves x unchanged.
template <c10::DeviceType kDevice>
struct RandomizedQuantizeFunctor;

namespace detail {

/// A kernel behind the seam: what the pipeline calls, once per call.
struct Backend {
  const char* name;  ///< "cpu", "cuda", "composite": for messages and tests
  /// Quantizes checked, non-empty x into `out` under the call's key.
  void (*quantize_into)(const at::Tensor& x, const at::Tensor& out,
                        const Geometry& geometry,
                        const RandomizedQuantizationOptions& options,
                        const CallKey& key);
  /// Quantizes checked, non-empty x into a new tensor of its own layout.
  at::Tensor (*quantize_new)(const at::Tensor& x, const Geometry& geometry,
                             const RandomizedQuantizationOptions& options,
                             const CallKey& key);
  /// Whether it takes sample-keyed calls (CallKey::per_sample()).
  bool sample_keyed;
};

/// The Backend of RandomizedQuantizeFunctor<kDevice> (which must be
/// complete where this is instantiated).
template <c10::DeviceType kDevice>
const Backend& backend_of(const char* name, bool sample_keyed) {
  static const Backend backend{
      name,
      [](const at::Tensor& x, const at::Tensor& out, const Geometry& geometry,
         const RandomizedQuantizationOptions& options, const CallKey& key) {
        RandomizedQuantizeFunctor<kDevice>()(x, out, geometry, options, key);
      },
      [](const at::Tensor& x, const Geometry& geometry,
         const RandomizedQuantizationOptions& options, const CallKey& key) {
        return RandomizedQuantizeFunctor<kDevice>()(x, geometry, options, key);
      },
      sample_keyed};
  return backend;
}

/// Number of device types a table can hold.
constexpr size_t kDeviceTypes =
    static_cast<size_t>(c10::DeviceType::COMPILE_TIME_MAX_DEVICE_TYPES);

/// The registered backend of each device type (nullptr: none). One table
/// per process: a function-local static of an inline function.
inline std::array<const Backend*, kDeviceTypes>& backend_table() {
  static std::array<const Backend*, kDeviceTypes> table{};
  return table;
}

/// Makes `backend` the fused kernel of `device` tensors; returns true, so a
/// component registers with one namespace-scope line
/// (`const bool registered = register_backend(...)`).
inline bool register_backend(c10::DeviceType device, const Backend& backend) {
  backend_table()[static_cast<size_t>(device)] = &backend;
  return true;
}

}  // namespace detail
}  // namespace randquant
