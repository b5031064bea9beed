// Prometheus text for RelayMetrics.
#include "outbox/relay/relay_metrics.hpp"

namespace ticketing {
namespace {

void Append(std::string& out, const char* name, const char* type, const char* help,
            const std::string& value) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
         name + " " + value + "\n";
}

}  // namespace

std::string RelayMetrics::Render() const {
  std::string out;
  Append(out, "ticketing_relay_published_total", "counter",
         "Outbox events acknowledged by Kafka and marked PUBLISHED", std::to_string(published));
  Append(out, "ticketing_relay_publish_failures_total", "counter",
         "Publish attempts that failed because of the row itself", std::to_string(rejected));
  Append(out, "ticketing_relay_broker_failures_total", "counter",
         "Events not confirmed by the broker (timeouts, transport), retried",
         std::to_string(unconfirmed));
  Append(out, "ticketing_relay_quarantined_total", "counter",
         "Rows this relay moved to QUARANTINED", std::to_string(quarantined));
  Append(out, "ticketing_relay_held_back_total", "counter",
         "Claimed rows left for later to keep a user's events in order",
         std::to_string(held_back));
  Append(out, "ticketing_relay_batches_total", "counter", "Claim-publish-mark transactions",
         std::to_string(batches));
  Append(out, "ticketing_relay_db_errors_total", "counter", "Failed relay transactions",
         std::to_string(db_errors));
  Append(out, "ticketing_relay_retention_deleted_total", "counter",
         "PUBLISHED rows deleted after the retention period", std::to_string(deleted));
  Append(out, "ticketing_outbox_backlog", "gauge", "PENDING outbox rows",
         std::to_string(backlog));
  Append(out, "ticketing_outbox_oldest_pending_age_seconds", "gauge",
         "Age of the oldest PENDING outbox row", std::to_string(oldest_age_us / 1e6));
  Append(out, "ticketing_outbox_quarantined", "gauge", "QUARANTINED outbox rows",
         std::to_string(quarantined_rows));
  return out;
}

}  // namespace ticketing
