// The consumer's counters, written by its loop and read by the metrics thread.
#pragma once

#include <atomic>
#include <cstdint>
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

  std::string Render() const;
};

}  // namespace ticketing
