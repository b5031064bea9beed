// The consumer's counters, written by its loop and read by the metrics thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <iterator>
#include <string>

namespace ticketing {

struct ConsumerMetrics {
  std::atomic<uint64_t> consumed{0};
  std::atomic<uint64_t> applied{0};
  std::atomic<uint64_t> duplicates{0};
  std::atomic<uint64_t> invalid{0};
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> db_errors{0};
  std::atomic<uint64_t> commit_failures{0};

  // Time from the payment's commit (occurredAt) to this consumer's own commit of the event:
  // the end-to-end delay through outbox, relay and Kafka.
  static constexpr double kLatencyBounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                              0.5,   1.0,  2.5,   5.0,  10.0};
  std::atomic<uint64_t> latency_buckets[std::size(kLatencyBounds) + 1] = {};
  std::atomic<uint64_t> latency_sum_ms{0};
  void ObserveCommitToApply(double seconds);

  std::string Render() const;
};

}  // namespace ticketing
