#pragma once
// The CUDA launch of randquant/cuda/quantize_cuda.cuh emulated on the CPU:
// the same plan, the same launch sequence (cuda::run_passes) and the same
// per-block code (randquant/cuda/passes.h), over an emulated thread block
// that runs every thread of a phase before the next phase (the GPU has a
// barrier there). Used by tests/test_cuda_emulation.cpp and the fuzz harness.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "randquant/cuda/launch_setup.h"
#include "randquant/cuda/passes.h"
#include "randquant/randquant.h"

namespace rq_test {

/// The Block of randquant/cuda/passes.h, one thread after another.
struct EmulatedBlock {
  static constexpr int kThreads = randquant::cuda::kThreads;  ///< threads

  /// f(tid) for every thread in turn (the barrier is implicit).
  template <typename F>
  void each_thread(F&& f) {
    for (int tid = 0; tid < kThreads; ++tid) f(tid);
  }

  /// f() once, as thread 0.
  template <typename F>
  void first_thread(F&& f) {
    f();
  }

  /// Every thread's f(tid), folded.
  template <typename A, typename F>
  randquant::cuda::MinMax<A> min_max(F&& f) {
    randquant::cuda::MinMax<A> all;
    for (int tid = 0; tid < kThreads; ++tid) {
      all = randquant::cuda::MinMaxFold()(all, f(tid));
    }
    return all;
  }
};

/// The Launcher of randquant/cuda/passes.h: every block in turn, each with
/// exactly the shared memory the kernel asks for, filled with 0xFF bytes
/// first (NaN, or -1), so a read of what no phase wrote shows, as would a
/// size or offset error (under ASan too).
template <typename T, typename A>
struct EmulatedLauncher {
  const randquant::cuda::LaunchArgs<T, A>& args;  ///< the launch's arguments

  /// Runs Pass on `blocks` blocks.
  template <typename Pass>
  void run(int64_t blocks) {
    std::vector<unsigned char> shared(
        Pass::template shared_bytes<T, A>(args.rmax));
    for (int64_t b = 0; b < blocks; ++b) {
      if (!shared.empty()) std::memset(shared.data(), 0xFF, shared.size());
      EmulatedBlock block;
      Pass::template run<T, A>(block, b, args, shared.data());
    }
  }
};

/// What an emulated launch did.
struct Emulated {
  at::Tensor out;                ///< the output (undefined: skipped)
  bool register_lookup = false;  ///< which lookup pass 3 used
  int64_t chunks = 1;            ///< chunks per slice
  // The parameter pass's rows, as (slices) or (slices, rmax) CPU tensors;
  // entries a slice does not use hold the 0xFF fill.
  at::Tensor lo;         ///< accumulate dtype: the header's lo
  at::Tensor hi;         ///< accumulate dtype: the header's hi
  at::Tensor regions;    ///< int64: R (0: no finite value)
  at::Tensor quantized;  ///< bool: quantized or copied
  at::Tensor cuts;       ///< accumulate dtype, rows of rmax - 1: cut points
  at::Tensor proxies;    ///< x's dtype, rows of rmax: proxies
};

/// Copies `count` elements of E at p into a CPU tensor of `dtype`.
template <typename E>
at::Tensor scratch_tensor(const E* p, at::IntArrayRef shape,
                          at::ScalarType dtype) {
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
  // An empty table (no slice, or rmax 1 for cuts) has no data pointer, and
  // memcpy must not see a null one even for zero bytes.
  if (t.nbytes() > 0) std::memcpy(t.data_ptr(), p, t.nbytes());
  return t;
}

/// The launch of quantize_cuda.cuh for element type T, one thread after
/// another.
template <typename T>
void emulate_launch(const randquant::detail::SliceViews& views,
                    const randquant::cuda::LaunchPlan& plan,
                    const randquant::RandomizedQuantizationOptions& options,
                    uint64_t key, Emulated* result) {
  namespace cu = randquant::cuda;
  using A = randquant::core::acc_type<T>;
  std::vector<unsigned char> scratch(cu::scratch_bytes<T, A>(plan) + 16);
  std::memset(scratch.data(), 0xFF, scratch.size());
  // 16-byte aligned, as device allocations are.
  unsigned char* base =
      scratch.data() +
      (16 - reinterpret_cast<uintptr_t>(scratch.data()) % 16) % 16;
  const cu::LaunchArgs<T, A> args =
      cu::launch_args<T, A>(views, plan, options, key, nullptr, base);
  EmulatedLauncher<T, A> launcher{args};
  cu::run_passes(plan, launcher);
  const int64_t slices = plan.grid.slices;
  const at::ScalarType acc =
      randquant::accumulate_dtype(views.in_v.scalar_type());
  result->register_lookup = plan.register_lookup;
  result->chunks = plan.grid.chunks;
  result->lo = scratch_tensor(args.table.lo, {slices}, acc);
  result->hi = scratch_tensor(args.table.hi, {slices}, acc);
  result->regions = scratch_tensor(args.table.regions, {slices}, at::kLong);
  result->quantized = scratch_tensor(args.table.quantized, {slices}, at::kBool);
  result->cuts = scratch_tensor(args.table.cuts, {slices, plan.rmax - 1}, acc);
  result->proxies = scratch_tensor(args.table.proxies, {slices, plan.rmax},
                                   views.in_v.scalar_type());
}

/// randomized_quantize() of x with `key`, through the emulated CUDA launch.
/// The output starts as NaN (floats) or 0x5A bytes, so a missed element
/// shows; with `in_place` the launch instead writes over a copy of x (its
/// input and output are one tensor, as in randomized_quantize_). A launch
/// of more than `max_units` blocks (when >= 0) is skipped: the emulation
/// costs 256 thread steps per block and phase.
inline Emulated emulate_cuda(
    const at::Tensor& x,
    const randquant::RandomizedQuantizationOptions& options, uint64_t key,
    int64_t max_units = -1, bool in_place = false) {
  const randquant::detail::Geometry geometry =
      randquant::detail::check_inputs(x, options, "emulate_cuda");
  const at::Tensor self = in_place ? x.clone() : at::Tensor();
  const randquant::detail::SliceViews views =
      in_place ? randquant::detail::make_slice_views(self, self, geometry)
               : randquant::detail::make_output_views(x, geometry);
  const randquant::cuda::LaunchPlan plan =
      randquant::cuda::plan_for(views, options);
  if (max_units >= 0 && plan.grid.units() > max_units) return Emulated{};
  if (in_place) {
    // Written over, not pre-filled.
  } else if (at::isFloatingType(x.scalar_type())) {
    views.out_v.fill_(std::numeric_limits<double>::quiet_NaN());
  } else {
    views.out_v.fill_(0x5A);
  }
  Emulated result;
  AT_DISPATCH_ALL_TYPES_AND2(
      at::kHalf, at::kBFloat16, x.scalar_type(), "emulate",
      [&] { emulate_launch<scalar_t>(views, plan, options, key, &result); });
  result.out = views.finish();
  return result;
}

}  // namespace rq_test
