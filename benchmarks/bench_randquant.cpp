// randquant benchmarks: the fused CPU kernel against copies that pay the
// same allocation (a new output with fresh pages each call, or one buffer
// reused), in place and out=, the composite ATen path, a transcription of
// the authors' module, and a torch::data loader. Ends with a table of ratios
// from this run's timings.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <benchmark/benchmark.h>
#include <randquant/randquant.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "../tests/counting_allocator.h"
#include "bench_loader.h"
#include "bench_ops.h"
#include "reference_transcription.h"

namespace {

using randquant_bench::clone;
using randquant_bench::clone_advised;
using randquant_bench::composite;
using randquant_bench::copy_into;
using randquant_bench::fmt_time;
using randquant_bench::fused;
using randquant_bench::fused_out;
using randquant_bench::kSeed;
using randquant_bench::Op;
using randquant_bench::Shape;

// Cases whose warm-up call threw; left out of the ratio table.
std::set<std::string> g_failed;

// One input per (shape, dtype) for the whole run, built outside every timed
// loop and shared, so cases compare on identical data.
const at::Tensor& input(const Shape& shape, at::ScalarType dtype) {
  static std::map<std::pair<Shape, int>, at::Tensor> cache;
  at::Tensor& t = cache[{shape, static_cast<int>(dtype)}];
  if (!t.defined()) {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(kSeed);
    if (dtype == at::kByte) {
      t = at::randint(0, 256, shape, gen, at::TensorOptions(at::kByte));
    } else if (dtype == at::kFloat) {
      t = at::randn(shape, gen, at::TensorOptions(dtype));
    } else if (at::isFloatingType(dtype)) {  // half, bfloat16, double
      t = at::randn(shape, gen, at::TensorOptions(at::kFloat)).to(dtype);
    } else {  // signed integers: a range every one of them holds
      t = at::randint(-128, 128, shape, gen, at::TensorOptions(dtype));
    }
  }
  return t;
}

// Short dtype names for case names.
const char* dtype_tag(at::ScalarType dtype) {
  switch (dtype) {
    case at::kByte:
      return "u8";
    case at::kChar:
      return "i8";
    case at::kShort:
      return "i16";
    case at::kInt:
      return "i32";
    case at::kLong:
      return "i64";
    case at::kHalf:
      return "f16";
    case at::kBFloat16:
      return "bf16";
    case at::kDouble:
      return "f64";
    default:
      return "f32";
  }
}

std::string case_name(const char* op, at::ScalarType dtype, const Shape& shape,
                      int64_t regions = 0) {
  std::string s = std::string(op) + "/" + dtype_tag(dtype) + "/";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  return regions ? s + "/R" + std::to_string(regions) : s;
}

// Registers one case. iterations > 0 fixes the count (the slow composite and
// reference paths); otherwise the case runs for at least min_time seconds.
void add(const std::string& name, Shape shape, at::ScalarType dtype, Op op,
         benchmark::TimeUnit unit, int64_t iterations = 0,
         double min_time = 1.0) {
  auto* b =
      benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) {
        const at::Tensor& x = input(shape, dtype);
        at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(kSeed);
        try {  // Untimed warm-up: thread pool, allocator, page faults.
          at::Tensor out = op(x, gen);
          benchmark::DoNotOptimize(out);
        } catch (const std::exception& e) {
          g_failed.insert(name);
          state.SkipWithError(e.what());
          return;
        }
        for (auto _ : state) {
          at::Tensor out = op(x, gen);
          benchmark::DoNotOptimize(out);
        }
        const int64_t samples = shape.size() == 4 ? shape[0] : 1;
        state.SetItemsProcessed(state.iterations() * samples);
        state.SetBytesProcessed(state.iterations() *
                                static_cast<int64_t>(x.nbytes()));
      });
  b->Unit(unit)->UseRealTime();
  if (iterations > 0) {
    b->Iterations(iterations);
  } else {
    b->MinTime(min_time);
  }
}

