#pragma once
/// \file
/// Portability macros for code shared by the host compiler and nvcc. They
/// change only a function's execution-space attributes, never its body, so
/// a g++ and an nvcc translation unit see the same inline definitions.

#if defined(__CUDACC__) || defined(__HIPCC__)
/// Marks a function callable from host and device code.
#define RANDQUANT_HOST_DEVICE __host__ __device__
#else
/// Marks a function callable from host and device code.
#define RANDQUANT_HOST_DEVICE
#endif

/// Inline host/device function; the per-slice math is small and hot.
#define RANDQUANT_INLINE RANDQUANT_HOST_DEVICE inline
