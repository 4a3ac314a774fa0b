#pragma once
// Small tabular data sets read from the CSV files that Debian's
// python3-sklearn ships (sklearn/datasets/data/): one row per sample, the
// features, then the class label. A header line, when there is one, is
// skipped; .gz files are read through gzip.
#include <torch/torch.h>

#include <cstdio>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace ssl {

/// Features (N, D) float32, standardized with the training split's
/// statistics, and labels (N) int64, split once into train and test.
struct Tabular {
  std::string name;
  torch::Tensor train_x, train_y, test_x, test_y;
  int64_t classes = 0;
};

/// The rows of a CSV file (gzip-compressed when the name ends in .gz).
inline std::vector<std::vector<double>> read_csv_rows(const std::string& path) {
  const bool gz = path.size() > 3 && path.substr(path.size() - 3) == ".gz";
  const std::string cmd =
      (gz ? "gzip -dc '" : "cat '") + path + "' 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  if (!pipe) throw std::runtime_error("cannot run: " + cmd);
  std::vector<std::vector<double>> rows;
  std::string line;
  char buf[4096];
  bool first = true;
  while (std::fgets(buf, sizeof(buf), pipe.get())) {
    line += buf;
    if (line.empty() || line.back() != '\n') continue;  // a longer line
    std::vector<double> row;
    std::stringstream ss(line);
    bool numeric = true;
    for (std::string cell; std::getline(ss, cell, ',');) {
      try {
        row.push_back(std::stod(cell));
      } catch (const std::exception&) {
        numeric = false;
      }
    }
    line.clear();
    // sklearn's header line: "569,30,malignant,benign".
    if (first && !numeric) {
      first = false;
      continue;
    }
    first = false;
    if (!numeric || row.size() < 2)
      throw std::runtime_error("not a numeric CSV row in " + path);
    if (!rows.empty() && row.size() != rows[0].size())
      throw std::runtime_error("rows of different lengths in " + path);
    rows.push_back(std::move(row));
  }
  if (rows.empty()) throw std::runtime_error("no rows in " + path);
  return rows;
}

/// Loads `file` under `dir`, splits it once (a fixed permutation, so every
/// seed and arm sees the same split) into train and test, and standardizes
/// the features with the training split's mean and std.
inline Tabular load_tabular(const std::string& dir, const std::string& name,
                            const std::string& file, double test_fraction) {
  const auto rows = read_csv_rows(dir + "/" + file);
  const auto n = static_cast<int64_t>(rows.size());
  const auto d = static_cast<int64_t>(rows[0].size()) - 1;
  torch::Tensor x = torch::empty({n, d}, torch::kFloat);
  torch::Tensor y = torch::empty({n}, torch::kLong);
  auto xa = x.accessor<float, 2>();
  auto ya = y.accessor<int64_t, 1>();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) xa[i][j] = static_cast<float>(rows[i][j]);
    ya[i] = static_cast<int64_t>(rows[i][d]);
  }
  auto split_gen = at::detail::createCPUGenerator(/*seed=*/20231001);
  const torch::Tensor order =
      at::randperm(n, split_gen, at::TensorOptions(at::kLong));
  const int64_t n_test = static_cast<int64_t>(test_fraction * n);
  const torch::Tensor test = order.narrow(0, 0, n_test),
                      train = order.narrow(0, n_test, n - n_test);
  Tabular t;
  t.name = name;
  t.train_x = x.index_select(0, train);
  t.test_x = x.index_select(0, test);
  t.train_y = y.index_select(0, train);
  t.test_y = y.index_select(0, test);
  const torch::Tensor mean = t.train_x.mean(0), std = t.train_x.std(0) + 1e-6;
  t.train_x = (t.train_x - mean) / std;
  t.test_x = (t.test_x - mean) / std;
  t.classes = y.max().item<int64_t>() + 1;
  return t;
}

}  // namespace ssl
