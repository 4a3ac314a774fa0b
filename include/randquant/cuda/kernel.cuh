#pragma once
/// \file
/// CUDA kernels of the fused functor (nvcc only). Three launches on the
/// current stream: the finite min/max of each (slice, chunk) unit; one
/// block per slice deriving its cut points and proxies in parallel with the
/// shared per-slice math (core/slice_math.h, the same code the CPU runs);
/// the write, one block per unit (cut points in registers for R <= 16,
/// padded in shared memory above). What each thread does is in
/// block_passes.h, shared with a CPU emulation test. No host
/// synchronisation; buffers are O(units + slices * R). Compile with
/// --fmad=false -ftz=false -prec-div=true -prec-sqrt=true (as the
/// randquant::cuda target does): never fast math, or the device rounds the
/// per-slice math differently from the CPU.

#ifndef __CUDACC__
#error \
    "randquant/cuda/kernel.cuh is compiled by nvcc only; include randquant/cuda/kernel.h"
#endif

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGraphsC10Utils.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

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
  MinMax<A> m = min_max_unit<T, A>(static_cast<int>(threadIdx.x), kThreads, in,
                                   layout, grid, unit);
  block_min_max(&m.lo, &m.hi);
  if (threadIdx.x == 0) {
    unit_lo[unit] = m.lo;
    unit_hi[unit] = m.hi;
  }
}

/// Pass 2: one block per slice folds its units' min/max, then draws, sorts
/// and stores its cut points and proxies (rows of `rmax`). The key is
/// `key`, or the one at `device_key` (drawn there from a CUDA generator).
template <typename T, typename A>
__global__ void __launch_bounds__(kThreads)
    params_kernel(const A* unit_lo, const A* unit_hi, UnitGrid grid,
                  int64_t rmax, uint64_t key, const int64_t* device_key,
                  core::SliceConfig cfg, double p, A* cuts, T* proxies,
                  int32_t* regions, uint8_t* quantized) {
  extern __shared__ __align__(16) unsigned char shared[];
  const ParamsShared<A> sh = ParamsShared<A>::carve(shared, rmax);
  const int tid = static_cast<int>(threadIdx.x);
  const int64_t s = blockIdx.x;
  const uint64_t k =
      device_key != nullptr ? static_cast<uint64_t>(*device_key) : key;
  MinMax<A> m = fold_units<A>(tid, kThreads, s, unit_lo, unit_hi, grid);
  block_min_max(&m.lo, &m.hi);  // every thread gets the slice's min/max
  const SliceHeader<A> h = slice_header<A>(s, m.lo, m.hi, grid, k, cfg, p);
  if (h.quantize) {  // the same for the whole block, so are the barriers
    draw_cuts_phase<A>(tid, kThreads, k, s, h, cfg, sh.draws);
    __syncthreads();
    sort_cuts_phase<A>(tid, kThreads, h.regions - 1, sh.draws, sh.cuts);
    __syncthreads();
    store_params_phase<T, A>(tid, kThreads, k, s, h, cfg, sh.cuts,
                             cuts + s * rmax, proxies + s * rmax);
  }
  if (tid == 0) {
    regions[s] = h.regions;
    quantized[s] = h.quantize;
  }
}

/// Pass 3: one block per unit, last to first. Stages the slice's cut points
/// (padded against bank conflicts) and proxies in shared memory, then
/// writes proxy[region(x)] for finite x of quantized slices, x otherwise.
template <typename T, typename A, typename Lookup>
__global__ void __launch_bounds__(kThreads)
    write_kernel(const T* in, T* out, detail::RunLayout layout, UnitGrid grid,
                 int64_t units, int64_t rmax, const A* cuts, const T* proxies,
                 const int32_t* regions, const uint8_t* quantized) {
  extern __shared__ __align__(16) unsigned char shared[];
  const WriteShared<T, A> sh = WriteShared<T, A>::carve(shared, rmax);
  const int tid = static_cast<int>(threadIdx.x);
  const int64_t unit = write_unit_of_block(blockIdx.x, units);
  const int64_t s = unit / grid.chunks;
  const bool quantize = quantized[s] != 0;
  const int n_cuts = regions[s] - 1;
  if (quantize) {
    stage_params_phase<T, A>(tid, kThreads, n_cuts, cuts + s * rmax,
                             proxies + s * rmax, sh.cuts, sh.proxies);
  }
  __syncthreads();
  write_unit<T, A, Lookup>(tid, kThreads, in, out, layout, grid, unit, sh.cuts,
                           sh.proxies, n_cuts, quantize);
}

