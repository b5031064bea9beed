// GET /health, /ready and /metrics.
#include "core/log.hpp"
#include "workers/app.hpp"

namespace ticketing {
namespace {

HttpResponse Health() { return HttpResponse::Json(200, R"({"status":"ok"})"); }

HttpResponse Ready(Services& s) {
  const bool mysql = s.ops_store.Ping();
  const bool redis = s.balance_cache.Ping();
  if (mysql && redis) {
    return HttpResponse::Json(200, R"({"status":"ready","mysql":"up","redis":"up"})");
  }
  std::string down = !mysql && !redis ? "MySQL and Redis are" : !mysql ? "MySQL is" : "Redis is";
  ApiError error(ErrorCode::kServiceUnavailable, down + " unreachable");
  error.retry_after_seconds = 1;
  return HttpResponse::Problem(error);
}

HttpResponse MetricsText(Services& s, const Router& router) {
  std::string body = s.metrics.Render(router.names());
  char line[512];
  try {
    const OutboxStats stats = s.ops_store.ReadOutboxStats();
    std::snprintf(line, sizeof line,
                  "# HELP ticketing_outbox_backlog Outbox events not yet published\n"
                  "# TYPE ticketing_outbox_backlog gauge\nticketing_outbox_backlog %lld\n"
                  "# HELP ticketing_outbox_quarantined Outbox events set aside after repeated "
                  "failures\n# TYPE ticketing_outbox_quarantined gauge\n"
                  "ticketing_outbox_quarantined %lld\n"
                  "# HELP ticketing_outbox_oldest_pending_age_seconds Age of the oldest "
                  "unpublished event\n# TYPE ticketing_outbox_oldest_pending_age_seconds gauge\n"
                  "ticketing_outbox_oldest_pending_age_seconds %.3f\n",
                  static_cast<long long>(stats.pending), static_cast<long long>(stats.quarantined),
                  stats.oldest_pending_age_seconds);
    body += line;
  } catch (const DbError& e) {
    // The rest of the metrics are still worth serving while MySQL is down.
    Log(LogLevel::kWarn, "outbox stats unavailable").Str("detail", e.what());
  }
  std::snprintf(line, sizeof line,
                "# HELP ticketing_dependency_up Whether the dependency answered a ping during this scrape\n"
                "# TYPE ticketing_dependency_up gauge\n"
                "ticketing_dependency_up{dependency=\"mysql\"} %d\n"
                "ticketing_dependency_up{dependency=\"redis\"} %d\n",
                s.ops_store.Ping() ? 1 : 0, s.balance_cache.Ping() ? 1 : 0);
  body += line;
  HttpResponse response = HttpResponse::Json(200, std::move(body));
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return response;
}

}  // namespace

void RegisterOpsRoutes(Router& router, Services& s, const Router& self) {
  router.Add("GET", "/health", "health",
             [](const HttpRequest&, const PathParams&, RequestContext&) { return Health(); });
  router.Add("GET", "/ready", "ready",
             [&s](const HttpRequest&, const PathParams&, RequestContext&) { return Ready(s); });
  router.Add("GET", "/metrics", "metrics",
             [&s, &self](const HttpRequest&, const PathParams&, RequestContext&) {
               return MetricsText(s, self);
             });
}

}  // namespace ticketing
