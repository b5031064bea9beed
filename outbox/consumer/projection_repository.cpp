// ProjectionRepository: multi-row statements, so a batch costs a handful of round trips.
#include "outbox/consumer/projection_repository.hpp"

#include <string>
#include <unordered_set>

#include "outbox/consumer/projection.hpp"
#include "outbox/consumer/projection_sql.hpp"

namespace ticketing {
namespace {

// The dedupe lookup is a prepared statement of fixed arity (the session caches statements by
// the SQL's address, so it must be one stable string); short chunks repeat their first id.
constexpr size_t kLookupArity = 100;

const char* LookupSql() {
  static const std::string sql = [] {
    std::string text = std::string(projection_sql::kProcessedAmong) + "(?";
    for (size_t i = 1; i < kLookupArity; ++i) text += ",?";
    return text + ")";
  }();
  return sql.c_str();
}

std::string Quoted(const std::string& checked) { return "'" + checked + "'"; }

}  // namespace

ApplyResult ProjectionRepository::ApplyBatch(const std::vector<PaymentEvent>& events) {
  return session_.Run([&](MySqlSession& s) {
    s.Execute("START TRANSACTION");
    const auto fresh = NewEvents(events);
    RecordProcessed(fresh);
    UpsertProjections(fresh);
    s.Execute("COMMIT");
    return ApplyResult{fresh.size(), events.size() - fresh.size()};
  });
}

std::vector<const PaymentEvent*> ProjectionRepository::NewEvents(
    const std::vector<PaymentEvent>& events) {
  std::unordered_set<std::string> seen;
  for (size_t start = 0; start < events.size(); start += kLookupArity) {
    auto& lookup = session_.Prepare(LookupSql());
    for (size_t i = 0; i < kLookupArity; ++i) {
      const size_t at = start + i < events.size() ? start + i : start;
      lookup.setString(static_cast<unsigned>(i + 1), events[at].event_id);
    }
    auto rows = session_.Query(lookup);
    while (rows->next()) seen.insert(rows->getString(1));
  }
  std::vector<const PaymentEvent*> fresh;
  for (const auto& event : events) {
    // insert() is false for an id already processed or repeated earlier in this batch.
    if (seen.insert(event.event_id).second) fresh.push_back(&event);
  }
  return fresh;
}

void ProjectionRepository::RecordProcessed(const std::vector<const PaymentEvent*>& events) {
  if (events.empty()) return;
  // event_id is a checked UUID and type letters only (ParsePaymentEvent), the rest integers.
  std::string sql = projection_sql::kInsertProcessed;
  for (size_t i = 0; i < events.size(); ++i) {
    const PaymentEvent& e = *events[i];
    sql += (i == 0 ? "(" : ",(") + Quoted(e.event_id) + "," + Quoted(e.type) + "," +
           std::to_string(e.user_id) + "," + std::to_string(e.partition) + "," +
           std::to_string(e.offset) + ",UTC_TIMESTAMP(3))";
  }
  session_.Execute(sql.c_str());
}

void ProjectionRepository::UpsertProjections(const std::vector<const PaymentEvent*>& events) {
  const ProjectionDelta delta = SumEvents(events);
  if (!delta.sales.empty()) {
    std::string sql = projection_sql::kUpsertSales;
    bool first = true;
    for (const auto& [schedule, d] : delta.sales) {
      sql += (first ? "(" : ",(") + std::to_string(schedule) + "," + std::to_string(d.tickets) +
             "," + std::to_string(d.revenue) + ",UTC_TIMESTAMP(3))";
      first = false;
    }
    session_.Execute((sql + projection_sql::kUpsertSalesTail).c_str());
  }
  if (!delta.activity.empty()) {
    std::string sql = projection_sql::kUpsertActivity;
    bool first = true;
    for (const auto& [user, d] : delta.activity) {
      sql += (first ? "(" : ",(") + std::to_string(user) + "," + std::to_string(d.charges) + "," +
             std::to_string(d.charged_amount) + "," + std::to_string(d.payments) + "," +
             std::to_string(d.paid_amount) + "," + std::to_string(d.events) + ",UTC_TIMESTAMP(3))";
      first = false;
    }
    session_.Execute((sql + projection_sql::kUpsertActivityTail).c_str());
  }
}

}  // namespace ticketing
