// ParsePaymentEvent: the consumer's side of the payment-events contract.
#include "outbox/consumer/payment_event.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>

#include "outbox/relay/event_validation.hpp"

namespace ticketing {
namespace {

bool ReadInt(const rapidjson::Value& object, const char* name, int64_t& out) {
  const auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsInt64()) return false;
  out = it->value.GetInt64();
  return true;
}

bool IsTypeName(std::string_view type) {
  return !type.empty() && type.size() <= 32 &&
         std::all_of(type.begin(), type.end(),
                     [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

std::optional<PaymentEvent> ParsePaymentEvent(std::string_view value, std::string& error) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(value.data(), value.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    error = "value is not a JSON object";
    return std::nullopt;
  }
  PaymentEvent event;
  const auto id = doc.FindMember("eventId");
  const auto type = doc.FindMember("type");
  if (id == doc.MemberEnd() || !id->value.IsString() || !IsUuid(id->value.GetString())) {
    error = "eventId is missing or not a UUID";
    return std::nullopt;
  }
  if (type == doc.MemberEnd() || !type->value.IsString() || !IsTypeName(type->value.GetString())) {
    error = "type is missing or malformed";
    return std::nullopt;
  }
  event.event_id = id->value.GetString();
  event.type = type->value.GetString();
  if (!ReadInt(doc, "userId", event.user_id) || !ReadInt(doc, "amount", event.amount)) {
    error = "userId or amount is missing or not an integer";
    return std::nullopt;
  }
  if (event.type == kPaymentCompleted && !ReadInt(doc, "scheduleId", event.schedule_id)) {
    error = "PaymentCompleted without an integer scheduleId";
    return std::nullopt;
  }
  return event;
}

}  // namespace ticketing
