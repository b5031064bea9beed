// KafkaPublisher on librdkafka 2.0: enable.idempotence, acks=all, delivery reports per row.
#include "outbox/relay/kafka_publisher.hpp"

#include <unordered_set>

#include "core/log.hpp"

namespace ticketing {
namespace {

void SetOrThrow(rd_kafka_conf_t* conf, const char* name, const std::string& value) {
  char error[512];
  if (rd_kafka_conf_set(conf, name, value.c_str(), error, sizeof(error)) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    throw KafkaSetupError(std::string("kafka setting ") + name + ": " + error);
  }
}

// Runs inside rd_kafka_flush/poll on the relay's thread; the row outlives the flush.
void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
  auto* row = static_cast<OutboxRow*>(message->_private);
  if (row == nullptr) return;
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    row->outcome = PublishOutcome::kPublished;
    return;
  }
  row->outcome = ClassifyKafkaError(message->err);
  row->error = std::string("delivery: ") + rd_kafka_err2str(message->err);
}

void OnLog(const rd_kafka_t*, int level, const char* facility, const char* text) {
  Log(level <= 3 ? LogLevel::kError : LogLevel::kWarn, "librdkafka")
      .Str("facility", facility)
      .Str("detail", text);
}

}  // namespace

PublishOutcome ClassifyKafkaError(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      return PublishOutcome::kPublished;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__BAD_MSG:
      return PublishOutcome::kRejected;
    default:
      return PublishOutcome::kUnconfirmed;
  }
}

KafkaPublisher::KafkaPublisher(const Config& config) : config_(config) { Create(); }

KafkaPublisher::~KafkaPublisher() { Destroy(); }

void KafkaPublisher::Create() {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  SetOrThrow(conf, "bootstrap.servers", config_.kafka_brokers);
  SetOrThrow(conf, "client.id", "ticketing-relay");
  SetOrThrow(conf, "enable.idempotence", "true");
  SetOrThrow(conf, "acks", "all");
  // The Java clients' partitioner: a key lands on the same partition whoever produces it.
  SetOrThrow(conf, "partitioner", "murmur2_random");
  SetOrThrow(conf, "linger.ms", "5");
  SetOrThrow(conf, "batch.num.messages", "10000");
  SetOrThrow(conf, "compression.type", "lz4");
  SetOrThrow(conf, "message.timeout.ms", std::to_string(config_.relay_delivery_timeout_ms));
  SetOrThrow(conf, "message.max.bytes", "1000000");
  rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  rd_kafka_conf_set_log_cb(conf, OnLog);
  char error[512];
  producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  if (producer_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw KafkaSetupError(std::string("rd_kafka_new: ") + error);
  }
  topic_ = rd_kafka_topic_new(producer_, config_.kafka_topic.c_str(), nullptr);
  if (topic_ == nullptr) {
    throw KafkaSetupError("rd_kafka_topic_new: " +
                          std::string(rd_kafka_err2str(rd_kafka_last_error())));
  }
}

void KafkaPublisher::Destroy() {
  if (topic_ != nullptr) rd_kafka_topic_destroy(topic_);
  topic_ = nullptr;
  if (producer_ != nullptr) {
    // Outstanding messages were waited for by PublishBatch; anything left is abandoned and
    // its rows stay PENDING.
    rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(producer_, 1000);
    rd_kafka_destroy(producer_);
  }
  producer_ = nullptr;
}

rd_kafka_resp_err_t KafkaPublisher::ProduceOne(OutboxRow& row, const std::string& key) {
  for (;;) {
// librdkafka's RD_KAFKA_V_* macros are C casts.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        producer_, RD_KAFKA_V_RKT(topic_), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key.data(), key.size()),
        RD_KAFKA_V_VALUE(row.payload.data(), row.payload.size()),
        RD_KAFKA_V_HEADER("event-id", row.event_id.data(),
                          static_cast<ssize_t>(row.event_id.size())),
        RD_KAFKA_V_HEADER("event-type", row.event_type.data(),
                          static_cast<ssize_t>(row.event_type.size())),
        RD_KAFKA_V_OPAQUE(&row), RD_KAFKA_V_END);
#pragma GCC diagnostic pop
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return err;
    // The local queue is full: serve delivery reports until there is room.
    rd_kafka_poll(producer_, 10);
  }
}

void KafkaPublisher::PublishBatch(const std::vector<OutboxRow*>& rows) {
  std::unordered_set<int64_t> stalled_users;
  for (OutboxRow* row : rows) {
    if (stalled_users.count(row->aggregate_id) != 0) continue;
    const std::string key = std::to_string(row->aggregate_id);
    row->outcome = PublishOutcome::kUnconfirmed;  // until its delivery report says otherwise
    const rd_kafka_resp_err_t err = ProduceOne(*row, key);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      row->outcome = ClassifyKafkaError(err);
      row->error = std::string("produce: ") + rd_kafka_err2str(err);
      stalled_users.insert(row->aggregate_id);
    }
  }
  const rd_kafka_resp_err_t flushed =
      rd_kafka_flush(producer_, config_.relay_delivery_timeout_ms + 5000);
  if (flushed != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // Reports still missing: purge so every callback has run before the rows are freed;
    // those rows stay PENDING, and if one did reach the broker its retry is a duplicate the
    // consumers drop by event id.
    Log(LogLevel::kWarn, "kafka flush incomplete").Str("error", rd_kafka_err2str(flushed));
    rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(producer_, 5000);
  }
  RecreateIfFatal();
}

void KafkaPublisher::RecreateIfFatal() {
  char reason[512];
  const rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(producer_, reason, sizeof(reason));
  if (fatal == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  // An idempotent producer that hit a fatal error refuses everything from then on.
  Log(LogLevel::kError, "kafka producer fatal error, recreating it")
      .Str("error", rd_kafka_err2str(fatal))
      .Str("detail", reason);
  Destroy();
  Create();
}

}  // namespace ticketing
