// The stores over MySqlSession: each call is one round trip (a CALL or one SELECT).
#include "workers/repos/mysql_stores.hpp"

namespace ticketing {
namespace sql_text {

constexpr char kHoldSeat[] = "CALL hold_seat(?, ?, ?, ?)";
constexpr char kConfirm[] = "CALL confirm_reservation(?, ?, ?, ?)";
constexpr char kCharge[] = "CALL charge_wallet(?, ?, ?, ?, ?)";
constexpr char kReleaseExpired[] = "CALL release_expired_holds(?)";
constexpr char kReadBalance[] = "SELECT balance, version FROM wallets WHERE user_id = ?";
constexpr char kFindReservation[] =
    "SELECT id, user_id, schedule_id, seat_id, price, "
    "IF(status = 'HELD' AND expires_at <= UTC_TIMESTAMP(3), 'EXPIRED', status), "
    "expires_at, created_at, IFNULL(confirmed_at, '') FROM reservations WHERE id = ?";
constexpr char kDeleteOldKeys[] =
    "DELETE FROM idempotency_keys WHERE created_at < UTC_TIMESTAMP(3) - INTERVAL ? HOUR "
    "LIMIT ?";
constexpr char kFindConcert[] = "SELECT title FROM concerts WHERE id = ?";
constexpr char kConcertSchedules[] =
    "SELECT s.id, s.starts_at, COUNT(t.id), "
    "COALESCE(SUM(t.status = 'AVAILABLE' OR "
    "(t.status = 'HELD' AND t.hold_expires_at <= UTC_TIMESTAMP(3))), 0) "
    "FROM schedules s LEFT JOIN seats t ON t.schedule_id = s.id "
    "WHERE s.concert_id = ? GROUP BY s.id, s.starts_at ORDER BY s.id";
constexpr char kScheduleConcert[] = "SELECT concert_id FROM schedules WHERE id = ?";
// An expired hold is AVAILABLE to readers before the sweeper has run.
constexpr char kSeats[] =
    "SELECT id, price, IF(status = 'HELD' AND hold_expires_at <= UTC_TIMESTAMP(3), "
    "'AVAILABLE', status) FROM seats WHERE schedule_id = ? ORDER BY id";
constexpr char kOutboxStats[] =
    "SELECT COALESCE(SUM(status = 'PENDING'), 0), COALESCE(SUM(status = 'QUARANTINED'), 0), "
    "COALESCE(TIMESTAMPDIFF(MICROSECOND, MIN(IF(status = 'PENDING', created_at, NULL)), "
    "UTC_TIMESTAMP(3)), 0) FROM outbox WHERE status <> 'PUBLISHED'";

}  // namespace sql_text

namespace {

MoneyOutcome ReadMoneyOutcome(sql::ResultSet& row) {
  MoneyOutcome outcome;
  outcome.status = row.getInt(1);
  outcome.body = row.getString(2);
  outcome.replayed = row.getInt(3) != 0;
  if (!row.isNull(4)) outcome.balance = row.getInt64(4);
  if (!row.isNull(5)) outcome.version = row.getInt64(5);
  if (!row.isNull(6)) outcome.schedule_id = row.getInt64(6);
  return outcome;
}

const char* SeatStatus(const std::string& status) {
  if (status == "SOLD") return "SOLD";
  if (status == "HELD") return "HELD";
  return "AVAILABLE";
}

}  // namespace

std::string ToRfc3339(const std::string& mysql_datetime) {
  if (mysql_datetime.size() < 19) return mysql_datetime;
  std::string out = mysql_datetime.substr(0, 23);  // stored with millisecond precision
  out[10] = 'T';
  if (out.size() == 19) out += ".000";
  out += 'Z';
  return out;
}

HoldOutcome MySqlPaymentStore::HoldSeat(int64_t user_id, int64_t schedule_id, int64_t seat_id,
                                        int ttl_ms) {
  return session_.Run([&](MySqlSession& s) {
    auto& call = s.Prepare(sql_text::kHoldSeat);
    call.setInt64(1, user_id);
    call.setInt64(2, schedule_id);
    call.setInt64(3, seat_id);
    call.setInt(4, ttl_ms);
    auto row = s.Query(call);
    HoldOutcome outcome;
    if (!row->next()) throw DbError(DbErrorKind::kOther, 0, "hold_seat returned no row");
    outcome.status = row->getInt(1);
    outcome.detail = row->getString(2);
    if (!row->isNull(3)) {
      outcome.reservation_id = row->getInt64(3);
      outcome.price = row->getInt64(4);
      outcome.expires_at = ToRfc3339(row->getString(5));
    }
    while (call.getMoreResults()) {
    }
    return outcome;
  });
}

MoneyOutcome MySqlPaymentStore::Confirm(int64_t user_id, int64_t reservation_id,
                                        const std::string& key, const std::string& request_hash) {
  return session_.Run([&](MySqlSession& s) {
    auto& call = s.Prepare(sql_text::kConfirm);
    call.setInt64(1, user_id);
    call.setInt64(2, reservation_id);
    call.setString(3, key);
    call.setString(4, request_hash);
    auto row = s.Query(call);
    if (!row->next()) throw DbError(DbErrorKind::kOther, 0, "confirm returned no row");
    MoneyOutcome outcome = ReadMoneyOutcome(*row);
    while (call.getMoreResults()) {
    }
    return outcome;
  });
}

MoneyOutcome MySqlPaymentStore::Charge(int64_t user_id, int64_t amount, const std::string& key,
                                       const std::string& request_hash, int64_t max_balance) {
  return session_.Run([&](MySqlSession& s) {
    auto& call = s.Prepare(sql_text::kCharge);
    call.setInt64(1, user_id);
    call.setInt64(2, amount);
    call.setString(3, key);
    call.setString(4, request_hash);
    call.setInt64(5, max_balance);
    auto row = s.Query(call);
    if (!row->next()) throw DbError(DbErrorKind::kOther, 0, "charge returned no row");
    MoneyOutcome outcome = ReadMoneyOutcome(*row);
    while (call.getMoreResults()) {
    }
    return outcome;
  });
}

std::optional<WalletBalance> MySqlPaymentStore::ReadBalance(int64_t user_id) {
  return session_.Run([&](MySqlSession& s) -> std::optional<WalletBalance> {
    auto& query = s.Prepare(sql_text::kReadBalance);
    query.setInt64(1, user_id);
    auto row = s.Query(query);
    if (!row->next()) return std::nullopt;
    return WalletBalance{row->getInt64(1), row->getInt64(2)};
  });
}

std::optional<Reservation> MySqlPaymentStore::FindReservation(int64_t reservation_id) {
  return session_.Run([&](MySqlSession& s) -> std::optional<Reservation> {
    auto& query = s.Prepare(sql_text::kFindReservation);
    query.setInt64(1, reservation_id);
    auto row = s.Query(query);
    if (!row->next()) return std::nullopt;
    Reservation r;
    r.id = row->getInt64(1);
    r.user_id = row->getInt64(2);
    r.schedule_id = row->getInt64(3);
    r.seat_id = row->getInt64(4);
    r.price = row->getInt64(5);
    r.status = row->getString(6);
    r.expires_at = ToRfc3339(row->getString(7));
    r.created_at = ToRfc3339(row->getString(8));
    const std::string confirmed = row->getString(9);
    if (!confirmed.empty()) r.confirmed_at = ToRfc3339(confirmed);
    return r;
  });
}

ReleasedHolds MySqlPaymentStore::ReleaseExpiredHolds(int limit) {
  return session_.Run([&](MySqlSession& s) {
    auto& call = s.Prepare(sql_text::kReleaseExpired);
    call.setInt(1, limit);
    auto row = s.Query(call);
    ReleasedHolds released;
    if (row->next()) {
      released.reservations = row->getInt64(1);
      released.seats = row->getInt64(2);
    }
    while (call.getMoreResults()) {
    }
    return released;
  });
}

int64_t MySqlPaymentStore::DeleteIdempotencyKeysOlderThan(int hours, int limit) {
  return session_.Run([&](MySqlSession& s) {
    auto& statement = s.Prepare(sql_text::kDeleteOldKeys);
    statement.setInt(1, hours);
    statement.setInt(2, limit);
    return static_cast<int64_t>(statement.executeUpdate());
  });
}

std::optional<Concert> MySqlCatalogStore::FindConcert(int64_t concert_id) {
  return session_.Run([&](MySqlSession& s) -> std::optional<Concert> {
    auto& title_query = s.Prepare(sql_text::kFindConcert);
    title_query.setInt64(1, concert_id);
    auto title_row = s.Query(title_query);
    if (!title_row->next()) return std::nullopt;
    Concert concert;
    concert.id = concert_id;
    concert.title = title_row->getString(1);
    auto& schedules_query = s.Prepare(sql_text::kConcertSchedules);
    schedules_query.setInt64(1, concert_id);
    auto rows = s.Query(schedules_query);
    while (rows->next()) {
      concert.schedules.push_back(ScheduleSummary{rows->getInt64(1),
                                                  ToRfc3339(rows->getString(2)),
                                                  rows->getInt64(3), rows->getInt64(4)});
    }
    return concert;
  });
}

std::optional<SeatMap> MySqlCatalogStore::FindSeats(int64_t schedule_id) {
  return session_.Run([&](MySqlSession& s) -> std::optional<SeatMap> {
    auto& owner_query = s.Prepare(sql_text::kScheduleConcert);
    owner_query.setInt64(1, schedule_id);
    auto owner = s.Query(owner_query);
    if (!owner->next()) return std::nullopt;
    SeatMap map;
    map.concert_id = owner->getInt64(1);
    // Not cached: 110,000 rows stay buffered in a statement until it runs again.
    const auto seats_query = s.PrepareOnce(sql_text::kSeats);
    seats_query->setInt64(1, schedule_id);
    auto rows = s.Query(*seats_query);
    map.seats.reserve(rows->rowsCount());
    while (rows->next()) {
      map.seats.push_back(Seat{rows->getInt64(1), rows->getInt64(2),
                               SeatStatus(rows->getString(3))});
    }
    return map;
  });
}

std::optional<int64_t> MySqlCatalogStore::FindScheduleConcert(int64_t schedule_id) {
  return session_.Run([&](MySqlSession& s) -> std::optional<int64_t> {
    auto& query = s.Prepare(sql_text::kScheduleConcert);
    query.setInt64(1, schedule_id);
    auto row = s.Query(query);
    if (!row->next()) return std::nullopt;
    return row->getInt64(1);
  });
}

OutboxStats MySqlOpsStore::ReadOutboxStats() {
  return session_.Run([&](MySqlSession& s) {
    auto& query = s.Prepare(sql_text::kOutboxStats);
    auto row = s.Query(query);
    OutboxStats stats;
    if (row->next()) {
      stats.pending = row->getInt64(1);
      stats.quarantined = row->getInt64(2);
      stats.oldest_pending_age_seconds = static_cast<double>(row->getInt64(3)) / 1e6;
    }
    return stats;
  });
}

}  // namespace ticketing
