// The waiting room as the API sees it: joining, polling, and the gate in front of seat holds.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/config.hpp"
#include "workers/http/http.hpp"
#include "workers/repos/stores.hpp"
#include "workers/services/auth.hpp"
#include "workers/services/catalog_service.hpp"
#include "workers/services/queue_token.hpp"
#include "workers/services/reservation_service.hpp"

namespace ticketing {

class QueueService final : public AdmissionGate, public PaymentListener {
 public:
  QueueService(const Config& config, QueueStore& store, CatalogService& catalog);

  // POST /api/queue/token: 201 with a new entry, 200 with the live one.
  HttpResponse Join(int64_t user_id, int64_t concert_id);
  // GET /api/queue/status with X-Queue-Token.
  HttpResponse Status(const HttpRequest& request, int64_t user_id);

  // AdmissionGate: an ACTIVE session for this concert, checked in Redis; with Redis down, the
  // signed session end carried by an admitted user's token is trusted instead.
  void RequireActive(const HttpRequest& request, int64_t user_id, int64_t concert_id) override;
  // PaymentListener: a purchase ends the session and frees its slot.
  void OnPaid(int64_t user_id, int64_t concert_id) override;

 private:
  QueueClaims RequireToken(const HttpRequest& request, int64_t user_id) const;
  // `unchanged_token`: the request's token when it already carries exactly `claims`.
  HttpResponse Render(int status, const QueueClaims& claims, const QueueView& view,
                      std::string_view unchanged_token = {}) const;

  const Config& config_;
  QueueStore& store_;
  CatalogService& catalog_;
  QueueTokenCodec codec_;
  QueueSettings settings_;
};

// Seconds until `position` is reached at the measured inlet (or the configured one).
int64_t EstimateWaitSeconds(int64_t position, int64_t admit_rate_x1000, int64_t admit_per_sec);
// How soon a client should poll again.
int64_t PollAfterSeconds(QueueStatus status, int64_t estimated_wait_seconds);

}  // namespace ticketing
