// Is Randomized Quantization data-agnostic beyond images? A contrastive
// experiment on small tabular data sets (Debian's python3-sklearn CSV
// files): an MLP encoder trained with NT-Xent on two views per sample, then
// a linear probe on its frozen features, on a fixed train/test split, over
// several seeds because the data are small. Arms:
//   raw        the standardized features themselves (no encoder)
//   random     the untrained encoder (the floor for training)
//   noise      views x + σ·N(0, 1)
//   rq         RQ with the features as channels: each feature of a batch is
//              one slice (cut points between the batch's min and max of it)
//   rq_sample  RQ with each sample as one slice over its features
//
// Usage: ssl_tabular [--data-dir /usr/lib/python3/dist-packages/sklearn/
//   datasets/data] [--datasets breast_cancer,wine,digits] [--seeds 5]
//   [--seed 0] [--steps 300] [--batch-size 128] [--regions 8]
//   [--noise-std 0.5] [--temperature 0.5] [--lr 0.001] [--probe-epochs 100]
//   [--test-fraction 0.3] [--threads 2] [--out-dir tabular_results]
#include <randquant/randquant.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "model.h"
#include "probe.h"
#include "stats.h"
#include "tabular_data.h"

namespace {

/// --name value pairs; unknown names are an error.
std::map<std::string, std::string> parse_flags(int argc, char** argv) {
  std::map<std::string, std::string> f = {
      {"data-dir", "/usr/lib/python3/dist-packages/sklearn/datasets/data"},
      {"datasets", "breast_cancer,wine,digits"},
      {"seeds", "5"},
      {"seed", "0"},
      {"steps", "300"},
      {"batch-size", "128"},
      {"regions", "8"},
      {"noise-std", "0.5"},
      {"temperature", "0.5"},
      {"lr", "0.001"},
      {"probe-epochs", "100"},
      {"test-fraction", "0.3"},
      {"threads", "2"},
      {"out-dir", "tabular_results"}};
  for (int i = 1; i < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || !f.count(arg.substr(2)) || i + 1 >= argc) {
      std::fprintf(stderr, "bad argument %s (see the top of tabular.cpp)\n",
                   argv[i]);
      std::exit(2);
    }
    f[arg.substr(2)] = argv[i + 1];
  }
  return f;
}

/// The CSV file of each data set sklearn ships.
const std::map<std::string, std::string> kFiles = {
    {"breast_cancer", "breast_cancer.csv"},
    {"wine", "wine_data.csv"},
    {"digits", "digits.csv.gz"},
    {"iris", "iris.csv"}};

const std::vector<std::string> kArms = {"raw", "random", "noise", "rq",
                                        "rq_sample"};

/// D -> 128 -> 64 MLP encoder; its 64-d output is what the probe sees.
struct MlpEncoderImpl : torch::nn::Module {
  explicit MlpEncoderImpl(int64_t d)
      : fc1(register_module("fc1", torch::nn::Linear(d, 128))),
        bn1(register_module("bn1", torch::nn::BatchNorm1d(128))),
        fc2(register_module("fc2", torch::nn::Linear(128, 64))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    return fc2(torch::relu(bn1(fc1(x))));
  }
  torch::nn::Linear fc1;
  torch::nn::BatchNorm1d bn1;
  torch::nn::Linear fc2;
};
TORCH_MODULE(MlpEncoder);

/// One view of a batch (B, D) for an arm.
torch::Tensor view(const std::string& arm, const torch::Tensor& x,
                   double noise_std, randquant::RandomizedQuantization& rq,
                   randquant::RandomizedQuantization& rq_sample) {
  if (arm == "noise") return x + noise_std * torch::randn_like(x);
  if (arm == "rq") return rq(x);
  if (arm == "rq_sample") return rq_sample(x.unsqueeze(1)).squeeze(1);
  return x;
}

