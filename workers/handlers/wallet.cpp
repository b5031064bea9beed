// GET /api/wallet/{userId}/balance and POST /api/wallet/{userId}/charge.
#include "core/json.hpp"
#include "workers/app.hpp"

namespace ticketing {

inline constexpr int64_t kMaxChargeAmount = 10'000'000;

void RegisterWalletRoutes(Router& router, Services& s) {
  router.Add("GET", "/api/wallet/{userId}/balance", "balance",
             [&s](const HttpRequest& request, const PathParams& p, RequestContext& context) {
               context.user_id = s.auth.RequireOwner(request, p[0]);
               return s.wallet.Balance(p[0]);
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
