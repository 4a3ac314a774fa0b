#pragma once
// Tensor helpers shared by the unit tests (test_util.h) and the fuzz
// harness: no GoogleTest here.
#include <ATen/ATen.h>

#include <cstdint>
#include <cstring>

namespace rq_test {

/// Bitwise equality of two tensors' element values (any strides).
inline bool same_bits(const at::Tensor& a, const at::Tensor& b) {
  if (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type()) {
    return false;
  }
  if (a.numel() == 0) return true;
  const at::Tensor ac = a.contiguous(), bc = b.contiguous();
  return std::memcmp(ac.data_ptr(), bc.data_ptr(), ac.nbytes()) == 0;
}

/// (N, C, M) view of t's slices as the library defines them (N = 1 when
/// unbatched), in t's dtype.
inline at::Tensor slices_of(const at::Tensor& t, bool batched,
                            int64_t channel_dim) {
  const at::Tensor b = batched ? t : t.unsqueeze(0);
  const int64_t sample_dims = b.dim() - 1;
  const int64_t cd =
      1 + (channel_dim < 0 ? channel_dim + sample_dims : channel_dim);
  const at::Tensor moved = b.movedim(cd, 1);
  return moved.reshape({moved.size(0), moved.size(1), -1});
}

}  // namespace rq_test
