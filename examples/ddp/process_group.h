#pragma once
// The c10d side of the example: a Gloo process group over a FileStore, and
// the three collectives data-parallel training needs (broadcast the initial
// parameters, average the gradients, gather tensors for the checks).
#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace ddp {

/// A Gloo group of `world_size` processes on this machine, meeting in the
/// file `store_path` (which must not exist before the run starts).
inline c10::intrusive_ptr<c10d::ProcessGroupGloo> make_gloo_group(
    const std::string& store_path, int rank, int world_size) {
  auto store = c10::make_intrusive<c10d::FileStore>(store_path, world_size);
  // A short timeout: a rank whose peer died fails within a minute.
  auto options =
      c10d::ProcessGroupGloo::Options::create(std::chrono::seconds(60));
  // Loopback: the ranks share one machine. Across machines, use
  // createDeviceForInterface with the interface that reaches the peers.
  options->devices.push_back(
      c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world_size,
                                                     options);
}

/// Rank 0's parameters on every rank (what DistributedDataParallel does at
/// construction), so no rank depends on having drawn the same init.
inline void broadcast_parameters(c10d::ProcessGroupGloo& group,
                                 torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (auto& p : model.parameters()) {
    std::vector<at::Tensor> tensors{p.data()};
    group.broadcast(tensors)->wait();
  }
}

/// Sums every gradient over the ranks and divides by their number: each
/// rank then steps with the gradient of the global batch's mean loss.
inline void average_gradients(c10d::ProcessGroupGloo& group,
                              torch::nn::Module& model, int world_size) {
  for (auto& p : model.parameters()) {
    std::vector<at::Tensor> tensors{p.grad()};
    group.allreduce(tensors)->wait();
    p.grad().div_(world_size);
  }
}

/// Every rank's `t` (same shape on all ranks), concatenated along dim 0 in
/// rank order; every rank gets the result.
inline at::Tensor all_gather_cat(c10d::ProcessGroupGloo& group,
                                 const at::Tensor& t, int world_size) {
  std::vector<at::Tensor> inputs{t.contiguous()};
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int r = 0; r < world_size; ++r)
    outputs[0].push_back(at::empty_like(inputs[0]));
  group.allgather(outputs, inputs)->wait();
  return at::cat(outputs[0], 0);
}

/// All parameters of `model` flattened into one vector.
inline at::Tensor flat_parameters(torch::nn::Module& model) {
  std::vector<at::Tensor> flat;
  for (auto& p : model.parameters()) flat.push_back(p.detach().reshape(-1));
  return at::cat(flat);
}

}  // namespace ddp
