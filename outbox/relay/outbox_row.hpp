// One claimed outbox row and what happened to it in the batch.
#pragma once

#include <cstdint>
#include <string>

namespace ticketing {

enum class PublishOutcome {
  kNotAttempted,  // held back (per-key order) or the batch stopped before it: stays PENDING
  kPublished,     // the broker acknowledged it (acks=all)
  kRejected,      // this row's own fault (bad payload, refused by the producer or broker)
  kUnconfirmed,   // broker trouble (timeout, transport): retried without counting an attempt
};

struct OutboxRow {
  int64_t id = 0;
  std::string event_id;
  int64_t aggregate_id = 0;
  std::string event_type;
  std::string payload;
  int attempts = 0;

  PublishOutcome outcome = PublishOutcome::kNotAttempted;
  std::string error;
};

}  // namespace ticketing
