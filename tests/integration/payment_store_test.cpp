// MySqlPaymentStore against MariaDB: holds, confirmation, charges, idempotency, expiry.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <regex>

#include "tests/integration/integration_env.hpp"
#include "workers/repos/mysql_stores.hpp"
#include "workers/services/wallet_service.hpp"

namespace ticketing::testing {
namespace {

constexpr int kHourMs = 3600 * 1000;
constexpr int64_t kMaxBalance = 1000000000000;

// Everything a payment can touch, to prove a failed one touched nothing.
struct Snapshot {
  int64_t balance, version, payments, ledger, outbox, keys_with_money;
  std::string seat_status, seat_holder, reservation_status;
  bool operator==(const Snapshot&) const = default;
};

class PaymentStoreTest : public IntegrationTest {
 protected:
  MoneyOutcome Charge(int64_t user, int64_t amount, const std::string& key) {
    return store_.Charge(user, amount, key, RequestHash("charge", user, amount), kMaxBalance);
  }
  MoneyOutcome Confirm(int64_t user, int64_t reservation, const std::string& key) {
    return store_.Confirm(user, reservation, key, RequestHash("confirm", user, reservation));
  }
  HoldOutcome Hold(int64_t user, int64_t seat, int ttl_ms = kHourMs, int64_t schedule = 1) {
    return store_.HoldSeat(user, schedule, seat, ttl_ms);
  }

  Snapshot Take(int64_t user, int64_t seat, int64_t reservation) {
    MySqlSession& db = *db_;
    return Snapshot{
        QueryInt(db, "SELECT balance FROM wallets WHERE user_id = ?", user),
        QueryInt(db, "SELECT version FROM wallets WHERE user_id = ?", user),
        QueryInt(db, "SELECT COUNT(*) FROM payments WHERE ? > 0", 1),
        QueryInt(db, "SELECT COUNT(*) FROM wallet_ledger WHERE ? > 0", 1),
        QueryInt(db, "SELECT COUNT(*) FROM outbox WHERE ? > 0", 1),
        QueryInt(db, "SELECT COUNT(*) FROM idempotency_keys WHERE status_code = 200 AND ? > 0", 1),
        QueryString(db, "SELECT status FROM seats WHERE id = ?", seat),
        QueryString(db, "SELECT held_by FROM seats WHERE id = ?", seat),
        QueryString(db, "SELECT status FROM reservations WHERE id = ?", reservation),
    };
  }

  static rapidjson::Document Json(const std::string& text) {
    rapidjson::Document doc;
    doc.Parse(text.c_str());
    EXPECT_FALSE(doc.HasParseError()) << text;
    return doc;
  }

