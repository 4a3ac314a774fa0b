#pragma once
/// \file
/// randquant: Randomized Quantization (Wu et al., ICCV 2023) for LibTorch.
/// Umbrella header: options, the functional API, the per-slice parameters,
/// the nn module, the dataset transforms, sample keys and the keyed
/// dataset adaptor. Includes no CUDA header.
/// \code
/// #include <randquant/randquant.h>
/// at::Tensor q = randquant::randomized_quantize(at::rand({8, 3, 32, 32}));
/// \endcode

/// \namespace randquant
/// The public API of randquant: randomized_quantize() and its in-place,
/// out= and composite variants, RandomizedQuantizationOptions with Collapse
/// and Spacing, quantization_params(), SampleKeys and the module
/// RandomizedQuantization. The behaviour contract is \ref md_docs_SPEC
/// "SPEC.md". The nested namespaces detail, core, cpu and cuda are the
/// implementation: no stable API.

#include "randquant/data.h"
#include "randquant/functional.h"
#include "randquant/nn.h"
#include "randquant/options.h"
#include "randquant/params.h"
#include "randquant/sample_keys.h"
#include "randquant/transforms.h"
#include "randquant/version.h"
