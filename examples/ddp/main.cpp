// Data-parallel training on several processes with LibTorch's c10d (Gloo),
// each rank loading its shard through randquant's keyed dataset adaptor.
// Every sample's augmentation is a pure function of (seed, epoch, sample
// index), so the run checks, at every step, that:
//   (a) the ranks load disjoint shards and their augmented samples differ;
//   (b) the augmented samples of the global step, gathered from the ranks,
//       equal bit for bit what one process produces for the same indices;
//   (c) after the last step the parameters are identical on every rank.
//
// Usage: ddp_train [--nproc 2] [--workers 2] [--batch-size 32] [--epochs 2]
//   [--images 512] [--seed 7] [--regions 8] [--store /tmp/randquant-ddp-store]
// Without --rank it starts --nproc ranks on this machine and waits for them.
#include <randquant/randquant.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "data.h"
#include "launch.h"
#include "process_group.h"

namespace {

/// --name value pairs; unknown names are an error.
std::map<std::string, std::string> parse_flags(int argc, char** argv) {
  std::map<std::string, std::string> flags = {
      {"nproc", "2"},
      {"workers", "2"},
      {"batch-size", "32"},
      {"epochs", "2"},
      {"images", "512"},
      {"seed", "7"},
      {"regions", "8"},
      {"rank", ""},
      {"store", "/tmp/randquant-ddp-store-" + std::to_string(getpid())}};
  for (int i = 1; i < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || !flags.count(arg.substr(2)) ||
        i + 1 >= argc) {
      std::fprintf(stderr, "bad argument %s (see the top of main.cpp)\n",
                   argv[i]);
      std::exit(2);
    }
    flags[arg.substr(2)] = argv[i + 1];
  }
  return flags;
}

