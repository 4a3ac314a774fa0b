#pragma once
/// \file
/// Allocation of a call's fresh output. A large CPU output is a fresh
/// mapping (glibc maps blocks above its mmap threshold anew each time), and
/// touching it first costs one page fault per 4 KB page, more than the
/// quantization itself on a 38 MB batch. Asking for transparent huge pages
/// before the first touch makes that one fault per 2 MB (what PyTorch 2.x's
/// allocator does under THP_MEM_ALLOC_ENABLE=1). Host only (ATen).

#include <ATen/ATen.h>
#include <ATen/MemoryOverlap.h>
#include <c10/core/InferenceMode.h>

#include <cstdint>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace randquant {
namespace detail {

/// Outputs from this size on get the huge-page advice: at least one whole
/// 2 MB page inside, and large enough that glibc maps them fresh.
constexpr int64_t kHugePageAdviceBytes = int64_t{4} << 20;

/// Advises the kernel to back the whole 2 MB pages inside [data, data +
/// bytes) with transparent huge pages. Only a hint: where THP is off (or not
/// Linux) nothing changes, and a failure is ignored.
inline void advise_huge_pages(void* data, int64_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t{1} << 21;
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data);
  // Pointer arithmetic from `data` (not an integer cast back to a pointer).
  const uintptr_t skip = (kHuge - begin % kHuge) % kHuge;
  const uintptr_t usable = static_cast<uintptr_t>(bytes) > skip
                               ? static_cast<uintptr_t>(bytes) - skip
                               : 0;
  const uintptr_t length = usable - usable % kHuge;
  if (length > 0) {
    (void)madvise(static_cast<char*>(data) + skip, length, MADV_HUGEPAGE);
  }
#else
  (void)data;
  (void)bytes;
#endif
}

/// `out` (new, untouched), advised to huge pages when it is a large CPU
/// tensor.
inline at::Tensor with_huge_page_advice(at::Tensor out) {
  if (out.is_cpu() &&
      out.nbytes() >= static_cast<size_t>(kHugePageAdviceBytes)) {
    advise_huge_pages(out.data_ptr(), static_cast<int64_t>(out.nbytes()));
  }
  return out;
}

/// A new uninitialised tensor like x (empty_like: dense layouts such as
/// channels-last are kept), advised to huge pages when large.
inline at::Tensor empty_output(const at::Tensor& x) {
  return with_huge_page_advice(at::empty_like(x));
}

/// at::stack(tensors) into a new buffer advised to huge pages when large
/// (at::stack's own checks and errors apply).
inline at::Tensor stack_into_new_buffer(at::TensorList tensors) {
  TORCH_CHECK(!tensors.empty(), "stack expects a non-empty TensorList");
  std::vector<int64_t> sizes{static_cast<int64_t>(tensors.size())};
  const at::IntArrayRef first = tensors[0].sizes();
  sizes.insert(sizes.end(), first.begin(), first.end());
  at::Tensor out =
      with_huge_page_advice(at::empty(sizes, tensors[0].options()));
  at::stack_out(out, tensors, 0);
  return out;
}

/// Whether nothing but this handle can see t's elements, so writing them in
/// place changes no other tensor and no memory the caller merely lent:
/// - the only handle to its TensorImpl (a dataset or cache that still holds
///   the tensor keeps it unchanged);
/// - the only tensor on its storage (not a view of a dataset's tensor);
/// - memory an allocator owns (not from_blob, with or without a deleter:
///   its storage has no allocator, and the buffer stays the caller's);
/// - no element stored for several indices (not expanded);
/// - no gradient, and writable here (an inference tensor only in
///   inference mode).
inline bool exclusively_owned(const at::Tensor& t) {
  return t.defined() && t.use_count() == 1 && t.has_storage() &&
         t.storage().use_count() == 1 && t.storage().allocator() != nullptr &&
         at::has_internal_overlap(t) == at::MemOverlap::No &&
         !t.requires_grad() &&
         (!t.is_inference() || c10::InferenceMode::is_enabled());
}

}  // namespace detail
}  // namespace randquant
