// Minimal demo: quantize a batch and print per-slice statistics.
#include <randquant/randquant.h>

#include <cstdio>

int main() {
  at::manual_seed(0);
  const at::Tensor x = at::randn({2, 3, 32, 32});
  const auto options = randquant::RandomizedQuantizationOptions(8);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(42);
  const auto params = randquant::quantization_params(x, options, gen.clone());
  const at::Tensor y = randquant::randomized_quantize(x, options, gen);
  std::printf("Randomized Quantization of a %ldx%ldx%ldx%ld batch, R = %ld\n",
              x.size(0), x.size(1), x.size(2), x.size(3), options.regions());
  std::printf("%-8s %-8s %9s %9s %9s %9s %10s\n", "sample", "channel", "min",
              "max", "distinct", "in", "mean|y-x|");
  for (int64_t n = 0; n < x.size(0); ++n) {
    for (int64_t c = 0; c < x.size(1); ++c) {
      const at::Tensor xs = x[n][c], ys = y[n][c];
      std::printf("%-8ld %-8ld %9.4f %9.4f %9ld %9ld %10.4f\n", n, c,
                  params.lo[n][c].item<float>(), params.hi[n][c].item<float>(),
                  std::get<0>(at::_unique(ys)).numel(),
                  std::get<0>(at::_unique(xs)).numel(),
                  (ys - xs).abs().mean().item<float>());
    }
  }
  std::printf("cut points of slice (0, 0): ");
  for (int64_t k = 0; k < params.cuts.size(2); ++k) {
    std::printf("%.4f ", params.cuts[0][0][k].item<float>());
  }
  std::printf("\nproxies of slice (0, 0):    ");
  for (int64_t k = 0; k < params.proxies.size(2); ++k) {
    std::printf("%.4f ", params.proxies[0][0][k].item<float>());
  }
  std::printf("\n");
  return 0;
}
