// WalletService: the cache is only ever written with a version read from a committed row.
#include "workers/services/wallet_service.hpp"

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "workers/services/tx_retry.hpp"

namespace ticketing {

std::string RequestHash(std::string_view endpoint, int64_t user_id, int64_t value) {
  std::string canonical(endpoint);
  canonical += '\n';
  canonical += std::to_string(user_id);
  canonical += '\n';
  canonical += std::to_string(value);
  return Sha256Hex(canonical);
}

HttpResponse MoneyResponse(const MoneyOutcome& outcome, int64_t user_id, BalanceCache& cache) {
  if (outcome.status >= 400) {
    return HttpResponse::Problem(ApiError(ErrorCodeForStatus(outcome.status), outcome.body));
  }
  if (!outcome.replayed && outcome.balance && outcome.version) {
    cache.Put(user_id, WalletBalance{*outcome.balance, *outcome.version});
  }
  HttpResponse response = HttpResponse::Json(outcome.status, outcome.body);
  if (outcome.replayed) response.headers.emplace_back("Idempotent-Replayed", "true");
  return response;
}

HttpResponse WalletService::Balance(int64_t user_id) { return Balance(user_id, cache_.Get(user_id)); }

HttpResponse WalletService::Balance(int64_t user_id, std::optional<WalletBalance> cached) {
  std::optional<WalletBalance> balance = cached;
  if (balance) {
    metrics_.Increment(Counter::kBalanceCacheHits);
  } else {
    metrics_.Increment(Counter::kBalanceCacheMisses);
    balance = WithTxRetry(config_.db_tx_retries, metrics_,
                          [&] { return store_.ReadBalance(user_id); });
    if (!balance) throw ApiError(ErrorCode::kNotFound, "wallet not found");
    cache_.Put(user_id, *balance);
  }
  return HttpResponse::Json(
      200, JsonBuilder().Begin().Int("userId", user_id).Int("balance", balance->balance).End().Take());
}

HttpResponse WalletService::Charge(int64_t user_id, int64_t amount,
                                   const std::string& idempotency_key) {
  const std::string hash = RequestHash("charge", user_id, amount);
  const MoneyOutcome outcome = WithTxRetry(config_.db_tx_retries, metrics_, [&] {
    return store_.Charge(user_id, amount, idempotency_key, hash, config_.max_balance);
  });
  return MoneyResponse(outcome, user_id, cache_);
}

}  // namespace ticketing
