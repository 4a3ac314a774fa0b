// Does Randomized Quantization teach an encoder? A miniature, honest version
// of the paper's central experiment on Fashion-MNIST: SimCLR (NT-Xent) with
// two views per image made by each arm's augmentation inside the forward
// pass, then a linear probe on frozen features. Every arm gets the same
// encoder initialisation, data, steps and hyper-parameters.
//
// With --seeds K every arm runs under K seeds (seed, seed+1, ...): encoder
// initialisation, data order, augmentation draws and probe all follow the
// seed, and the report gives mean ± std per arm.
//
// Usage: ssl_fashion_mnist [--epochs 3] [--steps N] [--batch-size 256]
//   [--threads 2] [--device cpu|cuda] [--seed 0] [--seeds 1] [--regions 8]
//   [--data-dir /usr/share/datasets/fashion-mnist] [--out-dir ssl_results]
//   [--train-images 20000] [--test-images 10000] [--probe-epochs 10]
//   [--noise-std 0.25] [--temperature 0.5] [--lr 0.001]
//   [--arms random_init,noise,rq,crop_flip,crop_flip_rq,rq_feature]
//   [--views module|keyed]
//
// --views keyed makes the rq arm's two views in the data pipeline
// (randquant::data::KeyedRandomizedViews: view v of image i keyed by seed,
// epoch, i and v) instead of two calls of the module in the forward pass;
// the recorded results use the default, module.
#include <randquant/randquant.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "data.h"
#include "model.h"
#include "probe.h"
#include "report.h"
#include "views.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// --name value pairs; unknown names are an error.
struct Flags {
  std::map<std::string, std::string> values = {
      {"epochs", "3"},
      {"steps", "0"},
      {"batch-size", "256"},
      {"threads", "2"},
      {"device", "cpu"},
      {"seed", "0"},
      {"seeds", "1"},
      {"regions", "8"},
      {"data-dir", "/usr/share/datasets/fashion-mnist"},
      {"out-dir", "ssl_results"},
      {"train-images", "20000"},
      {"test-images", "10000"},
      {"probe-epochs", "10"},
      {"noise-std", "0.25"},
      {"temperature", "0.5"},
      {"lr", "0.001"},
      {"arms", "random_init,noise,rq,crop_flip,crop_flip_rq,rq_feature"},
      {"views", "module"}};
  Flags(int argc, char** argv) {
    for (int i = 1; i < argc; i += 2) {
      const std::string name = std::string(argv[i]).substr(2);
      if (std::string(argv[i]).rfind("--", 0) != 0 || !values.count(name) ||
          i + 1 >= argc) {
        std::fprintf(stderr,
                     "bad argument %s (see the usage at the top of main.cpp)\n",
                     argv[i]);
        std::exit(2);
      }
      values[name] = argv[i + 1];
    }
  }
  std::string str(const std::string& k) const { return values.at(k); }
  int64_t integer(const std::string& k) const {
    return std::stoll(values.at(k));
  }
  double real(const std::string& k) const { return std::stod(values.at(k)); }
};

std::vector<ssl::Arm> parse_arms(const std::string& list) {
  std::vector<ssl::Arm> arms;
  std::stringstream ss(list);
  for (std::string key; std::getline(ss, key, ',');) {
    bool found = false;
    for (ssl::Arm a :
         {ssl::Arm::RandomInit, ssl::Arm::Noise, ssl::Arm::RQ,
          ssl::Arm::CropFlip, ssl::Arm::CropFlipRQ, ssl::Arm::RQFeature}) {
      if (ssl::arm_key(a) == key) arms.push_back(a), found = true;
    }
    if (!found) {
      std::fprintf(stderr, "unknown arm %s\n", key.c_str());
      std::exit(2);
    }
  }
  return arms;
}

/// Progress over all (seed, arm) runs, for the ETA.
struct Progress {
  int64_t runs_left = 0;  // trained arms × seeds not finished yet
};

/// What one (arm, seed) run needs.
struct Run {
  ssl::Arm arm;
  uint64_t seed;
  int64_t total_steps, steps_per_epoch, batch;
  torch::Device device;
};

