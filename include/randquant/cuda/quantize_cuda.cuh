#pragma once
/// \file
/// The CUDA functor (nvcc only): the passes of passes.h as kernels, one
/// block per unit or slice, launched in order on the current stream. No
/// host synchronisation; scratch is O(units + slices * R). Compile with
/// --fmad=false -ftz=false -prec-div=true -prec-sqrt=true (as the
/// randquant::cuda target does): never fast math, or the device rounds the
/// per-slice math differently from the CPU.

#ifndef __CUDACC__
#error \
    "randquant/cuda/quantize_cuda.cuh is compiled by nvcc only; include randquant/cuda/quantize_cuda.h"
#endif

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGraphsC10Utils.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <cstdint>
#include <cub/block/block_reduce.cuh>
#include <limits>

#include "randquant/core/slice_math.h"
#include "randquant/cuda/launch_setup.h"
#include "randquant/cuda/passes.h"
#include "randquant/cuda/quantize_cuda.h"
#include "randquant/detail/slice_views.h"

namespace randquant {
namespace cuda {

/// The Block of passes.h on a GPU thread block of kThreads threads.
struct DeviceBlock {
  static constexpr int kThreads = cuda::kThreads;  ///< threads per block

  /// f(threadIdx.x), then a barrier.
  template <typename F>
  __device__ void each_thread(F&& f) {
    f(static_cast<int>(threadIdx.x));
    __syncthreads();
  }

  /// f() on thread 0.
  template <typename F>
  __device__ void first_thread(F&& f) {
    if (threadIdx.x == 0) f();
  }

  /// The fold of every thread's f(tid), on every thread: cub::BlockReduce
  /// (CUB ships with the toolkit and picks warp shuffles per architecture),
  /// then a broadcast through shared memory.
  template <typename A, typename F>
  __device__ MinMax<A> min_max(F&& f) {
    using Reduce = cub::BlockReduce<MinMax<A>, kThreads>;
    __shared__ typename Reduce::TempStorage storage;
    __shared__ A lo, hi;
    const MinMax<A> folded =
        Reduce(storage).Reduce(f(static_cast<int>(threadIdx.x)), MinMaxFold());
    if (threadIdx.x == 0) {
      lo = folded.lo;
      hi = folded.hi;
    }
    __syncthreads();
    MinMax<A> all;
    all.add(lo, hi);
    return all;
  }
};

/// One pass as a kernel: block blockIdx.x runs Pass::run.
template <typename Pass, typename T, typename A>
__global__ void __launch_bounds__(kThreads)
    pass_kernel(const LaunchArgs<T, A> args) {
  extern __shared__ __align__(16) unsigned char shared[];
  DeviceBlock block;
  Pass::template run<T, A>(block, static_cast<int64_t>(blockIdx.x), args,
                           shared);
}

/// The Launcher of passes.h on the current CUDA stream.
template <typename T, typename A>
struct DeviceLauncher {
  const LaunchArgs<T, A>& args;  ///< the launch's arguments
  cudaStream_t stream;           ///< the current stream

  /// Launches Pass on `blocks` blocks.
  template <typename Pass>
  void run(int64_t blocks) {
    pass_kernel<Pass, T, A>
        <<<static_cast<unsigned>(blocks), kThreads,
           Pass::template shared_bytes<T, A>(args.rmax), stream>>>(args);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  }
};

/// Launches the passes for element type T.
template <typename T>
void launch(const detail::SliceViews& views,
            const RandomizedQuantizationOptions& options,
            const detail::CallKey& key) {
  using A = core::acc_type<T>;
  const LaunchPlan plan = plan_for(views, options);
  // A grid has at most 2^31 - 1 blocks.
  TORCH_CHECK(plan.grid.units() <= std::numeric_limits<int32_t>::max(),
              "randomized_quantize: x has too many slices for one CUDA "
              "launch: ",
              plan.grid.slices, " slices of ", plan.grid.chunks, " units");
  at::Tensor scratch =
      at::empty({static_cast<int64_t>(scratch_bytes<T, A>(plan))},
                views.in_v.options().dtype(at::kByte));
  const int64_t* device_key =
      key.on_device() ? key.device.data_ptr<int64_t>() : nullptr;
  const LaunchArgs<T, A> args = launch_args<T, A>(
      views, plan, options, key.host, device_key, scratch.data_ptr<uint8_t>());
  DeviceLauncher<T, A> launcher{args, c10::cuda::getCurrentCUDAStream()};
  run_passes(plan, launcher);
}

}  // namespace cuda

inline at::Tensor RandomizedQuantizeFunctor<c10::DeviceType::CUDA>::run(
    const detail::SliceViews& views,
    const RandomizedQuantizationOptions& options, const detail::CallKey& key) {
  const c10::cuda::CUDAGuard device_guard(views.in_v.device());
  // A host key would be baked into a captured graph: every replay would
  // repeat one augmentation.
  TORCH_CHECK(
      key.on_device() || c10::cuda::currentStreamCaptureStatusMayInitCtx() ==
                             c10::cuda::CaptureStatus::None,
      "randomized_quantize: generator: a CPU generator's key would be "
      "fixed in the CUDA graph being captured (every replay the "
      "same); pass a CUDA generator, or none, while capturing");
  AT_DISPATCH_ALL_TYPES_AND2(
      at::kHalf, at::kBFloat16, views.in_v.scalar_type(), "randquant_cuda",
      [&] { cuda::launch<scalar_t>(views, options, key); });
  return views.finish();
}

inline at::Tensor RandomizedQuantizeFunctor<c10::DeviceType::CUDA>::operator()(
    const at::Tensor& x, const detail::Geometry& geometry,
    const RandomizedQuantizationOptions& options,
    const detail::CallKey& key) const {
  return run(detail::make_output_views(x, geometry), options, key);
}

inline void RandomizedQuantizeFunctor<c10::DeviceType::CUDA>::operator()(
    const at::Tensor& x, const at::Tensor& out,
    const detail::Geometry& geometry,
    const RandomizedQuantizationOptions& options,
    const detail::CallKey& key) const {
  run(detail::make_slice_views(x, out, geometry), options, key);
}

}  // namespace randquant
