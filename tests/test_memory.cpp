// What a call costs in memory: in place allocates only the parameter
// table, the batch transform one buffer of the batch's size, and a large new
// output is advised to huge pages.
#include <gtest/gtest.h>
#include <torch/data.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "counting_allocator.h"
#include "test_util.h"

namespace rq = randquant;
using rq_test::gen;
using Opt = rq::RandomizedQuantizationOptions;

TEST(Memory, InPlaceAllocatesOnlyTheParametersAndBatchTransformOneBuffer) {
  const at::Tensor x0 = at::randn({16, 3, 64, 64});
  for (int64_t r : {8, 256}) {
    SCOPED_TRACE(r);
    at::Tensor x = x0.clone();
    int64_t peak_extra = 0;
    {
      rq_test::CountingScope scope;
      scope.counter().reset_peak();
      const int64_t live_before = scope.counter().live();
      rq::randomized_quantize_(x, Opt(r), gen(1));
      peak_extra = scope.counter().peak() - live_before;
    }
    // lo, hi (float), R (int64), quantized, cut points (float), proxies
    // (float) per slice, one coin per sample.
    const int64_t slices = 16 * 3;
    const int64_t params = slices * (4 + 4 + 8 + 1 + 4 * (r - 1) + 4 * r) + 16;
    EXPECT_GT(peak_extra, 0);
    EXPECT_LE(peak_extra, params + 4096) << "parameters: " << params;
    EXPECT_LT(peak_extra, static_cast<int64_t>(x.nbytes()) / 4);
  }
  // BatchRandomizedQuantize: one allocation of the batch's size (the
  // stacked buffer, quantized in place), as Stack<>().
  std::vector<torch::data::Example<>> examples;
  for (int i = 0; i < 8; ++i) {
    examples.push_back({at::rand({3, 32, 32}), at::tensor(i)});
  }
  const int64_t batch_bytes = 8 * 3 * 32 * 32 * 4;
  rq::transforms::BatchRandomizedQuantize<> transform(Opt(8), gen(2));
  int64_t peak_extra = 0;
  {
    rq_test::CountingScope scope;
    scope.counter().reset_peak();
    const int64_t live_before = scope.counter().live();
    const auto batch = transform.apply_batch(examples);
    peak_extra = scope.counter().peak() - live_before;
  }
  EXPECT_GE(peak_extra, batch_bytes);
  EXPECT_LT(peak_extra, batch_bytes + batch_bytes / 2);
}

namespace {

/// The VmFlags line of the mapping that holds `address`, from
/// /proc/self/smaps ("" when it cannot be read).
std::string vm_flags_of(const void* address) {
  std::ifstream smaps("/proc/self/smaps");
  const auto target = reinterpret_cast<uintptr_t>(address);
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream range(line);
    if (range >> std::hex >> begin >> dash >> end && dash == '-') {
      inside = begin <= target && target < end;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line;
    }
  }
  return "";
}

}  // namespace

TEST(Memory, LargeNewOutputsAreAdvisedToHugePages) {
  const at::Tensor x = at::rand({4, 3, 512, 512});  // 12 MB
  const at::Tensor y = rq::randomized_quantize(x);
  // A whole 2 MB page inside the output.
  const auto first = reinterpret_cast<uintptr_t>(y.data_ptr());
  const uintptr_t page = ((first >> 21) + 1) << 21;
  const std::string flags =
      vm_flags_of(static_cast<const char*>(y.data_ptr()) + (page - first));
  if (flags.empty()) GTEST_SKIP() << "no /proc/self/smaps";
  EXPECT_NE(flags.find(" hg"), std::string::npos) << flags;
}
