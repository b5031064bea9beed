// POST /api/queue/token and GET /api/queue/status.
#include <limits>

#include "core/json.hpp"
#include "workers/app.hpp"

namespace ticketing {

void RegisterQueueRoutes(Router& router, Services& s) {
  router.Add("POST", "/api/queue/token", "queue_token",
             [&s](const HttpRequest& request, const PathParams&, RequestContext& context) {
               context.user_id = s.auth.RequireUser(request);
               const auto body = ParseJsonObject(request.body);
               const int64_t concert_id =
                   RequireInt(body, "concertId", 1, std::numeric_limits<int64_t>::max());
               return s.queue.Join(context.user_id, concert_id);
             });
  router.Add("GET", "/api/queue/status", "queue_status",
             [&s](const HttpRequest& request, const PathParams&, RequestContext& context) {
               context.user_id = s.auth.RequireUser(request);
               return s.queue.Status(request, context.user_id);
             });
}

}  // namespace ticketing
