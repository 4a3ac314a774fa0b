#pragma once
// Linear probe: a frozen encoder's features, a linear classifier trained on
// the train subset, accuracy on the test set.
#include <torch/torch.h>

#include "model.h"

namespace ssl {

/// Encoder features of all images, in eval mode, without gradient.
inline torch::Tensor features(Encoder& encoder, const torch::Tensor& images,
                              const torch::Device& device) {
  torch::NoGradGuard no_grad;
  encoder->eval();
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < images.size(0); i += 1024) {
    const int64_t n = std::min<int64_t>(1024, images.size(0) - i);
    out.push_back(encoder(images.narrow(0, i, n).to(device)).cpu());
  }
  encoder->train();
  return torch::cat(out);
}

/// Test accuracy of a linear classifier (`classes` outputs) on standardized
/// features, trained with Adam on minibatches for `epochs` epochs.
inline double linear_probe(const torch::Tensor& train_x,
                           const torch::Tensor& train_y,
                           const torch::Tensor& test_x,
                           const torch::Tensor& test_y, int64_t epochs,
                           int64_t classes = 10) {
  const torch::Tensor mean = train_x.mean(0), std = train_x.std(0) + 1e-6;
  const torch::Tensor xtr = (train_x - mean) / std, xte = (test_x - mean) / std;
  torch::nn::Linear classifier(xtr.size(1), classes);
  torch::optim::Adam opt(classifier->parameters(),
                         torch::optim::AdamOptions(1e-2));
  const int64_t n = xtr.size(0), batch = 256;
  for (int64_t e = 0; e < epochs; ++e) {
    const torch::Tensor perm = torch::randperm(n);
    for (int64_t i = 0; i < n; i += batch) {
      const torch::Tensor idx = perm.narrow(0, i, std::min(batch, n - i));
      opt.zero_grad();
      const torch::Tensor loss = torch::nn::functional::cross_entropy(
          classifier(xtr.index_select(0, idx)), train_y.index_select(0, idx));
      loss.backward();
      opt.step();
    }
  }
  torch::NoGradGuard no_grad;
  return classifier(xte)
      .argmax(1)
      .eq(test_y)
      .to(torch::kDouble)
      .mean()
      .item<double>();
}

}  // namespace ssl
