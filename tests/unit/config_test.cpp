// LoadConfig: defaults, every bound of the settings table, malformed values, required secret.
#include "core/config.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <regex>
#include <string>
#include <vector>

namespace ticketing {
namespace {

constexpr char kSecret[] = "0123456789abcdef";

// An environment made of a map; TICKETING_JWT_SECRET is set unless the test removes it.
class FakeEnv {
 public:
  FakeEnv() { vars_["TICKETING_JWT_SECRET"] = kSecret; }
  FakeEnv& Set(const std::string& name, const std::string& value) {
    vars_[name] = value;
    return *this;
  }
  FakeEnv& Unset(const std::string& name) {
    vars_.erase(name);
    return *this;
  }
  Config Load() const {
    return LoadConfig([this](const char* name) -> const char* {
      const auto it = vars_.find(name);
      return it == vars_.end() ? nullptr : it->second.c_str();
    });
  }

 private:
  std::map<std::string, std::string> vars_;
};

// The ConfigError message of loading `env`, or "" when it loads.
std::string ErrorOf(const FakeEnv& env) {
  try {
    env.Load();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

bool StartsWith(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

struct Bound {
  std::string name;
  int64_t default_value;
  int64_t min;
  int64_t max;
};

// Every integer setting as DescribeSettings() states it: "NAME (default D, MIN..MAX): help".
std::vector<Bound> DescribedBounds() {
  static const std::regex line(R"(^(TICKETING_[A-Z0-9_]+) \(default (-?\d+), (-?\d+)\.\.(-?\d+)\): )");
  std::vector<Bound> bounds;
  for (const std::string& text : DescribeSettings()) {
    std::smatch m;
    if (std::regex_search(text, m, line)) {
      bounds.push_back({m[1], std::stoll(m[2]), std::stoll(m[3]), std::stoll(m[4])});
    }
  }
  return bounds;
}

// Bounds that other parts of the system rely on: a change here must be deliberate.
const Bound kPinned[] = {
    {"TICKETING_WORKERS", 4, 1, 256},
    {"TICKETING_MAX_BODY_BYTES", 16384, 256, 1048576},
    {"TICKETING_DB_PORT", 3306, 1, 65535},
    {"TICKETING_DB_TX_RETRIES", 3, 0, 10},
    {"TICKETING_REDIS_PORT", 6379, 1, 65535},
    {"TICKETING_REDIS_TIMEOUT_MS", 200, 10, 10000},
    {"TICKETING_HOLD_TTL_SECONDS", 300, 1, 3600},
    {"TICKETING_MAX_BALANCE", 1000000000000, 1, std::numeric_limits<int64_t>::max() / 2},
    {"TICKETING_QUEUE_ADMIT_PER_SEC", 100, 1, 1000000},
    {"TICKETING_QUEUE_MAX_ACTIVE", 1000, 1, 10000000},
    {"TICKETING_QUEUE_ACTIVE_TTL_SECONDS", 600, 10, 86400},
};

// "n + delta" as decimal text without overflowing int64.
std::string Offset(int64_t n, int delta) {
  if (delta > 0 && n == std::numeric_limits<int64_t>::max()) return "9223372036854775808";
  if (delta < 0 && n == std::numeric_limits<int64_t>::min()) return "-9223372036854775809";
  return std::to_string(n + delta);
}

TEST(ConfigTest, Defaults) {
  const Config c = FakeEnv().Load();
  EXPECT_EQ(c.listen, "127.0.0.1:9000");
  EXPECT_EQ(c.workers, 4);
  EXPECT_EQ(c.listen_backlog, 1024);
  EXPECT_EQ(c.shutdown_grace_seconds, 30);
  EXPECT_EQ(c.max_body_bytes, 16384);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.db_host, "127.0.0.1");
  EXPECT_EQ(c.db_port, 3306);
  EXPECT_EQ(c.db_user, "ticketing");
  EXPECT_EQ(c.db_password, "ticketing");
  EXPECT_EQ(c.db_name, "ticketing");
  EXPECT_EQ(c.db_connect_timeout_ms, 1000);
  EXPECT_EQ(c.db_read_timeout_seconds, 10);
  EXPECT_EQ(c.db_lock_wait_timeout_seconds, 3);
  EXPECT_EQ(c.db_tx_retries, 3);
  EXPECT_EQ(c.redis_host, "127.0.0.1");
  EXPECT_EQ(c.redis_port, 6379);
  EXPECT_EQ(c.redis_timeout_ms, 200);
  EXPECT_EQ(c.redis_retry_after_ms, 500);
  EXPECT_EQ(c.kafka_brokers, "127.0.0.1:9092");
  EXPECT_EQ(c.kafka_topic, "payment-events");
  EXPECT_EQ(c.jwt_secret, kSecret);
  EXPECT_EQ(c.hold_ttl_seconds, 300);
  EXPECT_EQ(c.max_balance, 1000000000000);
  EXPECT_EQ(c.catalog_cache_ms, 1000);
  EXPECT_EQ(c.balance_cache_ttl_seconds, 300);
  EXPECT_EQ(c.sweep_interval_ms, 1000);
  EXPECT_EQ(c.queue_admit_per_sec, 100);
  EXPECT_EQ(c.queue_max_active, 1000);
  EXPECT_EQ(c.queue_active_ttl_seconds, 600);
}

TEST(ConfigTest, ValuesAreRead) {
  const Config c = FakeEnv()
                       .Set("TICKETING_WORKERS", "8")
                       .Set("TICKETING_DB_HOST", "db.internal")
                       .Set("TICKETING_DB_PASSWORD", "")
                       .Set("TICKETING_LISTEN", "unix:/run/t.sock")
                       .Set("TICKETING_LOG_LEVEL", "debug")
                       .Set("TICKETING_MAX_BALANCE", "5000000000000")
                       .Load();
  EXPECT_EQ(c.workers, 8);
  EXPECT_EQ(c.db_host, "db.internal");
  EXPECT_EQ(c.db_password, "");
  EXPECT_EQ(c.listen, "unix:/run/t.sock");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.max_balance, 5000000000000);
}

TEST(ConfigTest, EveryBoundIsInclusiveAndEnforced) {
  const std::vector<Bound> bounds = DescribedBounds();
  ASSERT_GE(bounds.size(), 20u);
  for (const Bound& b : bounds) {
    SCOPED_TRACE(b.name);
    EXPECT_GE(b.default_value, b.min);
    EXPECT_LE(b.default_value, b.max);
    EXPECT_EQ(ErrorOf(FakeEnv().Set(b.name, std::to_string(b.min))), "");
    EXPECT_EQ(ErrorOf(FakeEnv().Set(b.name, std::to_string(b.max))), "");
    const std::string below = ErrorOf(FakeEnv().Set(b.name, Offset(b.min, -1)));
    EXPECT_TRUE(StartsWith(below, b.name + ":")) << below;
    const std::string above = ErrorOf(FakeEnv().Set(b.name, Offset(b.max, +1)));
    EXPECT_TRUE(StartsWith(above, b.name + ":")) << above;
  }
}

TEST(ConfigTest, PinnedBoundsAndDefaults) {
  const std::vector<Bound> bounds = DescribedBounds();
  for (const Bound& pinned : kPinned) {
    SCOPED_TRACE(pinned.name);
    const auto it = std::find_if(bounds.begin(), bounds.end(),
                                 [&](const Bound& b) { return b.name == pinned.name; });
    ASSERT_NE(it, bounds.end());
    EXPECT_EQ(it->default_value, pinned.default_value);
    EXPECT_EQ(it->min, pinned.min);
    EXPECT_EQ(it->max, pinned.max);
    const std::string below = ErrorOf(FakeEnv().Set(pinned.name, Offset(pinned.min, -1)));
    EXPECT_NE(below.find("out of range"), std::string::npos) << below;
  }
}

TEST(ConfigTest, NonIntegersAreRejectedWithTheName) {
  for (const char* raw : {"", "abc", "4x", "x4", " 4", "4 ", "4.0", "1e3", "0x10", "+4", "--4",
                          "4\n", "four"}) {
    const std::string error = ErrorOf(FakeEnv().Set("TICKETING_WORKERS", raw));
    EXPECT_TRUE(StartsWith(error, "TICKETING_WORKERS:")) << "'" << raw << "': " << error;
  }
}

TEST(ConfigTest, OverflowIsRejectedNotWrapped) {
  for (const char* raw : {"9223372036854775808", "99999999999999999999999", "-9223372036854775809"}) {
    EXPECT_TRUE(StartsWith(ErrorOf(FakeEnv().Set("TICKETING_WORKERS", raw)), "TICKETING_WORKERS:"))
        << raw;
    EXPECT_TRUE(
        StartsWith(ErrorOf(FakeEnv().Set("TICKETING_MAX_BALANCE", raw)), "TICKETING_MAX_BALANCE:"))
        << raw;
  }
  // 2^32 + 4 must not become 4 workers through a narrowing cast, nor 2^31 a negative count.
  for (const char* raw : {"4294967300", "2147483648"}) {
    EXPECT_TRUE(StartsWith(ErrorOf(FakeEnv().Set("TICKETING_WORKERS", raw)), "TICKETING_WORKERS:"))
        << raw;
  }
}

TEST(ConfigTest, MissingJwtSecretStopsTheStart) {
  const std::string error = ErrorOf(FakeEnv().Unset("TICKETING_JWT_SECRET"));
  EXPECT_TRUE(StartsWith(error, "TICKETING_JWT_SECRET:")) << error;
  EXPECT_NE(error.find("not set"), std::string::npos) << error;
}

TEST(ConfigTest, ShortJwtSecretIsRejectedWithoutEchoingIt) {
  const std::string error = ErrorOf(FakeEnv().Set("TICKETING_JWT_SECRET", "short-secret"));
  EXPECT_TRUE(StartsWith(error, "TICKETING_JWT_SECRET:")) << error;
  EXPECT_EQ(error.find("short-secret"), std::string::npos) << "the secret leaked: " << error;
  EXPECT_EQ(ErrorOf(FakeEnv().Set("TICKETING_JWT_SECRET", std::string(16, 'k'))), "");
}

TEST(ConfigTest, EmptyRequiredStringsAreRejected) {
  for (const char* name : {"TICKETING_LISTEN", "TICKETING_DB_HOST", "TICKETING_DB_USER",
                           "TICKETING_DB_NAME", "TICKETING_REDIS_HOST", "TICKETING_LOG_LEVEL",
                           "TICKETING_KAFKA_BROKERS", "TICKETING_KAFKA_TOPIC"}) {
    const std::string error = ErrorOf(FakeEnv().Set(name, ""));
    EXPECT_TRUE(StartsWith(error, std::string(name) + ":")) << name << ": " << error;
  }
}

TEST(ConfigTest, ListenMustBeUnixPathOrHostPort) {
  for (const char* ok : {"unix:/tmp/x.sock", "127.0.0.1:9000", ":9000", "localhost:1"}) {
    EXPECT_EQ(ErrorOf(FakeEnv().Set("TICKETING_LISTEN", ok)), "") << ok;
  }
  for (const char* bad : {"9000", "localhost", "/tmp/x.sock"}) {
    const std::string error = ErrorOf(FakeEnv().Set("TICKETING_LISTEN", bad));
    EXPECT_TRUE(StartsWith(error, "TICKETING_LISTEN:")) << bad << ": " << error;
  }
}

TEST(ConfigTest, ListenPortAndPathAreValidated) {
  for (const char* bad : {"127.0.0.1:", "127.0.0.1:http", "127.0.0.1:70000", "127.0.0.1:0",
                          "127.0.0.1:-1", "unix:", ":"}) {
    const std::string error = ErrorOf(FakeEnv().Set("TICKETING_LISTEN", bad));
    EXPECT_TRUE(StartsWith(error, "TICKETING_LISTEN:")) << bad << ": " << error;
  }
}

TEST(ConfigTest, LogLevelMustBeKnown) {
  for (const char* ok : {"debug", "info", "warn", "error"}) {
    EXPECT_EQ(ErrorOf(FakeEnv().Set("TICKETING_LOG_LEVEL", ok)), "") << ok;
  }
  for (const char* bad : {"INFO", "verbose", "warning", "trace", " info"}) {
    const std::string error = ErrorOf(FakeEnv().Set("TICKETING_LOG_LEVEL", bad));
    EXPECT_TRUE(StartsWith(error, "TICKETING_LOG_LEVEL:")) << bad << ": " << error;
  }
}

TEST(ConfigTest, DescribeSettingsHidesSecretDefaults) {
  bool saw_password = false;
  for (const std::string& line : DescribeSettings()) {
    if (StartsWith(line, "TICKETING_DB_PASSWORD")) {
      saw_password = true;
      EXPECT_EQ(line.find("'ticketing'"), std::string::npos) << line;
    }
  }
  EXPECT_TRUE(saw_password);
}

}  // namespace
}  // namespace ticketing
