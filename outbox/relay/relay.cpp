// Relay: the claim protocol of outbox/README.md (SKIP LOCKED claim, per-user order guard,
// one flush per batch, mark after the acks) and its retry, quarantine and retention rules.
#include "outbox/relay/relay.hpp"

#include <algorithm>
#include <thread>
#include <unordered_set>

#include "core/log.hpp"
#include "outbox/relay/claim_order.hpp"
#include "outbox/relay/event_validation.hpp"

namespace ticketing {
namespace {

constexpr auto kStatsInterval = std::chrono::seconds(1);
constexpr auto kSweepInterval = std::chrono::seconds(60);
constexpr int kSweepChunksPerRound = 20;  // 100,000 rows per minute at most, in 5,000s

int64_t MicrosBetween(std::chrono::steady_clock::time_point from,
                      std::chrono::steady_clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::microseconds>(to - from).count();
}

}  // namespace

Relay::Relay(const Config& config, MySqlSession& session, KafkaPublisher& publisher,
             RelayMetrics& metrics)
    : config_(config),
      session_(session),
      repository_(session),
      publisher_(publisher),
      metrics_(metrics) {}

void Relay::Run(const volatile sig_atomic_t& stop) {
  int64_t backoff_ms = 0;
  while (!stop) {
    Housekeep(false);
    const auto started = std::chrono::steady_clock::now();
    BatchResult result;
    try {
      result = RunBatch();
    } catch (const DbError& e) {
      metrics_.db_errors++;
      Log(LogLevel::kError, "relay batch failed").Int("code", e.code()).Str("detail", e.what());
      result.unconfirmed = 1;
    }
    const bool broker_or_db_trouble = result.published == 0 && result.unconfirmed > 0;
    if (broker_or_db_trouble) {
      backoff_ms = std::min<int64_t>(config_.relay_retry_max_ms,
                                     backoff_ms == 0 ? config_.relay_retry_base_ms : backoff_ms * 2);
      Log(LogLevel::kWarn, "relay backing off").Int("delay_ms", backoff_ms);
      Pause(backoff_ms, stop);
      continue;
    }
    backoff_ms = 0;
    // Nothing due, or everything claimed must wait for another relay's earlier rows.
    if (result.published == 0) {
      Pause(config_.relay_idle_poll_ms, stop);
    } else if (result.claimed < static_cast<size_t>(config_.relay_batch_size)) {
      // A steady trickle: let the next batch gather for the rest of the interval instead of
      // paying a claim, a produce request and a consumer commit for every few events.
      const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - started);
      Pause(config_.relay_batch_interval_ms - spent.count(), stop);
    }
  }
  Log(LogLevel::kInfo, "relay stopped: batch in flight finished");
}

BatchResult Relay::RunBatch() {
  return session_.Run([&](MySqlSession&) {
    repository_.Begin();
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<OutboxRow> rows = repository_.ClaimBatch(config_.relay_batch_size);
    if (rows.empty()) {
      repository_.Commit();
      return BatchResult{};
    }
    const auto t1 = std::chrono::steady_clock::now();
    auto produce = RowsToProduce(rows);
    const auto t2 = std::chrono::steady_clock::now();
    publisher_.PublishBatch(produce);
    const auto t3 = std::chrono::steady_clock::now();
    BatchResult result = Settle(rows);
    repository_.Commit();
    const auto t4 = std::chrono::steady_clock::now();
    metrics_.batches++;
    metrics_.published += result.published;
    Log(LogLevel::kDebug, "relay batch")
        .Int("claimed", static_cast<int64_t>(result.claimed))
        .Int("published", static_cast<int64_t>(result.published))
        .Int("claim_us", MicrosBetween(t0, t1))
        .Int("order_us", MicrosBetween(t1, t2))
        .Int("publish_us", MicrosBetween(t2, t3))
        .Int("mark_us", MicrosBetween(t3, t4));
    return result;
  });
}

