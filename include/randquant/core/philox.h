#pragma once
/// \file
/// Stateless Philox4x32-10 (Salmon et al., SC'11, "Random123"), written once
/// for host and device. Every random number randquant draws is a pure
/// function of (key, slice index, stream, draw index): no state is carried
/// between threads, blocks or calls, so results do not depend on how the work
/// is scheduled.

#include <cstdint>

#include "randquant/core/macros.h"

namespace randquant {
namespace core {

/// Four 32-bit words: a Philox counter or one Philox output block.
struct Philox4 {
  uint32_t v[4];  ///< words 0..3
};

/// 32x32 -> 64-bit multiply split into its high and low halves.
RANDQUANT_INLINE void mulhilo32(uint32_t a, uint32_t b, uint32_t* hi,
                                uint32_t* lo) {
  const uint64_t product = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
  *hi = static_cast<uint32_t>(product >> 32);
  *lo = static_cast<uint32_t>(product);
}

/// Philox4x32 with 10 rounds: the block cipher applied to `counter` under
/// the 64-bit key (`key_lo`, `key_hi`). Matches Random123's philox4x32_10
/// (counter 0, key 0 gives 6627e8d5 e169c58d bc57ac4c 9b00dbd8).
RANDQUANT_INLINE Philox4 philox4x32_10(Philox4 counter, uint32_t key_lo,
                                       uint32_t key_hi) {
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo32(0xD2511F53u, counter.v[0], &hi0, &lo0);
    mulhilo32(0xCD9E8D57u, counter.v[2], &hi1, &lo1);
    counter = Philox4{
        {hi1 ^ counter.v[1] ^ key_lo, lo1, hi0 ^ counter.v[3] ^ key_hi, lo0}};
    key_lo += 0x9E3779B9u;
    key_hi += 0xBB67AE85u;
  }
  return counter;
}

/// Uniform float in [0, 1 - 2^-24] from 32 random bits; exact, so identical
/// on every device.
RANDQUANT_INLINE float uniform01(uint32_t bits) {
  return static_cast<float>(bits >> 8) * 5.9604644775390625e-8f;  // 2^-24
}

/// Independent streams inside one slice index (counter word 1).
enum class Stream : uint32_t {
  kSlice = 0,   ///< per-slice draws: regions, cut points, proxies
  kSample = 1,  ///< per-sample draws: the apply-with-probability-p coin
};

/// Random numbers of one (key, index, stream): draw `i` is word i % 4 of
/// Philox block i / 4 with counter (i / 4, stream, index_lo, index_hi).
/// Caches the last block, so sequential draws cost one cipher call per four.
class PhiloxStream {
 public:
  /// A stream of draws for `index` (a slice or a sample) under `key`.
  RANDQUANT_INLINE PhiloxStream(uint64_t key, uint64_t index, Stream stream)
      : key_lo_(static_cast<uint32_t>(key)),
        key_hi_(static_cast<uint32_t>(key >> 32)),
        index_lo_(static_cast<uint32_t>(index)),
        index_hi_(static_cast<uint32_t>(index >> 32)),
        stream_(static_cast<uint32_t>(stream)),
        cached_block_(0xFFFFFFFFu),
        cache_{{0, 0, 0, 0}} {}

  /// The 32 random bits of draw `draw`.
  RANDQUANT_INLINE uint32_t bits(uint32_t draw) {
    const uint32_t block = draw >> 2;
    if (block != cached_block_) {
      cache_ = philox4x32_10(Philox4{{block, stream_, index_lo_, index_hi_}},
                             key_lo_, key_hi_);
      cached_block_ = block;
    }
    return cache_.v[draw & 3u];
  }

  /// Draw `draw` as a uniform float in [0, 1).
  RANDQUANT_INLINE float uniform(uint32_t draw) {
    return uniform01(bits(draw));
  }

 private:
  uint32_t key_lo_, key_hi_, index_lo_, index_hi_, stream_;
  uint32_t cached_block_;
  Philox4 cache_;
};

/// The key of one sample of a sample-keyed call: 64 bits of Philox4x32-10
/// with key words (seed_lo, seed_hi) and counter (index_lo, index_hi,
/// epoch_lo, epoch_hi). A pure function of (seed, epoch, index), so a
/// sample's draws do not depend on its batch, its position or the device.
RANDQUANT_INLINE uint64_t sample_key(uint64_t seed, uint64_t epoch,
                                     uint64_t index) {
  const Philox4 r = philox4x32_10(
      Philox4{{static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32),
               static_cast<uint32_t>(epoch),
               static_cast<uint32_t>(epoch >> 32)}},
      static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
  return (static_cast<uint64_t>(r.v[1]) << 32) | r.v[0];
}

/// The seed under which view `view` of a multi-view keyed call is keyed:
/// seed XOR (view * 0x9E3779B97F4A7C15 mod 2^64). View 0 keeps the run's
/// seed (it is the single-view example); distinct views of one run get
/// distinct seeds, so distinct Philox keys and independent draws.
RANDQUANT_INLINE uint64_t view_seed(uint64_t seed, uint64_t view) {
  return seed ^ (view * 0x9E3779B97F4A7C15ULL);
}

}  // namespace core
}  // namespace randquant
