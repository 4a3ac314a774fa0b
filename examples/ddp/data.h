#pragma once
// A small synthetic image data set, the same on every rank: class c's images
// are a fixed pattern plus noise. Sample i is a pure function of (seed, i).
#include <torch/torch.h>

#include <cstdint>

namespace ddp {

/// N single-channel images of 16×16 in 10 classes.
class SyntheticImages : public torch::data::datasets::Dataset<SyntheticImages> {
 public:
  /// `size` images made from `seed`.
  SyntheticImages(int64_t size, uint64_t seed) {
    auto gen = at::detail::createCPUGenerator(seed);
    labels_ = at::arange(size, at::kLong).remainder(10);
    const at::Tensor patterns =
        at::randn({10, 1, 16, 16}, gen, at::TensorOptions(at::kFloat));
    images_ =
        patterns.index_select(0, labels_) +
        0.5 * at::randn({size, 1, 16, 16}, gen, at::TensorOptions(at::kFloat));
  }
  /// Image `index` and its label.
  torch::data::Example<> get(size_t index) override {
    const auto i = static_cast<int64_t>(index);
    return {images_[i], labels_[i]};
  }
  /// The number of images.
  c10::optional<size_t> size() const override {
    return static_cast<size_t>(images_.size(0));
  }

 private:
  at::Tensor images_;
  at::Tensor labels_;
};

}  // namespace ddp
