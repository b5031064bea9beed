// A payment event as the consumer reads it from the topic, and its parser.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ticketing {

struct PaymentEvent {
  std::string event_id;
  std::string type;       // PaymentCompleted, WalletCharged, or a type this consumer ignores
  int64_t user_id = 0;
  int64_t amount = 0;
  int64_t schedule_id = 0;  // PaymentCompleted only
  int64_t occurred_at_ms = 0;  // the payment's commit time (occurredAt); 0 when absent
  int32_t partition = 0;
  int64_t offset = 0;
};

inline constexpr std::string_view kPaymentCompleted = "PaymentCompleted";
inline constexpr std::string_view kWalletCharged = "WalletCharged";

// Parses the JSON value of the contract. The result's event_id is a UUID and its type is
// letters only (both are safe to put in SQL literals); nullopt and `error` set otherwise.
std::optional<PaymentEvent> ParsePaymentEvent(std::string_view value, std::string& error);

// "2026-11-24T03:01:54.626000Z" -> Unix milliseconds; 0 when it is not that shape.
int64_t ParseOccurredAtMs(std::string_view rfc3339);

}  // namespace ticketing
