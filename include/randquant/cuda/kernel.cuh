#pragma once
/// \file
/// CUDA kernels of the fused functor (nvcc only). Three launches on the
/// current stream: per-(slice, chunk) min/max of finite values; one thread
/// per slice for the shared per-slice math (core/slice_math.h, the same code
/// the CPU runs); the write pass with each slice's cut points and proxies
/// in shared memory. No host synchronisation; buffers are O(slices * R).

#ifndef __CUDACC__
#error \
    "randquant/cuda/kernel.cuh is compiled by nvcc only; include randquant/cuda/kernel.h"
#endif

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "randquant/core/slice_math.h"
#include "randquant/cuda/kernel.h"
#include "randquant/detail/run_layout.h"

namespace randquant {
namespace cuda {

/// Threads per block of every kernel.
constexpr int kThreads = 256;
/// Elements of one (slice, chunk) unit: a slice splits into chunks only
/// when it is large, so small slices keep one block each.
constexpr int64_t kChunk = int64_t{1} << 18;

/// Where a unit's elements are.
struct UnitGrid {
  int64_t channels;    ///< C
  int64_t slice_size;  ///< elements per slice
  int64_t chunks;      ///< chunks per slice

  /// First element of chunk j.
  __device__ int64_t chunk_begin(int64_t j) const {
    return slice_size * j / chunks;
  }
};

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

/// Pass 1: min/max of the finite values of each (slice, chunk) unit.
template <typename T, typename A>
__global__ void min_max_kernel(const T* in, detail::RunLayout layout,
                               UnitGrid grid, A* unit_lo, A* unit_hi) {
  const int64_t unit = blockIdx.x;
  const int64_t s = unit / grid.chunks, j = unit % grid.chunks;
  const T* base = in + (s / grid.channels) * layout.in.sample +
                  (s % grid.channels) * layout.in.channel;
  A lo = std::numeric_limits<A>::infinity(), hi = -lo;
  const int64_t end = grid.chunk_begin(j + 1);
  for (int64_t m = grid.chunk_begin(j) + threadIdx.x; m < end; m += kThreads) {
    int64_t in_off, out_off;
    layout.offsets(m, &in_off, &out_off);
    const A v = static_cast<A>(base[in_off]);
    if (core::is_finite(v)) {
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
  }
  block_min_max(&lo, &hi);
  if (threadIdx.x == 0) {
    unit_lo[unit] = lo;
    unit_hi[unit] = hi;
  }
}

/// Per-slice parameters, one thread per slice: the shared host/device math.
template <typename T, typename A>
__global__ void params_kernel(const A* unit_lo, const A* unit_hi, UnitGrid grid,
                              int64_t slices, uint64_t key,
                              core::SliceConfig cfg, double p, int64_t rmax,
                              A* cuts, T* proxies, int32_t* regions,
                              uint8_t* quantized) {
  const int64_t s = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (s >= slices) return;
  A lo = std::numeric_limits<A>::infinity(), hi = -lo;
  for (int64_t j = 0; j < grid.chunks; ++j) {
    const A l = unit_lo[s * grid.chunks + j], h = unit_hi[s * grid.chunks + j];
    lo = l < lo ? l : lo;
    hi = h > hi ? h : hi;
  }
  lo = lo + A(0);  // -0 becomes +0, as on the CPU
  hi = hi + A(0);
  const bool has_finite = lo <= hi;
  const bool applied =
      core::sample_applied(key, static_cast<uint64_t>(s / grid.channels), p);
  A* row_cuts = cuts + s * rmax;  // rmax - 1 cut points and a +inf sentinel
  T* row_proxies = proxies + s * rmax;
  const int r =
      has_finite ? core::fill_slice_params<T>(key, static_cast<uint64_t>(s), lo,
                                              hi, cfg, row_cuts, row_proxies)
                 : 1;
  for (int64_t k = r - 1; k < rmax; ++k) {
    row_cuts[k] = std::numeric_limits<A>::infinity();
  }
  regions[s] = r;
  quantized[s] = has_finite && applied;
}

/// Pass 2: proxy[region(x)] for finite x of quantized slices, x otherwise;
/// each block stages its slice's cut points and proxies in shared memory.
template <typename T, typename A>
__global__ void write_kernel(const T* in, T* out, detail::RunLayout layout,
                             UnitGrid grid, int64_t rmax, const A* cuts,
                             const T* proxies, const int32_t* regions,
                             const uint8_t* quantized) {
  extern __shared__ __align__(16) unsigned char shared[];
  A* s_cuts = reinterpret_cast<A*>(shared);
  T* s_proxies = reinterpret_cast<T*>(s_cuts + rmax);
  const int64_t unit = blockIdx.x;
  const int64_t s = unit / grid.chunks, j = unit % grid.chunks;
  const bool quantize = quantized[s] != 0;
  const int n_cuts = regions[s] - 1;
  if (quantize) {
    for (int64_t k = threadIdx.x; k < rmax; k += kThreads) {
      s_cuts[k] = cuts[s * rmax + k];
      s_proxies[k] = proxies[s * rmax + k];
    }
  }
  __syncthreads();
  const int64_t n = s / grid.channels, c = s % grid.channels;
  const T* in_base = in + n * layout.in.sample + c * layout.in.channel;
  T* out_base = out + n * layout.out.sample + c * layout.out.channel;
  const int64_t end = grid.chunk_begin(j + 1);
  for (int64_t m = grid.chunk_begin(j) + threadIdx.x; m < end; m += kThreads) {
    int64_t in_off, out_off;
    layout.offsets(m, &in_off, &out_off);
    const T x = in_base[in_off];
    const A v = static_cast<A>(x);
    out_base[out_off] = quantize && core::is_finite(v)
                            ? s_proxies[core::region_of(s_cuts, n_cuts, v)]
                            : x;
  }
}

/// Launches the three kernels for element type T.
template <typename T>
void launch(const detail::SliceViews& views, const detail::Geometry& g,
            const RandomizedQuantizationOptions& options, uint64_t key) {
  using A = core::acc_type<T>;
  const int64_t slices = g.slices();
  const int64_t slice_size = views.layout.slice_size();
  const UnitGrid grid{g.channels, slice_size,
                      std::max<int64_t>(1, (slice_size + kChunk - 1) / kChunk)};
  const int64_t units = slices * grid.chunks;
  const int64_t rmax = std::max(options.regions(), options.max_regions());
  const auto dev = views.in_v.options();
  const at::ScalarType acc =
      std::is_same<A, double>::value ? at::kDouble : at::kFloat;
  at::Tensor unit_lo = at::empty({units}, dev.dtype(acc));
  at::Tensor unit_hi = at::empty({units}, dev.dtype(acc));
  at::Tensor cuts = at::empty({slices, rmax}, dev.dtype(acc));
  at::Tensor proxies =
      at::empty({slices, rmax}, dev.dtype(views.in_v.scalar_type()));
  at::Tensor regions = at::empty({slices}, dev.dtype(at::kInt));
  at::Tensor quantized = at::empty({slices}, dev.dtype(at::kByte));
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  TORCH_CHECK(units <= std::numeric_limits<int32_t>::max(),
              "randomized_quantize: too many slices for one launch: ", units);

  min_max_kernel<T, A><<<static_cast<unsigned>(units), kThreads, 0, stream>>>(
      views.in_v.data_ptr<T>(), views.layout, grid, unit_lo.data_ptr<A>(),
      unit_hi.data_ptr<A>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  const core::SliceConfig cfg{static_cast<int>(options.regions()),
                              static_cast<int>(options.max_regions()),
                              options.spacing(), options.collapse()};
  const unsigned param_blocks = static_cast<unsigned>((slices + 127) / 128);
  params_kernel<T, A><<<param_blocks, 128, 0, stream>>>(
      unit_lo.data_ptr<A>(), unit_hi.data_ptr<A>(), grid, slices, key, cfg,
      options.p(), rmax, cuts.data_ptr<A>(), proxies.data_ptr<T>(),
      regions.data_ptr<int32_t>(), quantized.data_ptr<uint8_t>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  const size_t shared_bytes =
      static_cast<size_t>(rmax) * (sizeof(A) + sizeof(T));
  write_kernel<T, A>
      <<<static_cast<unsigned>(units), kThreads, shared_bytes, stream>>>(
          views.in_v.data_ptr<T>(), views.out_v.data_ptr<T>(), views.layout,
          grid, rmax, cuts.data_ptr<A>(), proxies.data_ptr<T>(),
          regions.data_ptr<int32_t>(), quantized.data_ptr<uint8_t>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

}  // namespace cuda

inline at::Tensor RandomizedQuantizeFunctor<c10::DeviceType::CUDA>::operator()(
    const at::Tensor& x, const detail::Geometry& g,
    const RandomizedQuantizationOptions& options, uint64_t key) const {
  const c10::cuda::CUDAGuard device_guard(x.device());
  const detail::SliceViews views = detail::make_slice_views(x, g);
  AT_DISPATCH_ALL_TYPES_AND2(
      at::kHalf, at::kBFloat16, x.scalar_type(), "randquant_cuda",
      [&] { cuda::launch<scalar_t>(views, g, options, key); });
  return views.out;
}

}  // namespace randquant
