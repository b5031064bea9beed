// The payment-events consumer: poll a batch, apply it in one DB transaction, then commit
// the Kafka offsets (never before the DB commit).
#pragma once

#include <librdkafka/rdkafka.h>

#include <csignal>
#include <map>
#include <vector>

#include "core/config.hpp"
#include "outbox/consumer/consumer_metrics.hpp"
#include "outbox/consumer/payment_event.hpp"
#include "outbox/consumer/projection_repository.hpp"

namespace ticketing {

class EventConsumer {
 public:
  // Joins config.consumer_group and subscribes to config.kafka_topic; throws
  // KafkaSetupError.
  EventConsumer(const Config& config, ProjectionRepository& repository, ConsumerMetrics& metrics);
  ~EventConsumer();
  EventConsumer(const EventConsumer&) = delete;
  EventConsumer& operator=(const EventConsumer&) = delete;

  void Run(const volatile sig_atomic_t& stop);

 private:
  struct Batch {
    std::vector<PaymentEvent> events;
    std::map<int32_t, int64_t> next_offsets;  // partition -> last offset + 1
    size_t messages = 0;
  };

  Batch PollBatch(const volatile sig_atomic_t& stop);
  void Take(const rd_kafka_message_t& message, Batch& batch);
  bool ApplyUntilDone(const Batch& batch, const volatile sig_atomic_t& stop);
  void CommitOffsets(const Batch& batch);

  const Config& config_;
  ProjectionRepository& repository_;
  ConsumerMetrics& metrics_;
  rd_kafka_t* consumer_ = nullptr;
};

}  // namespace ticketing
