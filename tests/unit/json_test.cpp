// ParseJsonObject and RequireInt: malformed input, depth limits, and strict integer fields.
#include "core/json.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "core/error.hpp"

namespace ticketing {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

// The ApiError detail of parsing `body`; fails the test unless it is a 400.
std::string ParseError(std::string_view body) {
  try {
    ParseJsonObject(body);
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadRequest);
    return e.detail();
  }
  ADD_FAILURE() << "accepted: " << body.substr(0, 80);
  return "";
}

// The detail of RequireInt(field) on `body`, or "" when it returns.
std::string IntError(std::string_view body, int64_t min = 1, int64_t max = kMax) {
  const auto doc = ParseJsonObject(body);
  try {
    RequireInt(doc, "n", min, max);
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadRequest);
    return e.detail();
  }
  return "";
}

std::string Nested(int depth, char open, char close, std::string_view inner = "") {
  std::string text(static_cast<size_t>(depth), open);
  text += inner;
  text.append(static_cast<size_t>(depth), close);
  return text;
}

TEST(ParseJsonObjectTest, AcceptsObjects) {
  const auto doc = ParseJsonObject(R"({"amount": 10000, "note": "x"})");
  ASSERT_TRUE(doc.IsObject());
  EXPECT_EQ(doc["amount"].GetInt64(), 10000);
  EXPECT_TRUE(ParseJsonObject("{}").ObjectEmpty());
  EXPECT_TRUE(ParseJsonObject(" \n\t{ } \r\n").IsObject());
}

TEST(ParseJsonObjectTest, RejectsMalformed) {
  for (const char* body : {"", " ", "{", "}", "{\"a\":}", "{\"a\" 1}", "{'a':1}", "{a:1}",
                           "{\"a\":1,}", "{\"a\":01}", "{\"a\":1} x", "{\"a\":1}{}",
                           "{\"a\":\"\\x\"}", "{\"a\":NaN}", "{\"a\":\"unterminated}",
                           "{\"a\":tru}"}) {
    const std::string detail = ParseError(body);
    EXPECT_NE(detail.find("malformed JSON"), std::string::npos) << body << " -> " << detail;
  }
}

TEST(ParseJsonObjectTest, RejectsInvalidUtf8) {
  ParseError("{\"a\":\"\xff\xfe\"}");
  ParseError("{\"a\":\"\xc3\"}");
}

TEST(ParseJsonObjectTest, RejectsNonObjects) {
  for (const char* body : {"[]", "[1]", "1", "\"text\"", "null", "true", "-5"}) {
    EXPECT_EQ(ParseError(body), "the body must be a JSON object") << body;
  }
}

TEST(ParseJsonObjectTest, DepthLimitIsEight) {
  // Depth 8: the object itself plus seven nested arrays.
  const std::string eight = "{\"a\":" + Nested(7, '[', ']') + "}";
  EXPECT_EQ(JsonNestingDepth(eight), 8);
  EXPECT_NO_THROW(ParseJsonObject(eight));
  const std::string nine = "{\"a\":" + Nested(8, '[', ']') + "}";
  EXPECT_EQ(JsonNestingDepth(nine), 9);
  EXPECT_NE(ParseError(nine).find("deeper than 8"), std::string::npos);
}

