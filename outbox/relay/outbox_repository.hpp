// The relay's access to the outbox table; every call runs on the caller's open transaction.
#pragma once

#include <cstdint>
#include <vector>

#include "core/mysql_session.hpp"
#include "outbox/relay/claim_order.hpp"
#include "outbox/relay/outbox_row.hpp"

namespace ticketing {

struct BacklogStats {
  int64_t pending = 0;
  int64_t oldest_age_us = 0;
  int64_t quarantined = 0;
};

class OutboxRepository {
 public:
  explicit OutboxRepository(MySqlSession& session) : session_(session) {}

  void Begin() { session_.Execute("START TRANSACTION"); }
  void Commit() { session_.Execute("COMMIT"); }

  std::vector<OutboxRow> ClaimBatch(int limit);
  std::vector<PendingRef> PendingUpTo(int64_t max_id);
  // One UPDATE for the whole batch.
  void MarkPublished(const std::vector<int64_t>& ids);
  void ScheduleRetry(int64_t id, const std::string& error, int64_t delay_ms);
  void Quarantine(int64_t id, const std::string& error);
  // Rows deleted (at most one bounded chunk).
  int DeleteExpired(int retention_hours);
  BacklogStats ReadBacklog();

 private:
  MySqlSession& session_;
};

}  // namespace ticketing
