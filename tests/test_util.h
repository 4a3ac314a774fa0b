#pragma once
// Helpers shared by the test files.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/util/Exception.h>
#include <torch/version.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "randquant/randquant.h"
#include "tensor_checks.h"

namespace rq_test {

#if TORCH_VERSION_MAJOR >= 2
namespace warning_utils = c10::WarningUtils;
#else
namespace warning_utils = c10::Warning;  // a namespace in LibTorch 1.x
#endif

/// Collects the messages of the c10 warnings (TORCH_WARN) given while it is
/// installed: `WarningCollector warnings; ... warnings.count("text")`.
class WarningCollector : public c10::WarningHandler {
 public:
  WarningCollector() : previous_(warning_utils::get_warning_handler()) {
    warning_utils::set_warning_handler(this);
  }
  ~WarningCollector() override {
    warning_utils::set_warning_handler(previous_);
  }
  WarningCollector(const WarningCollector&) = delete;
  WarningCollector& operator=(const WarningCollector&) = delete;

#if TORCH_VERSION_MAJOR >= 2
  void process(const c10::Warning& warning) override {
    messages.push_back(warning.msg());
  }
#else
  void process(const c10::SourceLocation& /*where*/, const std::string& msg,
               const bool /*verbatim*/) override {
    messages.push_back(msg);
  }
#endif

  /// How many collected messages contain `text`.
  int count(const std::string& text) const {
    int n = 0;
    for (const std::string& m : messages)
      n += m.find(text) != std::string::npos;
    return n;
  }

  std::vector<std::string> messages;  ///< in the order given

 private:
  c10::WarningHandler* previous_;
};

/// A CPU generator seeded with `seed`.
inline at::Generator gen(uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

/// Random values of `dtype`: normal-ish floats, or integers over much of the
/// dtype's range.
inline at::Tensor random_input(at::IntArrayRef shape, at::ScalarType dtype,
                               uint64_t seed = 0) {
  at::Generator g = gen(seed + 1000);
  if (at::isFloatingType(dtype)) {
    return (at::randn(shape, g, at::kDouble) * 3.0 + 1.0).to(dtype);
  }
  int64_t lo = 0, hi = 256;
  if (dtype == at::kChar) lo = -128, hi = 128;
  if (dtype == at::kShort) lo = -30000, hi = 30000;
  if (dtype == at::kInt) lo = -2000000000, hi = 2000000000;
  if (dtype == at::kLong) lo = -(int64_t{1} << 50), hi = int64_t{1} << 50;
  return at::randint(lo, hi, shape, g, at::TensorOptions().dtype(dtype));
}

/// x with a NaN, +inf and -inf (floating dtypes) and one constant slice.
inline at::Tensor awkward_input(at::IntArrayRef shape, at::ScalarType dtype,
                                uint64_t seed) {
  at::Tensor x = random_input(shape, dtype, seed);
  x[0][0].fill_(7);
  if (at::isFloatingType(dtype)) {
    const at::Tensor flat = x.view(-1);
    flat[1] = std::numeric_limits<double>::quiet_NaN();
    flat[x.numel() / 2] = std::numeric_limits<double>::infinity();
    flat[x.numel() - 1] = -std::numeric_limits<double>::infinity();
  }
  return x;
}

/// Option sets that reach different code: small and many regions, random
/// R, the coin, unbatched with a trailing channel dimension.
inline std::vector<randquant::RandomizedQuantizationOptions>
code_path_options() {
  using Opt = randquant::RandomizedQuantizationOptions;
  return {Opt(8), Opt(256), Opt(3).max_regions(40), Opt(5).p(0.5),
          Opt(6).batched(false).channel_dim(-1)};
}

/// Exact equality including NaN positions and payload-free NaN equality.
inline bool same_values(const at::Tensor& a, const at::Tensor& b) {
  if (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type())
    return false;
  if (a.numel() == 0) return true;
  const at::Tensor ad = a.to(at::kDouble), bd = b.to(at::kDouble);
  const at::Tensor both_nan = at::isnan(ad).logical_and(at::isnan(bd));
  return at::eq(ad, bd).logical_or(both_nan).all().item<bool>();
}

/// A tensor layout made from a contiguous tensor (same values, same device).
struct Layout {
  const char* name;                                  ///< for traces
  at::Tensor (*make)(const at::Tensor& contiguous);  ///< the conversion
};

/// Contiguous, non-contiguous, channels-last and transposed (N, C, H, W).
inline const std::vector<Layout>& layouts() {
  static const std::vector<Layout> all = {
      {"contiguous", [](const at::Tensor& x) { return x; }},
      {"non-contiguous",  // every other column of a wider tensor
       [](const at::Tensor& x) {
         std::vector<int64_t> wide(x.sizes().begin(), x.sizes().end());
         wide.back() *= 2;
         at::Tensor w = at::zeros(wide, x.options());
         w.slice(-1, 0, wide.back(), 2).copy_(x);
         return w.slice(-1, 0, wide.back(), 2);
       }},
      {"channels-last",
       [](const at::Tensor& x) {
         return x.contiguous(at::MemoryFormat::ChannelsLast);
       }},
      {"transposed-rest",  // H and W swapped in memory
       [](const at::Tensor& x) {
         return x.transpose(2, 3).contiguous().transpose(2, 3);
       }},
  };
  return all;
}

/// Sets cpu::vector_loops_cap() for a scope and restores it however the
/// scope ends (a failed assertion included).
class VectorLoopsCap {
 public:
  explicit VectorLoopsCap(randquant::cpu::VectorLoops loops)
      : saved_(randquant::cpu::vector_loops_cap().exchange(
            static_cast<int>(loops))) {}
  ~VectorLoopsCap() { randquant::cpu::vector_loops_cap() = saved_; }
  VectorLoopsCap(const VectorLoopsCap&) = delete;
  VectorLoopsCap& operator=(const VectorLoopsCap&) = delete;

 private:
  int saved_;
};

/// Every dtype randquant supports.
inline const std::vector<at::ScalarType>& all_dtypes() {
  static const std::vector<at::ScalarType> all = {
      at::kFloat, at::kDouble, at::kHalf, at::kBFloat16, at::kByte,
      at::kChar,  at::kShort,  at::kInt,  at::kLong};
  return all;
}

}  // namespace rq_test
