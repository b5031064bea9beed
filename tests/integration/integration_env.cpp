// Data reset and SQL helpers of the integration tests.
#include "tests/integration/integration_env.hpp"

#include <csignal>
#include <cstdlib>
#include <thread>

namespace ticketing::testing {
namespace {

// As in the worker's main: a server that closes a connection (CLIENT KILL over the unix
// socket) yields EPIPE, not the death of the test process.
const bool kSigpipeIgnored = [] { return std::signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();

// Children before parents, so the order also suits foreign keys should they ever be added.
constexpr const char* kResetStatements[] = {
    "DELETE FROM payments",
    "DELETE FROM wallet_ledger",
    "DELETE FROM idempotency_keys",
    "DELETE FROM outbox",
    "DELETE FROM reservations",
    "DELETE FROM seats",
    "DELETE FROM schedules",
    "DELETE FROM concerts",
    "DELETE FROM wallets",
    "DELETE FROM users",
    "INSERT INTO users (id, name) WITH RECURSIVE n(i) AS "
    "(SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 64) SELECT i, CONCAT('it-', i) FROM n",
    "INSERT INTO wallets (user_id, balance, version) SELECT id, 0, 0 FROM users",
    "INSERT INTO concerts (id, title) VALUES (1, 'Integration Concert'), (2, 'Second Concert')",
    "INSERT INTO schedules (id, concert_id, starts_at) VALUES "
    "(1, 1, '2031-01-02 10:00:00.000'), (2, 1, '2031-01-03 10:00:00.250'), "
    "(3, 2, '2031-02-01 10:00:00.000')",
    "INSERT INTO seats (id, schedule_id, price, status) WITH RECURSIVE n(i) AS "
    "(SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600) "
    "SELECT i, 1, IF(i <= 10, 50000, 10000), 'AVAILABLE' FROM n",
    "INSERT INTO seats (id, schedule_id, price, status) WITH RECURSIVE n(i) AS "
    "(SELECT 1001 UNION ALL SELECT i + 1 FROM n WHERE i < 1020) "
    "SELECT i, 2, 10000, 'AVAILABLE' FROM n",
    "INSERT INTO seats (id, schedule_id, price, status) WITH RECURSIVE n(i) AS "
    "(SELECT 2001 UNION ALL SELECT i + 1 FROM n WHERE i < 2005) "
    "SELECT i, 3, 10000, 'AVAILABLE' FROM n",
};
static_assert(kUsers == 64 && kSeats == 600 && kPrice == 10000 && kVipPrice == 50000,
              "keep kResetStatements in step with the constants");

}  // namespace

bool ServicesConfigured() {
  const char* port = std::getenv("TICKETING_DB_PORT");
  return port != nullptr && *port != '\0';
}

Config IntegrationConfig() {
  return LoadConfig([](const char* name) -> const char* {
    const char* value = std::getenv(name);
    if (value == nullptr && std::string_view(name) == "TICKETING_JWT_SECRET") {
      return "integration-test-secret-0123456789";
    }
    return value;
  });
}

void ResetData(MySqlSession& db) {
  db.Run([](MySqlSession& s) {
    for (const char* sql : kResetStatements) s.Execute(sql);
    return 0;
  });
}

void FlushRedis(const Config& config) {
  RedisClient redis(config.redis_host, config.redis_port, config.redis_socket, 1000, 10, nullptr);
  ASSERT_TRUE(redis.Command({"FLUSHDB"})) << "FLUSHDB on " << config.redis_host << ":"
                                          << config.redis_port << " failed";
}

int64_t QueryInt(MySqlSession& db, const char* sql) {
  return db.Run([sql](MySqlSession& s) {
    auto& statement = s.Prepare(sql);
    auto rows = s.Query(statement);
    if (!rows->next()) throw std::runtime_error(std::string("no row: ") + sql);
    return static_cast<int64_t>(rows->getInt64(1));
  });
}

int64_t QueryInt(MySqlSession& db, const char* sql, int64_t param) {
  return db.Run([sql, param](MySqlSession& s) {
    auto& statement = s.Prepare(sql);
    statement.setInt64(1, param);
    auto rows = s.Query(statement);
    if (!rows->next()) throw std::runtime_error(std::string("no row: ") + sql);
    return static_cast<int64_t>(rows->getInt64(1));
  });
}

std::string QueryString(MySqlSession& db, const char* sql, int64_t param) {
  return db.Run([sql, param](MySqlSession& s) {
    auto& statement = s.Prepare(sql);
    statement.setInt64(1, param);
    auto rows = s.Query(statement);
    if (!rows->next()) throw std::runtime_error(std::string("no row: ") + sql);
    return rows->isNull(1) ? std::string("NULL") : std::string(rows->getString(1));
  });
}

bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

void IntegrationTest::SetUp() {
  TICKETING_SKIP_WITHOUT_SERVICES();
  ResetData(*db_);
  FlushRedis(config_);
}

}  // namespace ticketing::testing