// Registers the in-place case: each iteration quantizes a working copy of
// the input in place; refreshing the copy is not timed.
void add_inplace(const std::string& name, Shape shape, at::ScalarType dtype,
                 int64_t regions) {
  auto* b =
      benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) {
        const at::Tensor& x = input(shape, dtype);
        at::Tensor work = x.clone();
        at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(kSeed);
        const auto opts = randquant_bench::options(regions);
        randquant::randomized_quantize_(work, opts, gen);  // warm-up
        for (auto _ : state) {
          state.PauseTiming();
          work.copy_(x);
          state.ResumeTiming();
          randquant::randomized_quantize_(work, opts, gen);
          benchmark::DoNotOptimize(work);
        }
        state.SetItemsProcessed(state.iterations() * shape[0]);
      });
  b->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);
}

// Registers one arm of the loader benchmark: an iteration is one epoch.
void add_loader(const std::string& arm) {
  auto* b = benchmark::RegisterBenchmark(
      ("loader/" + arm).c_str(), [=](benchmark::State& state) {
        static const randquant_bench::InMemoryImages images(
            randquant_bench::kLoaderBatches * randquant_bench::kLoaderBatch);
        randquant_bench::loader_epoch(arm, images);  // warm-up
        for (auto _ : state) {
          benchmark::DoNotOptimize(randquant_bench::loader_epoch(arm, images));
        }
        state.SetItemsProcessed(state.iterations() *
                                randquant_bench::kLoaderBatches *
                                randquant_bench::kLoaderBatch);
      });
  b->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);
}

void register_all() {
  const Shape batch{64, 3, 224, 224}, small{8, 3, 224, 224},
      single{3, 224, 224};
  const auto ms = benchmark::kMillisecond, us = benchmark::kMicrosecond;
  for (at::ScalarType dt : {at::kFloat, at::kByte}) {
    add(case_name("clone", dt, batch), batch, dt, clone, ms);
    add(case_name("clone_advised", dt, batch), batch, dt, clone_advised, ms);
    add(case_name("copy_into", dt, batch), batch, dt, copy_into(), ms);
    for (int64_t r : {8, 256}) {
      add(case_name("fused", dt, batch, r), batch, dt, fused(r, true), ms);
      add(case_name("out", dt, batch, r), batch, dt, fused_out(r, true), ms);
      add_inplace(case_name("inplace", dt, batch, r), batch, dt, r);
      add(case_name("composite", dt, batch, r), batch, dt, composite(r), ms,
          /*iterations=*/3);
    }
  }
  for (at::ScalarType dt : {at::kFloat, at::kByte}) {
    add(case_name("clone", dt, single), single, dt, clone, us, 0, 0.5);
    for (int64_t r : {8, 256})
      add(case_name("fused", dt, single, r), single, dt, fused(r, false), us, 0,
          0.5);
  }
  const at::ScalarType f32 = at::kFloat;
  add(case_name("clone", f32, small), small, f32, clone, ms);
  add(case_name("fused", f32, small, 8), small, f32, fused(8, true), ms);
  add(
      case_name("reference", f32, small, 8), small, f32,
      [](const at::Tensor& x, at::Generator& g) {
        return randquant_bench::reference_randomized_quantize(x, 8, g);
      },
      ms, /*iterations=*/5);
  for (const char* arm : {"stack", "per-example", "batch"}) add_loader(arm);
}

// The sweeps that benchmarks/plot.sh draws (RANDQUANT_BENCH_SWEEPS=1): the
// fused op against clone() over R, over every dtype and over the batch size,
// each point a short run (0.3 s).
void register_sweeps() {
  const auto ms = benchmark::kMillisecond;
  // RANDQUANT_BENCH_SWEEP_SECONDS shortens the points (the plots' smoke test).
  const char* seconds = std::getenv("RANDQUANT_BENCH_SWEEP_SECONDS");
  const double t = seconds != nullptr ? std::atof(seconds) : 0.3;
  const Shape small{8, 3, 224, 224};
  add(case_name("sweep_r/clone", at::kFloat, small), small, at::kFloat, clone,
      ms, 0, t);
  for (int64_t r : {2, 4, 8, 16, 32, 64, 128, 256, 512, 1024})
    add(case_name("sweep_r/fused", at::kFloat, small, r), small, at::kFloat,
        fused(r, true), ms, 0, t);
  for (at::ScalarType dt :
       {at::kFloat, at::kDouble, at::kHalf, at::kBFloat16, at::kByte, at::kChar,
        at::kShort, at::kInt, at::kLong}) {
    add(case_name("sweep_dtype/clone", dt, small), small, dt, clone, ms, 0, t);
    for (int64_t r : {8, 256})
      add(case_name("sweep_dtype/fused", dt, small, r), small, dt,
          fused(r, true), ms, 0, t);
  }
  for (int64_t n : {1, 2, 4, 8, 16, 32, 64}) {
    const Shape shape{n, 3, 224, 224};
    add(case_name("sweep_batch/clone", at::kFloat, shape), shape, at::kFloat,
        clone, ms, 0, t);
    add(case_name("sweep_batch/fused", at::kFloat, shape, 8), shape, at::kFloat,
        fused(8, true), ms, 0, t);
  }
}

