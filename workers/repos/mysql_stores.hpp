// MySQL implementations of the stores; SQL lives beside them as named constants.
#pragma once

#include "core/mysql_session.hpp"
#include "workers/repos/stores.hpp"

namespace ticketing {

class MySqlPaymentStore final : public PaymentStore {
 public:
  explicit MySqlPaymentStore(MySqlSession& session) : session_(session) {}
  HoldOutcome HoldSeat(int64_t user_id, int64_t schedule_id, int64_t seat_id,
                       int ttl_ms) override;
  MoneyOutcome Confirm(int64_t user_id, int64_t reservation_id, const std::string& key,
                       const std::string& request_hash) override;
  MoneyOutcome Charge(int64_t user_id, int64_t amount, const std::string& key,
                      const std::string& request_hash, int64_t max_balance) override;
  std::optional<WalletBalance> ReadBalance(int64_t user_id) override;
  std::optional<Reservation> FindReservation(int64_t reservation_id) override;
  ReleasedHolds ReleaseExpiredHolds(int limit) override;
  int64_t DeleteIdempotencyKeysOlderThan(int hours, int limit) override;

 private:
  MySqlSession& session_;
};

class MySqlCatalogStore final : public CatalogStore {
 public:
  explicit MySqlCatalogStore(MySqlSession& session) : session_(session) {}
  std::optional<Concert> FindConcert(int64_t concert_id) override;
  std::optional<SeatMap> FindSeats(int64_t schedule_id) override;
  std::optional<int64_t> FindScheduleConcert(int64_t schedule_id) override;

 private:
  MySqlSession& session_;
};

class MySqlOpsStore final : public OpsStore {
 public:
  explicit MySqlOpsStore(MySqlSession& session) : session_(session) {}
  bool Ping() override { return session_.Ping(); }
  OutboxStats ReadOutboxStats() override;

 private:
  MySqlSession& session_;
};

// "2026-11-24 03:01:54.626" (MySQL DATETIME(3), UTC) -> "2026-11-24T03:01:54.626Z".
std::string ToRfc3339(const std::string& mysql_datetime);

}  // namespace ticketing
