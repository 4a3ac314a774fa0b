#pragma once
/// \file
/// randquant: Randomized Quantization (Wu et al., ICCV 2023) for LibTorch.
/// Umbrella header: options, the functional API and the per-slice
/// parameters. Includes no CUDA header.

#include "randquant/functional.h"
#include "randquant/options.h"
#include "randquant/params.h"
#include "randquant/version.h"