// The console output as usual, plus each case's mean real seconds per
// iteration (over repetitions) for the ratio table.
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  using benchmark::ConsoleReporter::ConsoleReporter;
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      const std::string& name = r.run_name.function_name;
      if (r.run_type != Run::RT_Iteration || r.iterations <= 0 ||
          g_failed.count(name))
        continue;
      auto& acc = sums_[name];
      acc.first += r.real_accumulated_time / static_cast<double>(r.iterations);
      acc.second += 1;
    }
    benchmark::ConsoleReporter::ReportRuns(runs);
  }
  // Seconds per iteration, or a negative value if the case did not run.
  double seconds(const std::string& name) const {
    const auto it = sums_.find(name);
    return it == sums_.end() ? -1.0 : it->second.first / it->second.second;
  }

 private:
  std::map<std::string, std::pair<double, int>> sums_;
};

void print_ratios(const CollectingReporter& rep) {
  std::printf("\nRatios (from this run; real time per iteration)\n");
  // num / den; `le` says whether the target is an upper (<=) or lower bound.
  auto ratio = [&](const std::string& label, const std::string& num,
                   const std::string& den, double target, bool le) {
    const double a = rep.seconds(num), b = rep.seconds(den);
    if (a < 0 || b < 0) {
      std::printf("  %-46s  n/a (%s or %s not run)\n", label.c_str(),
                  num.c_str(), den.c_str());
      return;
    }
    const double v = a / b;
    char tgt[48] = "(info)";
    if (target > 0)
      std::snprintf(tgt, sizeof tgt, "target %s %g  [%s]",
                    le ? "<=" : ">=", target,
                    (le ? v <= target : v >= target) ? "met" : "MISSED");
    std::printf("  %-46s %8.2fx  (%s / %s)  %s\n", label.c_str(), v,
                fmt_time(a).c_str(), fmt_time(b).c_str(), tgt);
  };
  const Shape batch{64, 3, 224, 224}, small{8, 3, 224, 224},
      single{3, 224, 224};
  for (at::ScalarType dt : {at::kFloat, at::kByte}) {
    const std::string t = dt == at::kByte ? "u8" : "f32";
    // Targets: float32 R8 1.3, R256 1.8; uint8 R8 1.5, R256 3.
    for (int64_t r : {8, 256}) {
      const double target =
          dt == at::kByte ? (r == 8 ? 1.5 : 3.0) : (r == 8 ? 1.3 : 1.8);
      const std::string rs = " R" + std::to_string(r);
      ratio("new output: fused/clone_advised " + t + rs,
            case_name("fused", dt, batch, r),
            case_name("clone_advised", dt, batch), target, true);
      ratio("new output: fused/clone " + t + rs,
            case_name("fused", dt, batch, r), case_name("clone", dt, batch),
            target, true);
      ratio("reused output: out=/copy_into " + t + rs,
            case_name("out", dt, batch, r), case_name("copy_into", dt, batch),
            target, true);
      ratio("in place/clone " + t + rs, case_name("inplace", dt, batch, r),
            case_name("clone", dt, batch), r == 8 && dt == at::kFloat ? 1.0 : 0,
            true);
      ratio("in place/copy_into " + t + rs, case_name("inplace", dt, batch, r),
            case_name("copy_into", dt, batch), 0.0, true);
    }
  }
  ratio("reference/fused f32 8x3x224x224 R8",
        case_name("reference", at::kFloat, small, 8),
        case_name("fused", at::kFloat, small, 8), 100.0, false);
  for (at::ScalarType dt : {at::kFloat, at::kByte})
    for (int64_t r : {8, 256})
      ratio(std::string("composite/fused ") + (dt == at::kByte ? "u8" : "f32") +
                " batch R" + std::to_string(r),
            case_name("composite", dt, batch, r),
            case_name("fused", dt, batch, r), 0.0, true);
  for (at::ScalarType dt : {at::kFloat, at::kByte})
    for (int64_t r : {8, 256}) {
      const std::string label = std::string("single-sample fused ") +
                                (dt == at::kByte ? "u8" : "f32") + " R" +
                                std::to_string(r);
      const double s = rep.seconds(case_name("fused", dt, single, r));
      if (s < 0) {
        std::printf("  %-46s  n/a (not run)\n", label.c_str());
        continue;
      }
      const bool targeted = dt == at::kFloat && r == 8;
      std::printf("  %-46s %8.0f samples/s  (1 sample / %s)%s\n", label.c_str(),
                  1.0 / s, fmt_time(s).c_str(),
                  !targeted          ? "  (info)"
                  : 1.0 / s >= 25000 ? "  target >= 25000  [met]"
                                     : "  target >= 25000  [MISSED]");
    }
  // Loader: images/s of each arm, and the throughput ratios.
  const double images = static_cast<double>(randquant_bench::kLoaderBatches *
                                            randquant_bench::kLoaderBatch);
  for (const char* arm : {"stack", "per-example", "batch"}) {
    const double s = rep.seconds(std::string("loader/") + arm);
    if (s > 0)
      std::printf("  %-46s %8.0f images/s  (epoch of %.0f images / %s)\n",
                  (std::string("loader ") + arm).c_str(), images / s, images,
                  fmt_time(s).c_str());
  }
  // Throughput ratio = inverse time ratio: report time(stack)/time(arm).
  ratio("loader throughput per-example / stack", "loader/stack",
        "loader/per-example", 0.85, false);
  ratio("loader throughput batch / per-example", "loader/per-example",
        "loader/batch", 1.0, false);
}

