#pragma once
/// \file
/// What one thread of a CUDA block does in each pass, as plain host+device
/// C++ (no intrinsics, no shared-memory declarations, no barriers).
/// kernel.cuh's kernels call these with threadIdx.x and put a barrier
/// between phases; tests/cuda_emulation.h runs every thread of every block
/// on the CPU, phase by phase, so the code the GPU runs is also checked on
/// machines without one.
///
/// Three launches, see launch_plan.h for the units:
///  1. min_max_pass.h: one block per unit finds its finite min/max;
///  2. params_pass.h: one block per slice folds its units' min/max and
///     derives the cut points and proxies in parallel;
///  3. write_pass.h: one block per unit (last to first) stages its slice's
///     parameters and writes the unit.

#include "randquant/cuda/launch_plan.h"
#include "randquant/cuda/min_max_pass.h"
#include "randquant/cuda/params_pass.h"
#include "randquant/cuda/unit_walk.h"
#include "randquant/cuda/write_pass.h"
