// One worker child's application: its connections, services and routes, and the single place
// where errors become HTTP responses and every request is measured and logged.
#pragma once

#include <memory>

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

  HttpResponse Handle(const HttpRequest& request);
  // Opens the MySQL and Redis connections now (a child calls this right after fork).
  void Warm();
  Services& services() { return services_; }
  const Router& router() const { return router_; }

 private:
  HttpResponse Dispatch(const HttpRequest& request, size_t& route, RequestContext& context);

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
