#pragma once
// A small CNN encoder for 28x28 images (optionally with RQ on its first
// feature map) and SimCLR's projection head.
#include <randquant/randquant.h>
#include <torch/torch.h>

namespace ssl {

/// 28x28x1 -> 64 features: three conv blocks and global average pooling.
struct EncoderImpl : torch::nn::Module {
  /// With `feature_rq` (a straight-through RandomizedQuantization), the
  /// first block's feature map (N, 16, 14, 14) is quantized in training
  /// mode: augmentation of an intermediate embedding, as a model layer.
  explicit EncoderImpl(
      randquant::RandomizedQuantization feature_rq_module = nullptr)
      : conv1(register_module(
            "conv1",
            torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 16, 3).padding(1)))),
        conv2(register_module(
            "conv2",
            torch::nn::Conv2d(torch::nn::Conv2dOptions(16, 32, 3).padding(1)))),
        conv3(register_module(
            "conv3",
            torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3).padding(1)))),
        bn1(register_module("bn1", torch::nn::BatchNorm2d(16))),
        bn2(register_module("bn2", torch::nn::BatchNorm2d(32))),
        bn3(register_module("bn3", torch::nn::BatchNorm2d(64))) {
    if (feature_rq_module)
      feature_rq = register_module("feature_rq", feature_rq_module);
  }

  torch::Tensor forward(torch::Tensor x) {
    x = torch::max_pool2d(torch::relu(bn1(conv1(x))), 2);  // 14x14
    if (feature_rq) x = feature_rq(x);  // identity in eval mode
    x = torch::max_pool2d(torch::relu(bn2(conv2(x))), 2);  // 7x7
    x = torch::relu(bn3(conv3(x)));
    return x.mean({2, 3});  // (N, 64)
  }

  torch::nn::Conv2d conv1, conv2, conv3;
  torch::nn::BatchNorm2d bn1, bn2, bn3;
  randquant::RandomizedQuantization feature_rq{nullptr};
};
TORCH_MODULE(Encoder);

/// 64 -> 64 -> 32 MLP on which the contrastive loss is computed.
struct ProjectionImpl : torch::nn::Module {
  ProjectionImpl()
      : fc1(register_module("fc1", torch::nn::Linear(64, 64))),
        fc2(register_module("fc2", torch::nn::Linear(64, 32))) {}
  torch::Tensor forward(const torch::Tensor& h) {
    return fc2(torch::relu(fc1(h)));
  }
  torch::nn::Linear fc1, fc2;
};
TORCH_MODULE(Projection);

/// SimCLR's NT-Xent loss of two views' projections (N, D) each.
inline torch::Tensor nt_xent(const torch::Tensor& z1, const torch::Tensor& z2,
                             double temperature) {
  const int64_t n = z1.size(0);
  const torch::Tensor z = torch::nn::functional::normalize(
      torch::cat({z1, z2}),
      torch::nn::functional::NormalizeFuncOptions().dim(1));
  torch::Tensor sim = torch::matmul(z, z.t()) / temperature;
  sim = sim.masked_fill(torch::eye(2 * n, sim.options().dtype(torch::kBool)),
                        -1e9);
  const torch::Tensor positives =
      torch::cat({torch::arange(n, 2 * n), torch::arange(0, n)}).to(z.device());
  return torch::nn::functional::cross_entropy(sim, positives);
}

}  // namespace ssl
