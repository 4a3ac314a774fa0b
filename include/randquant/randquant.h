#pragma once
/// \file
/// randquant: Randomized Quantization (Wu et al., ICCV 2023) for LibTorch.
/// Umbrella header: options, the functional API, the per-slice parameters,
/// the nn module, the dataset transforms, sample keys and the keyed
/// dataset adaptor. Includes no CUDA header.

#include "randquant/data.h"
#include "randquant/functional.h"
#include "randquant/nn.h"
#include "randquant/options.h"
#include "randquant/params.h"
#include "randquant/sample_keys.h"
#include "randquant/transforms.h"
#include "randquant/version.h"