// Peak CPU-allocator bytes of one in-place call on the batch beyond what
// was live before it: the call's parameters, O(slices * R).
void print_inplace_memory() {
  std::printf("\nExtra memory of one in-place call (peak ATen allocation)\n");
  const Shape batch{64, 3, 224, 224};
  for (at::ScalarType dt : {at::kFloat, at::kByte}) {
    for (int64_t r : {8, 256}) {
      at::Tensor x = input(batch, dt).clone();
      at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(kSeed);
      int64_t extra = 0;
      {
        rq_test::CountingScope scope;
        scope.counter().reset_peak();
        const int64_t before = scope.counter().live();
        randquant::randomized_quantize_(x, randquant_bench::options(r), gen);
        extra = scope.counter().peak() - before;
      }
      std::printf("  %-46s %8.1f KB  (input %.1f MB, %lld slices)\n",
                  case_name("inplace", dt, batch, r).c_str(), extra / 1024.0,
                  static_cast<double>(x.nbytes()) / (1 << 20),
                  static_cast<long long>(batch[0] * batch[1]));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Fixed thread count so runs on different machines compare.
  at::set_num_threads(2);
  // Default: the allocator as users get it. glibc serves allocations above
  // its mmap threshold (a 64x3x224x224 float batch, 38 MB) with fresh pages,
  // so clone() and the fused op both pay page faults for their output.
  // RANDQUANT_BENCH_REUSE_PAGES=1 keeps freed memory in the heap instead,
  // which isolates compute from page faults (and shrinks clone() ~6x).
  const char* reuse = std::getenv("RANDQUANT_BENCH_REUSE_PAGES");
  const bool reuse_pages = reuse != nullptr && std::string(reuse) == "1";
#ifdef __GLIBC__
  if (reuse_pages) {
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  }
#endif
  std::printf("allocator: %s\n",
              reuse_pages ? "freed pages reused (RANDQUANT_BENCH_REUSE_PAGES=1)"
                          : "glibc default (fresh pages for large outputs)");
  std::printf("at::get_num_threads() = %d\n", at::get_num_threads());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_all();
  const char* sweeps = std::getenv("RANDQUANT_BENCH_SWEEPS");
  if (sweeps != nullptr && std::string(sweeps) == "1") register_sweeps();
  CollectingReporter reporter(isatty(STDOUT_FILENO)
                                  ? benchmark::ConsoleReporter::OO_Color
                                  : benchmark::ConsoleReporter::OO_None);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  print_ratios(reporter);
  print_inplace_memory();
  benchmark::Shutdown();
  return 0;
}
