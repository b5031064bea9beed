// The relay's idempotent Kafka producer: one batch produced asynchronously, one flush.
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "outbox/relay/outbox_row.hpp"

namespace ticketing {

class KafkaSetupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Whether a failed produce or delivery is the message's own fault (counted towards
// quarantine) or the broker's (retried without limit).
PublishOutcome ClassifyKafkaError(rd_kafka_resp_err_t err);

class KafkaPublisher {
 public:
  explicit KafkaPublisher(const Config& config);
  ~KafkaPublisher();
  KafkaPublisher(const KafkaPublisher&) = delete;
  KafkaPublisher& operator=(const KafkaPublisher&) = delete;

  // Produces `rows` in order (key = user id, headers event-id and event-type) and waits for
  // every delivery report, setting each row's outcome. A row whose produce() is refused stops
  // the later rows of the same user in this batch, which stay kNotAttempted.
  void PublishBatch(const std::vector<OutboxRow*>& rows);

 private:
  void Create();
  void Destroy();
  rd_kafka_resp_err_t ProduceOne(OutboxRow& row, const std::string& key);
  void RecreateIfFatal();

  const Config& config_;
  rd_kafka_t* producer_ = nullptr;
  rd_kafka_topic_t* topic_ = nullptr;
};

}  // namespace ticketing
