// One worker child's application: its connections, services and routes, and the single place
// where errors become HTTP responses and every request is measured and logged.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/metrics.hpp"
#include "core/mysql_session.hpp"
#include "core/redis_client.hpp"
#include "workers/http/http.hpp"
#include "workers/http/router.hpp"
#include "workers/repos/mysql_stores.hpp"
#include "workers/repos/redis_balance_cache.hpp"
#include "workers/repos/redis_catalog_cache.hpp"
#include "workers/repos/redis_queue_store.hpp"
#include "workers/services/auth.hpp"
#include "workers/services/catalog_service.hpp"
#include "workers/services/queue_service.hpp"
#include "workers/services/reservation_service.hpp"
#include "workers/services/wallet_service.hpp"

namespace ticketing {

struct RequestContext {
  std::string_view request_id;
  int64_t user_id = 0;  // set by handlers once authenticated, for the log line
};

struct Services;

// What a handler returns (as HttpResponse::await_redis) when its answer needs one Redis command
// and nothing else first: the worker's request loop sends `command` on the child's shared
// pipe and frees the thread; whichever thread reads the reply calls `finish` with its own
// Services and the reply (null: Redis down, timed out, or an error reply). App::Handle, for
// callers without a pipe, runs the command on the thread's blocking client instead.
struct AwaitRedis {
  std::vector<std::string> command;
  std::function<HttpResponse(Services&, const redisReply*)> finish;
};

// A request between App::Start and App::Finish.
struct PendingRequest {
  std::chrono::steady_clock::time_point started;
  size_t route = 0;
  int64_t user_id = 0;
  std::string request_id;
  std::string method;
  std::string path;
  std::shared_ptr<AwaitRedis> await;
};

// Everything a handler may use. Built after fork: connections open lazily on first use.
struct Services {
  Services(const Config& config, Metrics& metrics, PendingInvalidations* shared_invalidations,
           SeatMapCache* seat_maps = nullptr);

  const Config& config;
  Metrics& metrics;
  MySqlSession db;
  RedisClient redis;
  MySqlPaymentStore payment_store;
  MySqlCatalogStore catalog_store;
  MySqlOpsStore ops_store;
  RedisBalanceCache balance_cache;
  RedisQueueStore queue_store;
  RedisCatalogCache catalog_cache;
  Authenticator auth;
  CatalogService catalog;
  QueueService queue;
  WalletService wallet;
  ReservationService reservations;
};

class App {
 public:
  // `shared_invalidations`: the pool's set in shared memory (null: a private one).
  // `seat_maps`: the child's seat-map cache shared by its request threads (null: its own).
  App(const Config& config, Metrics& metrics,
      PendingInvalidations* shared_invalidations = nullptr, SeatMapCache* seat_maps = nullptr);

  // Serves `request` start to end (a Redis wait on this thread's own connection).
  HttpResponse Handle(const HttpRequest& request);
  // The first half: the response, or nullopt when it waits on Redis - then `pending` says
  // on what, and App::Finish (of any thread's App) completes it with the reply.
  std::optional<HttpResponse> Start(const HttpRequest& request, PendingRequest& pending);
  HttpResponse Finish(PendingRequest& pending, const redisReply* reply);
  // Opens the MySQL and Redis connections now (a child calls this right after fork).
  void Warm();
  Services& services() { return services_; }
  const Router& router() const { return router_; }

 private:
  HttpResponse Dispatch(const HttpRequest& request, size_t& route, RequestContext& context);
  // Runs `body`, mapping what it throws to a response (the one error-to-HTTP mapping).
  template <typename Body>
  HttpResponse Guarded(std::string_view request_id, Body&& body);
  // Measures and logs a finished request.
  void Record(std::chrono::steady_clock::time_point started, size_t route, int64_t user_id,
              std::string_view request_id, std::string_view method, std::string_view path,
              int status);

  Services services_;
  Router router_;
  std::vector<std::string_view> route_names_;
};

// Route registration, one function per area (workers/handlers/*.cpp).
void RegisterOpsRoutes(Router& router, Services& services, const Router& self);
void RegisterCatalogRoutes(Router& router, Services& services);
void RegisterWalletRoutes(Router& router, Services& services);
void RegisterReservationRoutes(Router& router, Services& services);
void RegisterQueueRoutes(Router& router, Services& services);
void RegisterDevLoginRoutes(Router& router, Services& services);

// Shared request checks used by the handlers.
const std::string& RequireIdempotencyKey(const HttpRequest& request);

}  // namespace ticketing
