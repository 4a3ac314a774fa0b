#pragma once
/// \file
/// Which vector loops this build has and this CPU runs. The loops are
/// compiled with function-level target attributes, so the including
/// translation unit needs no -mavx2 or -mavx512f; each is chosen at run time
/// from __builtin_cpu_supports, checked once.

// Depends only on the target architecture and compiler family, which a g++
// and an nvcc translation unit of one program share (nvcc hands host code to
// the same g++), so every translation unit compiles the same inline bodies.
#if (defined(__x86_64__) || defined(__i386__)) && \
    (defined(__GNUC__) || defined(__clang__))
/// 1 where the AVX2 and AVX-512 loops are compiled (x86 with GCC or Clang).
#define RANDQUANT_HAS_X86_SIMD 1
#include <immintrin.h>
#else
#define RANDQUANT_HAS_X86_SIMD 0
#endif

#include <atomic>

namespace randquant {
namespace cpu {

/// Families of vector loops, in increasing order.
enum class VectorLoops : int {
  kPortable = 0,  ///< plain C++ only
  kAvx2 = 1,      ///< AVX2 + FMA
  kAvx512 = 2     ///< AVX-512 (F; BW and VBMI for bytes)
};

/// The most capable loops the kernels may use; default: all. Lowering it
/// makes the kernels use what a CPU without the others would, which lets
/// tests and benchmarks run every loop on one machine (results are the
/// same bit for bit).
inline std::atomic<int>& vector_loops_cap() {
  static std::atomic<int> cap{static_cast<int>(VectorLoops::kAvx512)};
  return cap;
}

/// Whether loops of family `loops` are allowed by vector_loops_cap().
inline bool allowed(VectorLoops loops) {
  return static_cast<int>(loops) <=
         vector_loops_cap().load(std::memory_order_relaxed);
}

namespace avx2 {
/// Whether this CPU runs the AVX2 + FMA loops (and they are allowed).
inline bool available() {
#if RANDQUANT_HAS_X86_SIMD
  static const bool ok =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok && allowed(VectorLoops::kAvx2);
#else
  return false;
#endif
}
}  // namespace avx2

namespace avx512 {
/// Whether this CPU runs the AVX-512F float32 loops (and they are allowed).
inline bool float_available() {
#if RANDQUANT_HAS_X86_SIMD
  static const bool ok = __builtin_cpu_supports("avx512f");
  return ok && allowed(VectorLoops::kAvx512);
#else
  return false;
#endif
}

/// Whether this CPU runs the AVX-512 VBMI byte loop (Ice Lake and later
/// Intel, Zen 4 and later AMD; and it is allowed).
inline bool vbmi_available() {
#if RANDQUANT_HAS_X86_SIMD
  static const bool ok = __builtin_cpu_supports("avx512f") &&
                         __builtin_cpu_supports("avx512bw") &&
                         __builtin_cpu_supports("avx512vbmi");
  return ok && allowed(VectorLoops::kAvx512);
#else
  return false;
#endif
}
}  // namespace avx512

}  // namespace cpu
}  // namespace randquant
