#pragma once
/// \file
/// randquant::RandomizedQuantization: the op as a torch::nn module. Like
/// Dropout, it augments in training mode and is the identity in eval mode.

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/common.h>
#include <torch/nn/modules/container/any_value.h>
#include <torch/nn/pimpl.h>
#include <torch/serialize/archive.h>

#include <mutex>
#include <ostream>

#include "randquant/detail/checks.h"
#include "randquant/functional.h"
#include "randquant/options.h"
#include "randquant/sample_keys.h"

namespace randquant {

/// Randomized Quantization as a module: forward(x) is randomized_quantize(x,
/// options, generator) in training mode and returns x itself in eval mode.
/// It has no parameters or buffers. Use RandomizedQuantization (the
/// ModuleHolder) rather than this Impl directly.
class RandomizedQuantizationImpl
    : public torch::nn::Cloneable<RandomizedQuantizationImpl> {
 public:
  /// A module with R = `regions` and default options otherwise.
  explicit RandomizedQuantizationImpl(int64_t regions = 8)
      : RandomizedQuantizationImpl(RandomizedQuantizationOptions(regions)) {}

  /// A module with the given options (checked here, so a bad option fails
  /// at construction).
  explicit RandomizedQuantizationImpl(
      const RandomizedQuantizationOptions& options_)
      : options(options_) {
    reset();
  }

  /// Checks the options (Cloneable calls it after copying, too).
  void reset() override { detail::check_options(options, kName); }

  /// Quantized x in training mode, x in eval mode. With `keys`, the draws
  /// are keyed per sample (randomized_quantize(x, options, keys)); without,
  /// they come from the module's generator. With options.inplace(), x is
  /// quantized in place, as torch::nn::Dropout's inplace option does, when
  /// nothing but the caller's one handle can see it
  /// (detail::exclusively_owned()); a view of another tensor, a tensor
  /// held elsewhere too (a dataset's cache), a from_blob buffer or an
  /// expanded tensor gets a new output instead, so the module never writes
  /// memory that is not provably the caller's to give; a tensor that
  /// requires grad is refused with a c10::Error, as randomized_quantize_()
  /// refuses it. Errors name "RandomizedQuantization".
  at::Tensor forward(const at::Tensor& x,
                     const c10::optional<SampleKeys>& keys = c10::nullopt) {
    if (!is_training()) return x;
    RandomizedQuantizationOptions call_options = options;
    // A tensor that requires grad stays on the in-place path, whose check
    // refuses it with an error, as torch::nn::Dropout's inplace does.
    if (call_options.inplace() && !x.requires_grad() &&
        !detail::exclusively_owned(x)) {
      call_options.inplace(false);
    }
    if (keys.has_value()) {
      return detail::quantize(x, call_options, *keys, kName);
    }
    return detail::quantize(x, call_options, generator_, kName);
  }

  /// Draw from `generator` instead of the default generator of the input's
  /// device. Clones share it (at::Generator is a handle; draws lock its
  /// mutex).
  void set_generator(at::Generator generator) {
    generator_ = std::move(generator);
  }

  /// The generator set by set_generator(), if any.
  const c10::optional<at::Generator>& generator() const { return generator_; }

  /// Saves the module (torch::save): with a generator set, its state too,
  /// so a run resumed from the checkpoint draws exactly what the
  /// uninterrupted run would have drawn.
  void save(torch::serialize::OutputArchive& archive) const override {
    torch::nn::Module::save(archive);
    if (generator_.has_value()) {
      at::Generator generator = *generator_;
      std::lock_guard<std::mutex> lock(generator.mutex());
      archive.write(kGeneratorStateKey, generator.get_state());
    }
  }

  /// Loads the module (torch::load) and, when the checkpoint holds one,
  /// its generator's state: into the generator already set, or a new CPU
  /// generator when none is.
  void load(torch::serialize::InputArchive& archive) override {
    torch::nn::Module::load(archive);
    at::Tensor state;
    if (!archive.try_read(kGeneratorStateKey, state)) return;
    if (!generator_.has_value()) {
      generator_ = at::make_generator<at::CPUGeneratorImpl>();
    }
    at::Generator generator = *generator_;
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(state);
  }

  /// Prints `randquant::RandomizedQuantization(regions=8, ...)`.
  void pretty_print(std::ostream& stream) const override {
    stream << "randquant::RandomizedQuantization(" << options << ")";
  }

  /// The options; changes apply to the next forward().
  RandomizedQuantizationOptions options;

 protected:
  // `keys` may be left out when the module runs inside torch::nn::Sequential
  // or AnyModule.
  FORWARD_HAS_DEFAULT_ARGS({1,
                            torch::nn::AnyValue(c10::optional<SampleKeys>())})

 private:
  /// The entry named in error messages.
  static constexpr const char* kName = "RandomizedQuantization";
  /// Where save() puts the generator's state.
  static constexpr const char* kGeneratorStateKey = "randquant_generator_state";

  c10::optional<at::Generator> generator_;
};

/// Module holder of RandomizedQuantizationImpl (shared-pointer semantics,
/// as every torch::nn module).
TORCH_MODULE(RandomizedQuantization);

}  // namespace randquant
