#pragma once
/// \file
/// Sample-keyed randomness: a call whose draws for sample n are a pure
/// function of (seed, epoch, index[n], channel) and the options, instead of
/// a key drawn from a generator. A sample is then augmented the same way
/// whatever its batch, its position in it, the thread count or the process
/// it is in.

#include <ATen/ATen.h>

#include <cstdint>

#include "randquant/core/philox.h"
#include "randquant/detail/generator.h"
#include "randquant/detail/geometry.h"

namespace randquant {

/// The keys of a sample-keyed call: passed instead of a generator to
/// randomized_quantize(), randomized_quantize_(), randomized_quantize_out()
/// and RandomizedQuantizationImpl::forward(). Sample n draws under its own
/// Philox key, a function of (seed, epoch, index[n]) alone, so its
/// augmentation is the same bit for bit in any batch, at any position,
/// for any thread count, device or process; no generator is read or
/// advanced. The derivation is in \ref md_docs_SPEC "SPEC.md", Sample-keyed
/// calls.
/// \code
/// randquant::SampleKeys keys{/*seed=*/42, /*epoch=*/3, at::tensor({17, 3})};
/// at::Tensor x = at::rand({2, 3, 8, 8});  // samples 17 and 3
/// at::Tensor q = randquant::randomized_quantize(x, 8, keys);
/// \endcode
struct SampleKeys {
  uint64_t seed = 0;   ///< the run's seed: one per training run
  uint64_t epoch = 0;  ///< another epoch, other draws: set it every epoch
  /// Integer dtype (not bool), the global index of each sample, each >= 0:
  /// shape (N) for batched x, one element for unbatched x; on the CPU or on
  /// x's device. Anything else is refused with a c10::Error naming
  /// `keys.index`, before anything is written.
  at::Tensor index;
};

namespace detail {

/// Checks `keys` against x (after check_inputs()) and makes the call's
/// per-sample keys. Throws c10::Error naming the argument and its value.
inline CallKey sample_call_key(const SampleKeys& keys, const at::Tensor& x,
                               const Geometry& geometry, const char* fn) {
  const at::Tensor& index = keys.index;
  TORCH_CHECK(index.defined(), fn, ": keys.index is an undefined tensor");
  TORCH_CHECK(at::isIntegralType(index.scalar_type(), /*includeBool=*/false),
              fn, ": keys.index must have an integer dtype, got ",
              index.scalar_type());
  TORCH_CHECK(index.dim() <= 1 && index.numel() == geometry.samples, fn,
              ": keys.index must hold one index per sample (", geometry.samples,
              " for x of shape ", x.sizes(),
              ", batched = ", geometry.batched ? "true" : "false",
              "), got shape ", index.sizes());
  TORCH_CHECK(index.device().is_cpu() || index.device() == x.device(), fn,
              ": keys.index must be on the CPU or on x's device ", x.device(),
              ", got ", index.device());
  const at::Tensor host = index.to(at::kCPU, at::kLong).contiguous();
  const int64_t* values = host.data_ptr<int64_t>();
  at::Tensor sample_keys = at::empty({geometry.samples}, at::kLong);
  int64_t* out = sample_keys.data_ptr<int64_t>();
  for (int64_t n = 0; n < geometry.samples; ++n) {
    TORCH_CHECK(values[n] >= 0, fn, ": keys.index must be >= 0, got ",
                values[n], " at position ", n);
    out[n] = static_cast<int64_t>(core::sample_key(
        keys.seed, keys.epoch, static_cast<uint64_t>(values[n])));
  }
  return CallKey::from_samples(std::move(sample_keys));
}

}  // namespace detail
}  // namespace randquant
