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
///
/// Randomness: each training-mode forward() draws one key, from the
/// generator of set_generator() or else the default generator of x's device
/// (CUDA tensors: their device's default CUDA generator), after every check
/// (a refused call leaves the generator unchanged), with the guarantees of
/// randomized_quantize(). Eval mode draws nothing. save() and load() carry
/// the generator's state, for an exact resume. Error messages start with
/// "RandomizedQuantization".
/// \code
/// auto options = randquant::RandomizedQuantizationOptions(8).p(0.8);
/// randquant::RandomizedQuantization rq(options);
/// rq->set_generator(at::make_generator<at::CPUGeneratorImpl>(1));
/// at::Tensor y = rq(at::rand({8, 3, 32, 32}));  // training mode: quantized
/// \endcode
class RandomizedQuantizationImpl
    : public torch::nn::Cloneable<RandomizedQuantizationImpl> {
 public:
  /// A module with R = `regions` and default options otherwise.
  /// \throws c10::Error when `regions` is outside [1, kMaxRegions].
  explicit RandomizedQuantizationImpl(int64_t regions = 8)
      : RandomizedQuantizationImpl(RandomizedQuantizationOptions(regions)) {}

  /// A module with the given options, checked here, so a bad option fails
  /// at construction rather than at the first forward().
  /// \throws c10::Error on invalid options (see
  ///   RandomizedQuantizationOptions).
  explicit RandomizedQuantizationImpl(
      const RandomizedQuantizationOptions& options_)
      : options(options_) {
    reset();
  }

  /// Checks the options (Cloneable calls it after copying, too); there is
  /// nothing else to reset.
  /// \throws c10::Error on invalid options.
  void reset() override { detail::check_options(options, kName); }

  /// Quantized x in training mode, x itself in eval mode. With
  /// options.inplace(), x is quantized in place, as torch::nn::Dropout's
  /// inplace option does, when nothing but the caller's one handle can see
  /// it; a view of another tensor, a tensor held elsewhere too (a dataset's
  /// cache), a from_blob buffer or an expanded tensor gets a new output
  /// instead, so the module never writes memory that is not provably the
  /// caller's to give.
  /// \param x the input, as randomized_quantize()'s x.
  /// \param keys sample keys: the draws are then keyed per sample, as by
  ///   randomized_quantize(x, options, keys), and no generator is used;
  ///   nullopt (default): one key from the module's generator.
  /// \return A new tensor, or x (eval mode, or in place).
  /// \throws c10::Error (training mode only) on the errors of
  ///   randomized_quantize(), or of its keyed form with `keys`; with
  ///   options.inplace(), also on an x that requires grad, as
  ///   randomized_quantize_() refuses it.
  ///
  /// \code
  /// randquant::SampleKeys keys{/*seed=*/42, /*epoch=*/0, at::arange(8)};
  /// at::Tensor y = rq(at::rand({8, 3, 32, 32}), keys);  // rq in training
  /// \endcode
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
  /// device; it must suit the inputs (as randomized_quantize()'s generator:
  /// a CPU generator serves every device, a CUDA one its device), which
  /// forward() checks. Clones share it (at::Generator is a handle; draws
  /// lock its mutex, so the clones continue one stream).
  /// \code
  /// rq->set_generator(at::make_generator<at::CPUGeneratorImpl>(/*seed=*/1));
  /// \endcode
  void set_generator(at::Generator generator) {
    generator_ = std::move(generator);
  }

  /// The generator set by set_generator() or created by load(); nullopt
  /// while forward() draws from the default generator.
  const c10::optional<at::Generator>& generator() const { return generator_; }

  /// Saves the module (torch::save): its options, and with a generator set
  /// that generator's state (read under its mutex), so a run resumed from
  /// the checkpoint draws exactly what the uninterrupted run would have
  /// drawn. The default generator is not the module's and is not saved.
  /// \code
  /// torch::save(rq, "rq.pt");
  /// \endcode
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
  /// generator when none is.
  /// \throws c10::Error on an archive without randquant's options (a
  ///   checkpoint of another module type: the message lists the keys it
  ///   holds), saved options that are not 10 float64 values or of another
  ///   layout, or invalid saved options; the module is then left as it was.
  ///
  /// \code
  /// torch::load(rq, "rq.pt");
  /// \endcode
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

  /// Prints `randquant::RandomizedQuantization(regions=8, ...)`, every
  /// option as operator<<(std::ostream&, const RandomizedQuantizationOptions&)
  /// prints it; `std::cout << *rq` calls it.
  void pretty_print(std::ostream& stream) const override {
    stream << "randquant::RandomizedQuantization(" << options << ")";
  }

  /// The options; changes apply to the next forward(), and are checked
  /// there (construction, reset() and load() check them too).
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
/// as every torch::nn module): construct it with the Impl's arguments,
/// call it as forward(), reach the Impl's members with `->`. Copies share
/// one module; clone() makes an independent one (sharing the generator).
/// \code
/// randquant::RandomizedQuantization rq(8);
/// torch::nn::Sequential net(rq, torch::nn::Conv2d(3, 16, 3));
/// rq->eval();  // identity from now on
/// \endcode
TORCH_MODULE(RandomizedQuantization);

}  // namespace randquant
