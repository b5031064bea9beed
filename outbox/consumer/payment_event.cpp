// ParsePaymentEvent: the consumer's side of the payment-events contract.
#include "outbox/consumer/payment_event.hpp"

#include <ctime>

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
  const auto occurred = doc.FindMember("occurredAt");
  if (occurred != doc.MemberEnd() && occurred->value.IsString()) {
    event.occurred_at_ms = ParseOccurredAtMs(occurred->value.GetString());
  }
  return event;
}

int64_t ParseOccurredAtMs(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.fff...]Z, UTC only (what the procedures write).
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' ||
      t[16] != ':' || t.back() != 'Z') {
    return 0;
  }
  const auto num = [&](size_t at, size_t len) {
    int value = 0;
    for (size_t i = at; i < at + len; ++i) {
      if (t[i] < '0' || t[i] > '9') return -1;
      value = value * 10 + (t[i] - '0');
    }
    return value;
  };
  struct tm tm_utc {};
  tm_utc.tm_year = num(0, 4) - 1900;
  tm_utc.tm_mon = num(5, 2) - 1;
  tm_utc.tm_mday = num(8, 2);
  tm_utc.tm_hour = num(11, 2);
  tm_utc.tm_min = num(14, 2);
  tm_utc.tm_sec = num(17, 2);
  int millis = 0;
  if (t[19] == '.') {
    // Any number of fraction digits; the first three are the milliseconds.
    int scale = 100;
    for (size_t i = 20; i + 1 < t.size(); ++i) {
      if (t[i] < '0' || t[i] > '9') return 0;
      millis += (t[i] - '0') * scale;
      scale /= 10;
    }
  } else if (t.size() != 20) {
    return 0;
  }
  if (tm_utc.tm_year < 70 || tm_utc.tm_mon < 0 || tm_utc.tm_mday < 1 || tm_utc.tm_hour < 0 ||
      tm_utc.tm_min < 0 || tm_utc.tm_sec < 0 || millis < 0) {
    return 0;
  }
  return static_cast<int64_t>(timegm(&tm_utc)) * 1000 + millis;
}

}  // namespace ticketing
