// Balance-cache keys whose post-commit update was lost (Redis unreachable at that moment),
// shared by every process of a worker pool, so that whichever process next reaches Redis
// deletes them before serving any cached balance: a lost update is never visible as a stale
// read in another process.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace ticketing {

class PendingInvalidations {
 public:
  static constexpr size_t kSlots = 4096;

  // Remembers `user_id`; lock-free. When every slot is taken the set overflows, and the next
  // drain must invalidate every cached balance.
  void Add(int64_t user_id);
  bool Empty() const {
    return count_.load(std::memory_order_acquire) == 0 &&
           !overflow_.load(std::memory_order_acquire);
  }
  // Calls `invalidate(user_id)` for each pending id (and `invalidate_all()` after an overflow),
  // forgetting those that succeeded. Returns false when one failed (Redis still unreachable).
  bool Drain(const std::function<bool(int64_t)>& invalidate,
             const std::function<bool()>& invalidate_all);

 private:
  std::atomic<uint32_t> count_{0};
  std::atomic<bool> overflow_{false};
  std::atomic<int64_t> slots_[kSlots] = {};
};

}  // namespace ticketing