TEST(ParseJsonObjectTest, BracketsInsideStringsDoNotCount) {
  const std::string body = R"({"a":"[[[[[[[[[[{{{{{{{{{{\"[[[[[[[[[[[["})";
  EXPECT_EQ(JsonNestingDepth(body), 1);
  EXPECT_NO_THROW(ParseJsonObject(body));
}

TEST(ParseJsonObjectTest, HugeNestingIsRejectedWithoutRecursion) {
  const std::string arrays(100000, '[');
  ParseError(arrays);
  ParseError("{\"a\":" + Nested(100000, '[', ']') + "}");
  ParseError(Nested(100000, '[', ']'));
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  ParseError(objects);
}

TEST(ParseJsonObjectTest, DetailNeverEchoesTheBody) {
  const std::string detail = ParseError("{\"secret-token-value\": }");
  EXPECT_EQ(detail.find("secret-token-value"), std::string::npos) << detail;
}

// A body far larger than the document's inline 1 KB keeps every value (the pool grows by chunks).
TEST(ParseJsonObjectTest, BodiesLargerThanTheInlinePoolKeepEveryValue) {
  std::string body = "{";
  for (int i = 0; i < 3000; ++i) {
    if (i) body += ',';
    body += "\"k" + std::to_string(i) + "\":{\"v\":" + std::to_string(i * 7) + "}";
  }
  body += '}';
  ASSERT_GT(body.size(), 40'000u);
  const auto doc = ParseJsonObject(body);
  ASSERT_EQ(doc.MemberCount(), 3000u);
  for (int i = 0; i < 3000; i += 499) {
    const std::string key = "k" + std::to_string(i);
    EXPECT_EQ(RequireInt(doc[key.c_str()], "v", 0, kMax), i * 7);
  }
}

TEST(RequireIntTest, AcceptsIntegersInRange) {
  EXPECT_EQ(IntError(R"({"n": 5})"), "");
  const auto doc = ParseJsonObject(R"({"n": 5, "m": -7, "big": 9223372036854775807})");
  EXPECT_EQ(RequireInt(doc, "n", 1, 10), 5);
  EXPECT_EQ(RequireInt(doc, "m", -10, 0), -7);
  EXPECT_EQ(RequireInt(doc, "big", 1, kMax), kMax);
  const auto low = ParseJsonObject(R"({"n": -9223372036854775808})");
  EXPECT_EQ(RequireInt(low, "n", kMin, 0), kMin);
}

TEST(RequireIntTest, BoundsAreInclusive) {
  EXPECT_EQ(IntError(R"({"n": 1})", 1, 10), "");
  EXPECT_EQ(IntError(R"({"n": 10})", 1, 10), "");
  EXPECT_NE(IntError(R"({"n": 0})", 1, 10), "");
  EXPECT_NE(IntError(R"({"n": 11})", 1, 10), "");
  EXPECT_NE(IntError(R"({"n": -1})", 1, 10), "");
  EXPECT_NE(IntError(R"({"n": 10000001})", 1, 10000000), "");
}

TEST(RequireIntTest, MissingFieldIsRequired) {
  EXPECT_EQ(IntError(R"({"m": 5})"), "'n' is required");
  EXPECT_EQ(IntError(R"({"N": 5})"), "'n' is required");
}

TEST(RequireIntTest, NonIntegersAreRejected) {
  for (const char* body :
       {R"({"n": "5"})", R"({"n": 5.0})", R"({"n": 5.5})", R"({"n": 1e3})", R"({"n": 1E3})",
        R"({"n": true})", R"({"n": false})", R"({"n": null})", R"({"n": [5]})",
        R"({"n": {"v": 5}})", R"({"n": ""})", R"({"n": -0.0})"}) {
    const std::string detail = IntError(body);
    EXPECT_NE(detail.find("must be an integer"), std::string::npos) << body << " -> " << detail;
    EXPECT_EQ(detail.rfind("'n'", 0), 0u) << detail;
  }
}

TEST(RequireIntTest, Int64OverflowIsRejected) {
  for (const char* body : {R"({"n": 9223372036854775808})", R"({"n": 18446744073709551615})",
                           R"({"n": 18446744073709551616})", R"({"n": -9223372036854775809})",
                           R"({"n": 100000000000000000000000})"}) {
    EXPECT_NE(IntError(body, kMin, kMax), "") << body;
  }
}

TEST(RequireIntTest, OutOfRangeDetailGivesTheRange) {
  EXPECT_EQ(IntError(R"({"n": 0})", 1, 10000000), "'n' must be between 1 and 10000000");
}

TEST(JsonBuilderTest, BuildsEscapedObjects) {
  JsonBuilder json;
  json.Begin().Int("a", -1).Str("s", "q\"b\\n\n\x01").Null("z").BeginArray("xs");
  json.BeginObject().Int("i", 1).End().BeginObject().Int("i", 2).End().EndArray().End();
  EXPECT_EQ(json.str(),
            R"({"a":-1,"s":"q\"b\\n\n\u0001","z":null,"xs":[{"i":1},{"i":2}]})");
  rapidjson::Document doc;
  doc.Parse(json.str().c_str());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_STREQ(doc["s"].GetString(), "q\"b\\n\n\x01");
}

}  // namespace
}  // namespace ticketing
