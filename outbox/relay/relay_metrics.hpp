// The relay's counters and gauges, written by the relay loop and read by the metrics thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace ticketing {

struct RelayMetrics {
  std::atomic<uint64_t> published{0};
  std::atomic<uint64_t> rejected{0};       // row-specific failures (counted attempts)
  std::atomic<uint64_t> unconfirmed{0};    // broker-side failures (retried without counting)
  std::atomic<uint64_t> quarantined{0};
  std::atomic<uint64_t> held_back{0};      // claimed but left for per-user order
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> db_errors{0};
  std::atomic<uint64_t> deleted{0};
  std::atomic<int64_t> backlog{0};
  std::atomic<int64_t> oldest_age_us{0};
  std::atomic<int64_t> quarantined_rows{0};

  std::string Render() const;
};

}  // namespace ticketing
