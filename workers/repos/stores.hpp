// The interfaces the domain services use to reach MySQL and Redis, so the same services run
// under the FastCGI loop, the tests and the benchmarks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ticketing {

// The row a money procedure returns: the HTTP outcome and what the cache needs after commit.
struct MoneyOutcome {
  int status = 0;
  std::string body;  // response JSON on success, the problem detail otherwise
  bool replayed = false;
  std::optional<int64_t> balance;
  std::optional<int64_t> version;
  // A payment's schedule (confirm_reservation), for the waiting-room slot it ends.
  std::optional<int64_t> schedule_id;
};

struct HoldOutcome {
  int status = 0;
  std::string detail;
  int64_t reservation_id = 0;
  int64_t price = 0;
  std::string expires_at;  // RFC 3339
};

struct WalletBalance {
  int64_t balance = 0;
  int64_t version = 0;
};

struct Reservation {
  int64_t id = 0;
  int64_t user_id = 0;
  int64_t schedule_id = 0;
  int64_t seat_id = 0;
  int64_t price = 0;
  std::string status;  // HELD, CONFIRMED, EXPIRED (HELD past its expiry reads as EXPIRED)
  std::string expires_at;
  std::string created_at;
  std::string confirmed_at;  // empty unless CONFIRMED
};

struct ScheduleSummary {
  int64_t id = 0;
  std::string starts_at;
  int64_t seats_total = 0;
  int64_t seats_available = 0;
};

struct Concert {
  int64_t id = 0;
  std::string title;
  std::vector<ScheduleSummary> schedules;
};

struct Seat {
  int64_t id = 0;
  int64_t price = 0;
  const char* status = "AVAILABLE";
};

struct SeatMap {
  int64_t concert_id = 0;
  std::vector<Seat> seats;
};

struct ReleasedHolds {
  int64_t reservations = 0;
  int64_t seats = 0;
};

class PaymentStore {
 public:
  virtual ~PaymentStore() = default;
  virtual HoldOutcome HoldSeat(int64_t user_id, int64_t schedule_id, int64_t seat_id,
                               int ttl_ms) = 0;
  virtual MoneyOutcome Confirm(int64_t user_id, int64_t reservation_id, const std::string& key,
                               const std::string& request_hash) = 0;
  virtual MoneyOutcome Charge(int64_t user_id, int64_t amount, const std::string& key,
                              const std::string& request_hash, int64_t max_balance) = 0;
  virtual std::optional<WalletBalance> ReadBalance(int64_t user_id) = 0;
  virtual std::optional<Reservation> FindReservation(int64_t reservation_id) = 0;
  virtual ReleasedHolds ReleaseExpiredHolds(int limit) = 0;
  virtual int64_t DeleteIdempotencyKeysOlderThan(int hours, int limit) = 0;
};

class CatalogStore {
 public:
  virtual ~CatalogStore() = default;
  virtual std::optional<Concert> FindConcert(int64_t concert_id) = 0;
  virtual std::optional<SeatMap> FindSeats(int64_t schedule_id) = 0;
  virtual std::optional<int64_t> FindScheduleConcert(int64_t schedule_id) = 0;
};

// Rendered concert summaries shared by every worker process through Redis, so the costly
// seat counting runs once per refresh for the whole deployment, in the housekeeper, instead of
// once per cache window in every child. Every call is best effort: nullopt / no-op when Redis
// is unavailable, and the caller computes the answer itself.
class SharedCatalogCache {
 public:
  virtual ~SharedCatalogCache() = default;
  virtual std::optional<std::string> GetConcert(int64_t concert_id) = 0;
  virtual void PutConcert(int64_t concert_id, const std::string& json) = 0;
  // Concerts someone asked for lately: the ones the housekeeper keeps fresh.
  virtual void MarkWanted(int64_t concert_id) = 0;
  virtual std::vector<int64_t> Wanted() = 0;
};

struct OutboxStats {
  int64_t pending = 0;
  int64_t quarantined = 0;
  double oldest_pending_age_seconds = 0;
};

class OpsStore {
 public:
  virtual ~OpsStore() = default;
  virtual bool Ping() = 0;
  virtual OutboxStats ReadOutboxStats() = 0;
};

// Balances cached in Redis as "version:balance". Put only ever raises the version, so a reader
// that raced a payment can never put an older balance back.
class BalanceCache {
 public:
  virtual ~BalanceCache() = default;
  virtual std::optional<WalletBalance> Get(int64_t user_id) = 0;
  virtual void Put(int64_t user_id, const WalletBalance& balance) = 0;
  virtual bool Ping() = 0;
};

struct QueueSettings {
  int64_t admit_per_sec = 0;
  int64_t max_active = 0;
  int64_t active_ttl_ms = 0;
  int64_t idle_ms = 0;
};

enum class QueueStatus { kWaiting, kActive, kExpired };

struct QueueView {
  QueueStatus status = QueueStatus::kExpired;
  int64_t entry = 0;
  int64_t position = 0;          // 1-based, WAITING only
  int64_t active_until_ms = 0;   // ACTIVE only: the session's hard deadline
  int64_t admit_rate_x1000 = 0;  // measured admissions per second x1000, for the estimate
  bool created = false;
  int64_t inlet_per_sec = 0;     // the configured inlet in force (a per-concert override or not)
};

// The waiting room. Every call first advances admission atomically (any worker may), so no
// process has to tick it. nullopt means the store is unreachable.
class QueueStore {
 public:
  virtual ~QueueStore() = default;
  // The user's live entry, or a new one at the back when there is none or it has ended.
  virtual std::optional<QueueView> Join(int64_t concert_id, int64_t user_id, int64_t now_ms,
                                        const QueueSettings& settings) = 0;
  // Status of entry `entry`; EXPIRED when it is no longer the user's current entry. Counts as
  // activity: it keeps a WAITING entry in line and an ACTIVE session alive. `signed_until_ms`
  // is the session end a verified token carries (0 if none): when the store has lost the
  // user's entry altogether (a restart), such a session is restored instead of ended.
  virtual std::optional<QueueView> Status(int64_t concert_id, int64_t user_id, int64_t entry,
                                          int64_t signed_until_ms, int64_t now_ms,
                                          const QueueSettings& settings) = 0;
  // Ends the user's session (after a payment), freeing the slot at once.
  virtual void End(int64_t concert_id, int64_t user_id) = 0;
};

}  // namespace ticketing
