#pragma once
/// \file
/// Where a call's kernel is chosen, once per call: the backend registered
/// for x's device type (the CPU's is built in; the CUDA component registers
/// its own when linked), or the composite backend where there is none or
/// where it cannot take the call.

#include <ATen/ATen.h>

#include "randquant/composite/composite.h"
#include "randquant/cpu/quantize_cpu.h"
#include "randquant/detail/backend.h"
#include "randquant/detail/generator.h"

namespace randquant {
namespace detail {

/// The fused backend of `device` tensors, or nullptr. The headers' own
/// backends are registered on the first lookup.
inline const Backend* registered_backend(c10::DeviceType device) {
  static const bool builtins = register_backend(
      c10::DeviceType::CPU,
      backend_of<c10::DeviceType::CPU>("cpu", /*sample_keyed=*/true));
  (void)builtins;
  return backend_table()[static_cast<size_t>(device)];
}

/// A CUDA tensor without the CUDA component takes the composite path,
/// which works but is slow and waits for the device once per call: say so
/// once per process, with the fix.
inline void warn_cuda_without_component() {
  TORCH_WARN_ONCE(
      "randquant: a CUDA tensor is quantized by the composite ATen path "
      "(slower, and it synchronises with the host every call) because the "
      "CUDA component is not linked; link randquant::cuda "
      "(find_package(randquant COMPONENTS cuda)) for the fused CUDA kernel");
}

/// The backend that runs a call on x with `key`: `forced` when given (the
/// composite entry), else x's device's fused backend when it takes the
/// key, else the composite one. Sample-keyed calls on CUDA tensors take
/// the composite path: the CUDA kernel derives its keys per call.
inline const Backend& select_backend(const at::Tensor& x, const CallKey& key,
                                     const Backend* forced = nullptr) {
  if (forced != nullptr) return *forced;
  const Backend* fused = registered_backend(x.device().type());
  if (fused != nullptr && (fused->sample_keyed || !key.per_sample())) {
    return *fused;
  }
  if (fused == nullptr && x.is_cuda() && !key.per_sample()) {
    warn_cuda_without_component();
  }
  return composite_backend();
}

}  // namespace detail
}  // namespace randquant
