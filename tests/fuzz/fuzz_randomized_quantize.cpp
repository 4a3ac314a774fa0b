// libFuzzer harness for randquant::randomized_quantize (scripts/run-fuzz.sh;
// clang -fsanitize=fuzzer,address,undefined).
//
// The input bytes choose a dtype, a shape (rank 0-5, zero-size dims
// included), a memory layout (contiguous, transposed, sliced with steps and
// a storage offset, permuted like channels-last, expanded with zero
// strides), the values (NaN, +-Inf, denormals, huge and tiny magnitudes,
// dtype extremes, constant slices) and the options (invalid ones included),
// then check SPEC.md's contract:
//  - invalid arguments (by the SPEC's rules, computed here) throw c10::Error
//    naming the argument, from the fused and the composite path alike;
//    valid ones never throw;
//  - the input (its whole storage) is never modified;
//  - the output has the input's shape and dtype, and equals
//    randomized_quantize_composite() bit for bit with the same seed, and
//    the CUDA kernels' per-thread code run on the CPU (tests/
//    cuda_emulation.h) with the same key;
//  - for a floating input that requires grad, the output carries a
//    gradient exactly with straight_through, and then x's gradient passes
//    through unchanged;
//  - quantization_params() with the same seed reports the slice min/max
//    found here and R within [regions, max_regions]; p = 0 / p = 1 give
//    no / every sample quantized;
//  - a sample not quantized is returned bit for bit; in a quantized sample,
//    non-finite elements are unchanged and every finite one lies in its
//    slice's [lo, hi] of finite values (Collapse::Zeros: is 0), a slice
//    takes at most its R distinct values, and the map is monotone.
// A violation prints the reason and the case, then aborts.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/MemoryOverlap.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <torch/csrc/autograd/autograd.h>

#include <randquant/randquant.h>

#include "../cuda_emulation.h"
#include "../tensor_checks.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

using randquant::Collapse;
using randquant::RandomizedQuantizationOptions;
using randquant::Spacing;
using rq_test::same_bits;
using rq_test::slices_of;

/// Everything the bytes chose, for the report on a violation.
std::string g_case;
/// RANDQUANT_FUZZ_VERBOSE=1: print every case (to check the seed corpus).
bool g_verbose = false;

[[noreturn]] void violation(const std::string& why) {
  std::fprintf(stderr, "\n*** randquant fuzz violation: %s\n*** case: %s\n",
               why.c_str(), g_case.c_str());
  std::fflush(stderr);
  std::abort();
}

/// Aborts with `why` unless `ok`; `why` is built only on failure.
#define FUZZ_REQUIRE(ok, why)  \
  do {                         \
    if (!(ok)) violation(why); \
  } while (false)

constexpr at::ScalarType kDtypes[] = {
    at::kFloat, at::kDouble, at::kHalf,  at::kBFloat16,     at::kByte,
    at::kChar,  at::kShort,  at::kInt,   at::kLong,         at::kBool,
    at::kFloat, at::kByte,   at::kFloat, at::kComplexFloat, at::kHalf};

/// A dimension size: mostly small, zero included.
int64_t pick_size(FuzzedDataProvider& fdp) {
  // A zero byte (what a short input reads as) picks a plain case.
  static constexpr int64_t kSizes[] = {2, 3, 1, 4,  0,  5,  7, 8,
                                       9, 1, 2, 16, 17, 31, 0, 33};
  return kSizes[fdp.ConsumeIntegral<uint8_t>() % 16];
}

/// A finite or special double from the bytes.
double pick_double(FuzzedDataProvider& fdp, double scale) {
  const uint8_t kind = fdp.ConsumeIntegral<uint8_t>();
  switch (kind % 24) {
    case 0:
      return std::numeric_limits<double>::quiet_NaN();
    case 1:
      return std::numeric_limits<double>::infinity();
    case 2:
      return -std::numeric_limits<double>::infinity();
    case 3:
      return std::numeric_limits<float>::denorm_min();
    case 4:
      return -std::numeric_limits<double>::denorm_min();
    case 5:
      return std::numeric_limits<float>::max();
    case 6:
      return std::numeric_limits<double>::lowest();
    case 7:
      return std::numeric_limits<float>::min();
    case 8:
      return -0.0;
    case 9:
      return 65504.0;  // largest half
    case 10:
      return -std::nan("0x5");  // a NaN with a sign and a payload
    default: {
      const int16_t raw = fdp.ConsumeIntegral<int16_t>();
      return static_cast<double>(raw) / 256.0 * scale;
    }
  }
}

