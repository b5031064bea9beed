// The settings table: every TICKETING_* variable with its default and bounds, in one place.
#include "core/config.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <variant>

namespace ticketing {
namespace {

struct IntSetting {
  const char* name;
  int64_t default_value;
  int64_t min;
  int64_t max;
  std::variant<int Config::*, int64_t Config::*> field;
  const char* help;
};

struct StringSetting {
  const char* name;
  const char* default_value;
  std::string Config::*field;
  bool secret;
  size_t min_length;
  const char* help;
};


const IntSetting kIntSettings[] = {
    {"TICKETING_WORKERS", 4, 1, 256, &Config::workers, "FastCGI children per pool"},
    {"TICKETING_THREADS", 1, 1, 64, &Config::threads,
     "request threads per child, each with its own MySQL and Redis connection"},
    {"TICKETING_POLL_THREADS", 0, 0, 64, &Config::poll_threads,
     "threads of a child that wait for requests at a time (0: one per CPU it may use, "
     "cgroup quota included); the others take over when one goes to the database"},
    {"TICKETING_LISTEN_BACKLOG", 1024, 16, 65535, &Config::listen_backlog,
     "listen(2) backlog of the FastCGI socket"},
    {"TICKETING_SHUTDOWN_GRACE_SECONDS", 30, 1, 600, &Config::shutdown_grace_seconds,
     "how long a graceful stop waits for requests in flight"},
    {"TICKETING_MAX_BODY_BYTES", 16384, 256, 1048576, &Config::max_body_bytes,
     "largest request body accepted (413 above)"},
    {"TICKETING_DB_PORT", 3306, 1, 65535, &Config::db_port, "MySQL port"},
    {"TICKETING_DB_CONNECT_TIMEOUT_MS", 1000, 50, 60000, &Config::db_connect_timeout_ms,
     "MySQL connect timeout"},
    {"TICKETING_DB_READ_TIMEOUT_SECONDS", 10, 1, 300, &Config::db_read_timeout_seconds,
     "MySQL read timeout: a hung server becomes a 503, not a hung request"},
    {"TICKETING_DB_LOCK_WAIT_TIMEOUT_SECONDS", 3, 1, 60, &Config::db_lock_wait_timeout_seconds,
     "innodb_lock_wait_timeout of the workers' sessions"},
    {"TICKETING_DB_TX_RETRIES", 3, 0, 10, &Config::db_tx_retries,
     "retries of a transaction after a deadlock or lock-wait timeout, then 503"},
    {"TICKETING_REDIS_PORT", 6379, 1, 65535, &Config::redis_port, "Redis port"},
    {"TICKETING_REDIS_TIMEOUT_MS", 200, 10, 10000, &Config::redis_timeout_ms,
     "Redis connect and command timeout"},
    {"TICKETING_REDIS_RETRY_AFTER_MS", 500, 10, 60000, &Config::redis_retry_after_ms,
     "after a Redis failure, how long calls fail fast before a reconnect is tried"},
    {"TICKETING_HOLD_TTL_SECONDS", 300, 1, 3600, &Config::hold_ttl_seconds,
     "how long a temporary seat hold lasts"},
    {"TICKETING_MAX_BALANCE", 1000000000000, 1, std::numeric_limits<int64_t>::max() / 2,
     &Config::max_balance, "largest balance a wallet may reach (KRW)"},
    {"TICKETING_CATALOG_CACHE_MS", 1000, 0, 60000, &Config::catalog_cache_ms,
     "per-process catalog cache window: the longest a sold seat can still show AVAILABLE"},
    {"TICKETING_BALANCE_CACHE_TTL_SECONDS", 300, 1, 86400, &Config::balance_cache_ttl_seconds,
     "TTL of cached balances in Redis"},
    {"TICKETING_SWEEP_INTERVAL_MS", 1000, 50, 600000, &Config::sweep_interval_ms,
     "how often expired holds are released"},
    {"TICKETING_QUEUE_ADMIT_PER_SEC", 100, 1, 1000000, &Config::queue_admit_per_sec,
     "waiting-room admissions per second"},
    {"TICKETING_QUEUE_MAX_ACTIVE", 1000, 1, 10000000, &Config::queue_max_active,
     "most users ACTIVE at once per concert"},
    {"TICKETING_QUEUE_ACTIVE_TTL_SECONDS", 600, 10, 86400, &Config::queue_active_ttl_seconds,
     "how long an ACTIVE queue session lasts"},
    {"TICKETING_DEV_LOGIN", 0, 0, 1, &Config::dev_login,
     "1 enables POST /api/dev/token (demo sign-in of the local stack); never in production"},
    {"TICKETING_QUEUE_IDLE_SECONDS", 30, 5, 3600, &Config::queue_idle_seconds,
     "a WAITING entry not polled for this long leaves the queue; an ACTIVE one after 4x"},
    {"TICKETING_RELAY_BATCH_SIZE", 2000, 1, 20000, &Config::relay_batch_size,
     "outbox rows the relay claims, publishes and marks per transaction"},
    {"TICKETING_RELAY_MAX_ATTEMPTS", 5, 1, 1000, &Config::relay_max_attempts,
     "failed publishes of one row before it is QUARANTINED"},
    {"TICKETING_RELAY_RETRY_BASE_MS", 200, 1, 600000, &Config::relay_retry_base_ms,
     "first retry delay after a failure; doubles per attempt"},
    {"TICKETING_RELAY_RETRY_MAX_MS", 30000, 1, 3600000, &Config::relay_retry_max_ms,
     "longest retry delay (rows and broker outages)"},
    {"TICKETING_RELAY_IDLE_POLL_MS", 50, 1, 60000, &Config::relay_idle_poll_ms,
     "how long the relay sleeps when the outbox has nothing to publish"},
    {"TICKETING_RELAY_BATCH_INTERVAL_MS", 20, 0, 10000, &Config::relay_batch_interval_ms,
     "while batches are not full, the shortest time from one claim to the next (events "
     "gather into fewer, larger batches; adds at most this much publish latency)"},
    {"TICKETING_RELAY_DELIVERY_TIMEOUT_MS", 15000, 1000, 300000,
     &Config::relay_delivery_timeout_ms, "how long a batch waits for the broker's acks"},
    {"TICKETING_RELAY_RETENTION_HOURS", 24, 0, 8760, &Config::relay_retention_hours,
     "PUBLISHED outbox rows older than this are deleted"},
    {"TICKETING_RELAY_METRICS_PORT", 9464, 0, 65535, &Config::relay_metrics_port,
     "relay's GET /metrics on 127.0.0.1 (0: off)"},
    {"TICKETING_CONSUMER_BATCH_SIZE", 500, 1, 10000, &Config::consumer_batch_size,
     "events the consumer applies per database transaction"},
    {"TICKETING_CONSUMER_METRICS_PORT", 9465, 0, 65535, &Config::consumer_metrics_port,
     "consumer's GET /metrics on 127.0.0.1 (0: off)"},
};

const StringSetting kStringSettings[] = {
    {"TICKETING_LISTEN", "127.0.0.1:9000", &Config::listen, false, 1,
     "FastCGI socket: unix:/path or host:port"},
    {"TICKETING_LOG_LEVEL", "info", &Config::log_level, false, 1, "debug, info, warn or error"},
    {"TICKETING_DB_HOST", "127.0.0.1", &Config::db_host, false, 1, "MySQL host"},
    {"TICKETING_DB_USER", "ticketing", &Config::db_user, false, 1, "MySQL user"},
    {"TICKETING_DB_PASSWORD", "ticketing", &Config::db_password, true, 0, "MySQL password"},
    {"TICKETING_DB_NAME", "ticketing", &Config::db_name, false, 1, "MySQL database"},
    {"TICKETING_REDIS_HOST", "127.0.0.1", &Config::redis_host, false, 1, "Redis host"},
    {"TICKETING_REDIS_SOCKET", "", &Config::redis_socket, false, 0,
     "Redis unix socket path; when set it is used instead of host and port"},
    {"TICKETING_KAFKA_BROKERS", "127.0.0.1:9092", &Config::kafka_brokers, false, 1,
     "Kafka bootstrap servers"},
    {"TICKETING_KAFKA_TOPIC", "payment-events", &Config::kafka_topic, false, 1,
     "topic of payment events"},
    {"TICKETING_JWT_SECRET", "", &Config::jwt_secret, true, 16,
     "HS256 secret of bearer tokens (required, at least 16 bytes)"},
    {"TICKETING_CONSUMER_GROUP", "ticketing-consumer", &Config::consumer_group, false, 1,
     "Kafka consumer group of the sales projection"},
};

int64_t ParseInt(const IntSetting& s, const char* raw) {
  const std::string_view text(raw);
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    throw ConfigError(std::string(s.name) + ": '" + raw + "' is not an integer");
  }
  if (value < s.min || value > s.max) {
    throw ConfigError(std::string(s.name) + ": " + raw + " is out of range [" +
                      std::to_string(s.min) + ", " + std::to_string(s.max) + "]");
  }
  return value;
}

void ValidateListen(const std::string& listen) {
  const auto fail = [&](const std::string& why) {
    throw ConfigError("TICKETING_LISTEN: '" + listen + "' " + why);
  };
  if (listen.rfind("unix:", 0) == 0) {
    if (listen.size() == 5) fail("has an empty socket path");
    return;
  }
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) fail("is neither unix:/path nor host:port");
  const std::string_view port(listen.c_str() + colon + 1);
  int value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 1 ||
      value > 65535) {
    fail("has no port between 1 and 65535");
  }
}

