// The relay loop: claim a batch, publish it, mark it, repeat; housekeeping in between.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>

#include "core/config.hpp"
#include "core/mysql_session.hpp"
#include "outbox/relay/kafka_publisher.hpp"
#include "outbox/relay/outbox_repository.hpp"
#include "outbox/relay/relay_metrics.hpp"

namespace ticketing {

struct BatchResult {
  size_t claimed = 0;
  size_t published = 0;
  size_t unconfirmed = 0;
};

class Relay {
 public:
  Relay(const Config& config, MySqlSession& session, KafkaPublisher& publisher,
        RelayMetrics& metrics);

  // Runs batches until `stop` is set; the batch in flight is always finished (published and
  // marked, or left PENDING), never abandoned between produce and mark.
  void Run(const volatile sig_atomic_t& stop);

  // One claim-publish-mark transaction. Throws DbError; then the claim is rolled back and
  // the rows stay PENDING (any that reached Kafka will be published again: at-least-once).
  BatchResult RunBatch();

 private:
  std::vector<OutboxRow*> RowsToProduce(std::vector<OutboxRow>& rows);
  BatchResult Settle(std::vector<OutboxRow>& rows);
  void SettleFailure(const OutboxRow& row);
  int64_t RetryDelayMs(int failures) const;
  void Housekeep(bool force);
  void Pause(int64_t ms, const volatile sig_atomic_t& stop);

  const Config& config_;
  MySqlSession& session_;
  OutboxRepository repository_;
  KafkaPublisher& publisher_;
  RelayMetrics& metrics_;
  std::chrono::steady_clock::time_point next_stats_{};
  std::chrono::steady_clock::time_point next_sweep_{};
};

}  // namespace ticketing
