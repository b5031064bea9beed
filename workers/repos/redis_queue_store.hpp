// QueueStore on Redis: one Lua script per call keeps admission atomic across all workers.
#pragma once

#include "core/redis_client.hpp"
#include "workers/repos/stores.hpp"

namespace ticketing {

class RedisQueueStore final : public QueueStore {
 public:
  explicit RedisQueueStore(RedisClient& redis) : redis_(redis) {}
  std::optional<QueueView> Join(int64_t concert_id, int64_t user_id, int64_t now_ms,
                                const QueueSettings& settings) override;
  std::optional<QueueView> Status(int64_t concert_id, int64_t user_id, int64_t entry,
                                  int64_t signed_until_ms, int64_t now_ms,
                                  const QueueSettings& settings) override;
  void End(int64_t concert_id, int64_t user_id) override;

 private:
  std::optional<QueueView> Run(const char* mode, int64_t concert_id, int64_t user_id,
                               int64_t entry, int64_t now_ms, const QueueSettings& settings,
                               int64_t signed_until_ms);
  RedisClient& redis_;
};

}  // namespace ticketing
