// OutboxRepository on the named statements of outbox_sql.hpp.
#include "outbox/relay/outbox_repository.hpp"

#include "outbox/relay/outbox_sql.hpp"

namespace ticketing {
namespace {

// last_error is VARCHAR(255); a longer text would fail the UPDATE in strict mode.
std::string Truncated(const std::string& error) { return error.substr(0, 255); }

}  // namespace

std::vector<OutboxRow> OutboxRepository::ClaimBatch(int limit) {
  auto& claim = session_.Prepare(outbox_sql::kClaimBatch);
  claim.setInt(1, limit);
  auto result = session_.Query(claim);
  std::vector<OutboxRow> rows;
  rows.reserve(static_cast<size_t>(limit));
  while (result->next()) {
    OutboxRow row;
    row.id = result->getInt64(1);
    row.event_id = result->getString(2);
    row.aggregate_id = result->getInt64(3);
    row.event_type = result->getString(4);
    row.payload = result->getString(5);
    row.attempts = result->getInt(6);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<PendingRef> OutboxRepository::PendingUpTo(int64_t max_id) {
  auto& pending = session_.Prepare(outbox_sql::kPendingUpTo);
  pending.setInt64(1, max_id);
  auto result = session_.Query(pending);
  std::vector<PendingRef> refs;
  while (result->next()) refs.push_back({result->getInt64(1), result->getInt64(2)});
  return refs;
}

void OutboxRepository::MarkPublished(const std::vector<int64_t>& ids) {
  if (ids.empty()) return;
  // Ids are integers from our own claim, so building the IN list cannot inject anything.
  std::string sql = outbox_sql::kMarkPublishedPrefix;
  sql.reserve(sql.size() + ids.size() * 12);
  sql += '(';
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i != 0) sql += ',';
    sql += std::to_string(ids[i]);
  }
  sql += ')';
  session_.Execute(sql.c_str());
}

void OutboxRepository::ScheduleRetry(int64_t id, const std::string& error, int64_t delay_ms) {
  auto& retry = session_.Prepare(outbox_sql::kScheduleRetry);
  retry.setString(1, Truncated(error));
  retry.setInt64(2, delay_ms * 1000);
  retry.setInt64(3, id);
  retry.executeUpdate();
}

void OutboxRepository::Quarantine(int64_t id, const std::string& error) {
  auto& quarantine = session_.Prepare(outbox_sql::kQuarantine);
  quarantine.setString(1, Truncated(error));
  quarantine.setInt64(2, id);
  quarantine.executeUpdate();
}

int OutboxRepository::DeleteExpired(int retention_hours) {
  auto& chunk = session_.Prepare(outbox_sql::kOldestPublishedChunkEnd);
  auto end = session_.Query(chunk);
  if (!end->next() || end->isNull(1)) return 0;
  const int64_t chunk_end = end->getInt64(1);
  auto& sweep = session_.Prepare(outbox_sql::kDeleteExpired);
  sweep.setInt64(1, chunk_end);
  sweep.setInt(2, retention_hours);
  return sweep.executeUpdate();
}

BacklogStats OutboxRepository::ReadBacklog() {
  BacklogStats stats;
  auto& backlog = session_.Prepare(outbox_sql::kBacklog);
  auto result = session_.Query(backlog);
  if (result->next()) {
    stats.pending = result->getInt64(1);
    stats.oldest_age_us = result->getInt64(2);
  }
  auto& quarantined = session_.Prepare(outbox_sql::kQuarantinedCount);
  auto count = session_.Query(quarantined);
  if (count->next()) stats.quarantined = count->getInt64(1);
  return stats;
}

}  // namespace ticketing
