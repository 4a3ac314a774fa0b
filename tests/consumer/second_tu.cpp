// Second translation unit of the consumer: same headers, linked together.
#include <randquant/randquant.h>

int quantize_in_second_tu() {
  // A (1, 1, 16) ramp with Uniform spacing and Middle proxies gives R = 4
  // distinct values.
  const at::Tensor x = at::arange(16, at::kFloat).view({1, 1, 16});
  const at::Tensor y = randquant::randomized_quantize(
      x, randquant::RandomizedQuantizationOptions(4)
             .spacing(randquant::Spacing::Uniform)
             .collapse(randquant::Collapse::Middle));
  return static_cast<int>(std::get<0>(at::_unique(y)).numel());
}
