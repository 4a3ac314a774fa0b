// In-place and out= calls: the same bits as out of place, the version
// counter, and bad input or a bad out refused with both tensors unchanged.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_util.h"

namespace rq = randquant;
using rq::RandomizedQuantizationOptions;
using rq_test::gen;
using rq_test::random_input;
using rq_test::same_bits;
using Opt = RandomizedQuantizationOptions;

TEST(InPlace, EqualsOutOfPlaceBitForBitOnEveryDtypeAndLayout) {
  for (at::ScalarType dtype : rq_test::all_dtypes()) {
    for (const rq_test::Layout& layout : rq_test::layouts()) {
      for (const Opt& o : rq_test::code_path_options()) {
        SCOPED_TRACE(::testing::Message()
                     << dtype << " " << layout.name << " " << o);
        const at::Tensor base = rq_test::awkward_input({3, 4, 9, 7}, dtype, 11);
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
      const at::Tensor x =
          layout.make(rq_test::awkward_input({2, 3, 6, 5}, dtype, 4));
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
