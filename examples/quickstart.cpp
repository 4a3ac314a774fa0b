// The three ways in: the function, the module inside a forward pass, and
// the dataset transforms. Prints what changed.
#include <randquant/randquant.h>
#include <torch/torch.h>

#include <iostream>

namespace rq = randquant;

// A toy dataset: 16 random 3x8x8 "images" with labels.
struct Toy : torch::data::datasets::Dataset<Toy> {
  torch::data::Example<> get(size_t i) override {
    return {torch::rand({3, 8, 8}), torch::tensor(static_cast<int64_t>(i % 4))};
  }
  torch::optional<size_t> size() const override { return 16; }
};

// A tiny network that augments its input while training.
struct Net : torch::nn::Module {
  Net()
      : augment(register_module("augment", rq::RandomizedQuantization(8))),
        conv(register_module("conv", torch::nn::Conv2d(3, 4, 3))) {}
  torch::Tensor forward(torch::Tensor x) { return conv(augment(x)); }
  rq::RandomizedQuantization augment;
  torch::nn::Conv2d conv;
};

int main() {
  torch::manual_seed(0);
  const torch::Tensor x = torch::rand({2, 3, 8, 8});

  // 1. The function: R = 4 regions per (sample, channel).
  const torch::Tensor y =
      rq::randomized_quantize(x, rq::RandomizedQuantizationOptions(4));
  std::cout << "1. function: distinct values in slice (0,0): "
            << std::get<0>(at::_unique(x[0][0])).numel() << " -> "
            << std::get<0>(at::_unique(y[0][0])).numel() << "\n";

  // 2. The module: augments in training mode, identity in eval mode.
  auto net = std::make_shared<Net>();
  std::cout << "2. module: " << *net->augment << "\n";
  const torch::Tensor train_out = net->forward(x);
  net->eval();
  const torch::Tensor eval_out = net->forward(x);
  std::cout << "   train vs eval output differ: " << std::boolalpha
            << !train_out.equal(eval_out)
            << "; eval input untouched: " << net->augment(x).equal(x) << "\n";

  // 3. Dataset transforms: per example before Stack<>(), or batched
  //    (one call per batch) instead of Stack<>().
  auto per_example = torch::data::make_data_loader(
      Toy()
          .map(rq::transforms::RandomizedQuantize<>(8))
          .map(torch::data::transforms::Stack<>()),
      4);
  auto batched = torch::data::make_data_loader(
      Toy().map(rq::transforms::BatchRandomizedQuantize<>(
          rq::RandomizedQuantizationOptions(8))),
      4);
  for (auto& batch : *per_example) {
    std::cout << "3. per-example transform: batch " << batch.data.sizes()
              << ", distinct values in slice (0,0): "
              << std::get<0>(at::_unique(batch.data[0][0])).numel() << "\n";
    break;
  }
  for (auto& batch : *batched) {
    std::cout << "   batch transform: batch " << batch.data.sizes()
              << ", distinct values in slice (0,0): "
              << std::get<0>(at::_unique(batch.data[0][0])).numel() << "\n";
    break;
  }
  return 0;
}
