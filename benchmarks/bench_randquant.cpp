// randquant benchmarks: the fused CPU kernel against x.clone() (the floor: one
// read and one write), the composite ATen path and a transcription of the
// authors' module. Ends with a table of ratios from this run's timings.
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

// Cases whose warm-up call threw; left out of the ratio table.
std::set<std::string> g_failed;

// One input per (shape, dtype) for the whole run, built outside every timed
// loop and shared, so cases compare on identical data.
const at::Tensor& input(const Shape& shape, at::ScalarType dtype) {
  static std::map<std::pair<Shape, int>, at::Tensor> cache;
  at::Tensor& t = cache[{shape, static_cast<int>(dtype)}];
  if (!t.defined()) {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(kSeed);
    t = dtype == at::kByte
            ? at::randint(0, 256, shape, gen, at::TensorOptions(at::kByte))
            : at::randn(shape, gen, at::TensorOptions(dtype));
  }
  return t;
}

std::string case_name(const char* op, at::ScalarType dtype, const Shape& shape,
                      int64_t regions = 0) {
  std::string s = std::string(op) + (dtype == at::kByte ? "/u8/" : "/f32/");
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

void register_all() {
  const Shape batch{64, 3, 224, 224}, small{8, 3, 224, 224},
      single{3, 224, 224};
  const auto ms = benchmark::kMillisecond, us = benchmark::kMicrosecond;
  for (at::ScalarType dt : {at::kFloat, at::kByte}) {
    add(case_name("clone", dt, batch), batch, dt, clone, ms);
    for (int64_t r : {8, 256}) {
      add(case_name("fused", dt, batch, r), batch, dt, fused(r, true), ms);
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
      std::printf("  %-40s  n/a (%s or %s not run)\n", label.c_str(),
                  num.c_str(), den.c_str());
      return;
    }
    const double v = a / b;
    char tgt[48] = "(info)";
    if (target > 0)
      std::snprintf(tgt, sizeof tgt, "target %s %g  [%s]",
                    le ? "<=" : ">=", target,
                    (le ? v <= target : v >= target) ? "met" : "MISSED");
    std::printf("  %-40s %8.2fx  (%s / %s)  %s\n", label.c_str(), v,
                fmt_time(a).c_str(), fmt_time(b).c_str(), tgt);
  };
  const Shape batch{64, 3, 224, 224}, small{8, 3, 224, 224},
      single{3, 224, 224};
  for (at::ScalarType dt : {at::kFloat, at::kByte}) {
    const char* t = dt == at::kByte ? "u8" : "f32";
    for (int64_t r : {8, 256})
      ratio(std::string("fused/clone ") + t + " batch R" + std::to_string(r),
            case_name("fused", dt, batch, r), case_name("clone", dt, batch),
            2.0, true);
  }
  for (at::ScalarType dt : {at::kFloat, at::kByte})
    ratio(std::string("R256/R8 fused ") + (dt == at::kByte ? "u8" : "f32") +
              " batch",
          case_name("fused", dt, batch, 256), case_name("fused", dt, batch, 8),
          1.5, true);
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
        std::printf("  %-40s  n/a (not run)\n", label.c_str());
        continue;
      }
      std::printf(
          "  %-40s %8.0f samples/s  (1 sample / %s)  target >= 10000"
          "%s\n",
          label.c_str(), 1.0 / s, fmt_time(s).c_str(),
          1.0 / s >= 10000 ? "  [met]" : "  [MISSED]");
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
  CollectingReporter reporter(isatty(STDOUT_FILENO)
                                  ? benchmark::ConsoleReporter::OO_Color
                                  : benchmark::ConsoleReporter::OO_None);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  print_ratios(reporter);
  benchmark::Shutdown();
  return 0;
}