// The rows of this batch that go to Kafka now, in id order: not held back for another
// relay's earlier rows of the same user, valid, and not behind an invalid row of their user.
std::vector<OutboxRow*> Relay::RowsToProduce(std::vector<OutboxRow>& rows) {
  const auto publishable = SelectPublishable(rows, repository_.PendingUpTo(rows.back().id));
  metrics_.held_back += rows.size() - publishable.size();
  std::unordered_set<int64_t> stalled_users;
  std::vector<OutboxRow*> produce;
  produce.reserve(publishable.size());
  for (const size_t i : publishable) {
    OutboxRow& row = rows[i];
    if (stalled_users.count(row.aggregate_id) != 0) continue;
    if (auto invalid = ValidateOutboxRow(row)) {
      row.outcome = PublishOutcome::kRejected;
      row.error = "invalid: " + *invalid;
      stalled_users.insert(row.aggregate_id);
      continue;
    }
    produce.push_back(&row);
  }
  return produce;
}

BatchResult Relay::Settle(std::vector<OutboxRow>& rows) {
  BatchResult result;
  result.claimed = rows.size();
  std::vector<int64_t> published;
  published.reserve(rows.size());
  for (const OutboxRow& row : rows) {
    switch (row.outcome) {
      case PublishOutcome::kPublished:
        published.push_back(row.id);
        break;
      case PublishOutcome::kRejected:
        SettleFailure(row);
        break;
      case PublishOutcome::kUnconfirmed:
        result.unconfirmed++;
        break;
      case PublishOutcome::kNotAttempted:
        break;
    }
  }
  repository_.MarkPublished(published);
  result.published = published.size();
  metrics_.unconfirmed += result.unconfirmed;
  return result;
}

// A row's own failure: retried later with backoff (its user's later rows wait behind it)
// until the last allowed attempt, then QUARANTINED so that user's events flow again.
void Relay::SettleFailure(const OutboxRow& row) {
  metrics_.rejected++;
  const int failures = row.attempts + 1;
  if (failures >= config_.relay_max_attempts) {
    repository_.Quarantine(row.id, row.error);
    metrics_.quarantined++;
    Log(LogLevel::kError, "outbox row quarantined")
        .Int("outbox_id", row.id)
        .Str("event_id", row.event_id)
        .Int("user_id", row.aggregate_id)
        .Int("attempts", failures)
        .Str("error", row.error);
    return;
  }
  const int64_t delay_ms = RetryDelayMs(failures);
  repository_.ScheduleRetry(row.id, row.error, delay_ms);
  Log(LogLevel::kWarn, "outbox row publish failed, will retry")
      .Int("outbox_id", row.id)
      .Int("user_id", row.aggregate_id)
      .Int("attempts", failures)
      .Int("retry_in_ms", delay_ms)
      .Str("error", row.error);
}

int64_t Relay::RetryDelayMs(int failures) const {
  int64_t delay = config_.relay_retry_base_ms;
  for (int i = 1; i < failures && delay < config_.relay_retry_max_ms; ++i) delay *= 2;
  return std::min<int64_t>(delay, config_.relay_retry_max_ms);
}

void Relay::Housekeep(bool force) {
  const auto now = std::chrono::steady_clock::now();
  try {
    if (force || now >= next_stats_) {
      next_stats_ = now + kStatsInterval;
      const BacklogStats stats = session_.Run([&](MySqlSession&) { return repository_.ReadBacklog(); });
      metrics_.backlog = stats.pending;
      metrics_.oldest_age_us = stats.oldest_age_us;
      metrics_.quarantined_rows = stats.quarantined;
    }
    if (force || now >= next_sweep_) {
      next_sweep_ = now + kSweepInterval;
      for (int chunk = 0; chunk < kSweepChunksPerRound; ++chunk) {
        const int deleted = session_.Run(
            [&](MySqlSession&) { return repository_.DeleteExpired(config_.relay_retention_hours); });
        metrics_.deleted += static_cast<uint64_t>(deleted);
        if (deleted == 0) break;
      }
    }
  } catch (const DbError& e) {
    metrics_.db_errors++;
    Log(LogLevel::kWarn, "relay housekeeping failed").Int("code", e.code()).Str("detail", e.what());
  }
}

void Relay::Pause(int64_t ms, const volatile sig_atomic_t& stop) {
  if (ms <= 0) return;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!stop && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(ms, 20)));
  }
}

}  // namespace ticketing
