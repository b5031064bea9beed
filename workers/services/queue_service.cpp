// QueueService: positions and admission live in Redis; tokens prove who and which entry.
#include "workers/services/queue_service.hpp"

#include <algorithm>

#include "core/clock.hpp"
#include "core/json.hpp"

namespace ticketing {
namespace {

constexpr int kRetryAfterSeconds = 2;

const char* StatusName(QueueStatus status) {
  switch (status) {
    case QueueStatus::kWaiting: return "WAITING";
    case QueueStatus::kActive: return "ACTIVE";
    case QueueStatus::kExpired: return "EXPIRED";
  }
  return "EXPIRED";
}

ApiError QueueUnavailable() {
  ApiError error(ErrorCode::kServiceUnavailable, "the waiting room is unavailable; retry shortly");
  error.retry_after_seconds = kRetryAfterSeconds;
  return error;
}

}  // namespace

int64_t EstimateWaitSeconds(int64_t position, int64_t admit_rate_x1000, int64_t admit_per_sec) {
  if (position <= 0) return 0;
  // The measured inlet when anyone was admitted lately; the configured one otherwise.
  const int64_t rate = admit_rate_x1000 > 0 ? admit_rate_x1000 : admit_per_sec * 1000;
  return (position * 1000 + rate - 1) / rate;
}

int64_t PollAfterSeconds(QueueStatus status, int64_t estimated_wait_seconds) {
  if (status == QueueStatus::kActive) return 10;
  return std::clamp<int64_t>(estimated_wait_seconds / 10, 1, 5);
}

QueueService::QueueService(const Config& config, QueueStore& store, CatalogService& catalog)
    : config_(config),
      store_(store),
      catalog_(catalog),
      codec_(config.jwt_secret),
      settings_{config.queue_admit_per_sec, config.queue_max_active,
                int64_t{config.queue_active_ttl_seconds} * 1000,
                int64_t{config.queue_idle_seconds} * 1000} {}

HttpResponse QueueService::Render(int status, const QueueClaims& claims, const QueueView& view,
                                  std::string_view unchanged_token) const {
  const int64_t wait =
      view.status == QueueStatus::kWaiting
          ? EstimateWaitSeconds(view.position, view.admit_rate_x1000,
                                view.inlet_per_sec > 0 ? view.inlet_per_sec : settings_.admit_per_sec)
          : 0;
  JsonBuilder json;
  json.Begin()
      .Str("token", unchanged_token.empty() ? codec_.Issue(claims) : std::string(unchanged_token))
      .Int("concertId", claims.concert_id)
      .Str("status", StatusName(view.status))
      .Int("position", view.position)
      .Int("estimatedWaitSeconds", wait)
      .Int("pollAfterSeconds", PollAfterSeconds(view.status, wait));
  if (view.status == QueueStatus::kActive) {
    json.Str("activeUntil", FormatRfc3339(view.active_until_ms));
  }
  return HttpResponse::Json(status, json.End().Take());
}

HttpResponse QueueService::Join(int64_t user_id, int64_t concert_id) {
  if (!catalog_.ConcertJson(concert_id)) throw ApiError(ErrorCode::kNotFound, "concert not found");
  const auto view = store_.Join(concert_id, user_id, UnixMillis(), settings_);
  if (!view) throw QueueUnavailable();
  const QueueClaims claims{concert_id, user_id, view->entry,
                           view->status == QueueStatus::kActive ? view->active_until_ms : 0};
  return Render(view->created ? 201 : 200, claims, *view);
}

QueueClaims QueueService::RequireToken(const HttpRequest& request, int64_t user_id) const {
  if (request.queue_token.empty()) {
    throw ApiError(ErrorCode::kForbidden,
                   "an X-Queue-Token is required: join the waiting room with POST /api/queue/token");
  }
  const auto claims = codec_.Verify(request.queue_token);
  if (!claims) throw ApiError(ErrorCode::kForbidden, "the queue token is invalid");
  if (claims->user_id != user_id) {
    throw ApiError(ErrorCode::kForbidden, "the queue token belongs to another user");
  }
  return *claims;
}

HttpResponse QueueService::Status(const HttpRequest& request, int64_t user_id) {
  QueueClaims claims = RequireToken(request, user_id);
  const int64_t now = UnixMillis();
  const auto view = store_.Status(claims.concert_id, user_id, claims.entry,
                                  claims.active_until_ms, now, settings_);
  if (!view) {
    // Degraded: an admitted user's signed session still answers ACTIVE until it ends.
    if (claims.active_until_ms <= now) throw QueueUnavailable();
    return Render(200, claims, QueueView{QueueStatus::kActive, claims.entry, 0,
                                         claims.active_until_ms, 0, false, 0});
  }
  const int64_t active_until =
      view->status == QueueStatus::kActive ? view->active_until_ms : 0;
  // Same claims, same token (Issue is deterministic and only its own output verifies): the
  // presented token is handed back instead of being signed again.
  const bool unchanged = active_until == claims.active_until_ms;
  claims.active_until_ms = active_until;
  return Render(200, claims, *view, unchanged ? std::string_view(request.queue_token) : "");
}

void QueueService::RequireActive(const HttpRequest& request, int64_t user_id,
                                 int64_t concert_id) {
  const QueueClaims claims = RequireToken(request, user_id);
  if (claims.concert_id != concert_id) {
    throw ApiError(ErrorCode::kForbidden, "the queue token is for concert " +
                                              std::to_string(claims.concert_id) + ", not " +
                                              std::to_string(concert_id));
  }
  const int64_t now = UnixMillis();
  const auto view =
      store_.Status(concert_id, user_id, claims.entry, claims.active_until_ms, now, settings_);
  if (!view) {
    if (claims.active_until_ms > now) return;
    throw QueueUnavailable();
  }
  switch (view->status) {
    case QueueStatus::kActive:
      return;
    case QueueStatus::kWaiting:
      throw ApiError(ErrorCode::kForbidden, "not admitted yet: position " +
                                                std::to_string(view->position) +
                                                " in the waiting room");
    case QueueStatus::kExpired:
      throw ApiError(ErrorCode::kForbidden,
                     "the waiting-room session has ended; join again with POST /api/queue/token");
  }
}

void QueueService::OnPaid(int64_t user_id, int64_t concert_id) { store_.End(concert_id, user_id); }

}  // namespace ticketing
