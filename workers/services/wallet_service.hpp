// Balance reads (Redis first, MySQL on a miss) and idempotent charges.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/config.hpp"
#include "core/metrics.hpp"
#include "workers/http/http.hpp"
#include "workers/repos/stores.hpp"

namespace ticketing {

class WalletService {
 public:
  WalletService(const Config& config, PaymentStore& store, BalanceCache& cache, Metrics& metrics)
      : config_(config), store_(store), cache_(cache), metrics_(metrics) {}

  // {"userId","balance"}; 404 when the user has no wallet.
  HttpResponse Balance(int64_t user_id);
  // The same, given what the cache answered (nullopt: a miss, or the cache is unreachable).
  HttpResponse Balance(int64_t user_id, std::optional<WalletBalance> cached);
  HttpResponse Charge(int64_t user_id, int64_t amount, const std::string& idempotency_key);

 private:
  const Config& config_;
  PaymentStore& store_;
  BalanceCache& cache_;
  Metrics& metrics_;
};

// Turns a money procedure's outcome into the response, updating the cache after a new commit.
HttpResponse MoneyResponse(const MoneyOutcome& outcome, int64_t user_id, BalanceCache& cache);

// The request fingerprint stored with an Idempotency-Key.
std::string RequestHash(std::string_view endpoint, int64_t user_id, int64_t value);

}  // namespace ticketing
