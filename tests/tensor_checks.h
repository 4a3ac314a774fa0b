#pragma once
// Tensor helpers shared by the unit tests (test_util.h) and the fuzz
// harness: no GoogleTest here.
#include <ATen/ATen.h>

#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>

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

/// Where two tensors (any device) differ, for failure messages: the one
/// mismatch describer of the suite.
inline std::string describe_mismatch(const at::Tensor& a, const at::Tensor& b) {
  std::ostringstream os;
  if (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type()) {
    os << "shape/dtype " << a.sizes() << " " << a.scalar_type() << " vs "
       << b.sizes() << " " << b.scalar_type();
    return os.str();
  }
  const at::Tensor ac = a.cpu().contiguous().flatten(),
                   bc = b.cpu().contiguous().flatten();
  at::Tensor differ;
  if (at::isFloatingType(ac.scalar_type())) {
    const at::Tensor both_nan = at::isnan(ac).logical_and(at::isnan(bc));
    differ = at::ne(ac, bc).logical_and(both_nan.logical_not());
    // Same value, different bits (-0 vs +0, NaN payloads): count those too.
    if (!differ.any().item<bool>()) {
      os << "values equal but bits differ (signed zero or NaN payload)";
      return os.str();
    }
  } else {
    differ = at::ne(ac, bc);
  }
  const int64_t count = differ.sum().item<int64_t>();
  os << count << " of " << ac.numel() << " elements differ";
  if (count > 0) {
    const int64_t i = differ.nonzero()[0][0].item<int64_t>();
    os << "; first at flat index " << i << ": " << ac[i].item<double>()
       << " (first) vs " << bc[i].item<double>() << " (second)";
  }
  return os.str();
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
