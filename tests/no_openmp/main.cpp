// Built without -fopenmp (and run with OpenMP too, as a control): with more
// than one intra-op thread configured, randquant says once that its CPU
// kernels run on one thread in such a translation unit, and says nothing
// where at::parallel_for has its threads.
//   randquant_threads_warning expect-warning | expect-no-warning
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/version.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "randquant/randquant.h"
#include "test_util.h"

namespace {

/// How many of the collected messages say the kernels are single-threaded.
int single_thread_warnings(const rq_test::WarningCollector& collect) {
  int count = 0;
  for (const std::string& msg : collect.messages) {
    if (msg.find("randquant: the CPU kernels run on one thread") !=
            std::string::npos &&
        msg.find("-fopenmp") != std::string::npos &&
        msg.find("randquant::randquant") != std::string::npos) {
      ++count;
    }
  }
  return count;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || (std::strcmp(argv[1], "expect-warning") != 0 &&
                    std::strcmp(argv[1], "expect-no-warning") != 0)) {
    std::fprintf(stderr, "usage: %s expect-warning|expect-no-warning\n",
                 argv[0]);
    return 2;
  }
  const bool expect_warning = std::strcmp(argv[1], "expect-warning") == 0;
  rq_test::WarningCollector collect;
  const at::Tensor x = at::rand({8, 3, 64, 64});
  // One intra-op thread: nothing is lost, nothing to say.
  at::set_num_threads(1);
  randquant::randomized_quantize(x);
  const int with_one_thread = single_thread_warnings(collect);
  // Two threads: the kernel would use both, if it could; several calls,
  // one warning.
  at::set_num_threads(2);
  for (int call = 0; call < 3; ++call) randquant::randomized_quantize(x);
  const int with_two_threads = single_thread_warnings(collect);
#ifdef INTRA_OP_PARALLEL
  const char* tu = "with";
#else
  const char* tu = "without";
#endif
  std::printf(
      "translation unit %s intra-op parallelism; warnings: %d with 1 thread, "
      "%d with 2 threads (3 calls)\n",
      tu, with_one_thread, with_two_threads);
  const bool ok =
      with_one_thread == 0 && with_two_threads == (expect_warning ? 1 : 0);
  std::printf("%s\n", ok ? "threads warning: as expected"
                         : "threads warning: NOT as expected");
  return ok ? 0 : 1;
}
