#pragma once
// A CPU allocator that counts live bytes and their peak, installed for a
// scope: what the memory tests and the benchmark's memory figures measure.
// No GoogleTest here.
#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <torch/version.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

// LibTorch 2.3 made Allocator::allocate non-const and added copy_data.
#if TORCH_VERSION_MAJOR > 2 || \
    (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define RQ_TEST_ALLOCATOR_2_3 1
#else
#define RQ_TEST_ALLOCATOR_2_3 0
#endif

namespace rq_test {

/// Counts the CPU allocator's live bytes and their peak.
class CountingAllocator final : public c10::Allocator {
 public:
  explicit CountingAllocator(c10::Allocator* inner) : inner_(inner) {}

#if RQ_TEST_ALLOCATOR_2_3
  c10::DataPtr allocate(size_t bytes) override {
#else
  c10::DataPtr allocate(size_t bytes) const override {
#endif
    c10::DataPtr inner = inner_->allocate(bytes);
    const int64_t live = live_ += static_cast<int64_t>(bytes);
    int64_t peak = peak_.load();
    while (live > peak && !peak_.compare_exchange_weak(peak, live)) {
    }
    auto* record = new Record{std::move(inner), bytes, this};
    void* data = record->inner.get();
    return {data, record, &release, record->inner.device()};
  }

  c10::DeleterFnPtr raw_deleter() const override { return nullptr; }

#if RQ_TEST_ALLOCATOR_2_3
  void copy_data(void* dest, const void* src,
                 std::size_t count) const override {
    default_copy_data(dest, src, count);
  }
#endif

  /// Starts a measurement: the peak is reset to the live bytes.
  void reset_peak() { peak_ = live_.load(); }
  int64_t live() const { return live_; }
  int64_t peak() const { return peak_; }

 private:
  struct Record {
    c10::DataPtr inner;
    size_t bytes;
    const CountingAllocator* owner;
  };
  static void release(void* ctx) {
    auto* record = static_cast<Record*>(ctx);
    record->owner->live_ -= static_cast<int64_t>(record->bytes);
    delete record;
  }

  c10::Allocator* inner_;
  mutable std::atomic<int64_t> live_{0};
  mutable std::atomic<int64_t> peak_{0};
};

/// Installs a CountingAllocator as the CPU allocator for its lifetime.
class CountingScope {
 public:
  // SetCPUAllocator only replaces an allocator of lower or equal priority:
  // each installation and restoration takes the next one.
  CountingScope() : previous_(c10::GetCPUAllocator()), counting_(previous_) {
    c10::SetCPUAllocator(&counting_, next_priority());
  }
  ~CountingScope() { c10::SetCPUAllocator(previous_, next_priority()); }
  CountingAllocator& counter() { return counting_; }

 private:
  static uint8_t next_priority() {
    static uint8_t priority = 100;
    return ++priority;
  }

  c10::Allocator* previous_;
  CountingAllocator counting_;
};

}  // namespace rq_test
