#pragma once
/// \file
/// One 64-bit Philox key per call, taken from a torch generator.

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>
#include <c10/util/Optional.h>

#include <cstdint>
#include <mutex>

namespace randquant {
namespace detail {

/// Draws the call's key from `generator`, or from the default CPU generator
/// when none is given. Locks the generator's mutex, so threads may share it.
inline uint64_t draw_key(const c10::optional<at::Generator>& generator) {
  at::CPUGeneratorImpl* gen =
      at::get_generator_or_default<at::CPUGeneratorImpl>(
          generator, at::detail::getDefaultCPUGenerator());
  std::lock_guard<std::mutex> lock(gen->mutex_);
  return gen->random64();
}

}  // namespace detail
}  // namespace randquant