/// An integer of the range [lo, hi] from the bytes, extremes favoured.
int64_t pick_int(FuzzedDataProvider& fdp, int64_t lo, int64_t hi) {
  const uint8_t kind = fdp.ConsumeIntegral<uint8_t>();
  switch (kind % 12) {
    case 0:
      return lo;
    case 1:
      return hi;
    case 2:
      return 0;
    case 3:
      return lo < 0 ? -1 : 1;
    case 4:
      return int64_t{1} << 53 <= hi ? (int64_t{1} << 53) + 1 : hi - 1;
    default: {
      const uint64_t span =
          static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
      const uint64_t raw = kind % 3 == 0 ? fdp.ConsumeIntegral<uint64_t>()
                                         : fdp.ConsumeIntegral<uint8_t>();
      const uint64_t off =
          span == std::numeric_limits<uint64_t>::max() ? raw : raw % (span + 1);
      return static_cast<int64_t>(static_cast<uint64_t>(lo) + off);
    }
  }
}

std::pair<int64_t, int64_t> int_range(at::ScalarType dtype) {
  switch (dtype) {
    case at::kByte:
      return {0, 255};
    case at::kChar:
      return {-128, 127};
    case at::kShort:
      return {-32768, 32767};
    case at::kInt:
      return {std::numeric_limits<int32_t>::min(),
              std::numeric_limits<int32_t>::max()};
    case at::kBool:
      return {0, 1};
    default:
      return {std::numeric_limits<int64_t>::min(),
              std::numeric_limits<int64_t>::max()};
  }
}

/// `count` values of `dtype` as a flat tensor. Modes: per-element values
/// (with specials), one constant, a few distinct values, runs of equal
/// values (constant slices in some layouts).
at::Tensor make_values(FuzzedDataProvider& fdp, at::ScalarType dtype,
                       int64_t count) {
  const uint8_t mode = fdp.ConsumeIntegral<uint8_t>() % 4;
  const int64_t run = 1 + fdp.ConsumeIntegral<uint8_t>() % 40;
  static constexpr double kScales[] = {1.0,   1e-3, 1e-40, 1e-310, 1e20, 3e38,
                                       1e300, 0.1,  255.0, 1e-320, 1e5,  1.0};
  const double scale = kScales[fdp.ConsumeIntegral<uint8_t>() % 12];
  const bool integral =
      at::isIntegralType(dtype, /*includeBool=*/true) && dtype != at::kBool;
  std::vector<double> fvals;
  std::vector<int64_t> ivals;
  const std::pair<int64_t, int64_t> range = int_range(dtype);
  auto next = [&](int64_t i) {
    if (integral) {
      if (mode == 1 && i > 0) return ivals.push_back(ivals[0]);
      if (mode == 2 && i >= 3) return ivals.push_back(ivals[i % 3]);
      if (mode == 3 && i % run != 0) return ivals.push_back(ivals[i - 1]);
      ivals.push_back(pick_int(fdp, range.first, range.second));
    } else {
      if (mode == 1 && i > 0) return fvals.push_back(fvals[0]);
      if (mode == 2 && i >= 3) return fvals.push_back(fvals[i % 3]);
      if (mode == 3 && i % run != 0) return fvals.push_back(fvals[i - 1]);
      fvals.push_back(pick_double(fdp, scale));
    }
  };
  for (int64_t i = 0; i < count; ++i) next(i);
  if (integral) {
    return at::tensor(ivals, at::kLong).to(dtype);
  }
  at::Tensor d = at::tensor(fvals, at::kDouble);
  if (dtype == at::kBool) return d.ne(0);
  return d.to(dtype);
}

