#pragma once
/// \file
/// The data-loader benchmark: a torch::data pipeline over an in-memory
/// dataset of 3 x 224 x 224 float32 images, batch 64, 2 worker threads,
/// timed per epoch in three arms: Stack<>() alone, the per-example
/// transform before Stack<>(), and BatchRandomizedQuantize.

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/data.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <randquant/randquant.h>

namespace randquant_bench {

/// Images of the loader benchmark: one (count, 3, 224, 224) float32 tensor;
/// get(i) returns a view of image i, as torch's own in-memory datasets
/// (MNIST) do, so a transform may not modify it.
class InMemoryImages : public torch::data::datasets::Dataset<InMemoryImages> {
 public:
  /// `count` random images with random labels (fixed seed).
  explicit InMemoryImages(int64_t count) {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(7);
    images_ = at::randn({count, 3, 224, 224}, gen);
    labels_ = at::randint(0, 10, {count}, gen, at::TensorOptions(at::kLong));
  }
  /// Image `index` (a view) and its label.
  torch::data::Example<> get(size_t index) override {
    const auto i = static_cast<int64_t>(index);
    return {images_[i], labels_[i]};
  }
  /// Number of images.
  c10::optional<size_t> size() const override {
    return static_cast<size_t>(images_.size(0));
  }

 private:
  at::Tensor images_, labels_;
};

/// Batches per epoch, batch size and worker threads of the benchmark.
constexpr int64_t kLoaderBatches = 12, kLoaderBatch = 64, kLoaderWorkers = 2;

/// Seconds for one epoch of `dataset` (already mapped to batches of
/// tensors) through a DataLoader with kLoaderWorkers workers.
template <typename Dataset>
double time_epoch(Dataset dataset) {
  auto loader = torch::data::make_data_loader(std::move(dataset),
                                              torch::data::DataLoaderOptions()
                                                  .batch_size(kLoaderBatch)
                                                  .workers(kLoaderWorkers));
  const auto start = std::chrono::steady_clock::now();
  int64_t images = 0;
  for (auto& batch : *loader) images += batch.data.size(0);
  const auto stop = std::chrono::steady_clock::now();
  TORCH_CHECK(images == kLoaderBatches * kLoaderBatch, "loader: ", images,
              " images");
  return std::chrono::duration<double>(stop - start).count();
}

/// Seconds for one epoch of arm "stack", "per-example" or "batch" (the
/// dataset is copied: a copy shares the images).
inline double loader_epoch(const std::string& arm, InMemoryImages images) {
  const auto opts = randquant::RandomizedQuantizationOptions(8);
  if (arm == "stack") {
    return time_epoch(images.map(torch::data::transforms::Stack<>()));
  }
  if (arm == "per-example") {
    return time_epoch(
        images.map(randquant::transforms::RandomizedQuantize<>(opts))
            .map(torch::data::transforms::Stack<>()));
  }
  TORCH_CHECK(arm == "batch", "unknown loader arm ", arm);
  return time_epoch(
      images.map(randquant::transforms::BatchRandomizedQuantize<>(opts)));
}

}  // namespace randquant_bench
