// In-place and out= calls, the CPU kernel's two paths (slice-local and two
// passes), and what in-place costs in memory.
#include <gtest/gtest.h>
#include <torch/data.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "counting_allocator.h"
#include "randquant/randquant.h"
#include "test_util.h"

namespace rq = randquant;
using rq::RandomizedQuantizationOptions;
using rq_test::gen;
using rq_test::random_input;
using rq_test::same_bits;
using Opt = RandomizedQuantizationOptions;

namespace {

/// Option sets that reach different code: small and many regions, random
/// R, the coin, unbatched with a trailing channel dimension.
std::vector<Opt> option_sets() {
  return {Opt(8), Opt(256), Opt(3).max_regions(40), Opt(5).p(0.5),
          Opt(6).batched(false).channel_dim(-1)};
}

/// x with a NaN, +inf and -inf (floating dtypes) and one constant slice.
at::Tensor awkward_input(at::IntArrayRef shape, at::ScalarType dtype,
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

}  // namespace

TEST(InPlace, EqualsOutOfPlaceBitForBitOnEveryDtypeAndLayout) {
  for (at::ScalarType dtype : rq_test::all_dtypes()) {
    for (const rq_test::Layout& layout : rq_test::layouts()) {
      for (const Opt& o : option_sets()) {
        SCOPED_TRACE(::testing::Message()
                     << dtype << " " << layout.name << " " << o);
        const at::Tensor base = awkward_input({3, 4, 9, 7}, dtype, 11);
        const at::Tensor x = layout.make(base);
        const at::Tensor expected = rq::randomized_quantize(x, o, gen(5));
        at::Tensor y = layout.make(base.clone());  // x's layout, new memory
        const void* storage = y.data_ptr();
        at::Tensor& result = rq::randomized_quantize_(y, o, gen(5));
        EXPECT_EQ(&result, &y);
        EXPECT_EQ(y.data_ptr(), storage);
        EXPECT_TRUE(same_bits(y, expected));
        EXPECT_TRUE(same_bits(x, layout.make(base)));  // x untouched
      }
    }
  }
}

TEST(InPlace, ThreeLevelLayoutAndCompositeAndOptionInplace) {
  // A permuted 5-d tensor folds into three levels: the kernel works on a
  // contiguous stand-in and copies back.
  const at::Tensor base = random_input({2, 3, 4, 5, 6}, at::kFloat, 3);
  const at::Tensor x = base.permute({0, 1, 4, 2, 3});
  const Opt o(9);
  const at::Tensor expected = rq::randomized_quantize(x, o, gen(8));
  at::Tensor y = base.clone().permute({0, 1, 4, 2, 3});
  rq::randomized_quantize_(y, o, gen(8));
  EXPECT_TRUE(same_bits(y, expected));

  // options.inplace(): the function, the composite path and the module
  // quantize x itself.
  at::Tensor a = x.contiguous();
  const at::Tensor r = rq::randomized_quantize(a, Opt(o).inplace(true), gen(8));
  EXPECT_TRUE(r.is_same(a));
  EXPECT_TRUE(same_bits(a, expected));
  at::Tensor b = x.contiguous();
  rq::randomized_quantize_composite(b, Opt(o).inplace(true), gen(8));
  EXPECT_TRUE(same_bits(b, expected));
  rq::RandomizedQuantization module(Opt(o).inplace(true));
  module->set_generator(gen(8));
  at::Tensor c = x.contiguous();
  EXPECT_TRUE(module(c).is_same(c));
  EXPECT_TRUE(same_bits(c, expected));
  module->eval();
  const at::Tensor before = c.clone();
  EXPECT_TRUE(module(c).is_same(c));
  EXPECT_TRUE(same_bits(c, before));
}

TEST(InPlace, BumpsTheVersionCounter) {
  at::Tensor x = at::rand({2, 3, 5, 5});
  const auto before = x._version();
  rq::randomized_quantize_(x);
  EXPECT_GT(x._version(), before);
  at::Tensor out = at::empty_like(x);
  const auto out_before = out._version();
  rq::randomized_quantize_out(out, x);
  EXPECT_GT(out._version(), out_before);
}

TEST(InPlace, BadInputThrowsNamingItAndLeavesItUnchanged) {
  at::Tensor leaf = at::rand({2, 3, 4, 4}).requires_grad_();
  const at::Tensor leaf_before = leaf.detach().clone();
  try {
    rq::randomized_quantize_(leaf);
    FAIL() << "no error for a tensor that requires grad";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("randomized_quantize_: x requires "
                                         "grad"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(same_bits(leaf.detach(), leaf_before));

  const at::Tensor row = at::rand({1, 3, 4, 4});
  at::Tensor expanded = row.expand({5, 3, 4, 4});
  const at::Tensor row_before = row.clone();
  try {
    rq::randomized_quantize_(expanded);
    FAIL() << "no error for an expanded tensor";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("stride 0"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("strides [0, 16, 4, 1]"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(same_bits(row, row_before));
  // The module in place refuses the same way.
  rq::RandomizedQuantization module(Opt().inplace(true));
  EXPECT_THROW(module(leaf), c10::Error);
}

TEST(Out, EqualsOutOfPlaceBitForBitAndResizesAnEmptyOut) {
  for (at::ScalarType dtype : rq_test::all_dtypes()) {
    for (const rq_test::Layout& layout : rq_test::layouts()) {
      SCOPED_TRACE(::testing::Message() << dtype << " " << layout.name);
      const at::Tensor x = layout.make(awkward_input({2, 3, 6, 5}, dtype, 4));
      const Opt o = Opt(12).p(0.7);
      const at::Tensor expected = rq::randomized_quantize(x, o, gen(9));
      // out of x's shape in every layout, written where it lies.
      for (const rq_test::Layout& out_layout : rq_test::layouts()) {
        at::Tensor out = out_layout.make(at::zeros(x.sizes(), x.options()));
        const void* where = out.data_ptr();
        at::Tensor& r = rq::randomized_quantize_out(out, x, o, gen(9));
        EXPECT_EQ(&r, &out);
        EXPECT_EQ(out.data_ptr(), where);
        EXPECT_TRUE(same_bits(out, expected)) << out_layout.name;
      }
      at::Tensor empty = at::empty({0}, x.options());
      rq::randomized_quantize_out(empty, x, o, gen(9));
      EXPECT_EQ(empty.sizes(), x.sizes());
      EXPECT_TRUE(same_bits(empty, expected));
      // out = x is the in-place call.
      at::Tensor self = x.clone();
      rq::randomized_quantize_out(self, self, o, gen(9));
      EXPECT_TRUE(same_bits(self, expected));
    }
  }
}

TEST(Out, BadOutThrowsNamingItAndLeavesBothTensorsAndTheGeneratorUnchanged) {
  const at::Tensor x = at::rand({2, 3, 4, 4});
  struct Case {
    const char* what;
    at::Tensor out;
    const char* message;
  };
  at::Tensor base = at::rand({4, 3, 4, 4});
  const at::Tensor base_before = base.clone();
  at::Tensor needs_grad = at::zeros_like(x).requires_grad_();
  std::vector<Case> cases = {
      {"dtype", at::zeros(x.sizes(), at::kDouble), "out has dtype Double"},
      {"device", at::empty(x.sizes(), x.options().device(at::kMeta)),
       "out is on device meta"},
      {"shape", at::zeros({2, 3, 4, 5}), "out has shape [2, 3, 4, 5]"},
      {"grad", needs_grad, "out requires grad"},
      {"expanded", at::zeros({1, 3, 4, 4}).expand({2, 3, 4, 4}),
       "stores one element for several indices"},
  };
  for (Case& c : cases) {
    SCOPED_TRACE(c.what);
    const at::Tensor x_before = x.clone();
    const at::Tensor out_before =
        c.out.device().is_cpu() ? c.out.detach().clone() : at::Tensor();
    at::Generator g = gen(3);
    try {
      rq::randomized_quantize_out(c.out, x, Opt(), g);
      ADD_FAILURE() << "no error";
    } catch (const c10::Error& e) {
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("randomized_quantize_out:"),
                std::string::npos);
    }
    EXPECT_TRUE(same_bits(x, x_before));
    if (out_before.defined()) {
      EXPECT_TRUE(same_bits(c.out.detach(), out_before));
    }
    // No key was drawn: the generator gives what a fresh one gives.
    EXPECT_TRUE(same_bits(rq::randomized_quantize(x, Opt(), g),
                          rq::randomized_quantize(x, Opt(), gen(3))));
  }
  // Partial overlap: x is rows 0-1 of base, out rows 1-2.
  at::Tensor rows_0_1 = base.narrow(0, 0, 2);
  at::Tensor rows_1_2 = base.narrow(0, 1, 2);
  try {
    rq::randomized_quantize_out(rows_1_2, rows_0_1);
    ADD_FAILURE() << "no error for partial overlap";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("out partially overlaps x"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(same_bits(base, base_before));
  // straight_through with x requiring grad needs the out-of-place call.
  const at::Tensor leaf = at::rand({2, 3, 4, 4}).requires_grad_();
  at::Tensor out = at::empty_like(x);
  EXPECT_THROW(
      rq::randomized_quantize_out(out, leaf, Opt().straight_through(true)),
      c10::Error);
}

TEST(Out, InterleavedViewsOfOneStorageReadBeforeTheyAreWritten) {
  // Every other column of a buffer into the columns in between: ATen cannot
  // prove them disjoint, so the input is read from a copy.
  const at::Tensor buffer = random_input({2, 3, 5, 8}, at::kFloat, 6);
  const at::Tensor x = buffer.slice(3, 0, 8, 2);
  const at::Tensor expected = rq::randomized_quantize(x, Opt(4), gen(2));
  at::Tensor out = buffer.slice(3, 1, 8, 2);
  const at::Tensor x_before = x.clone();
  rq::randomized_quantize_out(out, x, Opt(4), gen(2));
  EXPECT_TRUE(same_bits(out, expected));
  EXPECT_TRUE(same_bits(x, x_before));
}

namespace {

/// Runs one of the CPU kernel's two paths on x with `chunks` units per
/// slice, for key `key`.
template <typename T>
at::Tensor run_path(const at::Tensor& x, const Opt& o, uint64_t key,
                    bool slice_local, int64_t chunks) {
  const rq::detail::Geometry geometry =
      rq::detail::check_inputs(x, o, "run_path");
  const rq::detail::SliceViews views =
      rq::detail::make_output_views(x, geometry);
  const rq::core::UnitGrid grid{geometry.channels, geometry.slices(),
                                views.layout.slice_size(), chunks};
  const auto params = rq::detail::ParamBuffer<T>::allocate(
      geometry.samples, geometry.channels, rq::detail::max_slice_regions(o));
  const rq::detail::ParamsWriter<T> writer(params.table, params.applied,
                                           geometry.samples, geometry.channels,
                                           key, nullptr, o);
  writer.draw_coins();
  const T* in = views.in_v.data_ptr<T>();
  T* out = views.out_v.data_ptr<T>();
  if (slice_local) {
    rq::cpu::quantize_slice_local(in, out, views.layout, grid, params.table,
                                  writer);
  } else {
    rq::cpu::quantize_two_pass(in, out, views.layout, grid, params.table,
                               writer);
  }
  return views.finish();
}

}  // namespace

TEST(CpuPaths, SliceLocalAndTwoPassGiveTheSameBits) {
  for (at::ScalarType dtype : rq_test::all_dtypes()) {
    for (const rq_test::Layout& layout : rq_test::layouts()) {
      for (const Opt& o : option_sets()) {
        SCOPED_TRACE(::testing::Message()
                     << dtype << " " << layout.name << " " << o);
        const at::Tensor x =
            layout.make(awkward_input({3, 2, 40, 30}, dtype, 8));
        const at::Tensor fused =
            rq::detail::registered_backend(c10::DeviceType::CPU)
                ->quantize_new(x, rq::detail::check_inputs(x, o, "test"), o,
                               rq::detail::CallKey::from_host(77));
        AT_DISPATCH_ALL_TYPES_AND2(
            at::kHalf, at::kBFloat16, dtype, "paths", [&] {
              const at::Tensor local = run_path<scalar_t>(x, o, 77, true, 1);
              EXPECT_TRUE(same_bits(local, fused));
              for (int64_t chunks : {1, 3, 7}) {
                EXPECT_TRUE(same_bits(
                    run_path<scalar_t>(x, o, 77, false, chunks), fused))
                    << chunks << " chunks";
              }
            });
      }
    }
  }
}

TEST(Memory, InPlaceAllocatesOnlyTheParametersAndBatchTransformOneBuffer) {
  const at::Tensor x0 = at::randn({16, 3, 64, 64});
  for (int64_t r : {8, 256}) {
    SCOPED_TRACE(r);
    at::Tensor x = x0.clone();
    int64_t peak_extra = 0;
    {
      rq_test::CountingScope scope;
      scope.counter().reset_peak();
      const int64_t live_before = scope.counter().live();
      rq::randomized_quantize_(x, Opt(r), gen(1));
      peak_extra = scope.counter().peak() - live_before;
    }
    // lo, hi (float), R (int64), quantized, cut points (float), proxies
    // (float) per slice, one coin per sample.
    const int64_t slices = 16 * 3;
    const int64_t params = slices * (4 + 4 + 8 + 1 + 4 * (r - 1) + 4 * r) + 16;
    EXPECT_GT(peak_extra, 0);
    EXPECT_LE(peak_extra, params + 4096) << "parameters: " << params;
    EXPECT_LT(peak_extra, static_cast<int64_t>(x.nbytes()) / 4);
  }
  // BatchRandomizedQuantize: one allocation of the batch's size (the
  // stacked buffer, quantized in place), as Stack<>().
  std::vector<torch::data::Example<>> examples;
  for (int i = 0; i < 8; ++i) {
    examples.push_back({at::rand({3, 32, 32}), at::tensor(i)});
  }
  const int64_t batch_bytes = 8 * 3 * 32 * 32 * 4;
  rq::transforms::BatchRandomizedQuantize<> transform(Opt(8), gen(2));
  int64_t peak_extra = 0;
  {
    rq_test::CountingScope scope;
    scope.counter().reset_peak();
    const int64_t live_before = scope.counter().live();
    const auto batch = transform.apply_batch(examples);
    peak_extra = scope.counter().peak() - live_before;
  }
  EXPECT_GE(peak_extra, batch_bytes);
  EXPECT_LT(peak_extra, batch_bytes + batch_bytes / 2);
}

TEST(Transforms, PerExampleQuantizesOwnedExamplesInPlaceAndNeverADatasetsData) {
  const Opt o(6);
  const at::Tensor images = at::rand({4, 3, 8, 8});
  const at::Tensor images_before = images.clone();
  rq::transforms::RandomizedQuantize<> t(o, gen(4));
  rq::transforms::RandomizedQuantize<> same(o, gen(4));
  // A view of the dataset's tensor (what torch's MNIST returns): a new
  // tensor, the dataset unchanged.
  const at::Tensor a = t(images[1]);
  EXPECT_FALSE(a.is_alias_of(images));
  EXPECT_TRUE(same_bits(images, images_before));
  EXPECT_TRUE(same_bits(
      a, rq::randomized_quantize(images[1], Opt(o).batched(false), gen(4))));
  // A tensor nobody else holds (a freshly decoded image): quantized where
  // it lies, same values as out of place.
  at::Tensor fresh = images_before[2].clone();
  const void* where = fresh.data_ptr();
  const at::Tensor b = t(std::move(fresh));
  EXPECT_EQ(b.data_ptr(), where);
  same(images[1]);  // keep the two generators in step
  EXPECT_TRUE(same_bits(b, same(images_before[2].clone())));
  // Another handle to the same tensor: not owned, left alone.
  const at::Tensor shared = images_before[3].clone();
  const at::Tensor shared_before = shared.clone();
  const at::Tensor c = t(shared);
  EXPECT_FALSE(c.is_alias_of(shared));
  EXPECT_TRUE(same_bits(shared, shared_before));
}

namespace {

using rq_test::VectorLoopsCap;

/// Whether this CPU runs the loops of `loops` (every family up to the
/// cap's default is allowed while this asks).
bool cpu_runs(rq::cpu::VectorLoops loops) {
  const VectorLoopsCap all(rq::cpu::VectorLoops::kAvx512);
  switch (loops) {
    case rq::cpu::VectorLoops::kPortable:
      return true;
    case rq::cpu::VectorLoops::kAvx2:
      return rq::cpu::avx2::available();
    case rq::cpu::VectorLoops::kAvx512:
      return rq::cpu::avx512::float_available();
  }
  return false;
}

/// The kernel, its loops capped at `loops`, against the composite path, on
/// float32 and bytes over small and large R (67 columns: every loop also
/// has a tail). Skips, saying so, where this CPU lacks the family.
void check_vector_loops(rq::cpu::VectorLoops loops, const char* name) {
  if (!cpu_runs(loops)) {
    GTEST_SKIP() << "this CPU does not run the " << name << " loops";
  }
  std::cout << "[randquant] vector loops checked: " << name << std::endl;
  const VectorLoopsCap cap(loops);
  for (at::ScalarType dtype : {at::kFloat, at::kByte, at::kChar}) {
    for (int64_t r : {2, 8, 9, 16, 17, 40, 256}) {
      SCOPED_TRACE(::testing::Message() << name << " " << dtype << " R " << r);
      const at::Tensor x = awkward_input({2, 3, 33, 67}, dtype, r);
      const Opt o(r);
      EXPECT_TRUE(same_bits(rq::randomized_quantize(x, o, gen(r)),
                            rq::randomized_quantize_composite(x, o, gen(r))));
    }
  }
}

}  // namespace

TEST(CpuPaths, PortableLoopsGiveTheCompositeBits) {
  check_vector_loops(rq::cpu::VectorLoops::kPortable, "portable");
}

TEST(CpuPaths, Avx2LoopsGiveTheCompositeBits) {
  check_vector_loops(rq::cpu::VectorLoops::kAvx2, "AVX2");
}

TEST(CpuPaths, Avx512LoopsGiveTheCompositeBits) {
  check_vector_loops(rq::cpu::VectorLoops::kAvx512, "AVX-512");
}

TEST(CpuPaths, TheLoopsCapIsRestoredAfterAFailure) {
  const int before = rq::cpu::vector_loops_cap().load();
  try {
    const VectorLoopsCap cap(rq::cpu::VectorLoops::kPortable);
    EXPECT_EQ(rq::cpu::vector_loops_cap().load(),
              static_cast<int>(rq::cpu::VectorLoops::kPortable));
    throw std::runtime_error("a failing check");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(rq::cpu::vector_loops_cap().load(), before);
}

namespace {

/// The VmFlags line of the mapping that holds `address`, from
/// /proc/self/smaps ("" when it cannot be read).
std::string vm_flags_of(const void* address) {
  std::ifstream smaps("/proc/self/smaps");
  const auto target = reinterpret_cast<uintptr_t>(address);
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream range(line);
    if (range >> std::hex >> begin >> dash >> end && dash == '-') {
      inside = begin <= target && target < end;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line;
    }
  }
  return "";
}

}  // namespace

TEST(Memory, LargeNewOutputsAreAdvisedToHugePages) {
  const at::Tensor x = at::rand({4, 3, 512, 512});  // 12 MB
  const at::Tensor y = rq::randomized_quantize(x);
  // A whole 2 MB page inside the output.
  const auto first = reinterpret_cast<uintptr_t>(y.data_ptr());
  const uintptr_t page = ((first >> 21) + 1) << 21;
  const std::string flags =
      vm_flags_of(static_cast<const char*>(y.data_ptr()) + (page - first));
  if (flags.empty()) GTEST_SKIP() << "no /proc/self/smaps";
  EXPECT_NE(flags.find(" hg"), std::string::npos) << flags;
}
