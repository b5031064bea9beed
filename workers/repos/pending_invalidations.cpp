// PendingInvalidations: a fixed array of atomics, slot value 0 meaning free.
#include "workers/repos/pending_invalidations.hpp"

namespace ticketing {

void PendingInvalidations::Add(int64_t user_id) {
  const size_t start = static_cast<size_t>(user_id) % kSlots;
  for (size_t i = 0; i < kSlots; ++i) {
    std::atomic<int64_t>& slot = slots_[(start + i) % kSlots];
    int64_t current = slot.load(std::memory_order_relaxed);
    if (current == user_id) return;
    if (current == 0 && slot.compare_exchange_strong(current, user_id)) {
      count_.fetch_add(1, std::memory_order_release);
      return;
    }
  }
  overflow_.store(true, std::memory_order_release);
}

bool PendingInvalidations::Drain(const std::function<bool(int64_t)>& invalidate,
                                 const std::function<bool()>& invalidate_all) {
  if (overflow_.load(std::memory_order_acquire)) {
    if (!invalidate_all()) return false;
    overflow_.store(false, std::memory_order_release);
  }
  for (auto& slot : slots_) {
    if (count_.load(std::memory_order_acquire) == 0) break;
    int64_t user_id = slot.load(std::memory_order_acquire);
    if (user_id == 0) continue;
    if (!invalidate(user_id)) return false;
    // Another process may have drained it meanwhile: only the winner of the exchange counts.
    if (slot.compare_exchange_strong(user_id, 0)) count_.fetch_sub(1, std::memory_order_release);
  }
  return true;
}

}  // namespace ticketing
