// Writes a PNG grid of Randomized Quantization applied to one image.
// Rows: R = 2, 4, 8, 16 (random cut points, random proxies), each with five
// random draws; last row: deterministic Uniform spacing + Middle proxies for
// R = 2, 4, 8, 16, 32. First column: the original.
//
// Usage: augment_image [input image (PNG/JPEG/...)] [output.png]
// Without an input (or with "") it uses a built-in synthetic image.
#include <randquant/randquant.h>
#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace rq = randquant;

namespace {

constexpr int kMaxSide = 160;  // keeps the committed PNG small
constexpr int kGap = 4;
constexpr int kDraws = 5;

// A 128x128 RGB test card: smooth gradients (where quantization shows as
// bands) and a few discs.
at::Tensor builtin_image() {
  const int64_t side = 128;
  const at::Tensor t = at::linspace(0.0, 1.0, side);
  const at::Tensor yy = t.view({side, 1}).expand({side, side});
  const at::Tensor xx = t.view({1, side}).expand({side, side});
  at::Tensor r = xx.clone(), g = yy.clone(),
             b = 0.5 + 0.5 * at::sin(6.0 * (xx + yy));
  const double discs[3][3] = {
      {0.3, 0.3, 0.18}, {0.7, 0.35, 0.12}, {0.5, 0.72, 0.2}};
  for (const auto& d : discs) {
    const at::Tensor inside =
        ((xx - d[0]).pow(2) + (yy - d[1]).pow(2)).lt(d[2] * d[2]);
    r = at::where(inside, 1.0 - r, r);
    b = at::where(inside, 0.5 * b, b);
  }
  return (at::stack({r, g, b}) * 255.0).round().clamp(0, 255).to(at::kByte);
}

// Loads an image as a (3, H, W) uint8 tensor, shrunk to at most kMaxSide.
at::Tensor load_image(const char* path) {
  int w = 0, h = 0, n = 0;
  unsigned char* pixels = stbi_load(path, &w, &h, &n, 3);
  if (pixels == nullptr) {
    std::fprintf(stderr, "cannot read %s: %s\n", path, stbi_failure_reason());
    std::exit(1);
  }
  const double scale =
      std::min(1.0, static_cast<double>(kMaxSide) / std::max(w, h));
  const int ow = std::max(1, static_cast<int>(w * scale)),
            oh = std::max(1, static_cast<int>(h * scale));
  at::Tensor hwc = at::empty({oh, ow, 3}, at::kByte);
  stbir_resize_uint8(pixels, w, h, 0, hwc.data_ptr<uint8_t>(), ow, oh, 0, 3);
  stbi_image_free(pixels);
  return hwc.permute({2, 0, 1}).contiguous();
}

}  // namespace

int main(int argc, char** argv) {
  const bool has_input = argc > 1 && argv[1][0] != '\0';  // "" = built-in
  const at::Tensor image = has_input ? load_image(argv[1]) : builtin_image();
  const std::string out_path = argc > 2 ? argv[2] : "augment_image.png";
  const int64_t h = image.size(1), w = image.size(2);
  const int64_t rows = 5, cols = 1 + kDraws;
  at::Tensor canvas = at::full(
      {3, rows * (h + kGap) - kGap, cols * (w + kGap) - kGap}, 255, at::kByte);
  auto place = [&](const at::Tensor& tile, int64_t row, int64_t col) {
    canvas.narrow(1, row * (h + kGap), h)
        .narrow(2, col * (w + kGap), w)
        .copy_(tile);
  };

  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(2023);
  const at::Tensor batch = image.unsqueeze(0).expand({kDraws, 3, h, w});
  const int64_t random_regions[4] = {2, 4, 8, 16};
  for (int64_t row = 0; row < 4; ++row) {
    // One batched call: each of the kDraws copies gets its own quantizers.
    const at::Tensor draws = rq::randomized_quantize(
        batch, rq::RandomizedQuantizationOptions(random_regions[row]), gen);
    place(image, row, 0);
    for (int64_t d = 0; d < kDraws; ++d) place(draws[d], row, 1 + d);
    std::printf("row %ld: R = %2ld, Random spacing, InsideRandom proxies\n",
                row, random_regions[row]);
  }
  place(image, 4, 0);
  for (int64_t d = 0; d < kDraws; ++d) {
    const int64_t regions = int64_t{2} << d;  // 2, 4, 8, 16, 32
    const auto options = rq::RandomizedQuantizationOptions(regions)
                             .batched(false)
                             .spacing(rq::Spacing::Uniform)
                             .collapse(rq::Collapse::Middle);
    place(rq::randomized_quantize(image, options), 4, 1 + d);
  }
  std::printf("row 4: Uniform spacing, Middle proxies, R = 2, 4, 8, 16, 32\n");

  const at::Tensor hwc = canvas.permute({1, 2, 0}).contiguous();
  const int ok =
      stbi_write_png(out_path.c_str(), static_cast<int>(hwc.size(1)),
                     static_cast<int>(hwc.size(0)), 3, hwc.data_ptr<uint8_t>(),
                     static_cast<int>(hwc.size(1) * 3));
  if (!ok) {
    std::fprintf(stderr, "cannot write %s\n", out_path.c_str());
    return 1;
  }
  std::printf("wrote %s (%ldx%ld)\n", out_path.c_str(), hwc.size(1),
              hwc.size(0));
  return 0;
}
