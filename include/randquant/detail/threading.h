#pragma once
/// \file
/// How many threads the CPU kernels use. By default ATen's intra-op threads
/// (at::parallel_for). Code that already runs one task per core, such as a
/// torch::data DataLoader's worker threads calling the transforms, runs the
/// kernels on its own thread instead: a nested OpenMP team per worker would
/// put twice as many busy threads as cores, and OpenMP threads spin while
/// they wait. Host only (ATen).

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

#include <cstdint>
#include <utility>

namespace randquant {
namespace detail {

/// Whether the kernels called from this thread run on it alone.
inline bool& kernels_on_calling_thread() {
  thread_local bool value = false;
  return value;
}

/// While alive, randquant's CPU kernels called from this thread run on it
/// alone (nests; restores the previous setting).
class CallingThreadOnly {
 public:
  CallingThreadOnly() : previous_(kernels_on_calling_thread()) {
    kernels_on_calling_thread() = true;
  }
  ~CallingThreadOnly() { kernels_on_calling_thread() = previous_; }
  CallingThreadOnly(const CallingThreadOnly&) = delete;
  CallingThreadOnly& operator=(const CallingThreadOnly&) = delete;

 private:
  bool previous_;
};

/// Threads the kernels may use from this thread.
inline int64_t kernel_threads() {
  return kernels_on_calling_thread() ? 1 : at::get_num_threads();
}

/// Says once per process that the CPU kernels run on one thread although
/// ATen has `threads` intra-op threads: the translation unit that compiled
/// them had no OpenMP (see kernel_parallel_for()).
inline void warn_kernels_single_threaded(int64_t threads) {
  TORCH_WARN_ONCE(
      "randquant: the CPU kernels run on one thread of the ", threads,
      " intra-op threads configured, because the translation unit that "
      "compiled them was built without OpenMP (at::parallel_for takes its "
      "threads from `#pragma omp parallel` in the caller's code); link "
      "randquant::randquant or randquant::compiled with CMake, or compile "
      "with -fopenmp");
}

/// at::parallel_for(begin, end, grain, f), or f(begin, end) on this thread
/// when the kernels run on the calling thread only.
///
/// at::parallel_for is a header template: in an OpenMP build of ATen
/// (Debian's, PyTorch's) its threads come from `#pragma omp parallel` in
/// the translation unit that instantiates it, so code compiled without
/// -fopenmp runs it on one thread. ATen defines INTRA_OP_PARALLEL exactly
/// where the pragma takes effect; without it this says so once (a program
/// that mixes translation units with and without OpenMP keeps one of the
/// two bodies, as it does for at::parallel_for itself).
template <typename F>
void kernel_parallel_for(int64_t begin, int64_t end, int64_t grain, F&& f) {
  if (kernels_on_calling_thread()) {
    if (begin < end) std::forward<F>(f)(begin, end);
    return;
  }
#if !defined(INTRA_OP_PARALLEL)
  const int64_t threads = at::get_num_threads();
  if (threads > 1) warn_kernels_single_threaded(threads);
#endif
  at::parallel_for(begin, end, grain, std::forward<F>(f));
}

}  // namespace detail
}  // namespace randquant
