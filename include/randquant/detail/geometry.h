#pragma once
/// \file
/// Where the slices of an input are: the mapping from a tensor to its
/// (sample, channel, rest...) view and back.

#include <ATen/ATen.h>

#include <cstdint>

namespace randquant {
namespace detail {

/// Where the slices of an input are: N samples of C channels each.
struct Geometry {
  bool batched = true;      ///< dim 0 is the batch
  int64_t channel_dim = 0;  ///< channel dimension of the tensor (wrapped)
  int64_t samples = 1;      ///< N (1 when unbatched)
  int64_t channels = 1;     ///< C

  /// Number of slices, N * C.
  int64_t slices() const { return samples * channels; }

  /// View of t as (N, C, rest...): no copy.
  at::Tensor slice_view(const at::Tensor& t) const {
    const at::Tensor with_batch = batched ? t : t.unsqueeze(0);
    const int64_t dim = batched ? channel_dim : channel_dim + 1;
    return with_batch.movedim(dim, 1);
  }

  /// Inverse of slice_view: a (N, C, rest...) tensor back to the input's
  /// dimension order.
  at::Tensor from_slice_view(const at::Tensor& v) const {
    const int64_t dim = batched ? channel_dim : channel_dim + 1;
    const at::Tensor moved = v.movedim(1, dim);
    return batched ? moved : moved.squeeze(0);
  }
};

}  // namespace detail
}  // namespace randquant
