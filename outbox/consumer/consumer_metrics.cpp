// Prometheus text for ConsumerMetrics.
#include "outbox/consumer/consumer_metrics.hpp"

#include <cstdio>

namespace ticketing {
namespace {

void Counter(std::string& out, const char* name, const char* help, uint64_t value) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
         " " + std::to_string(value) + "\n";
}

}  // namespace

void ConsumerMetrics::ObserveCommitToApply(double seconds) {
  size_t bucket = 0;
  while (bucket < std::size(kLatencyBounds) && seconds > kLatencyBounds[bucket]) ++bucket;
  latency_buckets[bucket]++;
  latency_sum_ms += static_cast<uint64_t>(seconds > 0 ? seconds * 1000 : 0);
}

std::string ConsumerMetrics::Render() const {
  std::string out;
  Counter(out, "ticketing_consumer_messages_total", "Messages read from the topic", consumed);
  Counter(out, "ticketing_consumer_applied_total", "Events applied to the projections", applied);
  Counter(out, "ticketing_consumer_duplicates_total", "Redelivered events skipped by eventId",
          duplicates);
  Counter(out, "ticketing_consumer_invalid_total", "Messages that are not a payment event",
          invalid);
  Counter(out, "ticketing_consumer_batches_total", "Database transactions committed", batches);
  Counter(out, "ticketing_consumer_db_errors_total", "Failed batch transactions (retried)",
          db_errors);
  Counter(out, "ticketing_consumer_commit_failures_total", "Kafka offset commits that failed",
          commit_failures);
  const char* name = "ticketing_consumer_commit_to_apply_seconds";
  out += std::string("# HELP ") + name +
         " From the payment's commit to the consumer's commit of its event\n# TYPE " + name +
         " histogram\n";
  uint64_t cumulative = 0;
  char line[160];
  for (size_t b = 0; b <= std::size(kLatencyBounds); ++b) {
    cumulative += latency_buckets[b];
    if (b < std::size(kLatencyBounds)) {
      std::snprintf(line, sizeof line, "%s_bucket{le=\"%g\"} %llu\n", name, kLatencyBounds[b],
                    static_cast<unsigned long long>(cumulative));
    } else {
      std::snprintf(line, sizeof line, "%s_bucket{le=\"+Inf\"} %llu\n", name,
                    static_cast<unsigned long long>(cumulative));
    }
    out += line;
  }
  std::snprintf(line, sizeof line, "%s_sum %.3f\n%s_count %llu\n", name,
                static_cast<double>(latency_sum_ms) / 1000.0, name,
                static_cast<unsigned long long>(cumulative));
  out += line;
  return out;
}

}  // namespace ticketing
