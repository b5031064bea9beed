// POST /api/reservations/temporary-assign, POST /api/reservations/confirm,
// GET /api/reservations/{reservationId}.
#include <limits>

#include "core/json.hpp"
#include "workers/app.hpp"

namespace ticketing {

inline constexpr int64_t kMaxId = std::numeric_limits<int64_t>::max();

void RegisterReservationRoutes(Router& router, Services& s) {
  router.Add("POST", "/api/reservations/temporary-assign", "temporary_assign",
             [&s](const HttpRequest& request, const PathParams&, RequestContext& context) {
               context.user_id = s.auth.RequireUser(request);
               const auto body = ParseJsonObject(request.body);
               const int64_t schedule_id = RequireInt(body, "scheduleId", 1, kMaxId);
               const int64_t seat_id = RequireInt(body, "seatId", 1, kMaxId);
               return s.reservations.Hold(request, context.user_id, schedule_id, seat_id);
             });
  router.Add("POST", "/api/reservations/confirm", "confirm",
             [&s](const HttpRequest& request, const PathParams&, RequestContext& context) {
               context.user_id = s.auth.RequireUser(request);
               const std::string& key = RequireIdempotencyKey(request);
               const auto body = ParseJsonObject(request.body);
               const int64_t reservation_id = RequireInt(body, "reservationId", 1, kMaxId);
               return s.reservations.Confirm(context.user_id, reservation_id, key);
             });
  router.Add("GET", "/api/reservations/{reservationId}", "reservation",
             [&s](const HttpRequest& request, const PathParams& p, RequestContext& context) {
               context.user_id = s.auth.RequireUser(request);
               return s.reservations.Get(context.user_id, p[0]);
             });
}

}  // namespace ticketing
