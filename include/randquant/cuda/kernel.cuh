#pragma once
/// \file
/// CUDA kernels of the fused functor (nvcc only). Three launches on the
/// current stream: per-(slice, chunk) min/max of finite values; one thread
/// per slice for the shared per-slice math (core/slice_math.h, the same code
/// the CPU runs); the write pass with each slice's cut points and proxies
/// in shared memory (and, for R <= 16, in registers). What each thread does
/// is in block_passes.h, shared with a CPU emulation test. No host
/// synchronisation; buffers are O(slices * R).

#ifndef __CUDACC__
#error \
    "randquant/cuda/kernel.cuh is compiled by nvcc only; include randquant/cuda/kernel.h"
#endif

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include <cstdint>
#include <limits>
#include <type_traits>

#include "randquant/core/slice_math.h"
#include "randquant/cuda/block_passes.h"
#include "randquant/cuda/kernel.h"
#include "randquant/detail/run_layout.h"

namespace randquant {
namespace cuda {

/// Block-wide min and max (shared-memory tree; blockDim.x == kThreads).
template <typename A>
__device__ void block_min_max(A* lo, A* hi) {
  __shared__ A s_lo[kThreads], s_hi[kThreads];
  s_lo[threadIdx.x] = *lo;
  s_hi[threadIdx.x] = *hi;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) {
      const A l = s_lo[threadIdx.x + stride], h = s_hi[threadIdx.x + stride];
      s_lo[threadIdx.x] = l < s_lo[threadIdx.x] ? l : s_lo[threadIdx.x];
      s_hi[threadIdx.x] = h > s_hi[threadIdx.x] ? h : s_hi[threadIdx.x];
    }
    __syncthreads();
  }
  *lo = s_lo[0];
  *hi = s_hi[0];
}

/// Pass 1: min/max of the finite values of each unit (one block per unit).
template <typename T, typename A>
__global__ void __launch_bounds__(kThreads)
    min_max_kernel(const T* in, detail::RunLayout layout, UnitGrid grid,
                   A* unit_lo, A* unit_hi) {
  const int64_t unit = blockIdx.x;
  MinMaxOp<T, A> mm = min_max_unit<T, A>(static_cast<int>(threadIdx.x),
                                         kThreads, in, layout, grid, unit);
  block_min_max(&mm.lo, &mm.hi);
  if (threadIdx.x == 0) {
    unit_lo[unit] = mm.lo;
    unit_hi[unit] = mm.hi;
  }
}

/// Pass 2: per-slice parameters, one thread per slice. The key is `key`,
/// or the one at `device_key` (drawn there from a CUDA generator).
template <typename T, typename A>
__global__ void params_kernel(const A* unit_lo, const A* unit_hi, UnitGrid grid,
                              int64_t slices, uint64_t key,
                              const int64_t* device_key, core::SliceConfig cfg,
                              double p, int64_t rmax, A* cuts, T* proxies,
                              int32_t* regions, uint8_t* quantized) {
  const int64_t s = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (s >= slices) return;
  const uint64_t k =
      device_key != nullptr ? static_cast<uint64_t>(*device_key) : key;
  slice_params<T, A>(s, unit_lo, unit_hi, grid, k, cfg, p, rmax, cuts, proxies,
                     regions, quantized);
}

/// Pass 3: proxy[region(x)] for finite x of quantized slices, x otherwise
/// (one block per unit); the unit's slice's cut points and proxies are
/// staged in shared memory first.
template <typename T, typename A, typename Lookup>
__global__ void __launch_bounds__(kThreads)
    write_kernel(const T* in, T* out, detail::RunLayout layout, UnitGrid grid,
                 int64_t rmax, const A* cuts, const T* proxies,
                 const int32_t* regions, const uint8_t* quantized) {
  extern __shared__ __align__(16) unsigned char shared[];
  A* s_cuts = reinterpret_cast<A*>(shared);
  T* s_proxies = reinterpret_cast<T*>(s_cuts + rmax);
  const int64_t unit = blockIdx.x;
  const int64_t s = unit / grid.chunks;
  const bool quantize = quantized[s] != 0;
  if (quantize) {
    for (int64_t k = threadIdx.x; k < rmax; k += kThreads) {
      s_cuts[k] = cuts[s * rmax + k];
      s_proxies[k] = proxies[s * rmax + k];
    }
  }
  __syncthreads();
  write_unit<T, A, Lookup>(static_cast<int>(threadIdx.x), kThreads, in, out,
                           layout, grid, unit, s_cuts, s_proxies,
                           regions[s] - 1, quantize);
}