/// The input: a view `x` of `base`, which owns the storage.
struct Input {
  at::Tensor base;
  at::Tensor x;
  std::string layout;
};

int64_t product(const std::vector<int64_t>& v) {
  return std::accumulate(v.begin(), v.end(), int64_t{1},
                         std::multiplies<int64_t>());
}

Input make_input(FuzzedDataProvider& fdp, at::ScalarType dtype, int rank) {
  std::vector<int64_t> sizes(rank);
  for (auto& s : sizes) s = pick_size(fdp);
  // Now and then one long dimension, so that slices are cut into chunks
  // (core::kUnitElements = 16384) and the call runs in parallel (> GRAIN_SIZE).
  const uint8_t big = fdp.ConsumeIntegral<uint8_t>();
  if (rank >= 1 && big % 32 == 7) {
    static constexpr int64_t kBig[] = {16383, 16385, 33000, 40000};
    const uint8_t how = fdp.ConsumeIntegral<uint8_t>();
    const int long_dim = how % rank;
    sizes[long_dim] = kBig[(how / 8) % 4];
    for (int i = 0; i < rank; ++i) {
      if (i != long_dim) sizes[i] = std::min<int64_t>(sizes[i], i % 2 + 1);
    }
  } else {
    while (product(sizes) > 4096) {
      *std::max_element(sizes.begin(), sizes.end()) /= 2;
    }
  }
  Input in;
  // 0 contiguous, 1 two dims transposed, 2 permuted (channels-last-like),
  // 3 sliced (steps, storage offset), 4 expanded (zero strides), 5 permuted
  // and sliced.
  const uint8_t layout = rank == 0 ? 0 : fdp.ConsumeIntegral<uint8_t>() % 6;
  static const char* kLayouts[] = {"contiguous", "transposed",
                                   "permuted",   "sliced",
                                   "expanded",   "permuted+sliced"};
  in.layout = kLayouts[layout];
  std::vector<int64_t> perm(rank);  // base dim i holds x's dim perm[i]
  std::iota(perm.begin(), perm.end(), 0);
  std::vector<int64_t> steps(rank, 1), offsets(rank, 0);
  if (layout == 1) {
    const int i = fdp.ConsumeIntegral<uint8_t>() % rank;
    const int j = fdp.ConsumeIntegral<uint8_t>() % rank;
    std::swap(perm[i], perm[j]);
  } else if (layout == 2 || layout == 5) {
    for (int i = rank - 1; i > 0; --i) {
      std::swap(perm[i], perm[fdp.ConsumeIntegral<uint8_t>() % (i + 1)]);
    }
  }
  if (layout == 3 || layout == 5) {
    for (int i = 0; i < rank; ++i) {
      steps[i] = 1 + fdp.ConsumeIntegral<uint8_t>() % 3;
      offsets[i] = fdp.ConsumeIntegral<uint8_t>() % 2;
    }
  }
  std::vector<int64_t> base_sizes(rank);
  for (int i = 0; i < rank; ++i) {
    base_sizes[i] = sizes[perm[i]] * steps[i] + offsets[i];
  }
  if (layout == 4) {  // broadcast some dims
    const uint8_t mask = fdp.ConsumeIntegral<uint8_t>();
    for (int i = 0; i < rank; ++i) {
      if (mask >> i & 1) base_sizes[i] = 1;
    }
  }
  if (product(base_sizes) > 45000) {  // steps on a long dim: drop them
    for (int i = 0; i < rank; ++i) {
      base_sizes[i] = sizes[perm[i]];
      steps[i] = 1;
      offsets[i] = 0;
    }
  }
  in.base = make_values(fdp, dtype, product(base_sizes)).reshape(base_sizes);
  at::Tensor x = in.base;
  if (layout == 4) {
    x = x.expand(sizes);
  } else {
    for (int i = 0; i < rank; ++i) {
      x = x.slice(i, offsets[i], offsets[i] + sizes[perm[i]] * steps[i],
                  steps[i]);
    }
    std::vector<int64_t> inverse(rank);
    for (int i = 0; i < rank; ++i) inverse[perm[i]] = i;
    x = x.permute(inverse);
  }
  in.x = x;
  return in;
}

