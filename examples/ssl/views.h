#pragma once
// The arms' view makers. Each is called inside the training forward pass,
// on the training device, once per view.
#include <randquant/randquant.h>
#include <torch/torch.h>

#include <string>
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
