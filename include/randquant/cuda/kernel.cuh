#pragma once
/// \file
/// CUDA kernels of the fused functor (nvcc only). Two launches on the
/// current stream, one block per (slice, chunk) unit: the min/max of the
/// unit's finite values; then the slice's cut points and proxies, derived
/// in shared memory by the block's threads with the shared per-slice math
/// (core/slice_math.h, the same code the CPU runs), and the write (cut
/// points in registers for R <= 16). What each thread does is in
/// block_passes.h, shared with a CPU emulation test. No host
/// synchronisation; buffers are O(units).

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

/// Pass 2: one block per unit, units last to first. The block derives its
/// slice's cut points and proxies in shared memory (three phases between
/// barriers, see block_passes.h), then writes the unit. The key is `key`,
/// or the one at `device_key` (drawn there from a CUDA generator).
template <typename T, typename A, typename Lookup>
__global__ void __launch_bounds__(kThreads)
    quantize_kernel(const T* in, T* out, detail::RunLayout layout,
                    UnitGrid grid, int64_t units, int64_t rmax,
                    const A* unit_lo, const A* unit_hi, uint64_t key,
                    const int64_t* device_key, core::SliceConfig cfg,
                    double p) {
  extern __shared__ __align__(16) unsigned char shared[];
  A* s_draws = reinterpret_cast<A*>(shared);
  A* s_cuts = s_draws + rmax;
  T* s_proxies = reinterpret_cast<T*>(s_cuts + rmax);
  const int tid = static_cast<int>(threadIdx.x);
  const int64_t unit = pass2_unit(blockIdx.x, units);
  const int64_t s = unit / grid.chunks;
  const uint64_t k =
      device_key != nullptr ? static_cast<uint64_t>(*device_key) : key;
  const SliceHeader<A> h =
      slice_header<A>(s, unit_lo, unit_hi, grid, k, cfg, p);
  if (h.quantize) {  // the same for the whole block, so are the barriers
    draw_cuts_phase<A>(tid, kThreads, k, s, h, cfg, s_draws);
    __syncthreads();
    sort_cuts_phase<A>(tid, kThreads, h.regions - 1, s_draws, s_cuts);
    __syncthreads();
    proxies_phase<T, A>(tid, kThreads, k, s, h, cfg, s_cuts, s_proxies);
    __syncthreads();
  }
  write_unit<T, A, Lookup>(tid, kThreads, in, out, layout, grid, unit, s_cuts,
                           s_proxies, h.regions - 1, h.quantize);
}

/// Launches the two passes for element type T.
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
  const at::ScalarType acc =
      std::is_same<A, double>::value ? at::kDouble : at::kFloat;
  const auto unit_options = views.in_v.options().dtype(acc);
  at::Tensor unit_lo = at::empty({plan.units}, unit_options);
  at::Tensor unit_hi = at::empty({plan.units}, unit_options);
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  const unsigned blocks = static_cast<unsigned>(plan.units);

  min_max_kernel<T, A><<<blocks, kThreads, 0, stream>>>(
      views.in_v.data_ptr<T>(), views.layout, plan.grid, unit_lo.data_ptr<A>(),
      unit_hi.data_ptr<A>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  const core::SliceConfig cfg{static_cast<int>(options.regions()),
                              static_cast<int>(options.max_regions()),
                              options.spacing(), options.collapse()};
  const int64_t* device_key =
      key.on_device() ? key.device.data_ptr<int64_t>() : nullptr;
  auto quantize = plan.register_lookup
                      ? &quantize_kernel<T, A, RegisterLookup<A>>
                      : &quantize_kernel<T, A, SearchLookup<A>>;
  quantize<<<blocks, kThreads, plan.pass2_shared_bytes<T, A>(), stream>>>(
      views.in_v.data_ptr<T>(), views.out_v.data_ptr<T>(), views.layout,
      plan.grid, plan.units, plan.rmax, unit_lo.data_ptr<A>(),
      unit_hi.data_ptr<A>(), key.host, device_key, cfg, options.p());
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
