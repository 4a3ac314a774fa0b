#pragma once
// The arms' view makers. Each is called inside the training forward pass,
// on the training device, once per view.
#include <randquant/randquant.h>
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace ssl {

/// One experimental arm: how the two views of an image are made.
enum class Arm { RandomInit, Noise, RQ, CropFlip, CropFlipRQ, RQFeature };

/// Display name of an arm.
inline std::string arm_name(Arm arm) {
  switch (arm) {
    case Arm::RandomInit:
      return "random-init (no training)";
    case Arm::Noise:
      return "gaussian noise";
    case Arm::RQ:
      return "randomized quantization";
    case Arm::CropFlip:
      return "crop+flip";
    case Arm::CropFlipRQ:
      return "crop+flip+RQ";
    case Arm::RQFeature:
      return "RQ on embeddings";
  }
  return "?";
}

/// Short key of an arm for CSV files and flags.
inline std::string arm_key(Arm arm) {
  switch (arm) {
    case Arm::RandomInit:
      return "random_init";
    case Arm::Noise:
      return "noise";
    case Arm::RQ:
      return "rq";
    case Arm::CropFlip:
      return "crop_flip";
    case Arm::CropFlipRQ:
      return "crop_flip_rq";
    case Arm::RQFeature:
      return "rq_feature";
  }
  return "?";
}

/// Random 28x28 crop of the image zero-padded by `pad`, then a horizontal
/// flip with probability 1/2, independently per image.
inline torch::Tensor crop_flip(const torch::Tensor& x, int64_t pad) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  const torch::Tensor padded =
      torch::constant_pad_nd(x, {pad, pad, pad, pad}, 0);
  const torch::Tensor offsets =
      torch::randint(0, 2 * pad + 1, {n, 2}, torch::kLong);
  const auto off = offsets.accessor<int64_t, 2>();
  std::vector<torch::Tensor> crops;
  crops.reserve(n);
  for (int64_t i = 0; i < n; ++i) {
    crops.push_back(padded[i].narrow(1, off[i][0], h).narrow(2, off[i][1], w));
  }
  const torch::Tensor cropped = torch::stack(crops);
  const torch::Tensor flip = (torch::rand({n, 1, 1, 1}) < 0.5).to(x.device());
  return torch::where(flip, cropped.flip({3}), cropped);
}

/// The training images as a torch::data dataset: get(i) is image i (a view
/// of the tensor, never written) with target i.
struct ImageSet : torch::data::datasets::Dataset<ImageSet> {
  explicit ImageSet(torch::Tensor images) : images(std::move(images)) {}
  torch::data::Example<> get(size_t i) override {
    return {images[static_cast<int64_t>(i)],
            torch::tensor(static_cast<int64_t>(i))};
  }
  torch::optional<size_t> size() const override {
    return static_cast<size_t>(images.size(0));
  }
  torch::Tensor images;
};

/// The RQ arm's two views from the data pipeline instead of the module:
/// data::KeyedRandomizedViews keys view v of image i by (seed, epoch, i,
/// v), so the views are the same for any batch size, order or worker
/// count.
class KeyedViews {
 public:
  KeyedViews(const torch::Tensor& images, int64_t regions, uint64_t seed)
      : views_(ImageSet(images), 2,
               randquant::RandomizedQuantizationOptions(regions), seed) {}

  /// Views (B, 2, C, H, W) of the images at `indices` in epoch `epoch`.
  torch::Tensor get(const torch::Tensor& indices, uint64_t epoch) {
    views_.set_epoch(epoch);
    const torch::Tensor host = indices.to(torch::kLong).contiguous();
    const int64_t* p = host.data_ptr<int64_t>();
    const std::vector<size_t> batch(p, p + host.numel());
    return views_.get_batch(batch).data;
  }

 private:
  randquant::data::KeyedRandomizedViews<ImageSet> views_;
};

/// Makes one random view of a batch for an arm. The RQ arms call the
/// randquant module (training mode) on the whole batch at once.
struct ViewMakerImpl : torch::nn::Module {
  ViewMakerImpl(Arm arm, int64_t regions, double noise_std, uint64_t seed)
      : arm(arm),
        noise_std(noise_std),
        rq(register_module("rq", randquant::RandomizedQuantization(regions))) {
    rq->set_generator(at::make_generator<at::CPUGeneratorImpl>(seed));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    switch (arm) {
      case Arm::Noise:
        return x + noise_std * torch::randn_like(x);
      case Arm::RQ:
        return rq(x);
      case Arm::CropFlip:
        return crop_flip(x, 4);
      case Arm::CropFlipRQ:
        return rq(crop_flip(x, 4));
      case Arm::RandomInit:
      case Arm::RQFeature:  // its views differ inside the encoder
        break;
    }
    return x;
  }

  Arm arm;
  double noise_std;
  randquant::RandomizedQuantization rq;
};
TORCH_MODULE(ViewMaker);

}  // namespace ssl
