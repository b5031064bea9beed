// Prometheus text for ConsumerMetrics.
#include "outbox/consumer/consumer_metrics.hpp"

namespace ticketing {
namespace {

void Counter(std::string& out, const char* name, const char* help, uint64_t value) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
         " " + std::to_string(value) + "\n";
}

}  // namespace

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
  return out;
}

}  // namespace ticketing