/// The classifier every rank trains: one convolution and a linear layer.
struct NetImpl : torch::nn::Module {
  NetImpl()
      : conv(register_module(
            "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 8, 3)))),
        fc(register_module("fc", torch::nn::Linear(8 * 14 * 14, 10))) {}
  at::Tensor forward(const at::Tensor& x) {
    return fc(torch::relu(conv(x)).flatten(1));
  }
  torch::nn::Conv2d conv;
  torch::nn::Linear fc;
};
TORCH_MODULE(Net);

struct Counts {
  int steps = 0, distinct = 0, equal = 0;
};

/// One rank's whole run; returns its exit code.
int run_rank(const std::map<std::string, std::string>& flags) {
  const int rank = std::stoi(flags.at("rank"));
  const int world = std::stoi(flags.at("nproc"));
  const int64_t batch = std::stoll(flags.at("batch-size"));
  const uint64_t seed = std::stoull(flags.at("seed"));
  // The ranks share the machine's cores.
  torch::set_num_threads(std::max<int>(
      1, static_cast<int>(std::thread::hardware_concurrency()) / world));
  auto group = ddp::make_gloo_group(flags.at("store"), rank, world);

  ddp::SyntheticImages images(std::stoll(flags.at("images")), seed);
  const auto options =
      randquant::RandomizedQuantizationOptions(std::stoll(flags.at("regions")));
  // What each rank loads from, and what rank 0 checks against: the same
  // adaptor in this one process, called on a whole global batch at once.
  randquant::data::KeyedRandomizedQuantization<ddp::SyntheticImages> dataset(
      images, options, seed);
  randquant::data::KeyedRandomizedQuantization<ddp::SyntheticImages> reference(
      images, options, seed);

  torch::manual_seed(seed + 1000 * rank);  // broadcast makes the ranks agree
  Net net;
  ddp::broadcast_parameters(*group, *net);
  torch::optim::SGD optimizer(net->parameters(), 0.05);

  Counts counts;
  for (uint64_t epoch = 0; epoch < std::stoull(flags.at("epochs")); ++epoch) {
    dataset.set_epoch(epoch);  // the loader's copies of the dataset follow
    reference.set_epoch(epoch);
    torch::data::samplers::DistributedRandomSampler sampler(
        *images.size(), world, rank, /*allow_duplicates=*/true);
    sampler.set_epoch(epoch);
    // The loader serves batches in sampler order, so a second sampler with
    // the same epoch names the global indices of every batch it serves.
    torch::data::samplers::DistributedRandomSampler mirror = sampler;
    mirror.reset();
    auto loader = torch::data::make_data_loader(
        dataset, std::move(sampler),
        torch::data::DataLoaderOptions().batch_size(batch).workers(
            std::stoll(flags.at("workers"))));
    for (auto& example : *loader) {
      const auto indices = *mirror.next(batch);
      const at::Tensor local_index = at::tensor(
          std::vector<int64_t>(indices.begin(), indices.end()), at::kLong);

      // (a), (b): gather the step's indices and augmented samples.
      const at::Tensor index = ddp::all_gather_cat(*group, local_index, world);
      const at::Tensor data = ddp::all_gather_cat(*group, example.data, world);
      if (rank == 0) {
        const auto per_rank = data.chunk(world);
        bool distinct =
            std::get<0>(at::_unique(index)).numel() == index.numel();
        for (int r = 1; r < world; ++r)
          distinct = distinct && !at::equal(per_rank[0], per_rank[r]);
        const int64_t* first = index.data_ptr<int64_t>();
        const std::vector<size_t> global(first, first + index.numel());
        const at::Tensor one_process = reference.get_batch(global).data;
        const at::Tensor source =
            at::stack({images.get(global[0]).data, images.get(global[1]).data});
        // Guards against a vacuous (b): the augmentation did change the data.
        const bool augmented = !at::equal(one_process.slice(0, 0, 2), source);
        counts.distinct += distinct;
        counts.equal += augmented && at::equal(one_process, data);
      }

      optimizer.zero_grad();
      const at::Tensor loss = torch::nn::functional::cross_entropy(
          net(example.data), example.target);
      loss.backward();
      ddp::average_gradients(*group, *net, world);
      optimizer.step();
      std::vector<at::Tensor> mean_loss{loss.detach().clone()};
      group->allreduce(mean_loss)->wait();
      if (rank == 0 && counts.steps % 4 == 0)
        std::printf("epoch %llu step %d: loss %.4f\n",
                    static_cast<unsigned long long>(epoch), counts.steps,
                    mean_loss[0].item<double>() / world);
      ++counts.steps;
    }
  }

  // (c): every rank's parameters, gathered and compared with rank 0's.
  const at::Tensor params = ddp::all_gather_cat(
      *group, ddp::flat_parameters(*net).unsqueeze(0), world);
  if (rank != 0) return 0;
  bool identical = true;
  for (int r = 1; r < world; ++r)
    identical = identical && at::equal(params[0], params[r]);
  std::printf(
      "(a) ranks' augmented samples differ: %d of %d steps\n"
      "(b) gathered samples equal one process's, bit for bit: %d of %d steps\n"
      "(c) parameters identical on all %d ranks after %d steps: %s\n",
      counts.distinct, counts.steps, counts.equal, counts.steps, world,
      counts.steps, identical ? "yes" : "no");
  const bool ok = counts.steps > 0 && counts.distinct == counts.steps &&
                  counts.equal == counts.steps && identical;
  std::printf(ok ? "ddp: all checks passed\n" : "ddp: a check FAILED\n");
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const auto flags = parse_flags(argc, argv);
  if (!flags.at("rank").empty()) return run_rank(flags);
  // The launcher: a fresh store file, then one process per rank.
  std::filesystem::remove(flags.at("store"));
  std::vector<std::string> args(argv, argv + argc);
  if (!std::count(args.begin(), args.end(), "--store")) {
    args.push_back("--store");
    args.push_back(flags.at("store"));
  }
  std::printf("starting %s ranks (Gloo, FileStore %s)\n",
              flags.at("nproc").c_str(), flags.at("store").c_str());
  std::fflush(stdout);
  const int rc = ddp::launch_ranks(args, std::stoi(flags.at("nproc")));
  std::filesystem::remove(flags.at("store"));
  return rc;
}