/// Launches the three passes for element type T.
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
  const auto dev = views.in_v.options();
  at::Tensor unit_lo = at::empty({plan.units}, dev.dtype(acc));
  at::Tensor unit_hi = at::empty({plan.units}, dev.dtype(acc));
  at::Tensor cuts = at::empty({plan.slices, plan.rmax}, dev.dtype(acc));
  at::Tensor proxies =
      at::empty({plan.slices, plan.rmax}, dev.dtype(views.in_v.scalar_type()));
  at::Tensor regions = at::empty({plan.slices}, dev.dtype(at::kInt));
  at::Tensor quantized = at::empty({plan.slices}, dev.dtype(at::kByte));
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  const unsigned units = static_cast<unsigned>(plan.units);

  min_max_kernel<T, A><<<units, kThreads, 0, stream>>>(
      views.in_v.data_ptr<T>(), views.layout, plan.grid, unit_lo.data_ptr<A>(),
      unit_hi.data_ptr<A>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  const core::SliceConfig cfg{static_cast<int>(options.regions()),
                              static_cast<int>(options.max_regions()),
                              options.spacing(), options.collapse()};
  const int64_t* device_key =
      key.on_device() ? key.device.data_ptr<int64_t>() : nullptr;
  params_kernel<T, A><<<static_cast<unsigned>(plan.slices), kThreads,
                        ParamsShared<A>::bytes(plan.rmax), stream>>>(
      unit_lo.data_ptr<A>(), unit_hi.data_ptr<A>(), plan.grid, plan.rmax,
      key.host, device_key, cfg, options.p(), cuts.data_ptr<A>(),
      proxies.data_ptr<T>(), regions.data_ptr<int32_t>(),
      quantized.data_ptr<uint8_t>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  auto write = plan.register_lookup ? &write_kernel<T, A, RegisterLookup<A>>
                                    : &write_kernel<T, A, SearchLookup<A>>;
  write<<<units, kThreads, WriteShared<T, A>::bytes(plan.rmax), stream>>>(
      views.in_v.data_ptr<T>(), views.out_v.data_ptr<T>(), views.layout,
      plan.grid, plan.units, plan.rmax, cuts.data_ptr<A>(),
      proxies.data_ptr<T>(), regions.data_ptr<int32_t>(),
      quantized.data_ptr<uint8_t>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

}  // namespace cuda

inline at::Tensor RandomizedQuantizeFunctor<c10::DeviceType::CUDA>::operator()(
    const at::Tensor& x, const detail::Geometry& g,
    const RandomizedQuantizationOptions& options,
    const detail::CallKey& key) const {
  const c10::cuda::CUDAGuard device_guard(x.device());
  // A host key would be baked into a captured graph: every replay would
  // repeat one augmentation.
  TORCH_CHECK(
      key.on_device() || c10::cuda::currentStreamCaptureStatusMayInitCtx() ==
                             c10::cuda::CaptureStatus::None,
      "randomized_quantize: generator: a CPU generator's key would be "
      "fixed in the CUDA graph being captured (every replay the "
      "same); pass a CUDA generator, or none, while capturing");
  const detail::SliceViews views = detail::make_slice_views(x, g);
  AT_DISPATCH_ALL_TYPES_AND2(
      at::kHalf, at::kBFloat16, x.scalar_type(), "randquant_cuda",
      [&] { cuda::launch<scalar_t>(views, g, options, key); });
  return views.out;
}

}  // namespace randquant
