// Request-body parsing on RapidJSON (iterative, so depth cannot blow the stack) and a tiny writer.
#include "core/json.hpp"

#include <rapidjson/error/en.h>

#include "core/error.hpp"
#include "core/log.hpp"

namespace ticketing {

int JsonNestingDepth(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

namespace {

// RapidJSON keeps every duplicate and FindMember returns the first, so {"amount":1,"amount":2}
// would silently mean 1; such a body is refused instead. Objects here have a handful of keys.
void RejectDuplicateKeys(const rapidjson::Value& value) {
  if (value.IsArray()) {
    for (const auto& item : value.GetArray()) RejectDuplicateKeys(item);
    return;
  }
  if (!value.IsObject()) return;
  for (auto a = value.MemberBegin(); a != value.MemberEnd(); ++a) {
    for (auto b = a + 1; b != value.MemberEnd(); ++b) {
      if (a->name == b->name) {
        throw ApiError(ErrorCode::kBadRequest,
                       std::string("duplicate key '") + a->name.GetString() + "'");
      }
    }
    RejectDuplicateKeys(a->value);
  }
}

}  // namespace

JsonDocument::JsonDocument(RequestBody body) : JsonDocument() {
  if (JsonNestingDepth(body.text) > kMaxJsonDepth) {
    throw ApiError(ErrorCode::kBadRequest,
                   "JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(body.text.data(),
                                                                                body.text.size());
  if (HasParseError()) {
    throw ApiError(ErrorCode::kBadRequest,
                   std::string("malformed JSON at offset ") + std::to_string(GetErrorOffset()) +
                       ": " + rapidjson::GetParseError_En(GetParseError()));
  }
  if (!IsObject()) throw ApiError(ErrorCode::kBadRequest, "the body must be a JSON object");
  RejectDuplicateKeys(*this);
}

int64_t RequireInt(const rapidjson::Value& object, const char* name, int64_t min, int64_t max) {
  const auto it = object.FindMember(name);
  const std::string range = " between " + std::to_string(min) + " and " + std::to_string(max);
  if (it == object.MemberEnd()) {
    throw ApiError(ErrorCode::kBadRequest, std::string("'") + name + "' is required");
  }
  if (!it->value.IsInt64()) {
    throw ApiError(ErrorCode::kBadRequest,
                   std::string("'") + name + "' must be an integer" + range);
  }
  const int64_t value = it->value.GetInt64();
  if (value < min || value > max) {
    throw ApiError(ErrorCode::kBadRequest, std::string("'") + name + "' must be" + range);
  }
  return value;
}

void JsonBuilder::Key(std::string_view key) {
  const char last = out_.empty() ? '\0' : out_.back();
  if (last != '{' && last != '[') out_ += ',';
  out_ += '"';
  out_ += key;
  out_ += "\":";
}

JsonBuilder& JsonBuilder::End() { return Raw("}"); }

JsonBuilder& JsonBuilder::Int(std::string_view key, int64_t value) {
  Key(key);
  out_ += std::to_string(value);
  return *this;
}

JsonBuilder& JsonBuilder::Str(std::string_view key, std::string_view value) {
  Key(key);
  out_ += '"';
  AppendJsonEscaped(out_, value);
  out_ += '"';
  return *this;
}

JsonBuilder& JsonBuilder::Null(std::string_view key) {
  Key(key);
  out_ += "null";
  return *this;
}

JsonBuilder& JsonBuilder::BeginArray(std::string_view key) {
  Key(key);
  out_ += '[';
  return *this;
}

JsonBuilder& JsonBuilder::EndArray() { return Raw("]"); }

JsonBuilder& JsonBuilder::BeginObject() {
  if (!out_.empty() && out_.back() != '[') out_ += ',';
  out_ += '{';
  return *this;
}

JsonBuilder& JsonBuilder::Raw(std::string_view text) {
  out_ += text;
  return *this;
}

}  // namespace ticketing
