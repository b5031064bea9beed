// Prometheus counters and latency histograms shared by all children of a worker pool.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ticketing {

inline constexpr size_t kMaxRoutes = 24;
inline constexpr int kTrackedStatuses[] = {200, 201, 400, 401, 402, 403, 404, 405, 409,
                                           413, 415, 422, 429, 500, 502, 503, 504};
inline constexpr size_t kStatusSlots = std::size(kTrackedStatuses) + 1;  // + "other"
inline constexpr double kLatencyBounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                            0.1,    0.25,  0.5,    1.0,   2.5,  5.0};
inline constexpr size_t kLatencyBuckets = std::size(kLatencyBounds) + 1;  // + "+Inf"

enum class Counter {
  kWorkerRestarts,
  kDbErrors,
  kRedisErrors,
  kTxRetries,
  kBalanceCacheHits,
  kBalanceCacheMisses,
  kHoldsReleased,
  kRedisPipeWrites,
  kRedisPipeCommands,
  kCount,
};

// Lives in MAP_SHARED memory created by the master before fork, so every child adds to the
// same counters; lock-free atomics are address-free and safe across processes.
struct MetricsBlock {
  std::atomic<uint64_t> requests[kMaxRoutes][kStatusSlots];
  std::atomic<uint64_t> latency[kMaxRoutes][kLatencyBuckets];
  std::atomic<uint64_t> latency_sum_us[kMaxRoutes];
  std::atomic<uint64_t> counters[static_cast<size_t>(Counter::kCount)];
};
static_assert(std::atomic<uint64_t>::is_always_lock_free);

class Metrics {
 public:
  // Shared anonymous mapping: create in the master, before the children are forked.
  static Metrics CreateShared();
  // Private memory, for tests and single-process tools; freed with the last copy.
  static Metrics CreateLocal();

  void ObserveRequest(size_t route, int status, double seconds);
  void Increment(Counter counter, uint64_t n = 1);
  uint64_t Get(Counter counter) const;
  uint64_t Requests(size_t route, int status) const;

  // Prometheus text exposition; `routes[i]` names route index i.
  std::string Render(const std::vector<std::string_view>& routes) const;

 private:
  explicit Metrics(MetricsBlock* block, std::shared_ptr<MetricsBlock> owned = nullptr)
      : block_(block), owned_(std::move(owned)) {}
  MetricsBlock* block_;
  std::shared_ptr<MetricsBlock> owned_;  // set for CreateLocal only
};

}  // namespace ticketing
