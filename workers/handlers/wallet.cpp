// GET /api/wallet/{userId}/balance and POST /api/wallet/{userId}/charge.
#include "core/json.hpp"
#include "workers/app.hpp"

namespace ticketing {

inline constexpr int64_t kMaxChargeAmount = 10'000'000;

void RegisterWalletRoutes(Router& router, Services& s) {
  router.Add("GET", "/api/wallet/{userId}/balance", "balance",
             [&s](const HttpRequest& request, const PathParams& p, RequestContext& context) {
               context.user_id = s.auth.RequireOwner(request, p[0]);
               const int64_t user_id = p[0];
               // Pending invalidations that could not be flushed (Redis unreachable) mean
               // the cache may not be read: straight to the database.
               if (!s.balance_cache.FlushPendingInvalidations()) {
                 return s.wallet.Balance(user_id, std::nullopt);
               }
               HttpResponse response;
               response.await_redis = std::make_shared<AwaitRedis>(AwaitRedis{
                   RedisBalanceCache::GetCommand(user_id),
                   [user_id](Services& services, const redisReply* reply) {
                     return services.wallet.Balance(user_id, RedisBalanceCache::FromReply(reply));
                   }});
               return response;
             });
  router.Add("POST", "/api/wallet/{userId}/charge", "charge",
             [&s](const HttpRequest& request, const PathParams& p, RequestContext& context) {
               context.user_id = s.auth.RequireOwner(request, p[0]);
               const std::string& key = RequireIdempotencyKey(request);
               const auto body = ParseJsonObject(request.body);
               const int64_t amount = RequireInt(body, "amount", 1, kMaxChargeAmount);
               return s.wallet.Charge(p[0], amount, key);
             });
}

}  // namespace ticketing
