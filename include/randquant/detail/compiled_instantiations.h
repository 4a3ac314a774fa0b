#pragma once
/// \file
/// The templates that randquant::compiled instantiates once for every
/// supported dtype (src/randquant.cpp), so that translation units linking it
/// skip those instantiations, the bulk of a translation unit's compile time.
/// With RANDQUANT_COMPILED defined (randquant::compiled defines it for its
/// users) the headers declare them `extern template`; this changes no
/// inline body, only where the instantiations are emitted.

#include <cstdint>

#include "randquant/cpu/quantize_cpu.h"
#include "randquant/detail/generator.h"
#include "randquant/detail/param_table.h"
#include "randquant/detail/slice_views.h"
#include "randquant/options.h"

/// Applies MACRO(T) to every element type randquant supports.
#define RANDQUANT_FOR_EACH_DTYPE(MACRO) \
  MACRO(float)                          \
  MACRO(double)                         \
  MACRO(c10::Half)                      \
  MACRO(c10::BFloat16)                  \
  MACRO(uint8_t)                        \
  MACRO(int8_t)                         \
  MACRO(int16_t)                        \
  MACRO(int32_t)                        \
  MACRO(int64_t)

/// The instantiations of randquant::compiled for element type T, preceded
/// by PREFIX (`extern` to declare them, nothing to define them). PREFIX is
/// a keyword and T a template argument: neither can be parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define RANDQUANT_CPU_INSTANTIATIONS(PREFIX, T)                                \
  PREFIX template void randquant::cpu::quantize_views<T>(                      \
      const randquant::detail::SliceViews&, const randquant::detail::CallKey&, \
      const randquant::RandomizedQuantizationOptions&);                        \
  PREFIX template void randquant::detail::fill_params_cpu<T>(                  \
      randquant::QuantizationParams&,                                          \
      const randquant::RandomizedQuantizationOptions&);
// NOLINTEND(bugprone-macro-parentheses)

#ifdef RANDQUANT_COMPILED
/// Declares the instantiations of one dtype as extern.
#define RANDQUANT_DECLARE_EXTERN(T) RANDQUANT_CPU_INSTANTIATIONS(extern, T)
RANDQUANT_FOR_EACH_DTYPE(RANDQUANT_DECLARE_EXTERN)
#undef RANDQUANT_DECLARE_EXTERN
#endif
