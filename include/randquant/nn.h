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
#include <sstream>
#include <string>
#include <vector>

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

  /// Saves the module (torch::save): its options, and with a generator set
  /// that generator's state, so a run resumed from the checkpoint draws
  /// exactly what the uninterrupted run would have drawn.
  void save(torch::serialize::OutputArchive& archive) const override {
    torch::nn::Module::save(archive);
    archive.write(kOptionsKey, options_to_tensor(options));
    if (generator_.has_value()) {
      at::Generator generator = *generator_;
      std::lock_guard<std::mutex> lock(generator.mutex());
      archive.write(kGeneratorStateKey, generator.get_state());
    }
  }

  /// Loads the module (torch::load): restores the saved options (checked
  /// as at construction) and, when the checkpoint holds one, its
  /// generator's state: into the generator already set, or a new CPU
  /// generator when none is. Throws c10::Error, leaving the module as it
  /// was, on an archive without randquant's options (a checkpoint of
  /// another module type: the message lists the keys it holds).
  void load(torch::serialize::InputArchive& archive) override {
    torch::nn::Module::load(archive);
    at::Tensor saved;
    if (!archive.try_read(kOptionsKey, saved)) {
      std::ostringstream keys;
      for (const std::string& key : archive.keys()) keys << " '" << key << "'";
      TORCH_CHECK(false, kName,
                  "::load: the archive holds no randquant options, so it is "
                  "not a checkpoint of randquant::RandomizedQuantization "
                  "(its keys:",
                  keys.str().empty() ? " none" : keys.str(), ")");
    }
    const RandomizedQuantizationOptions loaded = options_from_tensor(saved);
    at::Tensor state;
    const bool has_state = archive.try_read(kGeneratorStateKey, state);
    options = loaded;
    if (!has_state) return;
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
  /// Where save() puts the options.
  static constexpr const char* kOptionsKey = "randquant_options";
  /// The layout version of the saved options (their first element).
  static constexpr double kOptionsLayout = 1;

  /// The options as a float64 tensor (every field is exact in a double):
  /// layout, regions, max_regions, collapse, spacing, p, batched,
  /// channel_dim, straight_through, inplace.
  static at::Tensor options_to_tensor(const RandomizedQuantizationOptions& o) {
    const std::vector<double> fields{
        kOptionsLayout,
        static_cast<double>(o.regions()),
        static_cast<double>(o.max_regions()),
        static_cast<double>(static_cast<int>(o.collapse())),
        static_cast<double>(static_cast<int>(o.spacing())),
        o.p(),
        o.batched() ? 1.0 : 0.0,
        static_cast<double>(o.channel_dim()),
        o.straight_through() ? 1.0 : 0.0,
        o.inplace() ? 1.0 : 0.0};
    return at::tensor(fields, at::kDouble);
  }

  /// The options saved by options_to_tensor(), checked as at construction.
  static RandomizedQuantizationOptions options_from_tensor(
      const at::Tensor& saved) {
    TORCH_CHECK(saved.dim() == 1 && saved.numel() == 10 &&
                    saved.scalar_type() == at::kDouble,
                kName,
                "::load: randquant_options must be 10 float64 values, got ",
                saved.scalar_type(), " of shape ", saved.sizes());
    const at::Tensor host = saved.to(at::kCPU).contiguous();
    const double* f = host.data_ptr<double>();
    TORCH_CHECK(f[0] == kOptionsLayout, kName,
                "::load: randquant_options has layout ", f[0],
                ", this version reads layout ", kOptionsLayout);
    RandomizedQuantizationOptions o(static_cast<int64_t>(f[1]));
    o.max_regions(static_cast<int64_t>(f[2]))
        .collapse(static_cast<Collapse>(static_cast<int>(f[3])))
        .spacing(static_cast<Spacing>(static_cast<int>(f[4])))
        .p(f[5])
        .batched(f[6] != 0)
        .channel_dim(static_cast<int64_t>(f[7]))
        .straight_through(f[8] != 0)
        .inplace(f[9] != 0);
    detail::check_options(o, "RandomizedQuantization::load");
    return o;
  }

  c10::optional<at::Generator> generator_;
};

/// Module holder of RandomizedQuantizationImpl (shared-pointer semantics,
/// as every torch::nn module).
TORCH_MODULE(RandomizedQuantization);

}  // namespace randquant
