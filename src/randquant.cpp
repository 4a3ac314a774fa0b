// randquant::compiled: the CPU kernels and the parameter math, instantiated
// once for every dtype. Translation units that link this library get
// RANDQUANT_COMPILED and declare these instantiations extern, so they skip
// compiling them (detail/compiled_instantiations.h).
#include "randquant/randquant.h"

/// Defines the instantiations of one dtype.
#define RANDQUANT_DEFINE(T) RANDQUANT_CPU_INSTANTIATIONS(, T)
RANDQUANT_FOR_EACH_DTYPE(RANDQUANT_DEFINE)
#undef RANDQUANT_DEFINE

// The call pipeline (detail::Pipeline): every entry's checks, keys, kernel
// choice, composite path and gradient, instantiated once.
template struct randquant::detail::Pipeline<void>;
