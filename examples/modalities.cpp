// The same op on three other modalities:
//  - audio: (N, 1, F, T) log-spectrograms, one slice per example;
//  - point clouds: (N, P, 3) with channel_dim(-1), one slice per coordinate;
//  - embeddings: (N, L, D) inside a tiny model's training step, with
//    straight_through(true) so gradients flow through the augmentation.
#include <randquant/randquant.h>
#include <torch/torch.h>

#include <cstdio>

namespace rq = randquant;

namespace {

int64_t distinct(const torch::Tensor& t) {
  return std::get<0>(at::_unique(t)).numel();
}

void spectrograms() {
  // Harmonic stacks with a decaying envelope, in dB.
  const int64_t n = 4, f = 64, t = 100;
  const torch::Tensor freq = torch::arange(f, torch::kFloat).view({1, 1, f, 1});
  const torch::Tensor time = torch::arange(t, torch::kFloat).view({1, 1, 1, t});
  const torch::Tensor pitch = torch::rand({n, 1, 1, 1}) * 6 + 4;
  const torch::Tensor power =
      torch::exp(-torch::pow(torch::remainder(freq, pitch) - pitch / 2, 2)) *
          torch::exp(-time / 60.0) +
      1e-4;
  const torch::Tensor spec = 10 * torch::log10(power);  // (N, 1, F, T)
  const torch::Tensor aug =
      rq::randomized_quantize(spec, rq::RandomizedQuantizationOptions(8));
  std::printf(
      "audio (N,1,F,T) = (%ld,1,%ld,%ld): distinct values per example %ld -> "
      "%ld, "
      "mean |change| %.2f dB\n",
      n, f, t, distinct(spec[0]), distinct(aug[0]),
      (aug - spec).abs().mean().item<float>());
}

void point_clouds() {
  const int64_t n = 2, p = 2048;
  torch::Tensor pts = torch::randn({n, p, 3});
  pts = pts / pts.norm(2, -1, true);  // points on the unit sphere
  const auto options = rq::RandomizedQuantizationOptions(16).channel_dim(-1);
  const torch::Tensor aug = rq::randomized_quantize(pts, options);
  std::printf(
      "point cloud (N,P,3) = (%ld,%ld,3), channel_dim(-1): distinct x/y/z of "
      "cloud 0: "
      "%ld/%ld/%ld (from %ld), mean displacement %.3f\n",
      n, p, distinct(aug[0].select(1, 0)), distinct(aug[0].select(1, 1)),
      distinct(aug[0].select(1, 2)), p,
      (aug - pts).norm(2, -1).mean().item<float>());
}

// Token embeddings -> RQ (straight-through) -> mean pool -> linear classifier.
struct TinyModel : torch::nn::Module {
  TinyModel()
      : embed(register_module("embed", torch::nn::Embedding(50, 16))),
        augment(register_module(
            "augment",
            rq::RandomizedQuantization(rq::RandomizedQuantizationOptions(8)
                                           .channel_dim(-1)
                                           .straight_through(true)))),
        head(register_module("head", torch::nn::Linear(16, 2))) {}
  torch::Tensor forward(const torch::Tensor& tokens) {
    return head(augment(embed(tokens)).mean(1));  // (N, L, D) -> (N, 2)
  }
  torch::nn::Embedding embed;
  rq::RandomizedQuantization augment;
  torch::nn::Linear head;
};

int embeddings() {
  auto model = std::make_shared<TinyModel>();
  torch::optim::SGD optimizer(model->parameters(), 0.5);
  const torch::Tensor tokens = torch::randint(0, 50, {32, 12});
  const torch::Tensor labels =
      (tokens.lt(25).sum(1) > 6).to(torch::kLong);  // learnable rule
  float first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    optimizer.zero_grad();
    const torch::Tensor loss =
        torch::nll_loss(torch::log_softmax(model->forward(tokens), 1), labels);
    loss.backward();
    if (step == 0) {
      std::printf(
          "embeddings (N,L,D) = (32,12,16), straight_through: embedding grad "
          "norm %.4f\n",
          model->embed->weight.grad().norm().item<float>());
      first = loss.item<float>();
    }
    optimizer.step();
    last = loss.item<float>();
  }
  std::printf("  training loss %.3f -> %.3f over 60 steps\n", first, last);
  return last < first ? 0 : 1;
}

}  // namespace

int main() {
  torch::manual_seed(1);
  spectrograms();
  point_clouds();
  return embeddings();
}
