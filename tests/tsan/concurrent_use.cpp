// ThreadSanitizer check (scripts/check-sanitizers.sh): several threads call
// randquant::randomized_quantize and one shared RandomizedQuantization module
// at the same time, on one shared input.
//   Phase 1: every call draws from one shared at::Generator (the function's
//            argument and the module's set_generator()).
//   Phase 2: each thread has its own generator; the shared module draws from
//            the default CPU generator.
// Every output is checked (shape, dtype, bounds, at most R distinct values
// per slice); phase 1's outputs must be pairwise different (every call takes
// its own key), phase 2's must equal a sequential replay with the same seeds.
//
// at::set_num_threads(1): ATen's parallel_for then runs its body in the
// calling thread, so every thread that touches randquant's data is one of
// ours. LibTorch 1.13 parallelises with libgomp, which is not built with
// TSan: its thread pool hands work over through futexes and atomics TSan
// cannot see, so accesses made by OpenMP workers could be reported as races
// with no real cause (or real ones missed). ATen's threads are covered by
// the ASan run and by the unit tests instead.
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <randquant/randquant.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int kThreads = 4;
constexpr int kIterations = 6;
constexpr int64_t kRegions = 6;

std::mutex failures_mutex;
std::vector<std::string> failures;

void fail(const std::string& why) {
  std::lock_guard<std::mutex> lock(failures_mutex);
  failures.push_back(why);
}

/// Inputs every thread shares: float32 (N, C, H, W), the same in
/// channels-last, and uint8 images.
struct Inputs {
  at::Tensor f32;
  at::Tensor channels_last;
  at::Tensor u8;
};

Inputs make_inputs() {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(123);
  Inputs in;
  in.f32 = at::randn({4, 3, 16, 20}, g);
  in.channels_last = in.f32.contiguous(at::MemoryFormat::ChannelsLast);
  in.u8 = at::randint(0, 256, {4, 3, 16, 20}, g,
                      at::TensorOptions().dtype(at::kByte));
  return in;
}

/// Checks y = randomized_quantize(x) with R = kRegions, batched, channels at
/// dim 1: shape and dtype, every slice inside its [min, max], at most R
/// distinct values per slice. Returns "" or what is wrong.
std::string check_output(const at::Tensor& x, const at::Tensor& y) {
  std::ostringstream why;
  if (y.sizes() != x.sizes() || y.scalar_type() != x.scalar_type()) {
    why << "output shape/dtype " << y.sizes() << "/" << y.scalar_type()
        << " for input " << x.sizes() << "/" << x.scalar_type();
    return why.str();
  }
  const int64_t slices = x.size(0) * x.size(1);
  const at::Tensor xs = x.to(at::kDouble).reshape({slices, -1}).contiguous();
  const at::Tensor ys = y.to(at::kDouble).reshape({slices, -1}).contiguous();
  const int64_t m = xs.size(1);
  const double* xp = xs.data_ptr<double>();
  const double* yp = ys.data_ptr<double>();
  for (int64_t s = 0; s < slices; ++s) {
    double lo = xp[s * m], hi = xp[s * m];
    for (int64_t i = 0; i < m; ++i) {
      lo = std::min(lo, xp[s * m + i]);
      hi = std::max(hi, xp[s * m + i]);
    }
    std::set<double> distinct;
    for (int64_t i = 0; i < m; ++i) {
      const double v = yp[s * m + i];
      if (!(v >= lo && v <= hi)) {
        why << "slice " << s << ": " << v << " outside [" << lo << ", " << hi
            << "]";
        return why.str();
      }
      distinct.insert(v);
    }
    if (static_cast<int64_t>(distinct.size()) > kRegions) {
      why << "slice " << s << ": " << distinct.size()
          << " distinct values for R = " << kRegions;
      return why.str();
    }
  }
  return "";
}

bool same_bits(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor ac = a.contiguous(), bc = b.contiguous();
  return ac.sizes() == bc.sizes() && ac.scalar_type() == bc.scalar_type() &&
         std::memcmp(ac.data_ptr(), bc.data_ptr(), ac.nbytes()) == 0;
}

/// What one thread produced in one phase.
struct ThreadOutputs {
  std::vector<at::Tensor> function;  ///< randomized_quantize(f32), in order
  std::vector<at::Tensor> module;    ///< module(f32), in order
};

