// MySqlSession: session settings, rollback on failure, reconnect after KILL, fast failure.
#include <gtest/gtest.h>

#include <chrono>

#include "tests/integration/integration_env.hpp"
#include "workers/repos/mysql_stores.hpp"
#include "workers/services/tx_retry.hpp"

namespace ticketing::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

class MySqlSessionTest : public IntegrationTest {
 protected:
  static int64_t ConnectionId(MySqlSession& s) { return QueryInt(s, "SELECT CONNECTION_ID()"); }
  void KillFromAnotherSession(int64_t id) {
    MySqlSession killer(config_, nullptr);
    const std::string sql = "KILL " + std::to_string(id);
    killer.Run([&](MySqlSession& k) {
      k.Execute(sql.c_str());
      return 0;
    });
  }
};

TEST_F(MySqlSessionTest, SessionSettings) {
  EXPECT_EQ(QueryString(*db_, "SELECT @@session.time_zone FROM DUAL WHERE ? > 0", 1), "+00:00");
  EXPECT_EQ(QueryInt(*db_, "SELECT @@session.innodb_lock_wait_timeout"),
            config_.db_lock_wait_timeout_seconds);
  EXPECT_EQ(QueryString(*db_, "SELECT @@session.tx_isolation FROM DUAL WHERE ? > 0", 1),
            "READ-COMMITTED");
  EXPECT_EQ(QueryInt(*db_, "SELECT @@session.autocommit"), 1);
}

TEST_F(MySqlSessionTest, ReconnectsAfterItsConnectionIsKilled) {
  const int64_t first = ConnectionId(*db_);
  KillFromAnotherSession(first);
  try {
    ConnectionId(*db_);
    FAIL() << "a killed connection answered";
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), DbErrorKind::kConnection) << e.code() << " " << e.what();
  }
  EXPECT_FALSE(db_->connected());
  const int64_t second = ConnectionId(*db_);
  EXPECT_NE(second, first);
  EXPECT_TRUE(db_->connected());
}

TEST_F(MySqlSessionTest, TxRetryHidesAKilledConnection) {
  MySqlPaymentStore store(*db_);
  ASSERT_TRUE(store.ReadBalance(1).has_value());  // connected, statements prepared
  KillFromAnotherSession(ConnectionId(*db_));
  const auto balance =
      WithTxRetry(config_.db_tx_retries, metrics_, [&] { return store.ReadBalance(1); });
  ASSERT_TRUE(balance.has_value());
  EXPECT_EQ(balance->balance, 0);
  EXPECT_GE(metrics_.Get(Counter::kTxRetries), 1u);
  EXPECT_GE(metrics_.Get(Counter::kDbErrors), 1u);
}

TEST_F(MySqlSessionTest, FailureRollsBackTheOpenTransaction) {
  try {
    db_->Run([](MySqlSession& s) {
      s.Execute("START TRANSACTION");
      s.Execute("INSERT INTO users (id, name) VALUES (5000, 'rolled-back')");
      s.Execute("INSERT INTO users (id, name) VALUES (1, 'duplicate')");
      return 0;
    });
    FAIL() << "the duplicate insert succeeded";
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), DbErrorKind::kDuplicate);
    EXPECT_EQ(e.code(), 1062);
  }
  EXPECT_EQ(QueryInt(*db_, "SELECT COUNT(*) FROM users WHERE id = ?", 5000), 0);
  // The session is usable, in autocommit, afterwards.
  EXPECT_TRUE(db_->Ping());
  EXPECT_EQ(QueryInt(*db_, "SELECT @@in_transaction"), 0);
}

TEST_F(MySqlSessionTest, UnreachableServerFailsFastAndBacksOff) {
  Config dead = config_;
  dead.db_port = 1;
  Metrics metrics = Metrics::CreateLocal();
  MySqlSession session(dead, &metrics);
  auto started = steady_clock::now();
  EXPECT_FALSE(session.Ping());
  EXPECT_LT(steady_clock::now() - started, milliseconds(1000));
  started = steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    try {
      session.Prepare("SELECT 1");
      ADD_FAILURE() << "connected to port 1";
    } catch (const DbError& e) {
      EXPECT_EQ(e.kind(), DbErrorKind::kConnection);
    }
  }
  EXPECT_LT(steady_clock::now() - started, milliseconds(50)) << "backoff did not short-cut";
  EXPECT_EQ(metrics.Get(Counter::kDbErrors), 1u);
  EXPECT_FALSE(session.connected());
}

}  // namespace
}  // namespace ticketing::testing
