// The one ErrorCode -> HTTP status mapping and its problem+json bodies.
#include "core/error.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <set>

#include "workers/http/http.hpp"

namespace ticketing {
namespace {

struct Expected {
  ErrorCode code;
  int status;
  const char* type;
};

const Expected kAll[] = {
    {ErrorCode::kBadRequest, 400, "/problems/bad-request"},
    {ErrorCode::kUnauthorized, 401, "/problems/unauthorized"},
    {ErrorCode::kPaymentRequired, 402, "/problems/insufficient-balance"},
    {ErrorCode::kForbidden, 403, "/problems/forbidden"},
    {ErrorCode::kNotFound, 404, "/problems/not-found"},
    {ErrorCode::kMethodNotAllowed, 405, "/problems/method-not-allowed"},
    {ErrorCode::kConflict, 409, "/problems/conflict"},
    {ErrorCode::kPayloadTooLarge, 413, "/problems/payload-too-large"},
    {ErrorCode::kUnsupportedMediaType, 415, "/problems/unsupported-media-type"},
    {ErrorCode::kIdempotencyMismatch, 422, "/problems/idempotency-key-reused"},
    {ErrorCode::kTooManyRequests, 429, "/problems/too-many-requests"},
    {ErrorCode::kInternal, 500, "/problems/internal"},
    {ErrorCode::kServiceUnavailable, 503, "/problems/service-unavailable"},
};

rapidjson::Document Parse(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(body.c_str(), body.size());
  EXPECT_FALSE(doc.HasParseError()) << body;
  return doc;
}

TEST(ErrorTest, EveryCodeHasItsStatus) {
  std::set<int> statuses;
  for (const Expected& e : kAll) {
    EXPECT_EQ(HttpStatus(e.code), e.status);
    EXPECT_EQ(ErrorCodeForStatus(e.status), e.code) << e.status;
    EXPECT_NE(StatusReason(e.status), "Unknown") << e.status;
    statuses.insert(e.status);
  }
  EXPECT_EQ(statuses.size(), std::size(kAll));
  EXPECT_EQ(static_cast<int>(ErrorCode::kServiceUnavailable) + 1,
            static_cast<int>(std::size(kAll)));
}

TEST(ErrorTest, UnknownStatusesMapToInternal) {
  EXPECT_EQ(ErrorCodeForStatus(0), ErrorCode::kInternal);
  EXPECT_EQ(ErrorCodeForStatus(418), ErrorCode::kInternal);
  EXPECT_EQ(ErrorCodeForStatus(200), ErrorCode::kInternal);
  EXPECT_EQ(StatusReason(418), "Unknown");
}

TEST(ErrorTest, ProblemJsonHasTheRfc9457Shape) {
  for (const Expected& e : kAll) {
    const std::string body = ProblemJson(e.code, "some detail");
    const auto doc = Parse(body);
    ASSERT_TRUE(doc.IsObject()) << body;
    EXPECT_EQ(doc.MemberCount(), 4u) << body;
    ASSERT_TRUE(doc.HasMember("type") && doc["type"].IsString()) << body;
    ASSERT_TRUE(doc.HasMember("title") && doc["title"].IsString()) << body;
    ASSERT_TRUE(doc.HasMember("status") && doc["status"].IsInt()) << body;
    ASSERT_TRUE(doc.HasMember("detail") && doc["detail"].IsString()) << body;
    EXPECT_STREQ(doc["type"].GetString(), e.type);
    EXPECT_GT(doc["title"].GetStringLength(), 0u);
    EXPECT_EQ(doc["status"].GetInt(), e.status);
    EXPECT_STREQ(doc["detail"].GetString(), "some detail");
  }
}

TEST(ErrorTest, DetailIsEscaped) {
  const std::string detail = "quote \" backslash \\ newline \n tab \t nul-ish \x01 </script> 한글";
  const auto doc = Parse(ProblemJson(ErrorCode::kBadRequest, detail));
  EXPECT_EQ(std::string(doc["detail"].GetString(), doc["detail"].GetStringLength()), detail);
}

TEST(ErrorTest, ProblemResponseCarriesHeaders) {
  ApiError not_allowed(ErrorCode::kMethodNotAllowed, "use GET");
  not_allowed.allow = "GET, POST";
  const HttpResponse r405 = HttpResponse::Problem(not_allowed);
  EXPECT_EQ(r405.status, 405);
  EXPECT_EQ(r405.content_type, "application/problem+json");
  ASSERT_EQ(r405.headers.size(), 1u);
  EXPECT_EQ(r405.headers[0], (std::pair<std::string, std::string>{"Allow", "GET, POST"}));

  ApiError busy(ErrorCode::kServiceUnavailable, "later");
  busy.retry_after_seconds = 2;
  const HttpResponse r503 = HttpResponse::Problem(busy);
  EXPECT_EQ(r503.status, 503);
  ASSERT_EQ(r503.headers.size(), 1u);
  EXPECT_EQ(r503.headers[0], (std::pair<std::string, std::string>{"Retry-After", "2"}));

  const HttpResponse plain = HttpResponse::Problem(ApiError(ErrorCode::kNotFound, "x"));
  EXPECT_TRUE(plain.headers.empty());
  EXPECT_EQ(Parse(plain.body)["status"].GetInt(), 404);
}

TEST(ErrorTest, ApiErrorKeepsCodeAndDetail) {
  const ApiError e(ErrorCode::kConflict, "seat is held");
  EXPECT_EQ(e.code(), ErrorCode::kConflict);
  EXPECT_EQ(e.detail(), "seat is held");
  EXPECT_STREQ(e.what(), "seat is held");
}

}  // namespace
}  // namespace ticketing
