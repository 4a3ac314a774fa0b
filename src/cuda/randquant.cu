// The CUDA component (randquant::cuda): the one definition of the CUDA
// functor, registered as the fused backend for CUDA tensors when linked.
#include "randquant/cuda/quantize_cuda.cuh"
#include "randquant/detail/backends.h"

namespace {

void quantize_cuda(const at::Tensor& x, const at::Tensor& out,
                   const randquant::detail::Geometry& geometry,
                   const randquant::RandomizedQuantizationOptions& options,
                   const randquant::detail::CallKey& key) {
  randquant::RandomizedQuantizeFunctor<c10::DeviceType::CUDA>()(
      x, out, geometry, options, key);
}

const bool registered = [] {
  randquant::detail::cuda_backend() = &quantize_cuda;
  return true;
}();

}  // namespace
