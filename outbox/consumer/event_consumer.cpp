// EventConsumer on librdkafka 2.0 (rd_kafka_consumer_poll; manual offset commits).
#include "outbox/consumer/event_consumer.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include "core/log.hpp"
#include "outbox/relay/kafka_publisher.hpp"

namespace ticketing {
namespace {

constexpr int kFirstPollMs = 200;  // how long an idle consumer waits per poll (stop latency)
constexpr int kFillPollMs = 5;     // after the first message: top the batch up, then apply
constexpr int64_t kRetryMaxMs = 5000;

void SetOrThrow(rd_kafka_conf_t* conf, const char* name, const std::string& value) {
  char error[512];
  if (rd_kafka_conf_set(conf, name, value.c_str(), error, sizeof(error)) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    throw KafkaSetupError(std::string("kafka setting ") + name + ": " + error);
  }
}

}  // namespace

EventConsumer::EventConsumer(const Config& config, ProjectionRepository& repository,
                             ConsumerMetrics& metrics)
    : config_(config), repository_(repository), metrics_(metrics) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  SetOrThrow(conf, "bootstrap.servers", config.kafka_brokers);
  SetOrThrow(conf, "group.id", config.consumer_group);
  SetOrThrow(conf, "client.id", "ticketing-consumer");
  // Offsets move only in CommitOffsets, after the batch's DB transaction committed.
  SetOrThrow(conf, "enable.auto.commit", "false");
  SetOrThrow(conf, "enable.auto.offset.store", "false");
  SetOrThrow(conf, "auto.offset.reset", "earliest");
  char error[512];
  consumer_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof(error));
  if (consumer_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw KafkaSetupError(std::string("rd_kafka_new: ") + error);
  }
  rd_kafka_poll_set_consumer(consumer_);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, config.kafka_topic.c_str(), RD_KAFKA_PARTITION_UA);
  const rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer_, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_destroy(consumer_);
    throw KafkaSetupError(std::string("rd_kafka_subscribe: ") + rd_kafka_err2str(err));
  }
}

EventConsumer::~EventConsumer() {
  rd_kafka_consumer_close(consumer_);
  rd_kafka_destroy(consumer_);
}

void EventConsumer::Run(const volatile sig_atomic_t& stop) {
  while (!stop) {
    const Batch batch = PollBatch(stop);
    if (batch.messages == 0) continue;
    // Stopped before the DB commit: offsets stay put and the batch is read again later.
    if (!ApplyUntilDone(batch, stop)) break;
    CommitOffsets(batch);
  }
  Log(LogLevel::kInfo, "consumer stopped");
}

EventConsumer::Batch EventConsumer::PollBatch(const volatile sig_atomic_t& stop) {
  Batch batch;
  int timeout = kFirstPollMs;
  while (!stop && batch.messages < static_cast<size_t>(config_.consumer_batch_size)) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer_, timeout);
    if (message == nullptr) break;
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        Log(LogLevel::kWarn, "kafka consumer error").Str("error", rd_kafka_message_errstr(message));
      }
    } else {
      Take(*message, batch);
      timeout = kFillPollMs;
    }
    rd_kafka_message_destroy(message);
  }
  return batch;
}

void EventConsumer::Take(const rd_kafka_message_t& message, Batch& batch) {
  batch.messages++;
  metrics_.consumed++;
  auto& next = batch.next_offsets[message.partition];
  next = std::max<int64_t>(next, message.offset + 1);
  std::string error;
  const std::string_view value(static_cast<const char*>(message.payload), message.len);
  auto event = ParsePaymentEvent(value, error);
  if (!event) {
    // Not retried: the same bytes would fail again. Logged, counted, and its offset committed.
    metrics_.invalid++;
    Log(LogLevel::kError, "skipping a message that is not a payment event")
        .Int("partition", message.partition)
        .Int("offset", message.offset)
        .Str("error", error);
    return;
  }
  event->partition = message.partition;
  event->offset = message.offset;
  batch.events.push_back(std::move(*event));
}

bool EventConsumer::ApplyUntilDone(const Batch& batch, const volatile sig_atomic_t& stop) {
  int64_t delay_ms = 50;
  while (!stop) {
    try {
      const ApplyResult result = repository_.ApplyBatch(batch.events);
      const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      for (const PaymentEvent& event : batch.events) {
        if (event.occurred_at_ms > 0) {
          metrics_.ObserveCommitToApply(static_cast<double>(now_ms - event.occurred_at_ms) / 1000.0);
        }
      }
      metrics_.applied += result.applied;
      metrics_.duplicates += result.duplicates;
      metrics_.batches++;
      return true;
    } catch (const DbError& e) {
      metrics_.db_errors++;
      Log(LogLevel::kWarn, "consumer batch failed, retrying")
          .Int("code", e.code())
          .Int("retry_in_ms", delay_ms)
          .Str("detail", e.what());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    delay_ms = std::min(delay_ms * 2, kRetryMaxMs);
  }
  return false;
}

void EventConsumer::CommitOffsets(const Batch& batch) {
  rd_kafka_topic_partition_list_t* offsets =
      rd_kafka_topic_partition_list_new(static_cast<int>(batch.next_offsets.size()));
  for (const auto& [partition, next] : batch.next_offsets) {
    rd_kafka_topic_partition_list_add(offsets, config_.kafka_topic.c_str(), partition)->offset =
        next;
  }
  const rd_kafka_resp_err_t err = rd_kafka_commit(consumer_, offsets, 0);
  rd_kafka_topic_partition_list_destroy(offsets);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // E.g. the partitions moved to another member in a rebalance: it re-reads from the last
    // committed offset and processed_events drops what this batch already applied.
    metrics_.commit_failures++;
    Log(LogLevel::kWarn, "kafka offset commit failed").Str("error", rd_kafka_err2str(err));
  }
}

}  // namespace ticketing