/// The calls of one thread: the function on the three inputs, the module on
/// float32. `gen` is the generator for the function calls.
void worker(int id, const Inputs& in, randquant::RandomizedQuantization rq,
            at::Generator gen, ThreadOutputs* out) {
  if (at::get_num_threads() != 1) {
    fail("thread " + std::to_string(id) +
         ": at::get_num_threads() = " + std::to_string(at::get_num_threads()));
  }
  const auto options = randquant::RandomizedQuantizationOptions(kRegions);
  for (int it = 0; it < kIterations; ++it) {
    const at::Tensor a = randquant::randomized_quantize(in.f32, options, gen);
    const at::Tensor b =
        randquant::randomized_quantize(in.channels_last, options, gen);
    const at::Tensor c = randquant::randomized_quantize(in.u8, options, gen);
    const at::Tensor d = rq(in.f32);
    const std::pair<const at::Tensor*, const at::Tensor*> pairs[] = {
        {&in.f32, &a}, {&in.channels_last, &b}, {&in.u8, &c}, {&in.f32, &d}};
    for (const auto& [x, y] : pairs) {
      const std::string why = check_output(*x, *y);
      if (!why.empty()) {
        fail("thread " + std::to_string(id) + ", iteration " +
             std::to_string(it) + ": " + why);
      }
    }
    if (!b.is_contiguous(at::MemoryFormat::ChannelsLast)) {
      fail("channels-last input gave an output that is not channels-last");
    }
    out->function.push_back(a);
    out->module.push_back(d);
  }
}

/// Fails if two of `outputs` are bitwise equal.
void expect_pairwise_different(const std::vector<at::Tensor>& outputs,
                               const char* what) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    for (size_t j = i + 1; j < outputs.size(); ++j) {
      if (same_bits(outputs[i], outputs[j])) {
        fail(std::string(what) + ": outputs " + std::to_string(i) + " and " +
             std::to_string(j) + " are identical (a key was reused)");
      }
    }
  }
}

/// Runs kThreads workers at once; gens[i] (or `shared`) is thread i's
/// generator.
std::vector<ThreadOutputs> run_threads(const Inputs& in,
                                       randquant::RandomizedQuantization rq,
                                       const std::vector<at::Generator>& gens) {
  std::vector<ThreadOutputs> outputs(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back(worker, t, std::cref(in), rq, gens[t], &outputs[t]);
  }
  for (auto& t : threads) t.join();
  return outputs;
}

}  // namespace

int main() {
  at::set_num_threads(1);  // see the top of the file
  const Inputs in = make_inputs();
  const at::Tensor f32_before = in.f32.clone(), u8_before = in.u8.clone();

  // Phase 1: one generator shared by every call of every thread.
  {
    at::Generator shared = at::make_generator<at::CPUGeneratorImpl>(7);
    randquant::RandomizedQuantization rq{
        randquant::RandomizedQuantizationOptions(kRegions)};
    rq->set_generator(shared);
    const auto outputs =
        run_threads(in, rq, std::vector<at::Generator>(kThreads, shared));
    std::vector<at::Tensor> all;
    for (const auto& o : outputs) {
      all.insert(all.end(), o.function.begin(), o.function.end());
      all.insert(all.end(), o.module.begin(), o.module.end());
    }
    expect_pairwise_different(all, "shared generator");
    std::printf("phase 1 (shared generator): %zu outputs checked\n",
                all.size());
  }

  // Phase 2: a generator per thread; the module draws from the default CPU
  // generator. Each thread's function outputs must replay sequentially.
  {
    randquant::RandomizedQuantization rq{
        randquant::RandomizedQuantizationOptions(kRegions)};
    std::vector<at::Generator> gens;
    for (int t = 0; t < kThreads; ++t) {
      gens.push_back(at::make_generator<at::CPUGeneratorImpl>(100 + t));
    }
    const auto outputs = run_threads(in, rq, gens);
    const auto options = randquant::RandomizedQuantizationOptions(kRegions);
    std::vector<at::Tensor> all, module;
    for (int t = 0; t < kThreads; ++t) {
      at::Generator replay = at::make_generator<at::CPUGeneratorImpl>(100 + t);
      for (int it = 0; it < kIterations; ++it) {
        const at::Tensor a =
            randquant::randomized_quantize(in.f32, options, replay);
        randquant::randomized_quantize(in.channels_last, options, replay);
        randquant::randomized_quantize(in.u8, options, replay);
        if (!same_bits(a, outputs[t].function[it])) {
          fail("per-thread generator: thread " + std::to_string(t) +
               ", iteration " + std::to_string(it) +
               " differs from its sequential replay");
        }
      }
      all.insert(all.end(), outputs[t].function.begin(),
                 outputs[t].function.end());
      module.insert(module.end(), outputs[t].module.begin(),
                    outputs[t].module.end());
    }
    expect_pairwise_different(all, "per-thread generators");
    expect_pairwise_different(module, "module on the default generator");
    std::printf("phase 2 (per-thread generators): %zu outputs checked\n",
                all.size() + module.size());
  }

  if (!same_bits(in.f32, f32_before) || !same_bits(in.u8, u8_before)) {
    fail("an input was modified");
  }
  if (!failures.empty()) {
    for (const auto& f : failures)
      std::fprintf(stderr, "FAILED: %s\n", f.c_str());
    return 1;
  }
  std::printf("concurrent_use: OK (%d threads x %d iterations, 2 phases)\n",
              kThreads, kIterations);
  return 0;
}
