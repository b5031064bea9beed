// Settings of every ticketing process, read from TICKETING_* variables and validated once.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ticketing {

struct Config {
  // Process model
  std::string listen;          // "unix:/path.sock" or "host:port" / ":port"
  int workers = 0;             // FastCGI children per pool
  int threads = 1;             // request threads per child
  int poll_threads = 0;        // of those, how many wait for requests at a time (0: CPUs)
  int listen_backlog = 0;
  int shutdown_grace_seconds = 0;
  int max_body_bytes = 0;
  std::string log_level;

  // MySQL / MariaDB
  std::string db_host;
  int db_port = 0;
  std::string db_user;
  std::string db_password;
  std::string db_name;
  int db_connect_timeout_ms = 0;
  int db_read_timeout_seconds = 0;
  int db_lock_wait_timeout_seconds = 0;
  int db_tx_retries = 0;

  // Redis
  std::string redis_host;
  std::string redis_socket;
  int redis_port = 0;
  int redis_timeout_ms = 0;
  int redis_retry_after_ms = 0;

  // Kafka (relay and consumer)
  std::string kafka_brokers;
  std::string kafka_topic;

  // Outbox relay and consumer (outbox/)
  int relay_batch_size = 0;
  int relay_max_attempts = 0;
  int relay_retry_base_ms = 0;
  int relay_retry_max_ms = 0;
  int relay_idle_poll_ms = 0;
  int relay_batch_interval_ms = 0;
  int relay_delivery_timeout_ms = 0;
  int relay_retention_hours = 0;
  int relay_metrics_port = 0;
  int consumer_batch_size = 0;
  int consumer_metrics_port = 0;
  std::string consumer_group;

  // Business rules
  std::string jwt_secret;
  int hold_ttl_seconds = 0;
  int64_t max_balance = 0;
  int catalog_cache_ms = 0;
  int balance_cache_ttl_seconds = 0;
  int sweep_interval_ms = 0;
  int queue_admit_per_sec = 0;
  int queue_max_active = 0;
  int queue_active_ttl_seconds = 0;
  int queue_idle_seconds = 0;
  int dev_login = 0;  // 1 only on the local stack: POST /api/dev/token signs tokens for anyone
};

// A bad setting: the message starts with the variable's name.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using EnvLookup = std::function<const char*(const char* name)>;

// Reads every setting through `lookup` (getenv by default); throws ConfigError on the first
// value that is malformed or out of bounds.
Config LoadConfig(const EnvLookup& lookup);
Config LoadConfigFromEnvironment();

// One line per setting (name, default, bounds) for --help output and docs.
std::vector<std::string> DescribeSettings();

// The start of every executable's main: with any argument, prints the settings table and
// returns 2; on a bad setting, prints "<program>: configuration error: <VARIABLE>: ..." and
// returns 2; otherwise fills `config` and returns 0.
int LoadConfigForMain(int argc, char** argv, const char* program, Config& config);

}  // namespace ticketing
