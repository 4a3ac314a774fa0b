#pragma once
/// \file
/// torch::data transforms. RandomizedQuantize quantizes one example (one
/// sample: unbatched semantics) and goes before Stack<>();
/// BatchRandomizedQuantize stacks a batch and quantizes it in one call
/// (batched semantics) and replaces Stack<>(). Both run the kernel on the
/// calling thread: in a DataLoader the worker threads are the parallelism,
/// and intra-op threads on top of them would oversubscribe the cores.

#include <torch/data/example.h>
#include <torch/data/transforms/base.h>
#include <torch/data/transforms/tensor.h>

#include <utility>
#include <vector>

#include "randquant/detail/example_calls.h"
#include "randquant/detail/threading.h"
#include "randquant/functional.h"
#include "randquant/options.h"

namespace randquant {
/// torch::data transforms that quantize examples as a DataLoader loads
/// them: RandomizedQuantize (per example), RandomizedQuantizeViews (K views
/// per example) and BatchRandomizedQuantize (in place of Stack<>()). They
/// draw from a generator; for draws keyed by the example's index see
/// randquant::data.
namespace transforms {

/// Per-example transform: randomized_quantize() of each example's data as
/// one sample (options.batched() is ignored: always false). Goes before
/// Stack<>().
///
/// Randomness: one key per example from the generator. Copies of the
/// transform (one per DataLoader worker) draw from the same generator under
/// its mutex, so workers never replay each other's stream; which example
/// gets which key then follows the workers' timing, so a loading run
/// repeats bit for bit only with `workers(0)` (see \ref md_docs_randomness
/// "randomness.md").
/// \code
/// auto loader_input = dataset  // a torch::data dataset of Example<>
///     .map(randquant::transforms::RandomizedQuantize<>(8))
///     .map(torch::data::transforms::Stack<>());
/// \endcode
template <typename Target = at::Tensor>
class RandomizedQuantize
    : public torch::data::transforms::TensorTransform<Target> {
 public:
  /// Quantizes with the given options (default R = 8), drawing from
  /// `generator` (default: the default generator of the input's device).
  /// \param options the options; batched() is set to false.
  /// \param generator as randomized_quantize()'s generator.
  /// \throws c10::Error on invalid options (see
  ///   RandomizedQuantizationOptions).
  explicit RandomizedQuantize(
      RandomizedQuantizationOptions options = {},
      c10::optional<at::Generator> generator = c10::nullopt)
      : options_(options.batched(false)), generator_(std::move(generator)) {
    detail::check_options(options_, kName);
  }

  /// The quantized example data: `input` itself, quantized in place, when
  /// nothing else can see it (a freshly decoded image, say); otherwise a
  /// new tensor (a view into a dataset's tensor, a tensor the dataset
  /// still holds, a from_blob buffer: each stays unchanged).
  /// options.inplace(true) changes nothing: the transform already reuses
  /// the input's memory whenever it owns it. Runs on the calling thread.
  /// \param input one example's data, one sample.
  /// \return The quantized data, of input's shape, dtype and device.
  /// \throws c10::Error on the input errors of randomized_quantize(), the
  ///   message starting with "transforms::RandomizedQuantize"; the
  ///   generator is then left as it was.
  at::Tensor operator()(at::Tensor input) override {
    return detail::quantize_example(std::move(input), options_, generator_,
                                    kName);
  }

  /// The options in use, as checked at construction (batched() is false).
  const RandomizedQuantizationOptions& options() const { return options_; }

 private:
  /// The entry named in error messages.
  static constexpr const char* kName = "transforms::RandomizedQuantize";

  RandomizedQuantizationOptions options_;
  c10::optional<at::Generator> generator_;
};

/// Per-example transform for multi-view training (SimCLR, MoCo, BYOL):
/// the example's data of shape S becomes K independently quantized views,
/// stacked as (K, S). The views are copies of the data in one new buffer,
/// quantized there in one batched call (view k is sample k): each view
/// draws its own coin, region counts, cut points and proxies; the example's
/// own tensor is only read. After Stack<>() a batch is (N, K, S): view k of
/// every example is `batch.data.select(1, k)`. options.batched() and
/// options.inplace() are ignored; options.channel_dim() counts within one
/// view, as within one sample.
///
/// Randomness: one key per example (for all its views) from the generator;
/// copies share the generator, as RandomizedQuantize's do.
/// \code
/// auto two_views = dataset  // a torch::data dataset of Example<>
///     .map(randquant::transforms::RandomizedQuantizeViews<>(2))
///     .map(torch::data::transforms::Stack<>());  // data (N, 2, S)
/// \endcode
template <typename Target = at::Tensor>
class RandomizedQuantizeViews
    : public torch::data::transforms::TensorTransform<Target> {
 public:
  /// `views` (K >= 1) views per example, quantized with `options`, drawing
  /// from `generator` (default: the default generator of the input's
  /// device).
  /// \param views K, the number of views per example.
  /// \param options the options of each view; batched() is set to true and
  ///   inplace() to false.
  /// \param generator as randomized_quantize()'s generator.
  /// \throws c10::Error on K < 1 or invalid options.
  explicit RandomizedQuantizeViews(
      int64_t views, RandomizedQuantizationOptions options = {},
      c10::optional<at::Generator> generator = c10::nullopt)
      : views_(views),
        options_(options.batched(true).inplace(false)),
        generator_(std::move(generator)) {
    detail::check_views(views_, kName);
    detail::check_options(options_, kName);
  }

  /// The K views of `input` (shape S), stacked: a new tensor (K, S), made
  /// and quantized on the calling thread; `input` is only read.
  /// \param input one example's data, shape S.
  /// \return A new tensor (K, S) of input's dtype and device.
  /// \throws c10::Error on the input errors of randomized_quantize() for
  ///   the (K, S) batch, the message starting with
  ///   "transforms::RandomizedQuantizeViews"; the generator is then left as
  ///   it was.
  at::Tensor operator()(at::Tensor input) override {
    const detail::CallingThreadOnly calling_thread_only;
    at::Tensor views = detail::repeat_into_views(input, views_);
    detail::quantize_inplace(views, options_, generator_, kName);
    return views;
  }

  /// K, the number of views per example.
  int64_t views() const { return views_; }

  /// The options in use (batched() is true: a view is a sample).
  const RandomizedQuantizationOptions& options() const { return options_; }

 private:
  /// The entry named in error messages.
  static constexpr const char* kName = "transforms::RandomizedQuantizeViews";

  int64_t views_;
  RandomizedQuantizationOptions options_;
  c10::optional<at::Generator> generator_;
};

/// Batch transform used instead of Stack<>(): stacks the examples' data and
/// targets, then quantizes the stacked data in one batched call (the fast
/// path). options.batched() is ignored: always true. Target must be a
/// tensor (the targets are stacked too).
///
/// Randomness: one key per batch from the generator, shared by copies as
/// RandomizedQuantize's is: the batch gets what randomized_quantize() of
/// the stacked data gets for the same generator state.
/// \code
/// auto batches = dataset  // a torch::data dataset of Example<>
///     .map(randquant::transforms::BatchRandomizedQuantize<>(8));
/// \endcode
template <typename Target = at::Tensor>
class BatchRandomizedQuantize
    : public torch::data::transforms::BatchTransform<
          std::vector<torch::data::Example<at::Tensor, Target>>,
          torch::data::Example<at::Tensor, Target>> {
 public:
  /// One example of the batch, and the stacked batch it returns.
  using ExampleType = torch::data::Example<at::Tensor, Target>;

  /// Quantizes with the given options (default R = 8), drawing from
  /// `generator` (default: the default generator of the input's device).
  /// \param options the options; batched() is set to true.
  /// \param generator as randomized_quantize()'s generator.
  /// \throws c10::Error on invalid options (see
  ///   RandomizedQuantizationOptions).
  explicit BatchRandomizedQuantize(
      RandomizedQuantizationOptions options = {},
      c10::optional<at::Generator> generator = c10::nullopt)
      : options_(options.batched(true)), generator_(std::move(generator)) {
    detail::check_options(options_, kName);
  }

  /// Stacked and quantized data, stacked targets: the data is stacked into
  /// one new buffer and quantized there in place, on the calling thread, so
  /// a batch costs one allocation, as Stack<>(); the examples' own tensors
  /// are only read.
  /// \param examples the batch's examples, of one shape, dtype and device.
  /// \return The batch: data (N, ...) quantized, targets stacked.
  /// \throws c10::Error from stacking (an empty batch, data of different
  ///   shapes), or on the input errors of randomized_quantize()
  ///   for the stacked data, the message starting with
  ///   "transforms::BatchRandomizedQuantize"; the generator is then left as
  ///   it was.
  ExampleType apply_batch(std::vector<ExampleType> examples) override {
    return detail::stack_and_quantize(std::move(examples), options_, generator_,
                                      kName);
  }

  /// The options in use (batched() is true).
  const RandomizedQuantizationOptions& options() const { return options_; }

 private:
  /// The entry named in error messages.
  static constexpr const char* kName = "transforms::BatchRandomizedQuantize";

  RandomizedQuantizationOptions options_;
  c10::optional<at::Generator> generator_;
};

}  // namespace transforms
}  // namespace randquant
