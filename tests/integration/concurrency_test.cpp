// Many sessions at once: double confirms, concurrent replays, and the bank invariant after a
// storm of random charges, holds and confirms.
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <random>
#include <thread>
#include <vector>

#include "tests/integration/integration_env.hpp"
#include "workers/repos/mysql_stores.hpp"
#include "workers/services/tx_retry.hpp"
#include "workers/services/wallet_service.hpp"

namespace ticketing::testing {
namespace {

constexpr int kHourMs = 3600 * 1000;

// One thread's own connection and store: sessions are not shared between threads.
struct Worker {
  Worker(const Config& config, Metrics& metrics) : db(config, &metrics), store(db) {}
  MySqlSession db;
  MySqlPaymentStore store;
};

class ConcurrencyTest : public IntegrationTest {
 protected:
  MoneyOutcome Confirm(Worker& w, int64_t user, int64_t reservation, const std::string& key) {
    return WithTxRetry(config_.db_tx_retries, metrics_, [&] {
      return w.store.Confirm(user, reservation, key, RequestHash("confirm", user, reservation));
    });
  }
  MoneyOutcome Charge(Worker& w, int64_t user, int64_t amount, const std::string& key) {
    return WithTxRetry(config_.db_tx_retries, metrics_, [&] {
      return w.store.Charge(user, amount, key, RequestHash("charge", user, amount),
                            config_.max_balance);
    });
  }
};

TEST_F(ConcurrencyTest, TwoConfirmsOfOneReservationPayOnce) {
  constexpr int kRounds = 20;
  Worker a(config_, metrics_);
  Worker b(config_, metrics_);
  MySqlPaymentStore store(*db_);
  ASSERT_EQ(store.Charge(30, kRounds * kPrice, "c", RequestHash("charge", 30, kRounds * kPrice),
                         config_.max_balance)
                .status,
            200);
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(round);
    const HoldOutcome hold = store.HoldSeat(30, 1, 100 + round, kHourMs);
    ASSERT_EQ(hold.status, 201);
    std::latch start(2);
    MoneyOutcome ra, rb;
    std::thread ta([&] {
      start.arrive_and_wait();
      ra = Confirm(a, 30, hold.reservation_id, "a-" + std::to_string(round));
    });
    std::thread tb([&] {
      start.arrive_and_wait();
      rb = Confirm(b, 30, hold.reservation_id, "b-" + std::to_string(round));
    });
    ta.join();
    tb.join();
    const int ok = (ra.status == 200) + (rb.status == 200);
    const int conflicts = (ra.status == 409) + (rb.status == 409);
    EXPECT_EQ(ok, 1) << ra.status << " " << ra.body << " / " << rb.status << " " << rb.body;
    EXPECT_EQ(conflicts, 1);
  }
  EXPECT_EQ(QueryInt(*db_, "SELECT COUNT(*) FROM payments WHERE user_id = ?", 30), kRounds);
  EXPECT_EQ(QueryInt(*db_, "SELECT balance FROM wallets WHERE user_id = ?", 30), 0);
  EXPECT_EQ(QueryInt(*db_, "SELECT COUNT(*) FROM outbox WHERE event_type = 'PaymentCompleted' "
                           "AND aggregate_id = ?", 30),
            kRounds);
}

TEST_F(ConcurrencyTest, ConcurrentRequestsWithOneKeyRunOnce) {
  constexpr int kThreads = 8;
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < kThreads; ++i) workers.push_back(std::make_unique<Worker>(config_, metrics_));
  std::vector<MoneyOutcome> results(kThreads);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[i] = Charge(*workers[i], 31, 7000, "same-key");
    });
  }
  for (auto& t : threads) t.join();
  int fresh = 0;
  for (const MoneyOutcome& r : results) {
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, results[0].body);
    fresh += r.replayed ? 0 : 1;
  }
  EXPECT_EQ(fresh, 1);
  EXPECT_EQ(QueryInt(*db_, "SELECT balance FROM wallets WHERE user_id = ?", 31), 7000);
  EXPECT_EQ(QueryInt(*db_, "SELECT COUNT(*) FROM wallet_ledger WHERE user_id = ?", 31), 1);
}

