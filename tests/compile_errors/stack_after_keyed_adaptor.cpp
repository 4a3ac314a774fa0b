// Must not compile: the keyed adaptor's batches are already stacked, so
// Stack<>() after it is refused by randquant's static_assert (the test
// checks the compiler's output for its message).
#include <torch/torch.h>

#include "randquant/randquant.h"

namespace {
struct Images : torch::data::datasets::Dataset<Images> {
  torch::data::Example<> get(size_t) override { return {}; }
  c10::optional<size_t> size() const override { return 1; }
};
}  // namespace

void stack_after_keyed_adaptor() {
  auto dataset = randquant::data::KeyedRandomizedQuantization<Images>(
                     Images(), randquant::RandomizedQuantizationOptions(8), 1)
                     .map(torch::data::transforms::Stack<>());
  (void)dataset;
}
