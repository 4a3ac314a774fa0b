#pragma once
// Fashion-MNIST from Debian's dataset-fashion-mnist: the .gz idx files are
// unpacked once into a cache folder, then read with torch's MNIST reader.
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace ssl {

/// Images as (N, 1, 28, 28) floats in [0, 1] and int64 labels.
struct Split {
  torch::Tensor images;
  torch::Tensor labels;
};

/// The train subset and the test set used by every arm.
struct FashionMnist {
  Split train;
  Split test;
};

namespace fs = std::filesystem;

/// A folder holding the four unpacked idx files: `data_dir` itself, or
/// `cache_dir` after unpacking the .gz files found in `data_dir`.
inline std::string unpacked_folder(const std::string& data_dir,
                                   const std::string& cache_dir) {
  const char* files[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
  bool all_plain = true;
  for (const char* f : files)
    all_plain = all_plain && fs::exists(fs::path(data_dir) / f);
  if (all_plain) return data_dir;
  fs::create_directories(cache_dir);
  for (const char* f : files) {
    const fs::path out = fs::path(cache_dir) / f;
    if (fs::exists(out)) continue;
    const fs::path gz = fs::path(data_dir) / (std::string(f) + ".gz");
    if (!fs::exists(gz)) {
      throw std::runtime_error(
          "missing " + gz.string() +
          " (install dataset-fashion-mnist or pass --data-dir)");
    }
    const std::string cmd = "gzip -dc '" + gz.string() + "' > '" +
                            out.string() + ".tmp' && mv '" + out.string() +
                            ".tmp' '" + out.string() + "'";
    if (std::system(cmd.c_str()) != 0)
      throw std::runtime_error("failed: " + cmd);
  }
  return cache_dir;
}

/// The first `train_n` training images and the first `test_n` test images.
inline FashionMnist load_fashion_mnist(const std::string& data_dir,
                                       const std::string& cache_dir,
                                       int64_t train_n, int64_t test_n) {
  const std::string root = unpacked_folder(data_dir, cache_dir);
  using torch::data::datasets::MNIST;
  MNIST train(root, MNIST::Mode::kTrain), test(root, MNIST::Mode::kTest);
  // torch's MNIST reader already scales pixels to [0, 1].
  auto take = [](const MNIST& set, int64_t n) {
    n = std::min<int64_t>(n, set.images().size(0));
    return Split{set.images().narrow(0, 0, n).contiguous(),
                 set.targets().narrow(0, 0, n).to(torch::kLong)};
  };
  return {take(train, train_n), take(test, test_n)};
}

}  // namespace ssl