/// Trains the encoder of `run` with NT-Xent (nothing for random-init);
/// returns the last epoch's mean loss (NaN when untrained).
double train(const Run& run, ssl::Encoder& encoder, ssl::Projection& head,
             ssl::ViewMaker& views, const torch::Tensor& images,
             const Flags& flags, ssl::Report& report, Progress& progress) {
  if (run.arm == ssl::Arm::RandomInit) return std::nan("");
  std::vector<torch::Tensor> params = encoder->parameters();
  for (auto& p : head->parameters()) params.push_back(p);
  torch::optim::Adam opt(params, torch::optim::AdamOptions(flags.real("lr")));
  const int64_t n = images.size(0), batch = run.batch;
  double epoch_loss = 0, final_loss = std::nan("");
  int64_t epoch_steps = 0;
  const bool keyed = run.arm == ssl::Arm::RQ && flags.str("views") == "keyed";
  ssl::KeyedViews keyed_views(images, flags.integer("regions"), run.seed + 1);
  torch::Tensor order = torch::randperm(n);
  auto t_epoch = Clock::now();
  for (int64_t step = 0; step < run.total_steps; ++step) {
    const int64_t pos = (step % run.steps_per_epoch) * batch;
    if (step > 0 && pos == 0) order = torch::randperm(n);
    const torch::Tensor indices =
        order.narrow(0, pos, std::min(batch, n - pos));
    torch::Tensor first, second;
    if (keyed) {
      const torch::Tensor pair =
          keyed_views
              .get(indices, static_cast<uint64_t>(step / run.steps_per_epoch))
              .to(run.device);
      first = pair.select(1, 0);
      second = pair.select(1, 1);
    } else {
      const torch::Tensor x = images.index_select(0, indices).to(run.device);
      first = views(x);
      second = views(x);
    }
    opt.zero_grad();
    const torch::Tensor loss = ssl::nt_xent(
        head(encoder(first)), head(encoder(second)), flags.real("temperature"));
    loss.backward();
    opt.step();
    const double l = loss.item<double>();
    report.add_loss(run.arm, run.seed, step, l);
    epoch_loss += l;
    ++epoch_steps;
    if ((step + 1) % run.steps_per_epoch == 0 || step + 1 == run.total_steps) {
      const double secs = seconds_since(t_epoch);
      const double eta =
          secs / epoch_steps *
          ((run.total_steps - step - 1) +
           run.total_steps * static_cast<double>(progress.runs_left - 1));
      std::printf(
          "  [%s] epoch %ld/%ld  loss %.4f  %.0f img/s  ETA %.0f s\n",
          ssl::arm_key(run.arm).c_str(), step / run.steps_per_epoch + 1,
          (run.total_steps + run.steps_per_epoch - 1) / run.steps_per_epoch,
          epoch_loss / epoch_steps, 2.0 * epoch_steps * batch / secs, eta);
      std::fflush(stdout);
      final_loss = epoch_loss / epoch_steps;
      epoch_loss = 0;
      epoch_steps = 0;
      t_epoch = Clock::now();
    }
  }
  --progress.runs_left;
  return final_loss;
}

}  // namespace

int main(int argc, char** argv) {
  const Flags flags(argc, argv);
  at::set_num_threads(static_cast<int>(flags.integer("threads")));
  const torch::Device device(flags.str("device"));
  const std::string out_dir = flags.str("out-dir");
  std::filesystem::create_directories(out_dir);
  const auto t_start = Clock::now();

  ssl::FashionMnist data;
  try {
    data = ssl::load_fashion_mnist(
        flags.str("data-dir"), out_dir + "/fashion-mnist",
        flags.integer("train-images"), flags.integer("test-images"));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cannot load Fashion-MNIST: %s\n", e.what());
    return 77;  // "skipped" for CTest
  }
  const int64_t n = data.train.images.size(0),
                batch = flags.integer("batch-size"),
                seeds = flags.integer("seeds");
  if (seeds < 1) {
    std::fprintf(stderr, "--seeds must be at least 1, got %ld\n", seeds);
    return 2;
  }
  const int64_t steps_per_epoch = std::max<int64_t>(1, n / batch);
  const int64_t total_steps = flags.integer("steps") > 0
                                  ? flags.integer("steps")
                                  : flags.integer("epochs") * steps_per_epoch;
  const std::vector<ssl::Arm> arms = parse_arms(flags.str("arms"));
  if (flags.str("views") != "module" && flags.str("views") != "keyed") {
    std::fprintf(stderr, "--views must be module or keyed, got %s\n",
                 flags.str("views").c_str());
    return 2;
  }
  std::printf(
      "Fashion-MNIST: %ld train / %ld test images; %ld steps of batch %ld per "
      "arm; %ld seed(s); %d threads; device %s\n",
      n, data.test.images.size(0), total_steps, batch, seeds,
      at::get_num_threads(), device.str().c_str());

  ssl::Report report(out_dir);
  Progress progress;
  for (ssl::Arm arm : arms) progress.runs_left += arm != ssl::Arm::RandomInit;
  progress.runs_left *= seeds;
  for (int64_t k = 0; k < seeds; ++k) {
    const auto seed = static_cast<uint64_t>(flags.integer("seed") + k);
    if (seeds > 1) std::printf("seed %llu\n", (unsigned long long)seed);
    for (ssl::Arm arm : arms) {
      const auto t_arm = Clock::now();
      const Run run{arm, seed, total_steps, steps_per_epoch, batch, device};
      // The same initialisation and data order for every arm of a seed: the
      // global generator is reset before the encoder is made and draws
      // nothing else until training starts.
      torch::manual_seed(seed);
      randquant::RandomizedQuantization feature_rq{nullptr};
      if (arm == ssl::Arm::RQFeature) {
        feature_rq = randquant::RandomizedQuantization(
            randquant::RandomizedQuantizationOptions(flags.integer("regions"))
                .straight_through(true));
        feature_rq->set_generator(
            at::make_generator<at::CPUGeneratorImpl>(seed + 2));
      }
      ssl::Encoder encoder(feature_rq);
      ssl::Projection head;
      ssl::ViewMaker views(arm, flags.integer("regions"),
                           flags.real("noise-std"), seed + 1);
      encoder->to(device);
      head->to(device);
      const double final_loss =
          train(run, encoder, head, views, data.train.images, flags, report,
                progress);
      const double train_seconds = seconds_since(t_arm);
      const auto t_probe = Clock::now();
      torch::manual_seed(seed + 7);
      const double accuracy = ssl::linear_probe(
          ssl::features(encoder, data.train.images, device), data.train.labels,
          ssl::features(encoder, data.test.images, device), data.test.labels,
          flags.integer("probe-epochs"));
      report.add_result(arm, seed, final_loss, accuracy, train_seconds,
                        seconds_since(t_probe));
      std::printf("%-26s linear probe %.2f %%  (%.0f s)\n",
                  ssl::arm_name(arm).c_str(), 100 * accuracy,
                  seconds_since(t_arm));
      std::fflush(stdout);
    }
  }
  const bool finite = report.write_and_print(seconds_since(t_start));
  return finite ? 0 : 1;
}
