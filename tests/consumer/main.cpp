// A consumer of randquant: quantizes a batch and checks the result, with a
// second translation unit including the same headers (ODR).
#include <randquant/randquant.h>

#include <cstdio>

int quantize_in_second_tu();

int main() {
  const at::Tensor x = at::rand({2, 3, 8, 8});
  const at::Tensor y = randquant::randomized_quantize(
      x, randquant::RandomizedQuantizationOptions(4).collapse(
             randquant::Collapse::Middle));
  const bool same_shape = y.sizes() == x.sizes();
  const bool changed = !y.equal(x);
  const int second = quantize_in_second_tu();
  std::printf("shape %s, changed %s, second TU %d\n", same_shape ? "ok" : "BAD",
              changed ? "yes" : "NO", second);
  return same_shape && changed && second == 4 ? 0 : 1;
}
