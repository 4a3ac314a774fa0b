// Philox4x32-10: known answers and agreement with ATen's engine.
#include <ATen/core/PhiloxRNGEngine.h>
#include <gtest/gtest.h>

#include <cstdint>

#include "randquant/core/philox.h"

namespace rc = randquant::core;

TEST(Philox, Random123KnownAnswers) {
  // Random123's kat_vectors for philox4x32_10.
  const rc::Philox4 zero =
      rc::philox4x32_10(rc::Philox4{{0u, 0u, 0u, 0u}}, 0u, 0u);
  EXPECT_EQ(zero.v[0], 0x6627e8d5u);
  EXPECT_EQ(zero.v[1], 0xe169c58du);
  EXPECT_EQ(zero.v[2], 0xbc57ac4cu);
  EXPECT_EQ(zero.v[3], 0x9b00dbd8u);
  const rc::Philox4 ones = rc::philox4x32_10(
      rc::Philox4{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
      0xffffffffu, 0xffffffffu);
  EXPECT_EQ(ones.v[0], 0x408f276du);
  EXPECT_EQ(ones.v[1], 0x41c83b0eu);
  EXPECT_EQ(ones.v[2], 0xa20bc7c6u);
  EXPECT_EQ(ones.v[3], 0x6d5451fdu);
  const rc::Philox4 pi = rc::philox4x32_10(
      rc::Philox4{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
      0xa4093822u, 0x299f31d0u);
  EXPECT_EQ(pi.v[0], 0xd16cfe09u);
  EXPECT_EQ(pi.v[1], 0x94fdccebu);
  EXPECT_EQ(pi.v[2], 0x5001e420u);
  EXPECT_EQ(pi.v[3], 0x24126ea1u);
}

TEST(Philox, MatchesATenPhiloxEngine) {
  // at::philox_engine(seed, subsequence, offset): counter (offset, 0,
  // subsequence), key = seed; our stream 0 uses counter (block, 0, index).
  const uint64_t key = 0x0123456789abcdefull;
  for (uint64_t index : {0ull, 1ull, 77ull, (1ull << 40) + 3}) {
    at::Philox4_32 engine(key, index, 0);
    rc::PhiloxStream stream(key, index, rc::Stream::kSlice);
    for (uint32_t draw = 0; draw < 64; ++draw) {
      EXPECT_EQ(stream.bits(draw), engine())
          << "index " << index << " draw " << draw;
    }
  }
}

TEST(Philox, StreamsAndIndicesDiffer) {
  rc::PhiloxStream a(7, 3, rc::Stream::kSlice);
  rc::PhiloxStream b(7, 3, rc::Stream::kSample);
  rc::PhiloxStream c(7, 4, rc::Stream::kSlice);
  rc::PhiloxStream d(8, 3, rc::Stream::kSlice);
  EXPECT_NE(a.bits(0), b.bits(0));
  EXPECT_NE(a.bits(0), c.bits(0));
  EXPECT_NE(a.bits(0), d.bits(0));
  // Random access equals sequential access.
  rc::PhiloxStream e(7, 3, rc::Stream::kSlice);
  EXPECT_EQ(e.bits(9), a.bits(9));
  EXPECT_EQ(e.bits(2), a.bits(2));
}

TEST(Philox, UniformIsExactAndInUnitInterval) {
  EXPECT_EQ(rc::uniform01(0u), 0.0f);
  EXPECT_EQ(rc::uniform01(0xffffffffu), 1.0f - 0x1p-24f);
  EXPECT_EQ(rc::uniform01(0x80000000u), 0.5f);
  EXPECT_EQ(rc::uniform01(0x000000ffu), 0.0f);  // low 8 bits dropped
  EXPECT_EQ(rc::uniform01(0x00000100u), 0x1p-24f);
}
