#pragma once
/// \file
/// What the host does before a CUDA launch, shared by quantize_cuda.cuh and
/// the CPU emulation test: the plan for a call's views and options, and the
/// launch's arguments over a scratch buffer of scratch_bytes() bytes.

#include <ATen/ATen.h>

#include <cstdint>

#include "randquant/cuda/launch_plan.h"
#include "randquant/detail/param_table.h"
#include "randquant/detail/slice_views.h"
#include "randquant/options.h"

namespace randquant {
namespace cuda {

/// The plan of a launch on `views` (N, C, rest...) with `options`.
inline LaunchPlan plan_for(const detail::SliceViews& views,
                           const RandomizedQuantizationOptions& options) {
  return plan_launch(views.in_v.size(0) * views.in_v.size(1),
                     views.in_v.size(1), views.layout.slice_size(),
                     detail::max_slice_regions(options));
}

/// The arguments of the launch `plan` on `views`, keyed by `host_key` or,
/// when not null, the key at `device_key`; scratch arrays carved from
/// `scratch`.
template <typename T, typename A>
LaunchArgs<T, A> launch_args(const detail::SliceViews& views,
                             const LaunchPlan& plan,
                             const RandomizedQuantizationOptions& options,
                             uint64_t host_key, const int64_t* device_key,
                             unsigned char* scratch) {
  LaunchArgs<T, A> args;
  args.in = views.in_v.data_ptr<T>();
  args.out = views.out_v.data_ptr<T>();
  args.layout = views.layout;
  args.grid = plan.grid;
  args.rmax = plan.rmax;
  args.key = host_key;
  args.device_key = device_key;
  args.cfg = detail::slice_config(options);
  args.p = options.p();
  carve_scratch(scratch, plan, &args);
  return args;
}

}  // namespace cuda
}  // namespace randquant
