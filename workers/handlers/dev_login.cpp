// POST /api/dev/token {"userId"}: the demo sign-in of the local stack's web client. Registered
// only when TICKETING_DEV_LOGIN=1 (scripts/stack sets it; compose and production never do), so
// elsewhere the path is a plain 404.
#include <ctime>

#include "core/clock.hpp"
#include "core/json.hpp"
#include "core/jwt.hpp"
#include "workers/app.hpp"

namespace ticketing {

inline constexpr int64_t kDevTokenTtlSeconds = 3600;
inline constexpr int64_t kMaxDemoUserId = 1'000'000'000;

void RegisterDevLoginRoutes(Router& router, Services& s) {
  if (s.config.dev_login != 1) return;
  router.Add("POST", "/api/dev/token", "dev_token",
             [&s](const HttpRequest& request, const PathParams&, RequestContext& context) {
               const auto body = ParseJsonObject(request.body);
               const int64_t user_id = RequireInt(body, "userId", 1, kMaxDemoUserId);
               if (!s.payment_store.ReadBalance(user_id)) {
                 throw ApiError(ErrorCode::kNotFound, "no such demo user");
               }
               context.user_id = user_id;
               const int64_t expires = static_cast<int64_t>(std::time(nullptr)) + kDevTokenTtlSeconds;
               return HttpResponse::Json(
                   201, JsonBuilder()
                            .Begin()
                            .Int("userId", user_id)
                            .Str("token", SignJwt(s.config.jwt_secret, user_id, expires))
                            .Str("expiresAt", FormatRfc3339(expires * 1000))
                            .End()
                            .Take());
             });
}

}  // namespace ticketing
