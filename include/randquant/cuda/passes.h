#pragma once
/// \file
/// The three passes of a CUDA launch, written once as plain host+device C++
/// over an abstract thread block, and the order they run in.
/// quantize_cuda.cuh runs them as kernels on a GPU block; the CPU emulation
/// test (tests/cuda_emulation.h) runs the same code over an emulated block,
/// so what the GPU runs is also checked on machines without one.
///
/// A Block provides:
///  - `static constexpr int kThreads`;
///  - `each_thread(f)`: f(tid) on every thread, then a block barrier;
///  - `min_max<A>(f)`: every thread's MinMax f(tid), folded, returned to
///    every thread;
///  - `first_thread(f)`: f() on thread 0 only.
/// A Launcher provides `run<Pass>(blocks)`: Pass::run on blocks 0 ..
/// blocks - 1 with Pass::shared_bytes<T, A>(rmax) bytes of shared memory.

#include <cstdint>

#include "randquant/cuda/launch_plan.h"
#include "randquant/cuda/min_max_pass.h"
#include "randquant/cuda/params_pass.h"
#include "randquant/cuda/unit_walk.h"
#include "randquant/cuda/write_pass.h"

namespace randquant {
namespace cuda {

/// The launch sequence: min/max of every unit, the parameters of every
/// slice, then the write of every unit with the lookup the plan chose.
template <typename Launcher>
void run_passes(const LaunchPlan& plan, Launcher& launcher) {
  launcher.template run<MinMaxPass>(plan.grid.units());
  launcher.template run<ParamsPass>(plan.grid.slices);
  if (plan.register_lookup) {
    launcher.template run<WritePass<RegisterLookup>>(plan.grid.units());
  } else {
    launcher.template run<WritePass<SearchLookup>>(plan.grid.units());
  }
}

}  // namespace cuda
}  // namespace randquant
