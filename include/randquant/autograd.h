#pragma once
/// \file
/// The straight-through gradient: forward returns the quantized tensor,
/// backward hands the incoming gradient to the input unchanged.

#include <torch/csrc/autograd/custom_function.h>

namespace randquant {
namespace detail {

/// Autograd function y = q with dy/dx = identity. `q` is computed without
/// gradient beforehand; it is the forward output.
struct StraightThrough : public torch::autograd::Function<StraightThrough> {
  /// Returns q; x only links the graph.
  static at::Tensor forward(torch::autograd::AutogradContext* /*ctx*/,
                            const at::Tensor& /*x*/, const at::Tensor& q) {
    return q;
  }

  /// d(loss)/dx = d(loss)/dy; q gets no gradient.
  static torch::autograd::variable_list backward(
      torch::autograd::AutogradContext* /*ctx*/,
      torch::autograd::variable_list grad_outputs) {
    return {grad_outputs[0], at::Tensor()};
  }
};

// g++ 14 warns (-Warray-bounds, -Wstringop-overflow) inside LibTorch's
// Function<T>::apply, on a std::vector<bool>::reserve it inlines there: a
// false positive in LibTorch's and libstdc++'s code, not in ours.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif

/// q with a straight-through gradient to x when x requires one and grad
/// mode is on; q unchanged otherwise.
inline at::Tensor attach_straight_through(const at::Tensor& x,
                                          const at::Tensor& q) {
  if (!x.requires_grad() || !at::GradMode::is_enabled()) return q;
  return StraightThrough::apply(x, q);
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace detail
}  // namespace randquant
