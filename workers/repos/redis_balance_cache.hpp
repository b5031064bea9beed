// BalanceCache on Redis, with a versioned compare-and-set so stale readers cannot win.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/redis_client.hpp"
#include "workers/repos/pending_invalidations.hpp"
#include "workers/repos/stores.hpp"

namespace ticketing {

class RedisBalanceCache final : public BalanceCache {
 public:
  // `shared`: the pool's set in shared memory; null gives this cache a private one (tests,
  // single-process tools).
  RedisBalanceCache(RedisClient& redis, int ttl_seconds, PendingInvalidations* shared = nullptr);
  std::optional<WalletBalance> Get(int64_t user_id) override;
  void Put(int64_t user_id, const WalletBalance& balance) override;
  bool Ping() override { return redis_.Ping(); }
  // Keys whose post-commit update failed while Redis was unreachable are deleted before this
  // process serves anything else (App::Handle calls this first), so a cache that survived the
  // outage cannot serve the pre-payment balance. Free when nothing is pending.
  bool FlushPendingInvalidations();
  // The command Get runs, for callers that send it themselves (the worker's pipelined read),
  // and what Get makes of its reply (null reply: nullopt).
  static std::vector<std::string> GetCommand(int64_t user_id);
  static std::optional<WalletBalance> FromReply(const redisReply* reply);

 private:
  RedisClient& redis_;
  int ttl_;
  std::unique_ptr<PendingInvalidations> own_pending_;
  PendingInvalidations& pending_;
};

std::string BalanceKey(int64_t user_id);
// Parses "version:balance".
std::optional<WalletBalance> ParseCachedBalance(std::string_view value);

}  // namespace ticketing