// One key sent with different requests at once (a client bug, or two tabs reusing a key): each
// request does its work, then all but the first to commit find the key recorded, roll their
// whole transaction back and answer 422. Money moves for exactly one of them.
TEST_F(ConcurrencyTest, OneKeyWithDifferentRequestsAtOnceMovesMoneyOnce) {
  constexpr int kThreads = 8;
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < kThreads; ++i) workers.push_back(std::make_unique<Worker>(config_, metrics_));
  std::vector<MoneyOutcome> charges(kThreads);
  {
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        charges[i] = Charge(*workers[i], 33, 50000 * (i + 1), "shared-key");
      });
    }
    for (auto& t : threads) t.join();
  }
  int64_t charged = 0;
  int fresh = 0;
  for (int i = 0; i < kThreads; ++i) {
    if (charges[i].status == 200) {
      EXPECT_FALSE(charges[i].replayed);
      charged += 50000 * (i + 1);
      ++fresh;
    } else {
      EXPECT_EQ(charges[i].status, 422) << charges[i].body;
    }
  }
  EXPECT_EQ(fresh, 1);
  EXPECT_EQ(QueryInt(*db_, "SELECT balance FROM wallets WHERE user_id = ?", 33), charged);
  EXPECT_EQ(QueryInt(*db_, "SELECT COUNT(*) FROM wallet_ledger WHERE user_id = ?", 33), 1);
  EXPECT_EQ(QueryInt(*db_, "SELECT COUNT(*) FROM outbox WHERE aggregate_id = ?", 33), 1);

  // Two holds of the same user paid at once under one key: one payment, one 422, and the
  // other seat still HELD.
  MySqlPaymentStore store(*db_);
  const HoldOutcome first = store.HoldSeat(33, 1, 201, kHourMs);
  const HoldOutcome second = store.HoldSeat(33, 1, 202, kHourMs);
  ASSERT_EQ(first.status, 201);
  ASSERT_EQ(second.status, 201);
  ASSERT_GE(charged, 2 * kPrice);
  MoneyOutcome pa, pb;
  {
    std::latch start(2);
    std::thread ta([&] {
      start.arrive_and_wait();
      pa = Confirm(*workers[0], 33, first.reservation_id, "pay-key");
    });
    std::thread tb([&] {
      start.arrive_and_wait();
      pb = Confirm(*workers[1], 33, second.reservation_id, "pay-key");
    });
    ta.join();
    tb.join();
  }
  EXPECT_EQ((pa.status == 200) + (pb.status == 200), 1) << pa.body << " / " << pb.body;
  EXPECT_EQ((pa.status == 422) + (pb.status == 422), 1) << pa.body << " / " << pb.body;
  EXPECT_EQ(QueryInt(*db_, "SELECT COUNT(*) FROM payments WHERE user_id = ?", 33), 1);
  EXPECT_EQ(QueryInt(*db_, "SELECT COUNT(*) FROM seats WHERE id IN (201, 202) AND status = 'SOLD'"),
            1);
  EXPECT_EQ(QueryInt(*db_, "SELECT COUNT(*) FROM seats WHERE id IN (201, 202) AND status = 'HELD'"),
            1);
  EXPECT_EQ(QueryInt(*db_, "SELECT balance FROM wallets WHERE user_id = ?", 33), charged - kPrice);
}

// What the threads saw succeed, to compare with what the database says.
struct Tally {
  std::atomic<int64_t> charged{0};
  std::atomic<int64_t> payments{0};
  std::atomic<int64_t> unexpected{0};
};

void RandomOps(Worker& w, int thread, int ops, const Config& config, Metrics& metrics,
               Tally& tally) {
  std::mt19937_64 rng(static_cast<uint64_t>(thread) * 7919 + 17);
  std::uniform_int_distribution<int64_t> user_of(1, 20);  // few users: real contention
  std::uniform_int_distribution<int64_t> seat_of(11, 600);
  std::uniform_int_distribution<int> op_of(0, 9);
  std::uniform_int_distribution<int64_t> amount_of(1, 30000);
  std::vector<std::pair<int64_t, int64_t>> held;  // (user, reservation)
  const auto retry = [&](auto&& fn) { return WithTxRetry(config.db_tx_retries, metrics, fn); };
  for (int i = 0; i < ops; ++i) {
    const std::string key = "t" + std::to_string(thread) + "-" + std::to_string(i);
    const int op = op_of(rng);
    if (op < 4) {
      const int64_t user = user_of(rng);
      const int64_t amount = amount_of(rng);
      const MoneyOutcome r = retry([&] {
        return w.store.Charge(user, amount, key, RequestHash("charge", user, amount),
                              config.max_balance);
      });
      if (r.status == 200) {
        tally.charged += amount;
      } else {
        ++tally.unexpected;
      }
      if (op == 0) {  // a client retry of the same charge: replayed, no money
        const MoneyOutcome again = retry([&] {
          return w.store.Charge(user, amount, key, RequestHash("charge", user, amount),
                                config.max_balance);
        });
        if (again.status != 200 || !again.replayed) ++tally.unexpected;
      }
    } else if (op < 7 || held.empty()) {
      const int64_t user = user_of(rng);
      const HoldOutcome h = retry([&] { return w.store.HoldSeat(user, 1, seat_of(rng), kHourMs); });
      if (h.status == 201) {
        held.emplace_back(user, h.reservation_id);
      } else if (h.status != 409 && h.status != 200) {
        ++tally.unexpected;
      }
    } else {
      // Confirm one of ours, or (op 9) somebody's: 403s and 409s are part of the mix.
      const auto [user, reservation] = held[static_cast<size_t>(rng() % held.size())];
      const int64_t payer = op == 9 ? user_of(rng) : user;
      const MoneyOutcome r = retry([&] {
        return w.store.Confirm(payer, reservation, key, RequestHash("confirm", payer, reservation));
      });
      if (r.status == 200) {
        ++tally.payments;
      } else if (r.status != 402 && r.status != 403 && r.status != 409) {
        ++tally.unexpected;
      }
    }
  }
}

