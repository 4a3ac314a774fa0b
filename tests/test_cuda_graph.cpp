// CUDA-graph capture of randomized_quantize() with the default CUDA
// generator: the fused path draws its key on the device and never waits for
// it, so a capture succeeds (a host synchronisation inside one is an error)
// and every replay draws a fresh key. Built only with the CUDA component
// (randquant::cuda), as it needs LibTorch's CUDA API; scripts/
// check-cuda-compile.sh compiles it syntax-only against the CUDA headers of
// LibTorch 1.13 and 2.6 where no CUDA LibTorch is installed.
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <tuple>

#include "cuda_fixture.h"
#include "test_util.h"

namespace rq = randquant;
using rq::RandomizedQuantizationOptions;

namespace {

/// Largest number of distinct values in any slice of x (N, C, ...).
int64_t max_distinct_per_slice(const at::Tensor& x) {
  const at::Tensor slices =
      rq_test::slices_of(x.cpu(), true, 0).flatten(0, 1).to(at::kDouble);
  int64_t most = 0;
  for (int64_t s = 0; s < slices.size(0); ++s) {
    most = std::max(most, std::get<0>(at::_unique(slices[s])).numel());
  }
  return most;
}

}  // namespace

using CudaGraph = rq_test::CudaDevice;

TEST_F(CudaGraph, CaptureAndReplayDrawFreshKeys_CUDA) {
  const at::Tensor x =
      rq_test::random_input({8, 3, 32, 32}, at::kFloat, 40).to(at::kCUDA);
  const auto o = RandomizedQuantizationOptions(8);
  c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool();
  at::cuda::CUDAGraph graph;
  at::Tensor y;
  {
    const c10::cuda::CUDAStreamGuard guard(side);
    y = rq::randomized_quantize(x, o);  // warm-up outside the capture
    side.synchronize();
    graph.capture_begin();
    y = rq::randomized_quantize(x, o);
    graph.capture_end();
  }
  graph.replay();
  c10::cuda::getCurrentCUDAStream().synchronize();
  const at::Tensor first = y.cpu();
  graph.replay();
  c10::cuda::getCurrentCUDAStream().synchronize();
  const at::Tensor second = y.cpu();
  EXPECT_FALSE(rq_test::same_bits(first, second))
      << "two replays drew the same key";
  EXPECT_LE(max_distinct_per_slice(first), 8);
  EXPECT_LE(max_distinct_per_slice(second), 8);
  EXPECT_TRUE(first.le(x.cpu().amax({2, 3}, true)).all().item<bool>());
  EXPECT_TRUE(first.ge(x.cpu().amin({2, 3}, true)).all().item<bool>());
}

// A CPU generator's key would be baked into the graph (every replay the
// same): refused while capturing, with a message that says why.
TEST_F(CudaGraph, CpuGeneratorIsRefusedWhileCapturing_CUDA) {
  const at::Tensor x =
      rq_test::random_input({2, 3, 8, 8}, at::kFloat, 41).to(at::kCUDA);
  c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool();
  at::cuda::CUDAGraph graph;
  std::string message;
  {
    const c10::cuda::CUDAStreamGuard guard(side);
    graph.capture_begin();
    try {
      rq::randomized_quantize(x, RandomizedQuantizationOptions(4),
                              rq_test::gen(1));
    } catch (const c10::Error& e) {
      message = e.what_without_backtrace();
    }
    graph.capture_end();
  }
  EXPECT_NE(message.find("CPU generator"), std::string::npos) << message;
}
