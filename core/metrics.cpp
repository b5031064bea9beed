// Shared-memory metrics and their Prometheus text rendering.
#include "core/metrics.hpp"

#include "core/shared_memory.hpp"


#include <cstdio>
#include <new>
#include <stdexcept>

namespace ticketing {
namespace {

size_t StatusSlot(int status) {
  for (size_t i = 0; i < std::size(kTrackedStatuses); ++i) {
    if (kTrackedStatuses[i] == status) return i;
  }
  return kStatusSlots - 1;
}

constexpr const char* kCounterNames[] = {
    "ticketing_worker_restarts_total",       "ticketing_db_errors_total",
    "ticketing_redis_errors_total",          "ticketing_tx_retries_total",
    "ticketing_balance_cache_hits_total",    "ticketing_balance_cache_misses_total",
    "ticketing_holds_released_total",        "ticketing_redis_pipe_writes_total",
    "ticketing_redis_pipe_commands_total",
};
static_assert(std::size(kCounterNames) == static_cast<size_t>(Counter::kCount));

constexpr const char* kCounterHelp[] = {
    "Worker children respawned by their master after dying",
    "MySQL errors seen by workers (connection, timeout, deadlock)",
    "Redis errors seen by workers",
    "Transactions retried after a deadlock or lock-wait timeout",
    "Balance reads served from Redis",
    "Balance reads that went to MySQL",
    "Expired seat holds released by the sweeper",
    "Writes of the workers' Redis pipes (commands / writes = commands per batch)",
    "Commands sent on the workers' Redis pipes",
};
static_assert(std::size(kCounterHelp) == static_cast<size_t>(Counter::kCount));

// "0.0005", "0.5", "1.0": whole numbers keep one decimal, as Prometheus clients print them.
std::string BoundLabel(double bound) {
  char buf[32];
  if (bound == static_cast<double>(static_cast<int64_t>(bound))) {
    std::snprintf(buf, sizeof buf, "%.1f", bound);
  } else {
    std::snprintf(buf, sizeof buf, "%g", bound);
  }
  return buf;
}

}  // namespace

Metrics Metrics::CreateShared() { return Metrics(ticketing::CreateShared<MetricsBlock>()); }

Metrics Metrics::CreateLocal() {
  auto block = std::make_shared<MetricsBlock>();
  MetricsBlock* raw = block.get();
  return Metrics(raw, std::move(block));
}

void Metrics::ObserveRequest(size_t route, int status, double seconds) {
  if (route >= kMaxRoutes) return;
  block_->requests[route][StatusSlot(status)].fetch_add(1, std::memory_order_relaxed);
  size_t bucket = 0;
  while (bucket < std::size(kLatencyBounds) && seconds > kLatencyBounds[bucket]) ++bucket;
  block_->latency[route][bucket].fetch_add(1, std::memory_order_relaxed);
  block_->latency_sum_us[route].fetch_add(static_cast<uint64_t>(seconds * 1e6),
                                          std::memory_order_relaxed);
}

void Metrics::Increment(Counter counter, uint64_t n) {
  block_->counters[static_cast<size_t>(counter)].fetch_add(n, std::memory_order_relaxed);
}

uint64_t Metrics::Get(Counter counter) const {
  return block_->counters[static_cast<size_t>(counter)].load(std::memory_order_relaxed);
}

uint64_t Metrics::Requests(size_t route, int status) const {
  if (route >= kMaxRoutes) return 0;
  return block_->requests[route][StatusSlot(status)].load(std::memory_order_relaxed);
}

std::string Metrics::Render(const std::vector<std::string_view>& routes) const {
  std::string out;
  out.reserve(16384);
  char line[256];
  out += "# HELP ticketing_http_requests_total Requests served, by route and status\n";
  out += "# TYPE ticketing_http_requests_total counter\n";
  for (size_t r = 0; r < routes.size() && r < kMaxRoutes; ++r) {
    for (size_t s = 0; s < kStatusSlots; ++s) {
      const uint64_t n = block_->requests[r][s].load(std::memory_order_relaxed);
      if (n == 0) continue;
      const std::string status =
          s < std::size(kTrackedStatuses) ? std::to_string(kTrackedStatuses[s]) : "other";
      std::snprintf(line, sizeof line,
                    "ticketing_http_requests_total{route=\"%.*s\",status=\"%s\"} %llu\n",
                    static_cast<int>(routes[r].size()), routes[r].data(), status.c_str(),
                    static_cast<unsigned long long>(n));
      out += line;
    }
  }
  out += "# HELP ticketing_http_request_duration_seconds Request latency inside the worker\n";
  out += "# TYPE ticketing_http_request_duration_seconds histogram\n";
  for (size_t r = 0; r < routes.size() && r < kMaxRoutes; ++r) {
    uint64_t cumulative = 0;
    const int name_len = static_cast<int>(routes[r].size());
    for (size_t b = 0; b < kLatencyBuckets; ++b) {
      cumulative += block_->latency[r][b].load(std::memory_order_relaxed);
      const std::string le = b < std::size(kLatencyBounds) ? BoundLabel(kLatencyBounds[b]) : "+Inf";
      std::snprintf(line, sizeof line,
                    "ticketing_http_request_duration_seconds_bucket{route=\"%.*s\",le=\"%s\"} "
                    "%llu\n",
                    name_len, routes[r].data(), le.c_str(),
                    static_cast<unsigned long long>(cumulative));
      out += line;
    }
    const double sum = static_cast<double>(block_->latency_sum_us[r].load()) / 1e6;
    std::snprintf(line, sizeof line,
                  "ticketing_http_request_duration_seconds_sum{route=\"%.*s\"} %.6f\n"
                  "ticketing_http_request_duration_seconds_count{route=\"%.*s\"} %llu\n",
                  name_len, routes[r].data(), sum, name_len, routes[r].data(),
                  static_cast<unsigned long long>(cumulative));
    out += line;
  }
  for (size_t c = 0; c < static_cast<size_t>(Counter::kCount); ++c) {
    std::snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n",
                  kCounterNames[c], kCounterHelp[c], kCounterNames[c], kCounterNames[c],
                  static_cast<unsigned long long>(block_->counters[c].load()));
    out += line;
  }
  return out;
}

}  // namespace ticketing
