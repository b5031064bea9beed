// ValidateOutboxRow: the contract of a payment event, checked before it leaves the database.
#include "outbox/relay/event_validation.hpp"

#include <rapidjson/document.h>

#include <cctype>

namespace ticketing {

bool IsUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

std::optional<std::string> ValidateOutboxRow(const OutboxRow& row) {
  if (!IsUuid(row.event_id)) return "event_id is not a UUID";
  if (row.event_type.empty()) return "event_type is empty";
  if (row.payload.size() > kMaxEventBytes) return "payload is larger than the event limit";
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(
      row.payload.data(), row.payload.size());
  if (doc.HasParseError() || !doc.IsObject()) return "payload is not a JSON object";
  const auto event_id = doc.FindMember("eventId");
  if (event_id == doc.MemberEnd() || !event_id->value.IsString() ||
      row.event_id != event_id->value.GetString()) {
    return "payload eventId does not match event_id";
  }
  const auto type = doc.FindMember("type");
  if (type == doc.MemberEnd() || !type->value.IsString() ||
      row.event_type != type->value.GetString()) {
    return "payload type does not match event_type";
  }
  const auto user = doc.FindMember("userId");
  if (user == doc.MemberEnd() || !user->value.IsInt64() ||
      user->value.GetInt64() != row.aggregate_id) {
    return "payload userId does not match aggregate_id";
  }
  if (!doc.HasMember("occurredAt") || !doc.HasMember("amount")) {
    return "payload lacks occurredAt or amount";
  }
  return std::nullopt;
}

}  // namespace ticketing