TEST_F(ConcurrencyTest, RandomChargesAndConfirmsKeepTheBankInvariant) {
  constexpr int kThreads = 16;
  constexpr int kOps = 200;
  Tally tally;
  std::atomic<int> errors{0};
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < kThreads; ++i) workers.push_back(std::make_unique<Worker>(config_, metrics_));
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      try {
        RandomOps(*workers[t], t, kOps, config_, metrics_, tally);
      } catch (const std::exception& e) {
        ++errors;
        ADD_FAILURE() << "thread " << t << ": " << e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(tally.unexpected.load(), 0);
  EXPECT_GT(tally.payments.load(), 0) << "the mix never paid: the invariant check proves little";

  MySqlSession& db = *db_;
  // Money is neither created nor destroyed: what was charged is either in a wallet or paid.
  EXPECT_EQ(QueryInt(db, "SELECT (SELECT COALESCE(SUM(balance), 0) FROM wallets) + "
                         "(SELECT COALESCE(SUM(amount), 0) FROM payments) - "
                         "(SELECT COALESCE(SUM(amount), 0) FROM wallet_ledger "
                         " WHERE entry_type = 'CHARGE') + ? - 1", 1),
            0);
  EXPECT_EQ(QueryInt(db, "SELECT COALESCE(SUM(amount), 0) + ? - 1 FROM wallet_ledger "
                         "WHERE entry_type = 'CHARGE'", 1),
            tally.charged.load());
  EXPECT_EQ(QueryInt(db, "SELECT COUNT(*) + ? - 1 FROM payments", 1), tally.payments.load());
  EXPECT_EQ(QueryInt(db, "SELECT COUNT(*) FROM wallets WHERE balance < ?", 0), 0);
  // Per user, the ledger adds up to the balance, and the last entry's balance_after is it.
  EXPECT_EQ(QueryInt(db, "SELECT COUNT(*) FROM wallets w WHERE w.balance <> "
                         "(SELECT COALESCE(SUM(l.amount), 0) FROM wallet_ledger l "
                         " WHERE l.user_id = w.user_id) AND ? > 0", 1),
            0);
  EXPECT_EQ(QueryInt(db, "SELECT COUNT(*) FROM wallets w JOIN wallet_ledger l ON l.id = "
                         "(SELECT MAX(id) FROM wallet_ledger WHERE user_id = w.user_id) "
                         "WHERE l.balance_after <> w.balance AND ? > 0", 1),
            0);
  // A seat is sold at most once, and every sold seat is one payment of its price.
  EXPECT_EQ(QueryInt(db, "SELECT COUNT(*) FROM (SELECT r.seat_id FROM reservations r "
                         "JOIN payments p ON p.reservation_id = r.id GROUP BY r.seat_id "
                         "HAVING COUNT(*) > ?) x", 1),
            0);
  EXPECT_EQ(QueryInt(db, "SELECT COUNT(*) FROM seats WHERE status = 'SOLD' AND ? > 0", 1),
            tally.payments.load());
  EXPECT_EQ(QueryInt(db, "SELECT COUNT(*) FROM payments p JOIN reservations r "
                         "ON r.id = p.reservation_id JOIN seats s ON s.id = r.seat_id "
                         "WHERE r.status <> 'CONFIRMED' OR s.status <> 'SOLD' "
                         "OR s.reservation_id <> r.id OR p.amount <> s.price "
                         "OR p.user_id <> r.user_id OR ? = 0", 1),
            0);
  // Every payment and every charge wrote exactly one event in its transaction.
  EXPECT_EQ(QueryInt(db, "SELECT COUNT(*) + ? - 1 FROM outbox "
                         "WHERE event_type = 'PaymentCompleted'", 1),
            tally.payments.load());
  EXPECT_EQ(QueryInt(db, "SELECT (SELECT COUNT(*) FROM outbox WHERE event_type = "
                         "'WalletCharged') - (SELECT COUNT(*) FROM wallet_ledger WHERE "
                         "entry_type = 'CHARGE') + ? - 1", 1),
            0);
  EXPECT_EQ(QueryInt(db, "SELECT COUNT(DISTINCT event_id) - COUNT(*) + ? - 1 FROM outbox", 1), 0);
}

}  // namespace
}  // namespace ticketing::testing
