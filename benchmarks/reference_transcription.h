#pragma once
/// \file
/// The authors' RandomizedQuantizationAugModule forward (collapse
/// 'inside_random', spacing 'random', p = 1) transcribed op for op into ATen.
/// A benchmark baseline only: it keeps the reference's O(slices x R x
/// elements) mask on purpose, so do not "fix" it.

#include <ATen/ATen.h>

#include <cstdint>
#include <tuple>

/// Benchmark-only helpers; not part of the randquant API.
namespace randquant_bench {

/// Randomized Quantization of a contiguous (B, C, H, W) float tensor exactly
/// as the authors' Python module computes it: R - 1 random cut points per
/// (sample, channel), a (B*C, R, H, W) membership mask, argmax, gather.
/// Random numbers come from `gen` (torch.rand's role in the original; none:
/// the default generator of x's device) and are made on x's device, as the
/// original does on a GPU.
inline at::Tensor reference_randomized_quantize(
    const at::Tensor& x_in, int64_t region_num,
    c10::optional<at::Generator> gen = c10::nullopt) {
  const int64_t B = x_in.size(0), c = x_in.size(1), H = x_in.size(2),
                W = x_in.size(3);
  const int64_t C = B * c;
  const at::Tensor x = x_in.view({C, H, W});
  const at::Tensor min_val = std::get<0>(x.view({C, -1}).min(1));
  const at::Tensor max_val = std::get<0>(x.view({C, -1}).max(1));
  // torch.rand(n, device=x.device) in the original: float32.
  const auto rand_opts =
      at::TensorOptions().dtype(at::kFloat).device(x_in.device());
  const at::Tensor region_percentiles =
      at::rand({C * (region_num - 1)}, gen, rand_opts);
  const at::Tensor region_percentiles_per_channel =
      region_percentiles.reshape({-1, region_num - 1});
  const at::Tensor region_percentiles_pos =
      (region_percentiles_per_channel * (max_val - min_val).view({C, 1}) +
       min_val.view({C, 1}))
          .view({C, -1, 1, 1});
  const at::Tensor ordered_region_right_ends_for_checking = std::get<0>(
      at::cat({region_percentiles_pos, max_val.view({C, 1, 1, 1}) + 1}, 1)
          .sort(1));
  const at::Tensor ordered_region_right_ends = std::get<0>(
      at::cat({region_percentiles_pos, max_val.view({C, 1, 1, 1}) + 1e-6}, 1)
          .sort(1));
  const at::Tensor ordered_region_left_ends = std::get<0>(
      at::cat({min_val.view({C, 1, 1, 1}), region_percentiles_pos}, 1).sort(1));
  const at::Tensor is_inside_each_region =
      (x.view({C, 1, H, W}) < ordered_region_right_ends_for_checking) *
      (x.view({C, 1, H, W}) >= ordered_region_left_ends);
  // The original's `assert (is_inside_each_region.sum(1) == 1).all()` is
  // SKIPPED: it is a sanity check (and a host sync on GPU), and leaving out
  // one more full pass over the mask makes reference/fused a lower bound.
  const at::Tensor associated_region_id = at::argmax(
      is_inside_each_region.to(at::kInt), /*dim=*/1, /*keepdim=*/true);
  const at::Tensor proxy_percentiles_per_channel =
      at::rand({C * region_num}, gen, rand_opts).reshape({-1, region_num});
  const at::Tensor ordered_region_rand =
      ordered_region_left_ends +
      proxy_percentiles_per_channel.view({C, -1, 1, 1}) *
          (ordered_region_right_ends - ordered_region_left_ends);
  const at::Tensor proxy_vals =
      at::gather(ordered_region_rand.expand({-1, -1, H, W}), 1,
                 associated_region_id)
          .select(1, 0);
  return proxy_vals.to(x.scalar_type()).view({B, c, H, W});
}

}  // namespace randquant_bench
