// The CUDA component (randquant::cuda): the one definition of the CUDA
// functor, registered as the fused backend of CUDA tensors when linked.
#include "randquant/cuda/quantize_cuda.cuh"
#include "randquant/detail/backend.h"

namespace {

// Sample-keyed calls stay on the composite path: the kernel derives its keys
// from the call's key alone.
const bool registered = randquant::detail::register_backend(
    c10::DeviceType::CUDA, randquant::detail::backend_of<c10::DeviceType::CUDA>(
                               "cuda", /*sample_keyed=*/false));

}  // namespace
