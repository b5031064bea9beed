// GET /api/concerts/{concertId} and GET /api/concerts/{concertId}/schedules/{scheduleId}/seats.
#include "workers/app.hpp"
#include "workers/services/tx_retry.hpp"

namespace ticketing {

void RegisterCatalogRoutes(Router& router, Services& s) {
  router.Add("GET", "/api/concerts/{concertId}", "concert",
             [&s](const HttpRequest&, const PathParams& p, RequestContext&) {
               auto json = WithTxRetry(s.config.db_tx_retries, s.metrics,
                                       [&] { return s.catalog.ConcertJson(p[0]); });
               if (!json) throw ApiError(ErrorCode::kNotFound, "concert not found");
               return HttpResponse::Json(200, std::move(*json));
             });
  router.Add("GET", "/api/concerts/{concertId}/schedules/{scheduleId}/seats", "seats",
             [&s](const HttpRequest&, const PathParams& p, RequestContext&) {
               auto json = WithTxRetry(s.config.db_tx_retries, s.metrics,
                                       [&] { return s.catalog.SeatsJson(p[0], p[1]); });
               if (!json) throw ApiError(ErrorCode::kNotFound, "schedule not found in this concert");
               return HttpResponse::Json(200, std::move(json));
             });
}

}  // namespace ticketing
