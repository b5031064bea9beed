// RedisCatalogCache: plain GET/SET with PX, and a set of wanted ids that expires when unused.
#include "workers/repos/redis_catalog_cache.hpp"

#include <charconv>
#include <string>

namespace ticketing {
namespace {

constexpr char kWantedKey[] = "catalog:wanted";
constexpr char kWantedTtlSeconds[] = "60";
constexpr size_t kMaxWanted = 1000;

std::string ConcertKey(int64_t concert_id) {
  return "catalog:concert:" + std::to_string(concert_id);
}

}  // namespace

std::optional<std::string> RedisCatalogCache::GetConcert(int64_t concert_id) {
  const RedisReply reply = redis_.Command({"GET", ConcertKey(concert_id)});
  if (!reply || reply->type != REDIS_REPLY_STRING) return std::nullopt;
  return std::string(reply->str, reply->len);
}

void RedisCatalogCache::PutConcert(int64_t concert_id, const std::string& json) {
  redis_.Command({"SET", ConcertKey(concert_id), json, "PX", std::to_string(ttl_ms_)});
}

void RedisCatalogCache::MarkWanted(int64_t concert_id) {
  redis_.Command({"SADD", kWantedKey, std::to_string(concert_id)});
  redis_.Command({"EXPIRE", kWantedKey, kWantedTtlSeconds});
}

std::vector<int64_t> RedisCatalogCache::Wanted() {
  std::vector<int64_t> ids;
  const RedisReply reply = redis_.Command({"SMEMBERS", kWantedKey});
  if (!reply || reply->type != REDIS_REPLY_ARRAY) return ids;
  for (size_t i = 0; i < reply->elements && ids.size() < kMaxWanted; ++i) {
    const redisReply* item = reply->element[i];
    int64_t id = 0;
    const auto [end, ec] = std::from_chars(item->str, item->str + item->len, id);
    if (ec == std::errc() && end == item->str + item->len && id > 0) ids.push_back(id);
  }
  return ids;
}

}  // namespace ticketing
