#pragma once
/// \file
/// One 64-bit Philox key per call, taken from a torch generator: on the host
/// from a CPU generator, on the device from a CUDA generator.

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>
#include <c10/util/Optional.h>

#include <cstdint>
#include <limits>
#include <mutex>
#include <utility>

namespace randquant {
namespace detail {

/// The key of one call. From a CPU generator it is a host value; from a
/// CUDA generator it is drawn on x's device into a one-element int64 tensor
/// that the CUDA kernel reads there, so the call neither waits for the
/// device nor breaks CUDA-graph capture.
struct CallKey {
  uint64_t host = 0;  ///< the key, when drawn on the host
  at::Tensor device;  ///< the key's bits as a 0-dim int64 tensor, or undefined
  /// Sample-keyed calls: (N) int64 CPU tensor, the key of each sample
  /// (core::sample_key); its slices draw under (key of n, channel c).
  /// Undefined: every slice draws under the call's key with index n * C + c.
  at::Tensor samples;

  /// Keys of a sample-keyed call.
  static CallKey from_samples(at::Tensor sample_keys) {
    CallKey k;
    k.samples = std::move(sample_keys);
    return k;
  }

  /// Whether the draws are keyed per sample.
  bool per_sample() const { return samples.defined(); }

  /// A key drawn on the host.
  static CallKey from_host(uint64_t key) {
    CallKey k;
    k.host = key;
    return k;
  }

  /// A key drawn on the device (a 0-dim int64 tensor holding its bits).
  static CallKey from_device(at::Tensor key) {
    CallKey k;
    k.device = std::move(key);
    return k;
  }

  /// Whether the key lives on the device.
  bool on_device() const { return device.defined(); }

  /// The key on the host (waits for the device when it lives there).
  uint64_t value() const {
    return on_device() ? static_cast<uint64_t>(device.item<int64_t>()) : host;
  }
};

/// Draws a key from `generator`, or from the default CPU generator when none
/// is given. Locks the generator's mutex, so threads may share it.
inline uint64_t draw_host_key(const c10::optional<at::Generator>& generator) {
  at::CPUGeneratorImpl* gen =
      at::get_generator_or_default<at::CPUGeneratorImpl>(
          generator, at::detail::getDefaultCPUGenerator());
  std::lock_guard<std::mutex> lock(gen->mutex_);
  return gen->random64();
}

/// Draws 64 random bits on x's device with ATen's own random_() (the
/// generator's Philox offset advances under its mutex, and the draw is
/// captured by CUDA graphs as ATen's random ops are). No generator: the
/// default generator of x's device.
inline at::Tensor draw_device_key(
    const at::Tensor& x, const c10::optional<at::Generator>& generator) {
  return at::empty({}, at::TensorOptions().dtype(at::kLong).device(x.device()))
      .random_(std::numeric_limits<int64_t>::min(), c10::nullopt, generator);
}

/// The call's key. A CPU generator serves tensors on any device (a CUDA
/// tensor then gives bitwise the CPU result); a CUDA generator serves CUDA
/// tensors on its device. Without a generator, CUDA tensors use their
/// device's default generator and all others the default CPU generator.
inline CallKey draw_call_key(const at::Tensor& x,
                             const c10::optional<at::Generator>& generator,
                             const char* fn) {
  const bool given = generator.has_value() && generator->defined();
  if (given && generator->device().is_cpu())
    return CallKey::from_host(draw_host_key(generator));
  if (given) {
    TORCH_CHECK(generator->device().is_cuda(), fn,
                ": generator must be a CPU or CUDA generator, got a generator "
                "on device ",
                generator->device());
    TORCH_CHECK(
        x.is_cuda() && x.device().index() == generator->device().index(), fn,
        ": generator on device ", generator->device(),
        " cannot draw for x on device ", x.device(),
        " (a CUDA generator needs x on its device; a CPU generator "
        "serves any device)");
    return CallKey::from_device(draw_device_key(x, generator));
  }
  if (x.is_cuda())
    return CallKey::from_device(draw_device_key(x, c10::nullopt));
  return CallKey::from_host(draw_host_key(c10::nullopt));
}

}  // namespace detail
}  // namespace randquant
