#pragma once
/// \file
/// Portability macros for code shared by the host compiler and nvcc.

#if defined(__CUDACC__) || defined(__HIPCC__)
/// Marks a function callable from host and device code.
#define RQ_HOST_DEVICE __host__ __device__
#else
/// Marks a function callable from host and device code.
#define RQ_HOST_DEVICE
#endif

/// Inline host/device function; the per-slice math is small and hot.
#define RQ_INLINE RQ_HOST_DEVICE inline
