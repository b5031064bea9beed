// App: routing, the one error-to-HTTP mapping, metrics and the request log line.
#include "workers/app.hpp"

#include <cctype>
#include <chrono>

#include "core/log.hpp"

namespace ticketing {
namespace {

// Shared concert summaries live this long unless the housekeeper refreshes them (every sweep).
constexpr int kSharedCatalogTtlMs = 10000;

// Media types compare case-insensitively (RFC 9110 8.3.1); parameters such as charset are ignored.
bool IsJsonContentType(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  constexpr std::string_view kJson = "application/json";
  if (media.size() != kJson.size()) return false;
  for (size_t i = 0; i < kJson.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(media[i])) != kJson[i]) return false;
  }
  return true;
}

HttpResponse Unavailable(const char* what) {
  ApiError error(ErrorCode::kServiceUnavailable,
                 std::string(what) + " is unavailable; retry shortly");
  error.retry_after_seconds = 1;
  return HttpResponse::Problem(error);
}

}  // namespace

Services::Services(const Config& cfg, Metrics& m, PendingInvalidations* shared_invalidations,
                   SeatMapCache* seat_maps)
    : config(cfg),
      metrics(m),
      db(cfg, &m),
      redis(cfg.redis_host, cfg.redis_port, cfg.redis_socket, cfg.redis_timeout_ms, cfg.redis_retry_after_ms, &m),
      payment_store(db),
      catalog_store(db),
      ops_store(db),
      balance_cache(redis, cfg.balance_cache_ttl_seconds, shared_invalidations),
      queue_store(redis),
      catalog_cache(redis, kSharedCatalogTtlMs),
      auth(cfg.jwt_secret),
      catalog(catalog_store, std::chrono::milliseconds(cfg.catalog_cache_ms), &catalog_cache,
              seat_maps),
      queue(cfg, queue_store, catalog),
      wallet(cfg, payment_store, balance_cache, m),
      reservations(cfg, payment_store, balance_cache, redis, catalog, queue, m) {
  reservations.set_payment_listener(&queue);
}

App::App(const Config& config, Metrics& metrics, PendingInvalidations* shared_invalidations,
         SeatMapCache* seat_maps)
    : services_(config, metrics, shared_invalidations, seat_maps) {
  RegisterOpsRoutes(router_, services_, router_);
  RegisterCatalogRoutes(router_, services_);
  RegisterWalletRoutes(router_, services_);
  RegisterReservationRoutes(router_, services_);
  RegisterQueueRoutes(router_, services_);
  RegisterDevLoginRoutes(router_, services_);
  route_names_ = router_.names();
}

void App::Warm() {
  services_.db.Ping();
  services_.redis.Ping();
}

HttpResponse App::Dispatch(const HttpRequest& request, size_t& route, RequestContext& context) {
  if (request.body_too_large) {
    throw ApiError(ErrorCode::kPayloadTooLarge,
                   "the body is larger than " +
                       std::to_string(services_.config.max_body_bytes) + " bytes");
  }
  const RouteMatch match = router_.Match(request.method, request.path);
  route = match.route;
  switch (match.kind) {
    case RouteMatch::Kind::kNotFound:
      throw ApiError(ErrorCode::kNotFound, "no such resource: " + request.path);
    case RouteMatch::Kind::kMethodNotAllowed: {
      ApiError error(ErrorCode::kMethodNotAllowed,
                     request.method + " is not allowed here; use " + match.allow);
      error.allow = match.allow;
      throw error;
    }
    case RouteMatch::Kind::kFound:
      break;
  }
  if (request.method == "POST") {
    if (!IsJsonContentType(request.content_type)) {
      throw ApiError(ErrorCode::kUnsupportedMediaType, "the body must be application/json");
    }
    if (request.body.empty()) throw ApiError(ErrorCode::kBadRequest, "a JSON body is required");
  }
  return (*match.handler)(request, match.params, context);
}

template <typename Body>
HttpResponse App::Guarded(std::string_view request_id, Body&& body) {
  try {
    return body();
  } catch (const ApiError& e) {
    return HttpResponse::Problem(e);
  } catch (const DbError& e) {
    Log(LogLevel::kError, "database call failed")
        .Str("request_id", request_id)
        .Int("code", e.code())
        .Str("detail", e.what());
    return Unavailable("the database");
  } catch (const std::exception& e) {
    Log(LogLevel::kError, "unhandled error").Str("request_id", request_id).Str("detail", e.what());
    return HttpResponse::Problem(ApiError(ErrorCode::kInternal, "internal error"));
  }
}

std::optional<HttpResponse> App::Start(const HttpRequest& request, PendingRequest& pending) {
  pending.started = std::chrono::steady_clock::now();
  RequestContext context{request.request_id};
  pending.route = router_.unmatched_index();
  services_.balance_cache.FlushPendingInvalidations();
  HttpResponse response = Guarded(request.request_id, [&] {
    return Dispatch(request, pending.route, context);
  });
  pending.user_id = context.user_id;
  if (response.await_redis) {
    pending.request_id = request.request_id;
    pending.method = request.method;
    pending.path = request.path;
    pending.await = std::move(response.await_redis);
    return std::nullopt;
  }
  Record(pending.started, pending.route, pending.user_id, request.request_id, request.method,
         request.path, response.status);
  return response;
}

HttpResponse App::Finish(PendingRequest& pending, const redisReply* reply) {
  HttpResponse response = Guarded(pending.request_id, [&] {
    return pending.await->finish(services_, reply);
  });
  Record(pending.started, pending.route, pending.user_id, pending.request_id, pending.method,
         pending.path, response.status);
  return response;
}

HttpResponse App::Handle(const HttpRequest& request) {
  PendingRequest pending;
  if (auto response = Start(request, pending)) return std::move(*response);
  std::vector<std::string_view> args(pending.await->command.begin(), pending.await->command.end());
  const RedisReply reply = services_.redis.Command(args);
  return Finish(pending, reply.get());
}

void App::Record(std::chrono::steady_clock::time_point started, size_t route, int64_t user_id,
                 std::string_view request_id, std::string_view method, std::string_view path,
                 int status) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  services_.metrics.ObserveRequest(route, status, seconds);
  if (LogEnabled(LogLevel::kInfo)) {
    Log(status >= 500 ? LogLevel::kWarn : LogLevel::kInfo, "request")
        .Str("request_id", request_id)
        .Str("method", method)
        .Str("path", path)
        .Str("route", route_names_[route])
        .Int("status", status)
        .Int("user_id", user_id)
        .Num("duration_ms", seconds * 1000.0);
  }
}

const std::string& RequireIdempotencyKey(const HttpRequest& request) {
  const std::string& key = request.idempotency_key;
  if (key.empty()) throw ApiError(ErrorCode::kBadRequest, "the Idempotency-Key header is required");
  if (key.size() > 128) {
    throw ApiError(ErrorCode::kBadRequest, "Idempotency-Key may be at most 128 characters");
  }
  for (const char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) {
      throw ApiError(ErrorCode::kBadRequest,
                     "Idempotency-Key may only contain letters, digits and - _ . :");
    }
  }
  return key;
}

}  // namespace ticketing
