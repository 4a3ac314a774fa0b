// randquant CUDA benchmark: the fused CUDA kernel (randomized_quantize on a
// CUDA tensor, CPU generator; once also with the key drawn on the device)
// against x.clone() (the floor: one read and one
// write), the composite ATen path and a device-aware ATen transcription of
// the authors' module. A plain main (no Google Benchmark): each case is timed
// by wall clock between torch::cuda::synchronize() calls over a loop of
// iterations; the median of 3 repetitions is reported. Ends with a table of
// ratios computed from this run.
//
// Usage: randquant_bench_cuda [--smoke] [--min-time=SECONDS] [--filter=TEXT]
//                             [--device=cuda|cpu]
//   --smoke       tiny shapes and short timings (a quick "does it run").
//   --device=cpu  run the same cases on the CPU (checks the harness on a
//                 machine without a GPU; timings there mean nothing here).
// Built only with the CUDA component (benchmarks/CMakeLists.txt).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <randquant/randquant.h>
#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "bench_ops.h"
#include "reference_transcription.h"

namespace {

using randquant_bench::clone;
using randquant_bench::composite;
using randquant_bench::fmt_time;
using randquant_bench::fused;
using randquant_bench::kSeed;
using randquant_bench::Op;
using randquant_bench::Shape;

struct Config {
  bool smoke = false;
  bool cuda = true;
  double min_time = 0.5;  // seconds per repetition
  std::string filter;
};
Config g_cfg;

/// Waits for the device's queued work (no-op on the CPU).
void sync() {
  if (g_cfg.cuda) torch::cuda::synchronize();
}

at::Device device() {
  return g_cfg.cuda ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
}

// One input per (shape, dtype), on the benchmark's device, built once.
const at::Tensor& input(const Shape& shape, at::ScalarType dtype) {
  static std::map<std::pair<Shape, int>, at::Tensor> cache;
  at::Tensor& t = cache[{shape, static_cast<int>(dtype)}];
  if (!t.defined()) {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(kSeed);
    t = at::randn(shape, gen, at::TensorOptions(at::kFloat))
            .to(dtype)
            .to(device());
  }
  return t;
}

const char* dtype_name(at::ScalarType dtype) {
  return dtype == at::kBFloat16 ? "bf16" : "f32";
}

std::string shape_name(const Shape& shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  return s;
}

std::string case_name(const char* op, at::ScalarType dtype, const Shape& shape,
                      int64_t regions = 0) {
  std::string s =
      std::string(op) + "/" + dtype_name(dtype) + "/" + shape_name(shape);
  return regions ? s + "/R" + std::to_string(regions) : s;
}

/// Seconds per iteration of each case that ran.
std::map<std::string, double> g_seconds;

/// Times op(x) and records the median seconds per iteration of 3
/// repetitions; prints one line. A case that throws (e.g. out of memory) is
/// reported and left out of the ratio table.
void run_case(const std::string& name, const Shape& shape, at::ScalarType dtype,
              const Op& op, int max_iters = 100000) {
  if (!g_cfg.filter.empty() && name.find(g_cfg.filter) == std::string::npos)
    return;
  try {
    const at::Tensor& x = input(shape, dtype);
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(kSeed);
    using clock = std::chrono::steady_clock;
    // Warm-up (allocator, kernels' first launch), then one timed call to
    // choose the iteration count.
    { at::Tensor out = op(x, gen); }
    sync();
    auto t0 = clock::now();
    { at::Tensor out = op(x, gen); }
    sync();
    const double once =
        std::chrono::duration<double>(clock::now() - t0).count();
    const int iters = static_cast<int>(std::max<double>(
        1.0,
        std::min<double>(max_iters, g_cfg.min_time / std::max(once, 1e-7))));
    std::vector<double> reps;
    for (int rep = 0; rep < 3; ++rep) {
      sync();
      t0 = clock::now();
      for (int i = 0; i < iters; ++i) {
        at::Tensor out = op(x, gen);
      }
      sync();
      reps.push_back(std::chrono::duration<double>(clock::now() - t0).count() /
                     iters);
    }
    std::sort(reps.begin(), reps.end());
    const double s = reps[1];
    g_seconds[name] = s;
    const double gbps = 2.0 * static_cast<double>(x.nbytes()) / s / 1e9;
    std::printf(
        "%-44s %10s/iter  %6d iters x 3  (%7.1f GB/s read+write of x)\n",
        name.c_str(), fmt_time(s).c_str(), iters, gbps);
  } catch (const std::exception& e) {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    std::printf("%-44s SKIPPED: %s\n", name.c_str(), what.c_str());
  }
  std::fflush(stdout);
}

/// The fused kernel without a generator: the key is drawn on the device
/// from the default generator of x's device (one more small launch; the
/// CUDA-graph-capturable way).
Op fused_default_generator(int64_t regions) {
  const auto opts = randquant::RandomizedQuantizationOptions(regions);
  return [opts](const at::Tensor& x, at::Generator&) {
    return randquant::randomized_quantize(x, opts);
  };
}

Op reference(int64_t regions) {
  return [regions](const at::Tensor& x, at::Generator&) {
    return randquant_bench::reference_randomized_quantize(x, regions);
  };
}

/// Untimed: fused and composite agree bit for bit on the benchmark input.
void check_fused_vs_composite(const Shape& shape, at::ScalarType dtype,
                              int64_t regions) {
  const std::string name =
      case_name("check fused==composite", dtype, shape, regions);
  if (!g_cfg.filter.empty() &&
      case_name("fused", dtype, shape, regions).find(g_cfg.filter) ==
          std::string::npos)
    return;
  try {
    const at::Tensor& x = input(shape, dtype);
    at::Generator g1 = at::make_generator<at::CPUGeneratorImpl>(kSeed + 1);
    at::Generator g2 = at::make_generator<at::CPUGeneratorImpl>(kSeed + 1);
    const auto o = randquant::RandomizedQuantizationOptions(regions);
    const at::Tensor a = randquant::randomized_quantize(x, o, g1);
    const at::Tensor b = randquant::randomized_quantize_composite(x, o, g2);
    const bool same = a.device() == x.device() && a.equal(b);
    std::printf("%-44s %s\n", name.c_str(), same ? "ok" : "MISMATCH");
  } catch (const std::exception& e) {
    std::string what = e.what();
    std::printf("%-44s SKIPPED: %s\n", name.c_str(),
                what.substr(0, what.find('\n')).c_str());
  }
}

struct Shapes {
  Shape batch, ref_small;
};

Shapes shapes() {
  if (g_cfg.smoke) return {{8, 3, 32, 32}, {2, 3, 32, 32}};
  // The reference at R = 256 would materialise a 256*3 x 256 x 224*224 mask
  // (9.9e9 elements; ~50 GB with its int copy): it runs on 8 samples only.
  return {{256, 3, 224, 224}, {8, 3, 224, 224}};
}

void run_all() {
  const Shapes sh = shapes();
  for (at::ScalarType dt : {at::kFloat, at::kBFloat16}) {
    for (int64_t r : {8, 256}) check_fused_vs_composite(sh.batch, dt, r);
  }
  for (at::ScalarType dt : {at::kFloat, at::kBFloat16}) {
    run_case(case_name("clone", dt, sh.batch), sh.batch, dt, clone);
    for (int64_t r : {8, 256})
      run_case(case_name("fused", dt, sh.batch, r), sh.batch, dt, fused(r));
    run_case(case_name("fused-default-gen", dt, sh.batch, 8), sh.batch, dt,
             fused_default_generator(8));
    for (int64_t r : {8, 256})
      run_case(case_name("composite", dt, sh.batch, r), sh.batch, dt,
               composite(r), 200);
    run_case(case_name("reference", dt, sh.batch, 8), sh.batch, dt,
             reference(8), 50);
    // R = 256: the reference on a smaller batch, fused on the same.
    run_case(case_name("fused", dt, sh.ref_small, 256), sh.ref_small, dt,
             fused(256));
    run_case(case_name("reference", dt, sh.ref_small, 256), sh.ref_small, dt,
             reference(256), 50);
  }
}

void print_ratios() {
  const Shapes sh = shapes();
  std::printf(
      "\nRatios (from this run; wall time per iteration between "
      "device syncs; median of 3 repetitions)\n");
  auto ratio = [&](const std::string& label, const std::string& num,
                   const std::string& den, double target, bool le) {
    const auto a = g_seconds.find(num), b = g_seconds.find(den);
    if (a == g_seconds.end() || b == g_seconds.end()) {
      std::printf("  %-38s      n/a  (%s or %s not run)\n", label.c_str(),
                  num.c_str(), den.c_str());
      return;
    }
    const double v = a->second / b->second;
    char tgt[48] = "(info)";
    if (target > 0)
      std::snprintf(tgt, sizeof tgt, "target %s %g  [%s]",
                    le ? "<=" : ">=", target,
                    (le ? v <= target : v >= target) ? "met" : "MISSED");
    std::printf("  %-38s %8.2fx  (%s / %s)  %s\n", label.c_str(), v,
                fmt_time(a->second).c_str(), fmt_time(b->second).c_str(), tgt);
  };
  const std::string b = shape_name(sh.batch), s = shape_name(sh.ref_small);
  for (at::ScalarType dt : {at::kFloat, at::kBFloat16}) {
    const std::string t = dtype_name(dt);
    for (int64_t r : {8, 256})
      ratio("fused/clone " + t + " " + b + " R" + std::to_string(r),
            case_name("fused", dt, sh.batch, r),
            case_name("clone", dt, sh.batch), 1.3, true);
    ratio("fused default gen/CPU gen " + t + " " + b + " R8",
          case_name("fused-default-gen", dt, sh.batch, 8),
          case_name("fused", dt, sh.batch, 8), 0.0, true);
    ratio("reference/fused " + t + " " + b + " R8",
          case_name("reference", dt, sh.batch, 8),
          case_name("fused", dt, sh.batch, 8), 100.0, false);
    ratio("reference/fused " + t + " " + s + " R256",
          case_name("reference", dt, sh.ref_small, 256),
          case_name("fused", dt, sh.ref_small, 256), 100.0, false);
    for (int64_t r : {8, 256})
      ratio("composite/fused " + t + " " + b + " R" + std::to_string(r),
            case_name("composite", dt, sh.batch, r),
            case_name("fused", dt, sh.batch, r), 0.0, true);
    ratio("R256/R8 fused " + t + " " + b, case_name("fused", dt, sh.batch, 256),
          case_name("fused", dt, sh.batch, 8), 0.0, true);
  }
  std::printf(
      "  (the reference at R256 runs on %s only: its slices x R x "
      "elements mask at 256x3x224x224 would need ~50 GB)\n",
      s.c_str());
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--smoke") {
      g_cfg.smoke = true;
      g_cfg.min_time = 0.01;
    } else if (starts_with(a, "--min-time=")) {
      g_cfg.min_time = std::atof(a.c_str() + 11);
    } else if (starts_with(a, "--filter=")) {
      g_cfg.filter = a.substr(9);
    } else if (a == "--device=cpu") {
      g_cfg.cuda = false;
    } else if (a == "--device=cuda") {
      g_cfg.cuda = true;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--smoke] [--min-time=SECONDS] [--filter=TEXT] "
                   "[--device=cuda|cpu]\n",
                   argv[0]);
      return 2;
    }
  }
  if (g_cfg.cuda && !torch::cuda::is_available()) {
    std::printf("randquant_bench_cuda: no CUDA device; nothing to benchmark\n");
    return 0;
  }
  std::printf(
      "device: %s; CUDA path: %s\n", device().str().c_str(),
      !g_cfg.cuda ? "n/a (CPU run)"
      : randquant::detail::registered_backend(c10::DeviceType::CUDA) != nullptr
          ? "fused kernel (randquant::cuda)"
          : "composite fallback (randquant::cuda NOT linked)");
  std::printf("timing: >= %.3g s per repetition, median of 3; inputs %s\n",
              g_cfg.min_time, g_cfg.smoke ? "tiny (--smoke)" : "full size");
  std::fflush(stdout);
  const auto t0 = std::chrono::steady_clock::now();
  run_all();
  print_ratios();
  std::printf("total %.1f s\n", std::chrono::duration<double>(
                                    std::chrono::steady_clock::now() - t0)
                                    .count());
  return 0;
}
