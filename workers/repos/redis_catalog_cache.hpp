// SharedCatalogCache on Redis: catalog:concert:<id> (rendered JSON, short TTL) and the set
// catalog:wanted of concerts asked for lately.
#pragma once

#include "core/redis_client.hpp"
#include "workers/repos/stores.hpp"

namespace ticketing {

class RedisCatalogCache final : public SharedCatalogCache {
 public:
  // Entries outlive `ttl_ms` only if refreshed: when the housekeeper stops, children fall back
  // to counting themselves within that time.
  RedisCatalogCache(RedisClient& redis, int ttl_ms) : redis_(redis), ttl_ms_(ttl_ms) {}
  std::optional<std::string> GetConcert(int64_t concert_id) override;
  void PutConcert(int64_t concert_id, const std::string& json) override;
  void MarkWanted(int64_t concert_id) override;
  std::vector<int64_t> Wanted() override;

 private:
  RedisClient& redis_;
  int ttl_ms_;
};

}  // namespace ticketing