/// Probe accuracy of one (data set, arm, seed) run.
double run_arm(const ssl::Tabular& t, const std::string& arm, uint64_t seed,
               const std::map<std::string, std::string>& f) {
  torch::manual_seed(seed);  // encoder init and batch order follow the seed
  MlpEncoder encoder(t.train_x.size(1));
  ssl::Projection head;
  const int64_t regions = std::stoll(f.at("regions"));
  // Features as channels: the batch (B, D) is one "sample" whose channel
  // dimension is the last, so each feature is a slice over the batch.
  randquant::RandomizedQuantization rq(
      randquant::RandomizedQuantizationOptions(regions)
          .batched(false)
          .channel_dim(-1));
  // Each sample (B, 1, D) one slice over its standardized features.
  randquant::RandomizedQuantization rq_sample(regions);
  rq->set_generator(at::make_generator<at::CPUGeneratorImpl>(seed + 1));
  rq_sample->set_generator(at::make_generator<at::CPUGeneratorImpl>(seed + 1));
  if (arm != "raw" && arm != "random") {
    std::vector<torch::Tensor> params = encoder->parameters();
    for (auto& p : head->parameters()) params.push_back(p);
    torch::optim::Adam opt(params,
                           torch::optim::AdamOptions(std::stod(f.at("lr"))));
    const int64_t n = t.train_x.size(0);
    const int64_t batch = std::min<int64_t>(std::stoll(f.at("batch-size")), n);
    const double noise_std = std::stod(f.at("noise-std"));
    torch::Tensor order = torch::randperm(n);
    int64_t pos = 0;
    for (int64_t step = 0; step < std::stoll(f.at("steps")); ++step) {
      if (pos + batch > n) order = torch::randperm(n), pos = 0;
      const torch::Tensor x =
          t.train_x.index_select(0, order.narrow(0, pos, batch));
      pos += batch;
      opt.zero_grad();
      const torch::Tensor loss =
          ssl::nt_xent(head(encoder(view(arm, x, noise_std, rq, rq_sample))),
                       head(encoder(view(arm, x, noise_std, rq, rq_sample))),
                       std::stod(f.at("temperature")));
      loss.backward();
      opt.step();
    }
  }
  torch::Tensor train_f = t.train_x, test_f = t.test_x;
  if (arm != "raw") {
    torch::NoGradGuard no_grad;
    encoder->eval();
    train_f = encoder(t.train_x);
    test_f = encoder(t.test_x);
  }
  torch::manual_seed(seed + 7);
  return ssl::linear_probe(train_f, t.train_y, test_f, t.test_y,
                           std::stoll(f.at("probe-epochs")), t.classes);
}

}  // namespace

int main(int argc, char** argv) {
  const auto f = parse_flags(argc, argv);
  at::set_num_threads(std::stoi(f.at("threads")));
  const std::string out_dir = f.at("out-dir");
  std::filesystem::create_directories(out_dir);
  const int64_t seeds = std::stoll(f.at("seeds"));
  if (seeds < 1) {
    std::fprintf(stderr, "--seeds must be at least 1, got %ld\n", seeds);
    return 2;
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::ofstream csv(out_dir + "/results.csv");
  csv << "dataset,arm,seed,probe_accuracy\n";
  std::ofstream summary(out_dir + "/summary.csv");
  summary << "dataset,arm,mean,std,seeds\n";
  bool finite = true;
  std::stringstream names(f.at("datasets"));
  for (std::string name; std::getline(names, name, ',');) {
    if (!kFiles.count(name)) {
      std::fprintf(stderr, "unknown data set %s\n", name.c_str());
      return 2;
    }
    ssl::Tabular t;
    try {
      t = ssl::load_tabular(f.at("data-dir"), name, kFiles.at(name),
                            std::stod(f.at("test-fraction")));
    } catch (const std::exception& e) {
      std::fprintf(stderr,
                   "cannot load %s (apt-get install python3-sklearn): %s\n",
                   name.c_str(), e.what());
      return 77;  // "skipped" for CTest
    }
    std::printf(
        "\n%s: %ld train / %ld test samples, %ld features, %ld classes; "
        "%ld seeds\n\n| arm | linear probe accuracy (%%) |\n|---|---|\n",
        name.c_str(), t.train_x.size(0), t.test_x.size(0), t.train_x.size(1),
        t.classes, seeds);
    std::map<std::string, ssl::Spread> spreads;
    for (const std::string& arm : kArms) {
      std::vector<double> accuracies;
      for (int64_t k = 0; k < seeds; ++k) {
        const auto seed = static_cast<uint64_t>(std::stoll(f.at("seed")) + k);
        const double acc = run_arm(t, arm, seed, f);
        finite = finite && std::isfinite(acc);
        accuracies.push_back(acc);
        csv << name << "," << arm << "," << seed << "," << acc << "\n";
      }
      spreads[arm] = ssl::spread(accuracies);
      summary << name << "," << arm << "," << spreads[arm].mean << ","
              << spreads[arm].std << "," << seeds << "\n";
      std::printf("| %s | %s |\n", arm.c_str(),
                  ssl::format_spread(spreads[arm], 100, "%.2f").c_str());
      std::fflush(stdout);
    }
    for (const std::string& arm : {"noise", "rq", "rq_sample"}) {
      for (const std::string& other : {"raw", "random", "noise"}) {
        if (arm == other) continue;
        std::printf("  %-9s vs %-6s %+6.2f points, %s\n", arm.c_str(),
                    other.c_str(),
                    100 * (spreads[arm].mean - spreads[other].mean),
                    ssl::exceeds_spread(spreads[arm], spreads[other])
                        ? "exceeds the spread"
                        : "within the spread");
      }
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  std::printf("\ntotal %.0f s; %s\nresults: %s/results.csv, %s/summary.csv\n",
              secs, finite ? "all arms finite" : "NON-FINITE accuracy",
              out_dir.c_str(), out_dir.c_str());
  return finite ? 0 : 1;
}
