// RedisClient on hiredis' blocking API with socket timeouts.
#include "core/redis_client.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>

#include "core/crypto.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"

namespace ticketing {
namespace {

timeval ToTimeval(int ms) {
  return timeval{ms / 1000, static_cast<suseconds_t>((ms % 1000) * 1000)};
}

}  // namespace

RedisClient::RedisClient(std::string host, int port, std::string unix_socket, int timeout_ms,
                         int retry_after_ms, Metrics* metrics)
    : host_(std::move(host)),
      port_(port),
      unix_socket_(std::move(unix_socket)),
      timeout_ms_(timeout_ms),
      retry_after_(retry_after_ms),
      metrics_(metrics) {}

namespace {

// When any client of this process last connected (steady clock, ns). A client backing off
// after a failure tries again at once once a sibling - another request thread of the same
// worker child - has connected since: Redis is back, and the child's threads recover together
// instead of each waiting out its own retry window.
std::atomic<int64_t> g_last_connected_ns{0};

int64_t SteadyNs(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

RedisClient::~RedisClient() {
  if (context_) redisFree(context_);
}

bool RedisClient::EnsureConnected() {
  if (context_) return true;
  const auto started = std::chrono::steady_clock::now();
  if (started < next_attempt_ &&
      g_last_connected_ns.load(std::memory_order_relaxed) <= SteadyNs(failed_at_)) {
    return false;
  }
  context_ = unix_socket_.empty()
                 ? redisConnectWithTimeout(host_.c_str(), port_, ToTimeval(timeout_ms_))
                 : redisConnectUnixWithTimeout(unix_socket_.c_str(), ToTimeval(timeout_ms_));
  if (context_ == nullptr || context_->err != 0) {
    Drop(context_ ? context_->errstr : "allocation failed", std::chrono::steady_clock::now() - started);
    return false;
  }
  redisSetTimeout(context_, ToTimeval(timeout_ms_));
  g_last_connected_ns.store(SteadyNs(std::chrono::steady_clock::now()), std::memory_order_relaxed);
  if (unix_socket_.empty()) {
    Log(LogLevel::kInfo, "redis connected").Str("host", host_).Int("port", port_);
  } else {
    Log(LogLevel::kInfo, "redis connected").Str("socket", unix_socket_);
  }
  return true;
}

void RedisClient::Drop(const char* why, std::chrono::steady_clock::duration cost) {
  if (metrics_) metrics_->Increment(Counter::kRedisErrors);
  const std::string detail(why);  // `why` may point into the context freed here
  if (context_) redisFree(context_);
  context_ = nullptr;
  failed_at_ = std::chrono::steady_clock::now();
  // A failure that cost a timeout opens a retry window: no request waits on a hanging Redis
  // again until it ends. One that cost next to nothing (connection refused: Redis is stopped
  // or restarting) does not: the next request tries again, so a restarted Redis is used from
  // its first second, by every thread of every child.
  const bool slow = cost >= std::min<std::chrono::steady_clock::duration>(
                                retry_after_, std::chrono::milliseconds(timeout_ms_) / 2);
  next_attempt_ = slow ? failed_at_ + retry_after_ : failed_at_;
  // At most one line per retry window, with the count of failures it stands for.
  ++unlogged_failures_;
  if (failed_at_ - logged_at_ >= retry_after_ || slow) {
    Log(LogLevel::kWarn, "redis unavailable")
        .Str("detail", detail)
        .Int("failures", unlogged_failures_)
        .Str("retry", slow ? "after window" : "next request");
    unlogged_failures_ = 0;
    logged_at_ = failed_at_;
  }
}

RedisReply RedisClient::SendOnce(const std::vector<std::string_view>& argv) {
  std::vector<const char*> data;
  std::vector<size_t> lengths;
  data.reserve(argv.size());
  lengths.reserve(argv.size());
  for (const auto& a : argv) {
    data.push_back(a.data());
    lengths.push_back(a.size());
  }
  return RedisReply(static_cast<redisReply*>(
      redisCommandArgv(context_, static_cast<int>(argv.size()), data.data(), lengths.data())));
}

RedisReply RedisClient::Send(const std::vector<std::string_view>& argv) {
  if (!EnsureConnected()) return nullptr;
  auto started = std::chrono::steady_clock::now();
  RedisReply reply = SendOnce(argv);
  const bool closed_by_peer =
      context_->err == REDIS_ERR_EOF ||
      (context_->err == REDIS_ERR_IO && (errno == ECONNRESET || errno == EPIPE));
  if (!reply && closed_by_peer) {
    Log(LogLevel::kInfo, "redis connection was closed; reconnecting").Str("detail", context_->errstr);
    redisFree(context_);
    context_ = nullptr;
    if (!EnsureConnected()) return nullptr;
    started = std::chrono::steady_clock::now();
    reply = SendOnce(argv);
  }
  if (!reply) Drop(context_->errstr, std::chrono::steady_clock::now() - started);
  return reply;
}

RedisReply RedisClient::Command(const std::vector<std::string_view>& args) {
  RedisReply reply = Send(args);
  if (!reply) return nullptr;
  if (reply->type == REDIS_REPLY_ERROR) {
    Log(LogLevel::kError, "redis error reply").Str("detail", std::string_view(reply->str, reply->len));
    if (metrics_) metrics_->Increment(Counter::kRedisErrors);
    return nullptr;
  }
  return reply;
}

RedisReply RedisClient::Eval(std::string_view script, const std::vector<std::string_view>& keys,
                             const std::vector<std::string_view>& args) {
  auto& sha = script_shas_[std::string(script)];
  if (sha.empty()) sha = Sha1Hex(script);
  const std::string key_count = std::to_string(keys.size());
  std::vector<std::string_view> argv{"EVALSHA", sha, key_count};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  RedisReply reply = Send(argv);
  if (!reply) return nullptr;
  if (reply->type == REDIS_REPLY_ERROR &&
      std::string_view(reply->str, reply->len).starts_with("NOSCRIPT")) {
    argv[0] = "EVAL";
    argv[1] = script;
    return Command(argv);
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    Log(LogLevel::kError, "redis script error").Str("detail", std::string_view(reply->str, reply->len));
    if (metrics_) metrics_->Increment(Counter::kRedisErrors);
    return nullptr;
  }
  return reply;
}

bool RedisClient::Ping() {
  const RedisReply reply = Command({"PING"});
  return reply != nullptr;
}

}  // namespace ticketing
