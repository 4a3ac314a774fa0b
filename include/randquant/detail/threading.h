#pragma once
/// \file
/// How many threads the CPU kernels use. By default ATen's intra-op threads
/// (at::parallel_for). Code that already runs one task per core, such as a
/// torch::data DataLoader's worker threads calling the transforms, runs the
/// kernels on its own thread instead: a nested OpenMP team per worker would
/// put twice as many busy threads as cores, and OpenMP threads spin while
/// they wait. Host only (ATen).

#include <ATen/Parallel.h>

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

/// at::parallel_for(begin, end, grain, f), or f(begin, end) on this thread
/// when the kernels run on the calling thread only.
template <typename F>
void kernel_parallel_for(int64_t begin, int64_t end, int64_t grain, F&& f) {
  if (kernels_on_calling_thread()) {
    if (begin < end) std::forward<F>(f)(begin, end);
    return;
  }
  at::parallel_for(begin, end, grain, std::forward<F>(f));
}

}  // namespace detail
}  // namespace randquant
