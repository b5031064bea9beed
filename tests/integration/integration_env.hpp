// Shared setup of the integration tests: settings from TICKETING_* (source $STACK/env, as
// scripts/test does), a known data set in MariaDB, an empty Redis, and small SQL helpers.
// The tests delete and re-create business rows: run them against a throwaway stack only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/config.hpp"
#include "core/metrics.hpp"
#include "core/mysql_session.hpp"
#include "core/redis_client.hpp"

namespace ticketing::testing {

// The data every test starts from (ResetData):
//   users 1..kUsers with wallets at balance 0, version 0;
//   concert 1 "Integration Concert": schedule 1 (seats 1..kSeats, seats 1..10 at kVipPrice,
//   the rest at kPrice) and schedule 2 (seats 1001..1020 at kPrice);
//   concert 2: schedule 3 (seats 2001..2005 at kPrice).
inline constexpr int kUsers = 64;
inline constexpr int kSeats = 600;
inline constexpr int64_t kPrice = 10000;
inline constexpr int64_t kVipPrice = 50000;

bool ServicesConfigured();
// LoadConfigFromEnvironment, with a JWT secret filled in when the environment has none.
Config IntegrationConfig();

void ResetData(MySqlSession& db);
void FlushRedis(const Config& config);

// One integer from a query. `sql` must be a string literal: statements are cached by address.
int64_t QueryInt(MySqlSession& db, const char* sql);
// One integer from a query with one BIGINT parameter.
int64_t QueryInt(MySqlSession& db, const char* sql, int64_t param);
std::string QueryString(MySqlSession& db, const char* sql, int64_t param);

// Polls `condition` until it holds or `timeout` passes (no blind sleeps).
bool WaitUntil(const std::function<bool()>& condition,
               std::chrono::milliseconds timeout = std::chrono::seconds(5));

// Base fixture: skips without services, else gives a session on freshly reset data. The
// session exists from construction (it connects lazily) so derived fixtures can bind to it.
class IntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override;

  Config config_ = IntegrationConfig();
  Metrics metrics_ = Metrics::CreateLocal();
  std::unique_ptr<MySqlSession> db_ = std::make_unique<MySqlSession>(config_, &metrics_);
};

}  // namespace ticketing::testing

#define TICKETING_SKIP_WITHOUT_SERVICES()                                                    \
  do {                                                                                       \
    if (!::ticketing::testing::ServicesConfigured()) {                                      \
      GTEST_SKIP() << "TICKETING_DB_PORT is not set: start a stack (scripts/stack up) and "  \
                      "source $TICKETING_STACK_DIR/env to run the integration tests";        \
    }                                                                                        \
  } while (false)
