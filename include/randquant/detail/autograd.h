#pragma once
/// \file
/// The straight-through gradient: forward returns the quantized tensor,
/// backward hands the incoming gradient to the input unchanged.

#include <torch/csrc/autograd/custom_function.h>

#include <atomic>

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

/// Whether warn_gradient_cut() has spoken in this process (tests reset it).
inline std::atomic<bool>& gradient_cut_warned() {
  static std::atomic<bool> warned{false};
  return warned;
}

/// A call without straight_through whose input requires grad (grad mode
/// on) returns an output with no gradient: every layer before it silently
/// gets none. Says so once per process, naming the option that keeps the
/// gradient; a detached input (the usual augmentation of data) is silent.
inline void warn_gradient_cut(const at::Tensor& x, const char* fn) {
  if (!x.requires_grad() || !at::GradMode::is_enabled()) return;
  if (gradient_cut_warned().exchange(true)) return;
  TORCH_WARN(fn,
             ": the input requires grad, but the output carries no gradient "
             "(straight_through is false), so backward stops here and "
             "nothing before this op gets a gradient. Set "
             "straight_through(true) to hand the gradient through unchanged, "
             "or pass x.detach() to say the cut is meant.");
}

}  // namespace detail
}  // namespace randquant
