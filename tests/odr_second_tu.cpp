// A second translation unit that includes every public header: if a header
// defined a non-inline function or variable, the test binary would not link.
#include "randquant/composite/composite.h"
#include "randquant/core/bucket_table.h"
#include "randquant/core/enums.h"
#include "randquant/core/param_table.h"
#include "randquant/core/philox.h"
#include "randquant/core/slice_math.h"
#include "randquant/core/work_units.h"
#include "randquant/cpu/quantize_cpu.h"
#include "randquant/cuda/launch_setup.h"
#include "randquant/cuda/passes.h"
#include "randquant/cuda/quantize_cuda.h"
#include "randquant/data.h"
#include "randquant/detail/autograd.h"
#include "randquant/detail/backend.h"
#include "randquant/detail/dispatch.h"
#include "randquant/detail/example_calls.h"
#include "randquant/detail/keyed_dataset.h"
#include "randquant/detail/param_table.h"
#include "randquant/detail/pipeline.h"
#include "randquant/functional.h"
#include "randquant/nn.h"
#include "randquant/options.h"
#include "randquant/params.h"
#include "randquant/randquant.h"
#include "randquant/transforms.h"

/// Distinct values of a Uniform/Middle R = 4 quantization of a ramp.
int quantize_in_second_tu() {
  const at::Tensor x = at::arange(16, at::kFloat).view({1, 1, 16});
  const at::Tensor y = randquant::randomized_quantize(
      x, randquant::RandomizedQuantizationOptions(4)
             .spacing(randquant::Spacing::Uniform)
             .collapse(randquant::Collapse::Middle));
  return static_cast<int>(std::get<0>(at::_unique(y)).numel());
}