void ValidateCombinations(const Config& c) {
  if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" &&
      c.log_level != "error") {
    throw ConfigError("TICKETING_LOG_LEVEL: '" + c.log_level +
                      "' is not one of debug, info, warn, error");
  }
  ValidateListen(c.listen);
}

}  // namespace

Config LoadConfig(const EnvLookup& lookup) {
  Config config;
  for (const auto& s : kIntSettings) {
    const char* raw = lookup(s.name);
    const int64_t value = raw != nullptr ? ParseInt(s, raw) : s.default_value;
    std::visit(
        [&](auto member) {
          using Field = std::remove_reference_t<decltype(config.*member)>;
          static_assert(std::is_same_v<Field, int> || std::is_same_v<Field, int64_t>);
          config.*member = static_cast<Field>(value);
        },
        s.field);
  }
  for (const auto& s : kStringSettings) {
    const char* raw = lookup(s.name);
    std::string value = raw != nullptr ? raw : s.default_value;
    if (value.size() < s.min_length) {
      throw ConfigError(std::string(s.name) + ": must be at least " +
                        std::to_string(s.min_length) + " characters" +
                        (raw == nullptr ? " (it is not set)" : ""));
    }
    config.*s.field = std::move(value);
  }
  ValidateCombinations(config);
  return config;
}

Config LoadConfigFromEnvironment() {
  return LoadConfig([](const char* name) { return std::getenv(name); });
}

std::vector<std::string> DescribeSettings() {
  std::vector<std::string> lines;
  for (const auto& s : kIntSettings) {
    lines.push_back(std::string(s.name) + " (default " + std::to_string(s.default_value) +
                    ", " + std::to_string(s.min) + ".." + std::to_string(s.max) + "): " + s.help);
  }
  for (const auto& s : kStringSettings) {
    lines.push_back(std::string(s.name) + " (default '" + (s.secret ? "" : s.default_value) +
                    "'): " + s.help);
  }
  return lines;
}

int LoadConfigForMain(int argc, char** argv, const char* program, Config& config) {
  if (argc > 1) {
    std::fprintf(stderr, "usage: %s (configured by TICKETING_* variables):\n", argv[0]);
    for (const auto& line : DescribeSettings()) std::fprintf(stderr, "  %s\n", line.c_str());
    return 2;
  }
  try {
    config = LoadConfigFromEnvironment();
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "%s: configuration error: %s\n", program, e.what());
    return 2;
  }
  return 0;
}

}  // namespace ticketing