/// The options and, by the SPEC's rules, the keywords of the errors they
/// must raise with this input (empty: must succeed).
struct Case {
  RandomizedQuantizationOptions options;
  std::vector<std::string> errors;
  uint64_t seed = 0;
};

Case make_case(FuzzedDataProvider& fdp, const at::Tensor& x) {
  Case c;
  // Index 0 (a zero byte) is the default, valid case.
  static constexpr int64_t kRegions[] = {8,  2,   3,   4,    7, 1,  9,    16,
                                         17, 255, 256, 1024, 0, -1, 1025, 5};
  int64_t r = kRegions[fdp.ConsumeIntegral<uint8_t>() % 16];
  int64_t m = 0;
  switch (fdp.ConsumeIntegral<uint8_t>() % 10) {
    case 0:
    case 1:
    case 2:
      m = 0;
      break;
    case 3:
      m = r;
      break;
    case 4:
      m = r + 1;
      break;
    case 5:
      m = r + 1 + fdp.ConsumeIntegral<uint8_t>() % 40;
      break;
    case 6:
      m = 1024;
      break;
    case 7:
      m = 1025;
      break;
    case 8:
      m = r - 1;
      break;
    default:
      m = -3;
  }
  const uint8_t collapse = fdp.ConsumeIntegral<uint8_t>() % 7;
  const uint8_t spacing = fdp.ConsumeIntegral<uint8_t>() % 5;
  static constexpr double kP[] = {1.0, 1.0, 1.0,      0.0,   0.5, 0.3,
                                  0.9, 1.0, 1.0,      0.5,   1.0, -0.1,
                                  1.5, NAN, INFINITY, 1e-300};
  const double p = kP[fdp.ConsumeIntegral<uint8_t>() % 16];
  const bool batched = fdp.ConsumeIntegral<uint8_t>() % 4 != 3;
  static constexpr int64_t kChannelDims[] = {0, -1, 1, 2,  -2, 3, -3,
                                             4, -4, 5, -5, 6,  -6};
  const int64_t channel_dim = kChannelDims[fdp.ConsumeIntegral<uint8_t>() % 13];
  // Keep a case's cost bounded (the per-slice work is O(slices * R), and
  // slices <= numel): valid R above 64 is lowered on large inputs. Invalid
  // values stay, since they throw before any work.
  if (x.numel() * std::max(r, m) > (int64_t{1} << 22)) {
    if (r > 64 && r <= randquant::kMaxRegions) r = 64;
    if (m > 64 && m <= randquant::kMaxRegions) m = 64;
  }
  c.options = RandomizedQuantizationOptions(r)
                  .max_regions(m)
                  .collapse(collapse < 3   ? static_cast<Collapse>(collapse)
                            : collapse < 6 ? Collapse::InsideRandom
                                           : static_cast<Collapse>(7))
                  .spacing(spacing < 2   ? static_cast<Spacing>(spacing)
                           : spacing < 4 ? Spacing::Random
                                         : static_cast<Spacing>(-2))
                  .p(p)
                  .batched(batched)
                  .channel_dim(channel_dim)
                  .straight_through(fdp.ConsumeIntegral<uint8_t>() % 8 == 7);
  c.seed = fdp.ConsumeIntegral<uint64_t>();

  // The SPEC's errors.
  if (r < 1 || r > randquant::kMaxRegions) c.errors.push_back("regions");
  if (m != 0 && (m < r || m > randquant::kMaxRegions)) {
    c.errors.push_back("max_regions");
  }
  if (!(p >= 0.0 && p <= 1.0)) c.errors.push_back("p ");
  if (collapse >= 6) c.errors.push_back("collapse");
  if (spacing >= 4) c.errors.push_back("spacing");
  const at::ScalarType dtype = x.scalar_type();
  if (dtype == at::kBool || at::isComplexType(dtype)) {
    c.errors.push_back("dtype");
  }
  const int64_t batch_dims = batched ? 1 : 0;
  if (x.dim() < batch_dims + 1) {
    c.errors.push_back("dimension");
  } else {
    const int64_t sample_dims = x.dim() - batch_dims;
    if (channel_dim < -sample_dims || channel_dim >= sample_dims) {
      c.errors.push_back("channel_dim");
    }
  }
  return c;
}

