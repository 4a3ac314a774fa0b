#pragma once
// The one place where a CUDA test skips itself without a device: every
// *_CUDA suite is this fixture under its own name (`using CudaKernel =
// rq_test::CudaDevice;` then TEST_F(CudaKernel, ..._CUDA)), so CPU-only
// builds compile every CUDA test and run none.
#include <gtest/gtest.h>
#include <torch/cuda.h>

namespace rq_test {

/// Skips the test when no CUDA device is present.
class CudaDevice : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  }
};

/// CudaDevice for value-parameterized suites.
template <typename Param>
class CudaDeviceWithParam : public CudaDevice,
                            public ::testing::WithParamInterface<Param> {};

}  // namespace rq_test
