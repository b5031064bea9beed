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

constexpr size_t kMaxPendingInvalidations = 100000;

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

bool RedisBalanceCache::FlushPendingInvalidations() {
  while (!pending_invalidations_.empty()) {
    const int64_t user_id = *pending_invalidations_.begin();
    if (!redis_.Command({"DEL", BalanceKey(user_id)})) return false;
    pending_invalidations_.erase(pending_invalidations_.begin());
  }
  return true;
}

std::optional<WalletBalance> RedisBalanceCache::Get(int64_t user_id) {
  if (!pending_invalidations_.empty() && !FlushPendingInvalidations()) return std::nullopt;
  const RedisReply reply = redis_.Command({"GET", BalanceKey(user_id)});
  if (!reply || reply->type != REDIS_REPLY_STRING) return std::nullopt;
  return ParseCachedBalance(std::string_view(reply->str, reply->len));
}

void RedisBalanceCache::Put(int64_t user_id, const WalletBalance& balance) {
  const std::string key = BalanceKey(user_id);
  const std::string version = std::to_string(balance.version);
  const std::string value = std::to_string(balance.balance);
  const std::string ttl = std::to_string(ttl_);
  if (redis_.Command({"EVAL", kPutIfNewer, "1", key, version, value, ttl})) return;
  if (pending_invalidations_.size() < kMaxPendingInvalidations) {
    pending_invalidations_.insert(user_id);
  }
}

}  // namespace ticketing
