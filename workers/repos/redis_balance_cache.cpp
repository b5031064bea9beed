// Versioned balance cache: see BalanceCache in stores.hpp for the invariant.
#include "workers/repos/redis_balance_cache.hpp"

#include <charconv>

namespace ticketing {
namespace {

// Sets KEYS[1] to ARGV[1]..":"..ARGV[2] unless it already holds a version >= ARGV[1].
constexpr char kPutIfNewer[] = R"lua(
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '^(%d+):'))
  if version and version >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'EX', ARGV[3])
return 1
)lua";

// After the pending set overflowed: every cached balance goes (rare; blocks Redis briefly).
constexpr char kDeleteAllBalances[] = R"lua(
local cursor, deleted = '0', 0
repeat
  local page = redis.call('SCAN', cursor, 'MATCH', 'bal:*', 'COUNT', 1000)
  cursor = page[1]
  for _, key in ipairs(page[2]) do deleted = deleted + redis.call('DEL', key) end
until cursor == '0'
return deleted
)lua";

}  // namespace

std::string BalanceKey(int64_t user_id) { return "bal:" + std::to_string(user_id); }

std::optional<WalletBalance> ParseCachedBalance(std::string_view value) {
  const size_t colon = value.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  WalletBalance parsed;
  const auto v = std::from_chars(value.data(), value.data() + colon, parsed.version);
  const auto b = std::from_chars(value.data() + colon + 1, value.data() + value.size(),
                                 parsed.balance);
  if (v.ec != std::errc() || v.ptr != value.data() + colon || b.ec != std::errc() ||
      b.ptr != value.data() + value.size()) {
    return std::nullopt;
  }
  return parsed;
}

RedisBalanceCache::RedisBalanceCache(RedisClient& redis, int ttl_seconds,
                                     PendingInvalidations* shared)
    : redis_(redis),
      ttl_(ttl_seconds),
      own_pending_(shared ? nullptr : std::make_unique<PendingInvalidations>()),
      pending_(shared ? *shared : *own_pending_) {}

bool RedisBalanceCache::FlushPendingInvalidations() {
  if (pending_.Empty()) return true;
  return pending_.Drain(
      [this](int64_t user_id) { return redis_.Command({"DEL", BalanceKey(user_id)}) != nullptr; },
      [this] { return redis_.Eval(kDeleteAllBalances, {}, {}) != nullptr; });
}

std::vector<std::string> RedisBalanceCache::GetCommand(int64_t user_id) {
  return {"GET", BalanceKey(user_id)};
}

std::optional<WalletBalance> RedisBalanceCache::FromReply(const redisReply* reply) {
  if (!reply || reply->type != REDIS_REPLY_STRING) return std::nullopt;
  return ParseCachedBalance(std::string_view(reply->str, reply->len));
}

std::optional<WalletBalance> RedisBalanceCache::Get(int64_t user_id) {
  if (!FlushPendingInvalidations()) return std::nullopt;
  const RedisReply reply = redis_.Command({"GET", BalanceKey(user_id)});
  return FromReply(reply.get());
}

void RedisBalanceCache::Put(int64_t user_id, const WalletBalance& balance) {
  const std::string key = BalanceKey(user_id);
  const std::string version = std::to_string(balance.version);
  const std::string value = std::to_string(balance.balance);
  const std::string ttl = std::to_string(ttl_);
  if (redis_.Eval(kPutIfNewer, {key}, {version, value, ttl})) return;
  pending_.Add(user_id);
}

}  // namespace ticketing
