// Bounded retry of a database call after a deadlock, lock-wait timeout or lost connection.
#pragma once

#include "core/metrics.hpp"
#include "core/mysql_session.hpp"

namespace ticketing {

// Every call passed here is safe to run again: the procedures roll back on failure and the
// money ones are keyed by Idempotency-Key, so a commit whose answer was lost replays.
template <typename Fn>
auto WithTxRetry(int retries, Metrics& metrics, Fn&& fn) -> decltype(fn()) {
  for (int attempt = 0;; ++attempt) {
    try {
      return fn();
    } catch (const DbError& e) {
      const bool transient =
          e.kind() == DbErrorKind::kRetryable || e.kind() == DbErrorKind::kConnection;
      if (!transient || attempt >= retries) throw;
      metrics.Increment(Counter::kTxRetries);
    }
  }
}

}  // namespace ticketing
