// Seat holds (first come, first served behind a Redis gate), confirmation and lookups.
#pragma once

#include <cstdint>
#include <string>

#include "core/config.hpp"
#include "core/metrics.hpp"
#include "core/redis_client.hpp"
#include "workers/http/http.hpp"
#include "workers/repos/stores.hpp"
#include "workers/services/auth.hpp"
#include "workers/services/catalog_service.hpp"

namespace ticketing {

// Invoked after a payment commits, so the waiting room can end the payer's session.
class PaymentListener {
 public:
  virtual ~PaymentListener() = default;
  virtual void OnPaid(int64_t user_id, int64_t concert_id) = 0;
};

class ReservationService {
 public:
  ReservationService(const Config& config, PaymentStore& store, BalanceCache& cache,
                     RedisClient& redis, CatalogService& catalog, AdmissionGate& gate,
                     Metrics& metrics)
      : config_(config),
        store_(store),
        cache_(cache),
        redis_(redis),
        catalog_(catalog),
        gate_(gate),
        metrics_(metrics) {}

  void set_payment_listener(PaymentListener* listener) { listener_ = listener; }

  HttpResponse Hold(const HttpRequest& request, int64_t user_id, int64_t schedule_id,
                    int64_t seat_id);
  HttpResponse Confirm(int64_t user_id, int64_t reservation_id, const std::string& key);
  HttpResponse Get(int64_t user_id, int64_t reservation_id);

 private:
  enum class GateResult { kTaken, kOurs, kUnavailable };
  // SET NX of the seat's gate key: only the first of a crowd goes on to the database.
  GateResult ClaimGate(const std::string& key, int64_t user_id);
  void ReleaseGate(const std::string& key, int64_t user_id);

  const Config& config_;
  PaymentStore& store_;
  BalanceCache& cache_;
  RedisClient& redis_;
  CatalogService& catalog_;
  AdmissionGate& gate_;
  Metrics& metrics_;
  PaymentListener* listener_ = nullptr;
};

std::string SeatGateKey(int64_t schedule_id, int64_t seat_id);

}  // namespace ticketing
