// JSON request parsing with the limits bad input needs (depth, types, ranges) and small writers.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace ticketing {

inline constexpr int kMaxJsonDepth = 8;

namespace json_detail {
// Constructed before the document that points at it (base-from-member).
struct SmallPool {
  static constexpr size_t kInlineBytes = 1024;
  static constexpr size_t kChunkBytes = 4096;
  char inline_bytes[kInlineBytes];
  rapidjson::MemoryPoolAllocator<> pool{inline_bytes, kInlineBytes, kChunkBytes};
};
}  // namespace json_detail

// A rapidjson::Document whose values live in 1 KB inside the object, then in 4 KB chunks.
// RapidJSON's default pool starts with a 64 KB chunk: one per parsed JWT part and request body
// made glibc grow and trim its heap on every request (brk/madvise and the TLB-shootdown IPIs
// they cost were 14-19 % of a worker's CPU on the balance path; docs/benchmarks.md). Neither
// copyable nor movable (the document points into the object): return it as a prvalue.
class JsonDocument : private json_detail::SmallPool, public rapidjson::Document {
 public:
  JsonDocument() : rapidjson::Document(&pool) {}
  // Parses a request body as ParseJsonObject describes.
  struct RequestBody {
    std::string_view text;
  };
  explicit JsonDocument(RequestBody body);
  JsonDocument(const JsonDocument&) = delete;
  JsonDocument& operator=(const JsonDocument&) = delete;
};

// Parses a request body that must be one JSON object; throws ApiError(kBadRequest) with a
// client-safe detail when it is not JSON, nests deeper than kMaxJsonDepth, or is not an object.
inline JsonDocument ParseJsonObject(std::string_view body) {
  return JsonDocument(JsonDocument::RequestBody{body});
}

// The integer member `name` of `object`, which must be present, a JSON integer (not a float,
// not a string) and within [min, max]; otherwise ApiError(kBadRequest) naming the field.
int64_t RequireInt(const rapidjson::Value& object, const char* name, int64_t min, int64_t max);

// Deepest nesting of arrays/objects in `text`, ignoring brackets inside strings.
int JsonNestingDepth(std::string_view text);

// Minimal writer for the fixed-shape responses: keys are trusted literals, values escaped.
class JsonBuilder {
 public:
  JsonBuilder& Begin() { return Raw("{"); }
  JsonBuilder& End();
  JsonBuilder& Int(std::string_view key, int64_t value);
  JsonBuilder& Str(std::string_view key, std::string_view value);
  JsonBuilder& Null(std::string_view key);
  // Starts `"key":[` / closes with `]`.
  JsonBuilder& BeginArray(std::string_view key);
  JsonBuilder& EndArray();
  JsonBuilder& BeginObject();  // an anonymous object inside an array
  JsonBuilder& Raw(std::string_view text);
  std::string Take() { return std::move(out_); }
  const std::string& str() const { return out_; }

 private:
  void Key(std::string_view key);
  std::string out_;
};

}  // namespace ticketing