/// Launches the three kernels for element type T.
template <typename T>
void launch(const detail::SliceViews& views, const detail::Geometry& g,
            const RandomizedQuantizationOptions& options,
            const detail::CallKey& key) {
  using A = core::acc_type<T>;
  const LaunchPlan plan =
      plan_launch(g.slices(), g.channels, views.layout.slice_size(),
                  std::max(options.regions(), options.max_regions()));
  TORCH_CHECK(
      plan.units <= std::numeric_limits<int32_t>::max(),
      "randomized_quantize: too many slices for one launch: ", plan.units);
  const auto dev = views.in_v.options();
  const at::ScalarType acc =
      std::is_same<A, double>::value ? at::kDouble : at::kFloat;
  at::Tensor unit_lo = at::empty({plan.units}, dev.dtype(acc));
  at::Tensor unit_hi = at::empty({plan.units}, dev.dtype(acc));
  at::Tensor cuts = at::empty({plan.slices, plan.rmax}, dev.dtype(acc));
  at::Tensor proxies =
      at::empty({plan.slices, plan.rmax}, dev.dtype(views.in_v.scalar_type()));
  at::Tensor regions = at::empty({plan.slices}, dev.dtype(at::kInt));
  at::Tensor quantized = at::empty({plan.slices}, dev.dtype(at::kByte));
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  const unsigned blocks = static_cast<unsigned>(plan.units);

  min_max_kernel<T, A><<<blocks, kThreads, 0, stream>>>(
      views.in_v.data_ptr<T>(), views.layout, plan.grid, unit_lo.data_ptr<A>(),
      unit_hi.data_ptr<A>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  const core::SliceConfig cfg{static_cast<int>(options.regions()),
                              static_cast<int>(options.max_regions()),
                              options.spacing(), options.collapse()};
  const unsigned param_blocks =
      static_cast<unsigned>((plan.slices + 127) / 128);
  const int64_t* device_key =
      key.on_device() ? key.device.data_ptr<int64_t>() : nullptr;
  params_kernel<T, A><<<param_blocks, 128, 0, stream>>>(
      unit_lo.data_ptr<A>(), unit_hi.data_ptr<A>(), plan.grid, plan.slices,
      key.host, device_key, cfg, options.p(), plan.rmax, cuts.data_ptr<A>(),
      proxies.data_ptr<T>(), regions.data_ptr<int32_t>(),
      quantized.data_ptr<uint8_t>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  const size_t shared_bytes =
      static_cast<size_t>(plan.rmax) * (sizeof(A) + sizeof(T));
  auto write = plan.register_lookup ? &write_kernel<T, A, RegisterLookup<A>>
                                    : &write_kernel<T, A, SearchLookup<A>>;
  write<<<blocks, kThreads, shared_bytes, stream>>>(
      views.in_v.data_ptr<T>(), views.out_v.data_ptr<T>(), views.layout,
      plan.grid, plan.rmax, cuts.data_ptr<A>(), proxies.data_ptr<T>(),
      regions.data_ptr<int32_t>(), quantized.data_ptr<uint8_t>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

}  // namespace cuda

inline at::Tensor RandomizedQuantizeFunctor<c10::DeviceType::CUDA>::operator()(
    const at::Tensor& x, const detail::Geometry& g,
    const RandomizedQuantizationOptions& options,
    const detail::CallKey& key) const {
  const c10::cuda::CUDAGuard device_guard(x.device());
  const detail::SliceViews views = detail::make_slice_views(x, g);
  AT_DISPATCH_ALL_TYPES_AND2(
      at::kHalf, at::kBFloat16, x.scalar_type(), "randquant_cuda",
      [&] { cuda::launch<scalar_t>(views, g, options, key); });
  return views.out;
}

}  // namespace randquant
