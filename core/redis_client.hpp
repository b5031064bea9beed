// One process's Redis connection: short timeouts, fail fast while Redis is down, reconnect later.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ticketing {

class Metrics;

struct RedisReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using RedisReply = std::unique_ptr<redisReply, RedisReplyDeleter>;

class RedisClient {
 public:
  // `unix_socket`, when not empty, is used instead of host and port.
  RedisClient(std::string host, int port, std::string unix_socket, int timeout_ms,
              int retry_after_ms, Metrics* metrics);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Runs one command given as arguments (binary safe). Returns null on any failure: no
  // connection, timeout, or an error reply. After a failure that cost a timeout (a hanging
  // Redis) every call returns null at once until retry_after_ms has passed - or until another
  // client of the process has connected since (Redis is back) - so a hanging Redis costs
  // nothing per request. A refused connection (Redis stopped) costs microseconds, opens no
  // window, and the next call tries again.
  RedisReply Command(const std::vector<std::string_view>& args);

  // Runs a Lua script by its SHA1 (EVALSHA), loading it with EVAL when Redis answers
  // NOSCRIPT (first use, or after a restart). Same failure contract as Command.
  RedisReply Eval(std::string_view script, const std::vector<std::string_view>& keys,
                  const std::vector<std::string_view>& args);

  // PING, for /ready.
  bool Ping();
  // True once a command has failed and Redis has not answered since.
  bool down() const { return context_ == nullptr; }

 private:
  bool EnsureConnected();
  // Forgets the connection after a failure that took `cost`; see the retry window in Command.
  void Drop(const char* why, std::chrono::steady_clock::duration cost);
  // Sends `argv` once; on a dead connection that had worked before (Redis restarted, or a
  // server-side close), reconnects at once and sends it again before backing off. Every
  // command this client sends is idempotent, so the second send is safe.
  RedisReply Send(const std::vector<std::string_view>& argv);
  RedisReply SendOnce(const std::vector<std::string_view>& argv);

  std::string host_;
  int port_;
  std::string unix_socket_;
  int timeout_ms_;
  std::chrono::milliseconds retry_after_;
  Metrics* metrics_;
  redisContext* context_ = nullptr;
  std::unordered_map<std::string, std::string> script_shas_;
  std::chrono::steady_clock::time_point failed_at_{};
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::steady_clock::time_point logged_at_{};
  int64_t unlogged_failures_ = 0;
};

}  // namespace ticketing