  MySqlPaymentStore store_{*db_};
};

const std::regex kRfc3339Millis(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$)");

TEST_F(PaymentStoreTest, ChargeHoldConfirmMovesMoneyOnce) {
  const MoneyOutcome charged = Charge(7, 100000, "charge-1");
  ASSERT_EQ(charged.status, 200) << charged.body;
  EXPECT_FALSE(charged.replayed);
  EXPECT_EQ(charged.balance, 100000);
  EXPECT_EQ(charged.version, 1);
  EXPECT_EQ(Json(charged.body)["balance"].GetInt64(), 100000);

  const HoldOutcome hold = Hold(7, 3);
  ASSERT_EQ(hold.status, 201) << hold.detail;
  EXPECT_GT(hold.reservation_id, 0);
  EXPECT_EQ(hold.price, kVipPrice);
  EXPECT_TRUE(std::regex_match(hold.expires_at, kRfc3339Millis)) << hold.expires_at;

  const MoneyOutcome paid = Confirm(7, hold.reservation_id, "confirm-1");
  ASSERT_EQ(paid.status, 200) << paid.body;
  EXPECT_FALSE(paid.replayed);
  EXPECT_EQ(paid.balance, 100000 - kVipPrice);
  EXPECT_EQ(paid.version, 2);
  const auto body = Json(paid.body);
  EXPECT_GT(body["paymentId"].GetInt64(), 0);
  EXPECT_EQ(body["reservationId"].GetInt64(), hold.reservation_id);
  EXPECT_EQ(body["amount"].GetInt64(), kVipPrice);
  EXPECT_EQ(body["balance"].GetInt64(), 100000 - kVipPrice);
  EXPECT_STREQ(body["status"].GetString(), "CONFIRMED");

  MySqlSession& db = *db_;
  EXPECT_EQ(QueryString(db, "SELECT status FROM seats WHERE id = ?", 3), "SOLD");
  EXPECT_EQ(QueryString(db, "SELECT status FROM reservations WHERE id = ?", hold.reservation_id),
            "CONFIRMED");
  EXPECT_EQ(QueryInt(db, "SELECT COUNT(*) FROM payments WHERE reservation_id = ?",
                     hold.reservation_id),
            1);
  EXPECT_EQ(QueryInt(db, "SELECT COALESCE(SUM(amount), 0) FROM wallet_ledger WHERE user_id = ?", 7),
            100000 - kVipPrice);
  EXPECT_EQ(QueryInt(db, "SELECT COUNT(*) FROM outbox WHERE aggregate_id = ?", 7), 2);

  const auto balance = store_.ReadBalance(7);
  ASSERT_TRUE(balance.has_value());
  EXPECT_EQ(balance->balance, 100000 - kVipPrice);
  EXPECT_EQ(balance->version, 2);

  const auto reservation = store_.FindReservation(hold.reservation_id);
  ASSERT_TRUE(reservation.has_value());
  EXPECT_EQ(reservation->status, "CONFIRMED");
  EXPECT_EQ(reservation->user_id, 7);
  EXPECT_EQ(reservation->seat_id, 3);
  EXPECT_EQ(reservation->schedule_id, 1);
  EXPECT_EQ(reservation->price, kVipPrice);
  EXPECT_TRUE(std::regex_match(reservation->expires_at, kRfc3339Millis)) << reservation->expires_at;
  EXPECT_TRUE(std::regex_match(reservation->created_at, kRfc3339Millis)) << reservation->created_at;
  EXPECT_TRUE(std::regex_match(reservation->confirmed_at, kRfc3339Millis))
      << reservation->confirmed_at;
}

TEST_F(PaymentStoreTest, PaymentCompletedEventCarriesTheContractFields) {
  ASSERT_EQ(Charge(8, 20000, "c").status, 200);
  const HoldOutcome hold = Hold(8, 20);
  ASSERT_EQ(hold.status, 201);
  const MoneyOutcome paid = Confirm(8, hold.reservation_id, "p");
  ASSERT_EQ(paid.status, 200);
  EXPECT_EQ(paid.schedule_id, std::optional<int64_t>(1));  // the worker ends the queue slot by it
  const std::string payload = QueryString(
      *db_, "SELECT payload FROM outbox WHERE event_type = 'PaymentCompleted' AND aggregate_id = ?",
      8);
  const auto event = Json(payload);
  EXPECT_STREQ(event["type"].GetString(), "PaymentCompleted");
  EXPECT_EQ(event["eventId"].GetStringLength(), 36u);
  EXPECT_TRUE(std::regex_match(std::string(event["occurredAt"].GetString()),
                               std::regex(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$)")))
      << event["occurredAt"].GetString();
  EXPECT_EQ(event["userId"].GetInt64(), 8);
  EXPECT_EQ(event["amount"].GetInt64(), kPrice);
  EXPECT_EQ(event["paymentId"].GetInt64(), Json(paid.body)["paymentId"].GetInt64());
  EXPECT_EQ(event["reservationId"].GetInt64(), hold.reservation_id);
  EXPECT_EQ(event["scheduleId"].GetInt64(), 1);
  EXPECT_EQ(event["seatId"].GetInt64(), 20);
  const std::string charged = QueryString(
      *db_, "SELECT payload FROM outbox WHERE event_type = 'WalletCharged' AND aggregate_id = ?", 8);
  const auto charge_event = Json(charged);
  EXPECT_STREQ(charge_event["type"].GetString(), "WalletCharged");
  EXPECT_EQ(charge_event["amount"].GetInt64(), 20000);
  EXPECT_EQ(charge_event["userId"].GetInt64(), 8);
}

TEST_F(PaymentStoreTest, InsufficientBalanceIs402AndChangesNothing) {
  ASSERT_EQ(Charge(9, 5000, "small").status, 200);
  const HoldOutcome hold = Hold(9, 100);
  ASSERT_EQ(hold.status, 201);
  const Snapshot before = Take(9, 100, hold.reservation_id);

  const MoneyOutcome refused = Confirm(9, hold.reservation_id, "pay-1");
  EXPECT_EQ(refused.status, 402);
  EXPECT_EQ(refused.body, "balance 5000 is below the price 10000");
  EXPECT_FALSE(refused.balance.has_value());
  EXPECT_FALSE(refused.version.has_value());
  EXPECT_EQ(Take(9, 100, hold.reservation_id), before);
  EXPECT_EQ(before.seat_status, "HELD");
  EXPECT_EQ(before.reservation_status, "HELD");

  // The hold survives: after a top-up, a new key pays it; the old key replays its 402.
  ASSERT_EQ(Charge(9, 5000, "top-up").status, 200);
  const MoneyOutcome replay = Confirm(9, hold.reservation_id, "pay-1");
  EXPECT_EQ(replay.status, 402);
  EXPECT_TRUE(replay.replayed);
  const MoneyOutcome paid = Confirm(9, hold.reservation_id, "pay-2");
  EXPECT_EQ(paid.status, 200) << paid.body;
  EXPECT_EQ(paid.balance, 0);
}

TEST_F(PaymentStoreTest, ReplayReturnsTheFirstResponseAndMovesMoneyOnce) {
  const MoneyOutcome first = Charge(10, 3000, "k1");
  ASSERT_EQ(first.status, 200);
  const MoneyOutcome again = Charge(10, 3000, "k1");
  EXPECT_EQ(again.status, 200);
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.body, first.body);
  EXPECT_FALSE(again.balance.has_value());
  EXPECT_EQ(QueryInt(*db_, "SELECT balance FROM wallets WHERE user_id = ?", 10), 3000);
  EXPECT_EQ(QueryInt(*db_, "SELECT COUNT(*) FROM wallet_ledger WHERE user_id = ?", 10), 1);
  EXPECT_EQ(QueryInt(*db_, "SELECT COUNT(*) FROM outbox WHERE aggregate_id = ?", 10), 1);

  const HoldOutcome hold = Hold(10, 200);
  ASSERT_EQ(Charge(10, 20000, "k2").status, 200);
  const MoneyOutcome paid = Confirm(10, hold.reservation_id, "k3");
  ASSERT_EQ(paid.status, 200);
  const MoneyOutcome paid_again = Confirm(10, hold.reservation_id, "k3");
  EXPECT_EQ(paid_again.status, 200);
  EXPECT_TRUE(paid_again.replayed);
  EXPECT_EQ(paid_again.body, paid.body);
  EXPECT_EQ(QueryInt(*db_, "SELECT COUNT(*) FROM payments WHERE user_id = ?", 10), 1);
  EXPECT_EQ(QueryInt(*db_, "SELECT balance FROM wallets WHERE user_id = ?", 10), 23000 - kPrice);
}

TEST_F(PaymentStoreTest, KeyReusedWithAnotherRequestIs422) {
  ASSERT_EQ(Charge(11, 3000, "k1").status, 200);
  const MoneyOutcome other_amount = Charge(11, 4000, "k1");
  EXPECT_EQ(other_amount.status, 422);
  EXPECT_FALSE(other_amount.balance.has_value());
  const HoldOutcome hold = Hold(11, 201);
  const MoneyOutcome other_endpoint = Confirm(11, hold.reservation_id, "k1");
  EXPECT_EQ(other_endpoint.status, 422);
  EXPECT_EQ(QueryInt(*db_, "SELECT balance FROM wallets WHERE user_id = ?", 11), 3000);
  EXPECT_EQ(QueryInt(*db_, "SELECT COUNT(*) FROM payments WHERE user_id = ?", 11), 0);
  EXPECT_EQ(QueryString(*db_, "SELECT status FROM seats WHERE id = ?", 201), "HELD");
  // Keys are per user: another user's "k1" is a new request.
  EXPECT_EQ(Charge(12, 4000, "k1").status, 200);
}

TEST_F(PaymentStoreTest, ConfirmRefusals) {
  ASSERT_EQ(Charge(13, 100000, "c").status, 200);
  EXPECT_EQ(Confirm(13, 987654321, "a").status, 404);
  const HoldOutcome hold = Hold(14, 300);
  ASSERT_EQ(hold.status, 201);
  const MoneyOutcome foreign = Confirm(13, hold.reservation_id, "b");
  EXPECT_EQ(foreign.status, 403);
  const HoldOutcome own = Hold(13, 301);
  ASSERT_EQ(Confirm(13, own.reservation_id, "c1").status, 200);
  const MoneyOutcome twice = Confirm(13, own.reservation_id, "c2");
  EXPECT_EQ(twice.status, 409);
  EXPECT_EQ(twice.body, "reservation is already confirmed");
  EXPECT_EQ(QueryInt(*db_, "SELECT balance FROM wallets WHERE user_id = ?", 13), 100000 - kPrice);
  EXPECT_EQ(QueryString(*db_, "SELECT status FROM seats WHERE id = ?", 300), "HELD");
}

TEST_F(PaymentStoreTest, HoldOutcomes) {
  const HoldOutcome first = Hold(15, 400);
  ASSERT_EQ(first.status, 201);
  const HoldOutcome repeat = Hold(15, 400);
  EXPECT_EQ(repeat.status, 200);
  EXPECT_EQ(repeat.reservation_id, first.reservation_id);
  EXPECT_EQ(repeat.expires_at, first.expires_at);
  const HoldOutcome taken = Hold(16, 400);
  EXPECT_EQ(taken.status, 409);
  EXPECT_EQ(taken.detail, "seat is held by another user");
  EXPECT_EQ(Hold(15, 1001).status, 404);  // seat of schedule 2, asked in schedule 1
  EXPECT_EQ(Hold(15, 99999).status, 404);
  EXPECT_EQ(Hold(15, 1001, kHourMs, 2).status, 201);

  ASSERT_EQ(Charge(15, kPrice, "c").status, 200);
  ASSERT_EQ(Confirm(15, first.reservation_id, "p").status, 200);
  const HoldOutcome sold = Hold(16, 400);
  EXPECT_EQ(sold.status, 409);
  EXPECT_EQ(sold.detail, "seat is already sold");
  EXPECT_EQ(Hold(15, 400).status, 409);
  EXPECT_EQ(QueryInt(*db_, "SELECT COUNT(*) FROM reservations WHERE seat_id = ?", 400), 1);
}

TEST_F(PaymentStoreTest, ChargeRespectsMaxBalanceAndUnknownWallets) {
  const MoneyOutcome ok = store_.Charge(17, 100000, "a", RequestHash("charge", 17, 100000), 150000);
  ASSERT_EQ(ok.status, 200);
  const MoneyOutcome over = store_.Charge(17, 60000, "b", RequestHash("charge", 17, 60000), 150000);
  EXPECT_EQ(over.status, 409);
  EXPECT_EQ(over.body, "balance may not exceed 150000");
  const MoneyOutcome exact = store_.Charge(17, 50000, "c", RequestHash("charge", 17, 50000), 150000);
  EXPECT_EQ(exact.status, 200);
  EXPECT_EQ(exact.balance, 150000);
  EXPECT_EQ(QueryInt(*db_, "SELECT COUNT(*) FROM wallet_ledger WHERE user_id = ?", 17), 2);
  EXPECT_EQ(Charge(999999, 100, "x").status, 404);
  EXPECT_FALSE(store_.ReadBalance(999999).has_value());
  EXPECT_FALSE(store_.FindReservation(999999).has_value());
}

TEST_F(PaymentStoreTest, ExpiredHoldIsReleasedAndCannotBePaid) {
  ASSERT_EQ(Charge(18, 100000, "c").status, 200);
  const HoldOutcome hold = Hold(18, 500, /*ttl_ms=*/1);
  ASSERT_EQ(hold.status, 201);
  ASSERT_TRUE(WaitUntil([&] {
    const auto r = store_.FindReservation(hold.reservation_id);
    return r && r->status == "EXPIRED";
  })) << "the 1 ms hold never read as EXPIRED";

  // Expired but not yet swept: already unpayable.
  const MoneyOutcome late = Confirm(18, hold.reservation_id, "p1");
  EXPECT_EQ(late.status, 409);
  EXPECT_EQ(late.body, "hold has expired");

  // A running stack's sweeper may get there first; either way the rows end up released.
  const ReleasedHolds released = store_.ReleaseExpiredHolds(1000);
  EXPECT_LE(released.reservations, 1);
  EXPECT_LE(released.seats, 1);
  EXPECT_EQ(QueryString(*db_, "SELECT status FROM seats WHERE id = ?", 500), "AVAILABLE");
  EXPECT_EQ(QueryString(*db_, "SELECT held_by FROM seats WHERE id = ?", 500), "NULL");
  EXPECT_EQ(QueryString(*db_, "SELECT reservation_id FROM seats WHERE id = ?", 500), "NULL");
  EXPECT_EQ(QueryString(*db_, "SELECT status FROM reservations WHERE id = ?", hold.reservation_id),
            "EXPIRED");
  EXPECT_EQ(Confirm(18, hold.reservation_id, "p2").status, 409);

  EXPECT_EQ(QueryInt(*db_, "SELECT balance FROM wallets WHERE user_id = ?", 18), 100000);
  EXPECT_EQ(QueryInt(*db_, "SELECT COUNT(*) FROM payments WHERE user_id = ?", 18), 0);
  EXPECT_EQ(QueryInt(*db_, "SELECT COUNT(*) FROM wallet_ledger WHERE user_id = ?", 18), 1);
  // The seat is free for the next buyer.
  EXPECT_EQ(Hold(19, 500).status, 201);
  EXPECT_EQ(store_.ReleaseExpiredHolds(1000).reservations, 0);
}

TEST_F(PaymentStoreTest, ExpiredHoldIsTakenOverWithoutTheSweeper) {
  const HoldOutcome old_hold = Hold(20, 501, /*ttl_ms=*/1);
  ASSERT_EQ(old_hold.status, 201);
  ASSERT_TRUE(WaitUntil([&] { return store_.FindReservation(old_hold.reservation_id)->status ==
                                     "EXPIRED"; }));
  const HoldOutcome new_hold = Hold(21, 501);
  EXPECT_EQ(new_hold.status, 201);
  EXPECT_NE(new_hold.reservation_id, old_hold.reservation_id);
  EXPECT_EQ(QueryString(*db_, "SELECT status FROM reservations WHERE id = ?",
                        old_hold.reservation_id),
            "EXPIRED");
  EXPECT_EQ(QueryString(*db_, "SELECT held_by FROM seats WHERE id = ?", 501), "21");
}

TEST_F(PaymentStoreTest, OldIdempotencyKeysAreDeleted) {
  ASSERT_EQ(Charge(22, 100, "old").status, 200);
  ASSERT_EQ(Charge(22, 200, "new").status, 200);
  db_->Run([](MySqlSession& s) {
    s.Execute("UPDATE idempotency_keys SET created_at = UTC_TIMESTAMP(3) - INTERVAL 25 HOUR "
              "WHERE user_id = 22 AND idem_key = 'old'");
    return 0;
  });
  EXPECT_EQ(store_.DeleteIdempotencyKeysOlderThan(24, 100), 1);
  EXPECT_EQ(QueryInt(*db_, "SELECT COUNT(*) FROM idempotency_keys WHERE user_id = ?", 22), 1);
  EXPECT_EQ(Charge(22, 200, "new").replayed, true);
}

}  // namespace
}  // namespace ticketing::testing
