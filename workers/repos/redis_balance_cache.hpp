// BalanceCache on Redis, with a versioned compare-and-set so stale readers cannot win.
#pragma once

#include <unordered_set>

#include "core/redis_client.hpp"
#include "workers/repos/stores.hpp"

namespace ticketing {

class RedisBalanceCache final : public BalanceCache {
 public:
  RedisBalanceCache(RedisClient& redis, int ttl_seconds) : redis_(redis), ttl_(ttl_seconds) {}
  std::optional<WalletBalance> Get(int64_t user_id) override;
  void Put(int64_t user_id, const WalletBalance& balance) override;
  bool Ping() override { return redis_.Ping(); }

 private:
  // Keys whose update failed while Redis was unreachable: deleted before the next read is
  // served, so a cache that survived the outage cannot serve the pre-payment balance.
  bool FlushPendingInvalidations();

  RedisClient& redis_;
  int ttl_;
  std::unordered_set<int64_t> pending_invalidations_;
};

std::string BalanceKey(int64_t user_id);
// Parses "version:balance".
std::optional<WalletBalance> ParseCachedBalance(std::string_view value);

}  // namespace ticketing