std::string describe(const Input& in, const Case& c) {
  std::ostringstream os;
  os << "x " << in.x.sizes() << " strides " << in.x.strides() << " offset "
     << in.x.storage_offset() << " " << in.x.scalar_type() << " (" << in.layout
     << "), options {" << c.options << "}, seed " << c.seed;
  return os.str();
}

at::Generator gen(uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

/// Runs f; returns "" when it succeeded, else the c10::Error's message.
/// Anything but c10::Error is a violation.
template <typename F>
std::pair<bool, std::string> outcome(const char* what, F&& f) {
  try {
    f();
    return {true, ""};
  } catch (const c10::Error& e) {
    return {false, e.what_without_backtrace()};
  } catch (const std::exception& e) {
    violation(std::string(what) + " threw a non-c10 exception: " + e.what());
  }
}

void check_output(const Input& in, const Case& c, const at::Tensor& y,
                  const randquant::QuantizationParams& params) {
  const at::Tensor& x = in.x;
  const auto& o = c.options;
  FUZZ_REQUIRE(y.sizes() == x.sizes(), "output shape differs from the input's");
  FUZZ_REQUIRE(y.scalar_type() == x.scalar_type(), "output dtype differs");
  FUZZ_REQUIRE(y.device() == x.device(), "output device differs");
  if (x.numel() == 0) return;

  const at::Tensor xs = slices_of(x, o.batched(), o.channel_dim()).contiguous();
  const at::Tensor ys = slices_of(y, o.batched(), o.channel_dim()).contiguous();
  const int64_t samples = xs.size(0), channels = xs.size(1), m = xs.size(2);
  const at::Tensor xd = xs.to(at::kDouble).contiguous();
  const at::Tensor yd = ys.to(at::kDouble).contiguous();
  const double* xv = xd.data_ptr<double>();
  const double* yv = yd.data_ptr<double>();
  const auto* xb = static_cast<const char*>(xs.data_ptr());
  const auto* yb = static_cast<const char*>(ys.data_ptr());
  const size_t es = xs.element_size();
  const int64_t rmax = std::max(o.regions(), o.max_regions());

  FUZZ_REQUIRE(params.applied.numel() == samples &&
                   params.lo.sizes() == at::IntArrayRef({samples, channels}),
               "quantization_params has the wrong number of slices");
  const at::Tensor applied_t = params.applied.contiguous();
  const at::Tensor lo_t = params.lo.to(at::kDouble).contiguous();
  const at::Tensor hi_t = params.hi.to(at::kDouble).contiguous();
  const at::Tensor regions_t = params.regions.contiguous();
  const at::Tensor quantized_t = params.quantized.contiguous();

  for (int64_t n = 0; n < samples; ++n) {
    const bool applied = applied_t.data_ptr<bool>()[n];
    if (o.p() == 1.0)
      FUZZ_REQUIRE(applied, "p = 1 but a sample was not quantized");
    if (o.p() == 0.0)
      FUZZ_REQUIRE(!applied, "p = 0 but a sample was quantized");
    const int64_t sample_bytes = channels * m * static_cast<int64_t>(es);
    if (!applied) {
      FUZZ_REQUIRE(
          std::memcmp(xb + n * sample_bytes, yb + n * sample_bytes,
                      sample_bytes) == 0,
          "sample " + std::to_string(n) + " not quantized (coin) but changed");
      continue;
    }
    for (int64_t ch = 0; ch < channels; ++ch) {
      const int64_t s = n * channels + ch;
      const double* xr = xv + s * m;
      const double* yr = yv + s * m;
      auto where = [&] {
        return "slice (" + std::to_string(n) + ", " + std::to_string(ch) + ")";
      };
      double lo = INFINITY, hi = -INFINITY;
      std::vector<int64_t> finite;
      for (int64_t i = 0; i < m; ++i) {
        if (std::isfinite(xr[i])) {
          lo = std::min(lo, xr[i]);
          hi = std::max(hi, xr[i]);
          finite.push_back(i);
        } else {
          FUZZ_REQUIRE(std::memcmp(xb + (s * m + i) * es, yb + (s * m + i) * es,
                                   es) == 0,
                       where() + ": non-finite element " + std::to_string(i) +
                           " changed");
        }
      }
      const bool has_finite = !finite.empty();
      FUZZ_REQUIRE(quantized_t.data_ptr<bool>()[s] == has_finite,
                   where() + ": params.quantized wrong");
      if (!has_finite) continue;
      FUZZ_REQUIRE(
          lo_t.data_ptr<double>()[s] == lo && hi_t.data_ptr<double>()[s] == hi,
          where() + ": params lo/hi differ from the slice's finite min/max");
      const int64_t r = regions_t.data_ptr<int64_t>()[s];
      FUZZ_REQUIRE(
          r >= o.regions() && r <= rmax,
          where() + ": R = " + std::to_string(r) + " outside the options");
      std::set<double> distinct;
      for (const int64_t i : finite) {
        const double v = yr[i];
        if (o.collapse() == Collapse::Zeros) {
          FUZZ_REQUIRE(v == 0.0, where() + ": Zeros gave " + std::to_string(v));
        } else {
          if (!(v >= lo && v <= hi)) {
            std::ostringstream why;
            why << where() << ": element " << i << " = " << xr[i] << " became "
                << v << ", outside [" << lo << ", " << hi << "]";
            violation(why.str());
          }
        }
        distinct.insert(v);
      }
      FUZZ_REQUIRE(static_cast<int64_t>(distinct.size()) <= r,
                   where() + ": " + std::to_string(distinct.size()) +
                       " distinct values with R = " + std::to_string(r));
      std::sort(finite.begin(), finite.end(),
                [&](int64_t a, int64_t b) { return xr[a] < xr[b]; });
      for (size_t k = 1; k < finite.size(); ++k) {
        FUZZ_REQUIRE(yr[finite[k - 1]] <= yr[finite[k]],
                     where() + ": not monotone (" +
                         std::to_string(xr[finite[k - 1]]) + " -> " +
                         std::to_string(yr[finite[k - 1]]) + ", " +
                         std::to_string(xr[finite[k]]) + " -> " +
                         std::to_string(yr[finite[k]]) + ")");
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Errors print no C++ stack trace (faster, quieter).
  setenv("TORCH_SHOW_CPP_STACKTRACES", "0", 1);
  const char* verbose = std::getenv("RANDQUANT_FUZZ_VERBOSE");
  g_verbose = verbose != nullptr && std::string(verbose) == "1";
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  const at::ScalarType dtype = kDtypes[fdp.ConsumeIntegral<uint8_t>() % 15];
  static constexpr int kRanks[] = {4, 2, 3, 1, 5, 0};
  const int rank = kRanks[fdp.ConsumeIntegral<uint8_t>() % 6];
  Input in = make_input(fdp, dtype, rank);
  const Case c = make_case(fdp, in.x);
  // A floating input that requires grad, with straight_through and in a
  // quarter of the other cases: the output must carry a gradient exactly
  // with straight_through, and hand x's gradient through unchanged.
  const bool track_grad = at::isFloatingType(dtype) &&
                          (c.options.straight_through() || c.seed % 4 == 0);
  if (track_grad) {
    in.base.requires_grad_(true);
    in.x =
        in.base.as_strided(in.x.sizes(), in.x.strides(), in.x.storage_offset());
  }
  g_case = describe(in, c);
  if (track_grad) g_case += ", x requires grad";
  const auto started = std::chrono::steady_clock::now();
  struct Report {  // verbose: the case and its time, however it ends
    std::chrono::steady_clock::time_point started;
    ~Report() {
      if (!g_verbose) return;
      const double ms = std::chrono::duration<double, std::milli>(
                            std::chrono::steady_clock::now() - started)
                            .count();
      std::fprintf(stderr, "case (%.1f ms): %s\n", ms, g_case.c_str());
    }
  } report{started};
  const at::Tensor base_before = in.base.clone();

  at::Tensor fused, composite;
  randquant::QuantizationParams params;
  const auto [fused_ok, fused_msg] = outcome("randomized_quantize", [&] {
    fused = randquant::randomized_quantize(in.x, c.options, gen(c.seed));
  });
  FUZZ_REQUIRE(same_bits(in.base, base_before),
               "randomized_quantize modified its input");
  const auto [comp_ok, comp_msg] =
      outcome("randomized_quantize_composite", [&] {
        composite = randquant::randomized_quantize_composite(in.x, c.options,
                                                             gen(c.seed));
      });
  const auto [params_ok, params_msg] = outcome("quantization_params", [&] {
    params = randquant::quantization_params(in.x, c.options, gen(c.seed));
  });
  FUZZ_REQUIRE(same_bits(in.base, base_before),
               "randomized_quantize_composite/quantization_params modified the "
               "input");

  const bool expect_ok = c.errors.empty();
  FUZZ_REQUIRE(fused_ok == expect_ok,
               expect_ok ? "valid arguments threw: " + fused_msg
                         : "invalid arguments did not throw (expected an error "
                           "about '" +
                               c.errors[0] + "')");
  FUZZ_REQUIRE(comp_ok == fused_ok && params_ok == fused_ok,
               "the fused and composite paths disagree on throwing: " +
                   fused_msg + " | " + comp_msg + " | " + params_msg);
  if (!expect_ok) {
    bool named = false;
    for (const auto& e : c.errors) {
      named = named || fused_msg.find(e) != std::string::npos;
    }
    FUZZ_REQUIRE(named,
                 "error message names none of the bad arguments: " + fused_msg);
    return 0;
  }
  FUZZ_REQUIRE(same_bits(fused, composite),
               "fused and composite outputs differ bitwise");
  if (!track_grad) {
    // out= into an empty tensor, and in place on a copy of x (refused for
    // an x that stores one element for several indices).
    at::Tensor out = at::empty({0}, in.x.options());
    randquant::randomized_quantize_out(out, in.x, c.options, gen(c.seed));
    FUZZ_REQUIRE(same_bits(out, fused), "out= differs from out of place");
    at::Tensor self = in.x.clone();
    randquant::randomized_quantize_(self, c.options, gen(c.seed));
    FUZZ_REQUIRE(same_bits(self, fused), "in place differs from out of place");
    if (at::has_internal_overlap(in.x) == at::MemOverlap::Yes) {
      at::Tensor expanded = in.x;
      const auto [inplace_ok, inplace_msg] = outcome(
          "randomized_quantize_",
          [&] { randquant::randomized_quantize_(expanded, c.options); });
      FUZZ_REQUIRE(!inplace_ok, "in place on an expanded tensor did not throw");
      FUZZ_REQUIRE(same_bits(in.base, base_before),
                   "a refused in-place call modified its input");
    }
  }
  // The emulation steps through 256 threads per block: launches of up to
  // 16 blocks only, so the fuzzer keeps its pace.
  if (in.x.numel() > 0) {
    const at::Tensor emulated =
        rq_test::emulate_cuda(in.x.detach(), c.options, params.key,
                              /*max_units=*/16)
            .out;
    FUZZ_REQUIRE(!emulated.defined() || same_bits(emulated, fused.detach()),
                 "the emulated CUDA launch and the CPU kernel differ bitwise");
  }
  check_output(in, c, fused.detach(), params);
  if (track_grad) {
    const bool st = c.options.straight_through();
    FUZZ_REQUIRE(fused.requires_grad() == st && composite.requires_grad() == st,
                 st ? "straight_through output carries no gradient"
                    : "output carries a gradient without straight_through");
    if (st) {
      // d(sum y)/d base must be d(sum x)/d base: the gradient of x, passed
      // through unchanged (expanded dims sum up the same way).
      const at::Tensor expected =
          torch::autograd::grad({in.x.sum()}, {in.base})[0];
      const at::Tensor got = torch::autograd::grad({fused.sum()}, {in.base})[0];
      FUZZ_REQUIRE(same_bits(got, expected),
                   "straight-through gradient differs from x's own");
    }
  }
  return 0;
}
